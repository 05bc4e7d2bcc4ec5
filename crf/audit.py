"""The audit trail: who and why on the history row a save writes, and the trail read back
as a human-readable diff."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from trial.history import history_author

# `history_note(..., by=REQUEST_USER)`: leave the author to the request (HistoryRequestMiddleware).
REQUEST_USER: Any = object()


def history_note(instance: Any, *, by: Any, reason: str) -> None:
    """Who and why for the history row that the next `save()` of ``instance`` writes
    (django-simple-history reads `_history_user` and `_change_reason`). ``by=None`` is the
    system (a task, an edit check); ``by=REQUEST_USER`` leaves the author to the request."""
    instance._change_reason = reason
    if by is not REQUEST_USER:
        instance._history_user = by

# Bookkeeping columns that change on every save and tell a reader nothing.
IGNORED_FIELDS = frozenset({"updated_at", "created_at", "version"})


@dataclass
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass
class AuditEntry:
    when: datetime
    who: str
    action: str
    reason: str
    changes: list[FieldChange] = field(default_factory=list)


def history_value_text(model, field_name: str, value, related: dict) -> str:
    if value is None or value == "":
        return "—"
    model_field = model._meta.get_field(field_name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if model_field.is_relation:
        key = (model_field.related_model, value)
        if key not in related:  # each related record read once per trail (or per report)
            related[key] = model_field.related_model._default_manager.filter(pk=value).first()
        return str(related[key]) if related[key] is not None else str(value)
    return str(value)


def _diffed_fields(model) -> list:
    return sorted((f for f in model._meta.concrete_fields if f.name not in IGNORED_FIELDS and f.name != "id"),
                  key=lambda f: f.name)


def audit_trail(instance, *, rows=None, related: dict | None = None) -> list[AuditEntry]:
    """Every version of a record, newest first: who, when, why, and each field's old and new value.

    ``rows`` (the history rows, oldest first, with history_user) and ``related`` ((model, pk) → object,
    shared between trails) let a report read them for many records at once."""
    model = type(instance)
    actions = {"+": "Created", "~": "Changed", "-": "Deleted"}
    related = {} if related is None else related
    if rows is None:
        rows = list(instance.history.select_related("history_user").order_by("history_date", "history_id"))
    entries = []
    previous = None
    for row in rows:
        entry = AuditEntry(
            when=row.history_date,
            who=history_author(row, full_name=False),
            action=actions.get(row.history_type, row.history_type),
            reason=row.history_change_reason or "",
        )
        if previous is None:
            tracked = [f for f in model._meta.concrete_fields if f.name not in IGNORED_FIELDS and f.name != "id"]
            for model_field in tracked:
                value = getattr(row, model_field.attname)
                if value not in (None, ""):
                    entry.changes.append(
                        FieldChange(model_field.name, str(model_field.verbose_name), "—",
                                    history_value_text(model, model_field.name, value, related))
                    )
        else:
            # Every tracked field, derived ones included (simple-history's diff_against leaves out
            # non-editable fields, and a corrected day 0 or a re-derived response must show).
            for model_field in _diffed_fields(model):
                old, new = getattr(previous, model_field.attname), getattr(row, model_field.attname)
                if old != new:
                    entry.changes.append(
                        FieldChange(model_field.name, str(model_field.verbose_name),
                                    history_value_text(model, model_field.name, old, related),
                                    history_value_text(model, model_field.name, new, related))
                    )
        entries.append(entry)
        previous = row
    entries.reverse()
    return entries
