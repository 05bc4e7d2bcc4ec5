"""Celery tasks: thin, idempotent, retried on transient database errors."""
import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnavailable

from patients.models import Patient

from . import services

logger = logging.getLogger(__name__)

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


@shared_task(**_RETRY)
def visits_schedule_missing() -> dict:
    return {"scheduled": services.visits_schedule_missing()}


def visits_schedule_enqueue(patient_id: int) -> bool:
    """Queue the scheduling of one patient's visits; False when the task queue
    (Redis) cannot be reached. Fails fast — one quick reconnection attempt, no
    publish retries, no result to wait for — so that a saved infusion is never
    held up by the queue: the beat sweep `visits_schedule_missing` schedules the
    patient once the queue is back."""
    app = visits_schedule.app
    if app.conf.task_always_eager:  # no broker (no REDIS_URL): run here and now
        visits_schedule.delay(patient_id)
        return True
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.5, timeout=5)
            visits_schedule.apply_async(args=[patient_id], connection=connection, retry=False, ignore_result=True)
    except (BrokerUnavailable, OSError) as error:
        logger.error("Visits of patient %s not queued (task queue unavailable: %s); the sweep will schedule them",
                     patient_id, error)
        return False
    return True
