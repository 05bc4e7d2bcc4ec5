"""Celery tasks: thin; the work is in reports.py."""
from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import reports


# Idempotent: what is already cached for the current data is not computed again.
@shared_task(autoretry_for=(OperationalError, InterfaceError), retry_backoff=5, max_retries=3, ignore_result=True)
def endpoints_cache_refresh() -> int:
    return reports.endpoint_cache_refresh(cutoff=timezone.localdate())  # the default cut-off: today
