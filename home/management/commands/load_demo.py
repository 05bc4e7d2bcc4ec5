import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from patients import demo as patients_demo
from patients.models import Patient
from trial.accounts import user_language_set
from trial.demo import DEMO_PASSWORD, DEMO_SITES, DEMO_USERS, demo_plans
from trial.hooks import app_modules
from trial.models import Site, SiteMembership
from trial.services import protocol_seed


class Command(BaseCommand):
    help = ("Load the demo trial: the protocol, two sites, a user per role in English and in Chinese and 30 "
            "synthetic patients (idempotent).")

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=datetime.date.fromisoformat, default=None,
            help="Date the synthetic courses are placed against (default: today).",
        )

    @transaction.atomic
    def handle(self, *args, as_of=None, **options):
        as_of = as_of or datetime.date.today()
        protocol = protocol_seed()
        sites = {}
        for code, name, location in DEMO_SITES:
            sites[code], _ = Site.objects.get_or_create(code=code, defaults={"name": name, "location": location})
        User = get_user_model()
        users = {}
        for username, full_name, role, site_codes, _language in DEMO_USERS:
            first, _, last = full_name.rpartition(" ") if " " in full_name else (full_name, "", "")
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            for site in [sites[code] for code in site_codes] if site_codes else [None]:  # None: trial-wide
                SiteMembership.objects.get_or_create(user=user, site=site, role=role)
            users[username] = user
        # Each demo user's language, on their account's trail (unchanged ones write nothing).
        for username, _full_name, _role, _site_code, language in DEMO_USERS:
            user_language_set(user=users[username], language=language, by=users["admin"],
                              reason="Demo user of this language")

        created = []
        for plan in demo_plans(as_of=as_of):
            if Patient.objects.filter(screening_number=plan.screening_number).exists():
                continue
            by = users["coordinator"] if plan.site_code == "SZ" else users["coordinator_wx"]
            patient = patients_demo.load_patient(plan=plan, protocol=protocol, site=sites[plan.site_code], by=by)
            created.append((plan, patient, by))
        # Each app writes its own CRFs for the new patients, through its services.
        for module in app_modules("demo"):
            if hasattr(module, "load"):
                module.load(created=created, users=users)
        self.stdout.write(f"Demo trial loaded: {len(created)} new synthetic patients "
                          f"({Patient.objects.count()} in all).")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        languages = dict(settings.LANGUAGES)
        width = max(len(username) for username, *_ in DEMO_USERS)
        for username, _full_name, role, site_codes, language in DEMO_USERS:
            where = ", ".join(site_codes) if site_codes else "all sites"
            self.stdout.write(f"  {role:<14} {username:<{width}} {where:<10} {languages[language]}")
