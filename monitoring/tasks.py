from celery import shared_task

from . import services


@shared_task(name="monitoring.export_job_run")
def export_job_run(job_id: int) -> None:
    """Thin and idempotent: a finished job is not rebuilt."""
    services.export_job_run(job_id=job_id)
