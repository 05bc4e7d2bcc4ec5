"""Celery tasks: thin, idempotent, retried on transient database errors."""
from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from patients.models import Patient

from . import services

# A worker that loses its database mid-way retries; the services are idempotent,
# so the retry finishes the work without doing any of it twice.
_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 300,
    "retry_jitter": False,
    "max_retries": 8,
}


@shared_task(**_RETRY)
def visits_schedule(patient_id: int) -> dict:
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:  # removed since the task was queued: nothing to schedule
        return {"created": 0, "retargeted": 0}
    return services.visits_schedule(patient=patient)


@shared_task(**_RETRY)
def visits_daily(today: str | None = None) -> dict:
    import datetime

    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    result = services.visits_daily(today=day)
    return {"statuses": {str(k): v for k, v in result["statuses"].items()}, "emails": result["emails"]}
