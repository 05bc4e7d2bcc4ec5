"""Celery tasks: thin; the work is in cohort.py."""
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import cohort


# Idempotent: what is already cached for the current data is not computed again.
@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=3, ignore_result=True)
def cohort_cache_refresh() -> int:
    return cohort.cohort_cache_refresh(cutoff=timezone.localdate(),  # the endpoints' default cut-off: today
                                       languages=[code for code, _name in settings.LANGUAGES])
