from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from trial.tokens import api_token_create


class Command(BaseCommand):
    help = ("Make an API token for a user and print its key (shown only this once; only its digest is "
            "stored). It expires after API_TOKEN_TTL_DAYS.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, such as 'lab system'.")

    def handle(self, *args, username, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        token, key = api_token_create(user=user, name=name)
        self.stderr.write(f"Token {token.prefix}… for {username}, expires {token.expires_at:%Y-%m-%d %H:%M %Z}:")
        self.stdout.write(key)
