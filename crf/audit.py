"""The audit trail: who and why on the history row a save writes, and the trail read back
as a human-readable diff."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

from trial.history import history_author

from .display import field_label, format_text

# `history_note(..., by=REQUEST_USER)`: leave the author to the request (HistoryRequestMiddleware).
REQUEST_USER: Any = object()


def history_note(instance: Any, *, by: Any, reason: str) -> None:
    """Who and why for the history row that the next `save()` of ``instance`` writes
    (django-simple-history reads `_history_user` and `_change_reason`). ``by=None`` is the
    system (a task, an edit check); ``by=REQUEST_USER`` leaves the author to the request."""
    instance._change_reason = reason
    if by is not REQUEST_USER:
        instance._history_user = by


# What a history row did, as a reader's heading says it (simple-history's history_type as the key).
ACTIONS = {"+": _("Created"), "~": _("Changed"), "-": _("Deleted")}

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
    record: str = ""  # which row of the form, for a child record (a dose, a fraction); blank for the form
    unchanged_since: int = 0  # values of a creation entry left out by compact_audit (still as created)
    history_type: str = ""  # "+" created, "~" changed, "-" deleted; `action` says it in the reader's language


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
    return format_text(SimpleNamespace(**{model_field.name: value}), model_field)


def _diffed_fields(model) -> list:
    return sorted((f for f in model._meta.concrete_fields if f.name not in IGNORED_FIELDS and f.name != "id"),
                  key=lambda f: f.name)


def audit_trail(instance, *, rows=None, related: dict | None = None, record: str = "") -> list[AuditEntry]:
    """Every version of a record, newest first: who, when, why, and each field's old and new value.

    ``rows`` (the history rows, oldest first, with history_user) and ``related`` ((model, pk) → object,
    shared between trails) let a report read them for many records at once."""
    model = type(instance)
    related = {} if related is None else related
    if rows is None:
        rows = list(instance.history.select_related("history_user").order_by("history_date", "history_id"))
    entries = []
    previous = None
    for row in rows:
        entry = AuditEntry(
            when=row.history_date,
            who=history_author(row, full_name=False),
            action=ACTIONS.get(row.history_type, row.history_type),
            reason=row.history_change_reason or "",
            record=record,
            history_type=row.history_type,
        )
        if previous is None:
            tracked = [f for f in model._meta.concrete_fields if f.name not in IGNORED_FIELDS and f.name != "id"]
            for model_field in tracked:
                value = getattr(row, model_field.attname)
                if value not in (None, ""):
                    entry.changes.append(
                        FieldChange(model_field.name, field_label(model_field), "—",
                                    history_value_text(model, model_field.name, value, related))
                    )
        else:
            # Every tracked field, derived ones included (simple-history's diff_against leaves out
            # non-editable fields, and a corrected day 0 or a re-derived response must show).
            for model_field in _diffed_fields(model):
                old, new = getattr(previous, model_field.attname), getattr(row, model_field.attname)
                if old != new:
                    entry.changes.append(
                        FieldChange(model_field.name, field_label(model_field),
                                    history_value_text(model, model_field.name, old, related),
                                    history_value_text(model, model_field.name, new, related))
                    )
        entries.append(entry)
        previous = row
    entries.reverse()
    return entries


def compact_audit(entries: list[AuditEntry]) -> list[AuditEntry]:
    """The trail for a printed report: a creation entry keeps only the values changed since (their first
    value is the history a reader needs); the others still read as created and are printed above it, so
    the entry says how many it leaves out. Every other entry is kept whole."""
    from dataclasses import replace

    changed_later: dict[str, set[str]] = {}
    for entry in entries:
        if entry.history_type != "+":
            changed_later.setdefault(entry.record, set()).update(change.field for change in entry.changes)
    compact = []
    for entry in entries:
        if entry.history_type != "+":
            compact.append(entry)
            continue
        later = changed_later.get(entry.record, set())
        kept = [change for change in entry.changes if change.field in later]
        compact.append(replace(entry, changes=kept, unchanged_since=len(entry.changes) - len(kept)))
    return compact


def history_columns(model: type[Model]) -> list[str]:
    """The model's columns that its history table mirrors."""
    history_model = model.history.model  # type: ignore[attr-defined]
    mirrored = {field.column for field in history_model._meta.concrete_fields}
    return [field.column for field in model._meta.concrete_fields if field.column in mirrored]


def update_with_history(queryset: QuerySet[Any], *, assignments: dict[str, tuple[str, list[Any]]], by: Any,
                        when: datetime, reason: str) -> int:
    """UPDATE the rows of ``queryset`` and write their history rows as `save()` would have (one
    '~' row each with the new values, ``by`` and ``reason``): the set-based write of an audited
    model, which `QuerySet.update()` is not. ``assignments``: column → (SQL expression, params).

    One statement on PostgreSQL — ``WITH changed AS (UPDATE … RETURNING …) INSERT INTO
    <history> SELECT … FROM changed`` — so the history rows are exactly the rows updated.
    Elsewhere (SQLite, which locks the whole database for the first write) an INSERT … SELECT
    with the new values as expressions, then the UPDATE. Returns the number of rows changed.
    """
    model = queryset.model
    quote, ops = connection.ops.quote_name, connection.ops
    # order_by(): a default ordering would join and sort inside the IN (…) subquery for nothing.
    condition_sql, condition_params = queryset.values("pk").order_by().query.sql_with_params()
    columns = history_columns(model)
    set_sql = [f"{quote(column)} = {expression}" for column, (expression, _params) in assignments.items()]
    set_params = [param for _expression, params in assignments.values() for param in params]
    history = [ops.adapt_datetimefield_value(when), reason, "~", getattr(by, "pk", None),
               by.get_username() if by is not None else ""]  # trial.history: the author's name kept
    table, history_table = quote(model._meta.db_table), quote(model.history.model._meta.db_table)  # type: ignore[attr-defined]
    column_list = ", ".join(quote(column) for column in columns)
    insert_head = (f"INSERT INTO {history_table} ({column_list}, history_date, history_change_reason, "
                   f"history_type, history_user_id, history_username) ")
    update = f"UPDATE {table} SET {', '.join(set_sql)} WHERE {quote(model._meta.pk.column)} IN ({condition_sql})"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH changed AS ({update} RETURNING {column_list}) "
                f"{insert_head} SELECT {column_list}, %s, %s, %s, %s, %s FROM changed",
                [*set_params, *condition_params, *history],
            )
            return cursor.rowcount
        selected, select_params = [], []
        for column in columns:
            expression, params = assignments.get(column, (quote(column), []))
            selected.append(expression)
            select_params.extend(params)
        cursor.execute(
            f"{insert_head} SELECT {', '.join(selected)}, %s, %s, %s, %s, %s FROM {table} "
            f"WHERE {quote(model._meta.pk.column)} IN ({condition_sql})",
            [*select_params, *history, *condition_params],
        )
        changed = cursor.rowcount
        cursor.execute(update, [*set_params, *condition_params])
    return changed
