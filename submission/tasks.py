import threading

from celery import shared_task
from django.db import transaction

from trial.background import build_in_background

from . import services


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
    """Hand the build to a Celery worker, or without a broker to a thread of this process, so the request
    answers at once and the page shows the progress (trial.background)."""
    return build_in_background(submission_package_run, services.submission_package_run,
                               name=f"submission-package-{package_id}", package_id=package_id)
