"""The audit trail's author, kept by name.

simple-history's `history_user` is a foreign key (SET_NULL): were a user's row ever lost, the
trail would show "system" for everything they did. Users are deactivated, never deleted
(`trial.services.user_deactivate`), and each history row also stores the author's username, so the
trail reads the same whatever happens to the user table. This uses simple-history's documented
extension points: an abstract base for the historical models (`bases=`) and the
`pre_create_historical_record` signal to fill it.
"""
from django.db import models
from simple_history import models as simple_history_models
from simple_history.signals import pre_create_historical_record


class HistoryAuthor(models.Model):
    """Fields every historical model of the project adds to simple-history's own."""

    history_username = models.CharField(
        max_length=150, blank=True, default="", db_default="",  # also for rows written in SQL (visits' status job)
        help_text="The author's username at the time of the change; kept even if the user row is lost.")

    class Meta:
        abstract = True


class HistoricalRecords(simple_history_models.HistoricalRecords):
    """simple-history's HistoricalRecords whose rows also store the author's username."""

    def __init__(self, *args, bases=(), **kwargs):
        super().__init__(*args, bases=[HistoryAuthor, *bases], **kwargs)


def store_history_username(sender, history_instance, history_user=None, **kwargs):
    if isinstance(history_instance, HistoryAuthor) and history_user is not None:
        history_instance.history_username = history_user.get_username()


def connect() -> None:
    """Called from trial.apps: the receiver that fills each new history row's username."""
    pre_create_historical_record.connect(store_history_username, dispatch_uid="trial.history.store_history_username")


def history_author(row, *, full_name: bool = True) -> str:
    """Who made a history row, for people: "Full Name (username)", the stored username when the
    user row is gone, or "system" for changes no user made (scheduled tasks, migrations)."""
    user = row.history_user
    if user is None:
        return getattr(row, "history_username", "") or "system"
    name = user.get_full_name()
    if not full_name:
        return name or user.get_username()
    return f"{name} ({user.get_username()})" if name else user.get_username()


def history_username_attrs(user) -> dict:
    """custom_historical_attrs for simple-history's bulk_history_create, which sends no signal."""
    return {"history_username": user.get_username()} if user is not None else {}
