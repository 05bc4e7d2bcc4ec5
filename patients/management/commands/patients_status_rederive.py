from django.core.management.base import BaseCommand
from django.db import transaction

from patients.services import patients_status_rederive


class Command(BaseCommand):
    help = ("Derive every patient's status from the record (patients.rules.status_on_study): statuses stored "
            "before \"in follow-up\" was derived. Audited, idempotent; migration patients/0009 runs it once.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; change nothing.")

    def handle(self, *args, dry_run=False, **options):
        with transaction.atomic():
            changed = patients_status_rederive(by=None)
            if dry_run:
                transaction.set_rollback(True)
        for study_id, before, after in changed:
            self.stdout.write(f"{study_id}: {before} → {after}")
        self.stdout.write(f"Statuses derived again: {len(changed)} changed.")
        if dry_run:
            self.stdout.write("Dry run: nothing was saved.")
