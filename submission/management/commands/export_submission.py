"""manage.py export_submission sdtm|adam [--cutoff YYYY-MM-DD] [--output FILE]: the package of every patient,
written to a ZIP (for a scheduled delivery or the bench), recorded as an export by the named user."""
import datetime
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from outcomes.rules import data_cutoff_error
from patients.models import Patient
from submission.services import STANDARDS, package_zip


class Command(BaseCommand):
    help = "Write the SDTM or ADaM package (XPT, CSV, define.xml) of every patient to a ZIP file."

    def add_arguments(self, parser):
        parser.add_argument("standard", choices=STANDARDS)
        parser.add_argument("--cutoff", help="Data cut-off, YYYY-MM-DD (default: today).")
        parser.add_argument("--output", help="The ZIP to write (default: <standard>-<cutoff>.zip).")
        parser.add_argument("--user", help="Record the export under this username (a data manager).")

    def handle(self, *args, standard, cutoff=None, output=None, user=None, **options):
        today = timezone.localdate()
        try:
            cutoff = datetime.date.fromisoformat(cutoff) if cutoff else today
        except ValueError as error:
            raise CommandError(f"--cutoff: {error}") from error
        if error := data_cutoff_error(cutoff, today=today):
            raise CommandError(error)
        started = time.monotonic()
        content = package_zip(standard=standard, patients=Patient.objects.all(), cutoff=cutoff)
        output = output or f"{standard}-{cutoff:%Y-%m-%d}.zip"
        with open(output, "wb") as file:
            file.write(content)
        if user:
            from monitoring.services import export_record

            try:
                by = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist as missing:
                raise CommandError(f"No user {user!r}.") from missing
            export_record(user=by, kind=f"{standard}_package",
                          description=f"{standard.upper()} package (command), data cut-off {cutoff:%Y-%m-%d}")
        self.stdout.write(f"Wrote {output} ({len(content):,} bytes) in {time.monotonic() - started:.1f} s.")
