import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from visits.services import visits_daily


class Command(BaseCommand):
    help = ("Run the daily visit job by hand (the Celery beat job does it every morning): move visits to "
            "due / overdue / missed / not expected and e-mail the coordinators their reminders.")

    def add_arguments(self, parser):
        parser.add_argument("--today", type=datetime.date.fromisoformat, default=None,
                            help="Run as of this date (default: today).")

    def handle(self, *args, today=None, **options):
        result = visits_daily(today=today or timezone.localdate())
        changed = ", ".join(f"{status}: {n}" for status, n in result["statuses"].items() if n) or "no change"
        self.stdout.write(f"Visits moved — {changed}. Reminder e-mails sent: {result['emails']}.")
