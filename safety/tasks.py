from celery import shared_task


@shared_task(name="safety.sae_overdue_notify")
def sae_overdue_notify() -> int:
    """Daily: e-mail investigators and monitors about SAE initial reports past 24 hours (once per event)."""
    from .services import sae_overdue_notify as notify

    return len(notify())
