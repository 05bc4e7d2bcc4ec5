import logging
import threading

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction

from . import services

logger = logging.getLogger(__name__)


@shared_task(name="submission.submission_package_run")
def submission_package_run(package_id: int) -> None:
    """Thin and idempotent: a package already built is not rebuilt."""
    services.submission_package_run(package_id=package_id)


def submission_package_start(*, by, standard: str, cutoff):
    """Create a package and queue its build once it is committed."""
    with transaction.atomic():
        package = services.submission_package_create(by=by, standard=standard, cutoff=cutoff)
        transaction.on_commit(lambda: submission_package_enqueue(package_id=package.pk))
    return package


def submission_package_enqueue(*, package_id: int) -> threading.Thread | None:
    """Hand the build to a Celery worker; without a broker (tasks run eagerly) build it in a background thread
    of this process, so the request answers at once and the page shows the progress — as casebook batches do,
    under the same switch (CASEBOOK_BATCH_IN_THREAD, turned off by tests that want the eager task inline)."""
    if not submission_package_run.app.conf.task_always_eager or not getattr(
            settings, "CASEBOOK_BATCH_IN_THREAD", True):
        submission_package_run.delay(package_id)
        return None
    thread = threading.Thread(target=_run_in_thread, kwargs={"package_id": package_id},
                              name=f"submission-package-{package_id}", daemon=True)
    thread.start()
    return thread


def _run_in_thread(*, package_id: int) -> None:
    try:
        services.submission_package_run(package_id=package_id)
    except Exception:  # recorded on the package by submission_package_run; a thread has no one else to tell
        logger.exception("Submission package %s failed", package_id)
    finally:
        connection.close()  # the thread's own connection
