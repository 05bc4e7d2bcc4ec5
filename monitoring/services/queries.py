"""Data queries: a question about one field of one CRF, raised by a monitor, a
data manager or an edit check, answered at the site (possibly correcting the
value through `crf_save`), closed or re-opened by the monitor."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from crf.services import audited_save, crf_content_type, crf_field, crf_save
from trial.roles import can_enter_data

from ..models import DataQuery, QueryMessage, QueryStatus
from ..roles import can_monitor

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from crf.models import CaseReportForm


def _query_message(*, query: DataQuery, action: str, by: User | None, text: str = "", old_value: str = "",
                   new_value: str = "") -> QueryMessage:
    message = QueryMessage(query=query, action=action, author=by, text=text, old_value=old_value,
                           new_value=new_value)
    message.full_clean()
    message.save()
    return message


def _query_create(*, crf: CaseReportForm, field: str, text: str, by: User | None,
                  automatic: bool) -> DataQuery:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Say what is wrong with the value."})
    model_field = crf_field(crf, field)
    query = DataQuery(
        patient=crf.patient, content_type=crf_content_type(crf), object_id=crf.pk, crf_label=crf.crf_label,
        field=model_field.name, field_label=str(model_field.verbose_name), text=text, raised_by=by,
        automatic=automatic,
    )
    audited_save(instance=query, by=by, reason="Query raised")
    _query_message(query=query, action=QueryMessage.Action.RAISE, by=by, text=text,
                   old_value=model_field.value_to_string(crf))
    return query


@transaction.atomic
def query_raise(*, crf: CaseReportForm, field: str, text: str, by: User) -> DataQuery:
    """A monitor or data manager asks the site about one field of a CRF."""
    if not can_monitor(by, crf.patient.site):
        raise PermissionDenied("Only monitors and data managers raise queries.")
    return _query_create(crf=crf, field=field, text=text, by=by, automatic=False)


def query_raise_automatic(*, crf: CaseReportForm, field: str, text: str) -> DataQuery | None:
    """An edit check's query. Raised once: an identical open query is not repeated.
    A field that is not a data field of the form raises nothing (returns None)."""

    try:
        crf_field(crf, field)
    except ValidationError:
        return None
    existing = DataQuery.objects.filter(
        content_type=crf_content_type(crf), object_id=crf.pk, field=field, text=text.strip(), automatic=True,
    ).exclude(status=QueryStatus.CLOSED).first()
    if existing is not None:
        return existing
    return _query_create(crf=crf, field=field, text=text, by=None, automatic=True)


@transaction.atomic
def query_answer(*, query: DataQuery, by: User, text: str, new_value: Any = None,
                 reason: str = "") -> DataQuery:
    """The site answers; it may correct the value (an audited `crf_save` with
    the reason for change). `new_value` is the raw input, cleaned by the
    model field's own form field, so the same validation applies as on the form."""

    crf = query.crf
    assert crf is not None  # a query names its form, and forms are never deleted
    if not can_enter_data(by, crf.patient.site):
        raise PermissionDenied("Only the site's coordinators and investigators answer queries.")
    if query.status == QueryStatus.CLOSED:
        raise ValidationError("This query is closed; the monitor must re-open it first.")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write an answer."})
    action = QueryMessage.Action.ANSWER
    old_value = new_text = ""
    if new_value is not None:
        model_field = crf_field(crf, query.field)
        form_field = model_field.formfield()
        if form_field is None:
            raise ValidationError({"new_value": "This value cannot be corrected through a query."})
        try:
            cleaned = form_field.clean(new_value)
        except ValidationError as error:
            raise ValidationError({"new_value": error.messages}) from error
        if model_field.is_relation and cleaned is not None:
            cleaned = cleaned.pk
            attname = model_field.attname
        else:
            attname = model_field.name
        old_value = model_field.value_to_string(crf)
        setattr(crf, attname, cleaned)
        new_text = model_field.value_to_string(crf)
        if new_text != old_value:
            reason = (reason or "").strip() or f"Query #{query.pk}: {text}"
            try:
                crf_save(crf=crf, by=by, reason=reason)
            except ValidationError as error:
                if hasattr(error, "error_dict") and query.field in error.error_dict:
                    raise ValidationError({"new_value": error.error_dict[query.field][0].messages}) from error
                raise
            action = QueryMessage.Action.CORRECT
    query.status = QueryStatus.ANSWERED
    audited_save(instance=query, by=by, reason="Query answered")
    _query_message(query=query, action=action, by=by, text=text, old_value=old_value,
                   new_value=new_text if action == QueryMessage.Action.CORRECT else "")
    return query


@transaction.atomic
def query_close(*, query: DataQuery, by: User, text: str = "") -> DataQuery:
    if not can_monitor(by, query.patient.site):
        raise PermissionDenied("Only monitors and data managers close queries.")
    if query.status == QueryStatus.CLOSED:
        raise ValidationError("This query is already closed.")
    query.status = QueryStatus.CLOSED
    query.closed_at = timezone.now()
    audited_save(instance=query, by=by, reason="Query closed")
    _query_message(query=query, action=QueryMessage.Action.CLOSE, by=by, text=(text or "").strip())
    return query


@transaction.atomic
def query_reopen(*, query: DataQuery, by: User, text: str) -> DataQuery:
    if not can_monitor(by, query.patient.site):
        raise PermissionDenied("Only monitors and data managers re-open queries.")
    if query.status != QueryStatus.CLOSED:
        raise ValidationError("Only a closed query can be re-opened.")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Say why the query is re-opened."})
    query.status = QueryStatus.OPEN
    query.closed_at = None
    audited_save(instance=query, by=by, reason="Query re-opened")
    _query_message(query=query, action=QueryMessage.Action.REOPEN, by=by, text=text)
    return query
