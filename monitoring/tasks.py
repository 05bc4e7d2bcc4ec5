import threading

from celery import shared_task
from django.db import transaction
from django.utils import translation

from trial.background import build_in_background

from .services import export_jobs


@shared_task(name="monitoring.export_job_run")
def export_job_run(job_id: int, language: str = "") -> None:
    """Thin and idempotent: a finished job is not rebuilt. ``language``: the requesting user's, for the PDFs."""
    export_jobs.export_job_run(job_id=job_id, language=language)


def export_job_start(*, by, patients):
    """Create a batch of casebook PDFs and queue its build once the batch is committed; the casebooks are built
    in the language of the request that asked for them (the active one)."""
    language = translation.get_language() or ""
    with transaction.atomic():
        job = export_jobs.export_job_create(by=by, patients=patients)
        transaction.on_commit(lambda: export_job_enqueue(job_id=job.pk, language=language))
    return job


def export_job_enqueue(*, job_id: int, language: str = "") -> threading.Thread | None:
    """Hand the build to a Celery worker, or without a broker to a thread of this process, so the request
    answers at once and the page shows the progress (trial.background). A worker or a thread has no request:
    the language travels with the task."""
    return build_in_background(export_job_run, export_jobs.export_job_run, name=f"casebook-batch-{job_id}",
                               job_id=job_id, language=language)
