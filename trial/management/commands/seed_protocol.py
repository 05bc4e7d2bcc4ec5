from django.core.management.base import BaseCommand

from trial.services import protocol_seed


class Command(BaseCommand):
    help = "Load protocol version 1.0 from the registry record (idempotent)."

    def handle(self, *args, **options):
        protocol = protocol_seed()
        self.stdout.write(f"Protocol {protocol} is loaded.")
