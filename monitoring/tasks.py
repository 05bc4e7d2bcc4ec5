import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction

from .services import export_jobs

logger = logging.getLogger(__name__)


@shared_task(name="monitoring.export_job_run")
def export_job_run(job_id: int) -> None:
    """Thin and idempotent: a finished job is not rebuilt."""
    export_jobs.export_job_run(job_id=job_id)


def export_job_start(*, by, patients):
    """Create a batch of casebook PDFs and queue its build once the batch is committed."""
    with transaction.atomic():
        job = export_jobs.export_job_create(by=by, patients=patients)
        transaction.on_commit(lambda: export_job_enqueue(job_id=job.pk))
    return job


def export_job_enqueue(*, job_id: int) -> threading.Thread | None:
    """Hand the batch to a Celery worker; without a broker (tasks run eagerly, in the request) run it in a
    background thread of this process instead, so the request answers at once and the job page shows the
    progress. Returns the thread, if one was started."""
    # CASEBOOK_BATCH_IN_THREAD (default on) is turned off by tests that want the eager task inline.
    if not export_job_run.app.conf.task_always_eager or not getattr(settings, "CASEBOOK_BATCH_IN_THREAD", True):
        export_job_run.delay(job_id)
        return None
    thread = threading.Thread(target=_export_job_run_in_thread, kwargs={"job_id": job_id},
                              name=f"casebook-batch-{job_id}", daemon=True)
    thread.start()
    return thread


def _export_job_run_in_thread(*, job_id: int) -> None:
    try:
        export_jobs.export_job_run(job_id=job_id)
    except Exception:  # recorded on the job by export_job_run; a thread has no one else to tell
        logger.exception("Casebook batch %s failed", job_id)
    finally:
        connection.close()  # the thread's own connection
