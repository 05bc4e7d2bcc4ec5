from django.core.management.base import BaseCommand

from safety.services import sae_overdue_notify


class Command(BaseCommand):
    help = "Flag and e-mail SAE initial reports overdue past 24 hours (what the daily Celery job runs)."

    def handle(self, *args, **options):
        events = sae_overdue_notify()
        for event in events:
            self.stdout.write(f"Overdue: {event.patient.study_id} {event.term} (aware {event.aware_at:%Y-%m-%d %H:%M})")
        self.stdout.write(f"{len(events)} newly overdue SAE report(s) notified.")
