"""Data queries: a question about one field of one CRF, raised by a monitor, a
data manager or an edit check, answered at the site (possibly correcting the
value through `crf_save`), closed or re-opened by the monitor."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crf.checks import CrfConflict
from crf.forms import correction_form_field
from crf.services import audited_save, crf_content_type, crf_correct, crf_correctable_field
from trial.roles import can_enter_data

from ..models import DataQuery, QueryMessage, QueryStatus
from ..roles import can_monitor
from ..texts import Text, english, in_languages

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import Field

    from crf.models import CaseReportForm


def _query_message(*, query: DataQuery, action: str, by: User | None, text: str = "", old_value: str = "",
                   new_value: str = "") -> QueryMessage:
    message = QueryMessage(query=query, action=action, author=by, text=text, old_value=old_value,
                           new_value=new_value)
    message.full_clean()
    message.save()
    return message


def _query_create(*, crf: CaseReportForm, field: str, text: str, by: User | None,
                  automatic: bool, text_translations: dict[str, str] | None = None) -> DataQuery:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Say what is wrong with the value.")})
    model_field = crf_correctable_field(crf, field)
    # The form's and the field's names are kept in English (the record reads the same to every auditor);
    # pages show them in the reader's language through the owning app's catalogue.
    query = DataQuery(
        patient=crf.patient, content_type=crf_content_type(crf), object_id=crf.pk, crf_label=english(crf.crf_label),
        field=model_field.name, field_label=english(model_field.verbose_name), text=text, raised_by=by,
        automatic=automatic, text_translations=text_translations or {},
    )
    audited_save(instance=query, by=by, reason="Query raised")
    _query_message(query=query, action=QueryMessage.Action.RAISE, by=by, text=text,
                   old_value=_value_text(model_field, crf))
    return query


@transaction.atomic
def query_raise(*, crf: CaseReportForm, field: str, text: str, by: User) -> DataQuery:
    """A monitor or data manager asks the site about one field of a CRF."""
    if not can_monitor(by, crf.patient.site):
        raise PermissionDenied(_("Only monitors and data managers raise queries."))
    return _query_create(crf=crf, field=field, text=text, by=by, automatic=False)


def query_raise_automatic(*, crf: CaseReportForm, field: str, text: Text) -> DataQuery | None:
    """An edit check's query. Raised once: an identical open query is not repeated.
    A field that is not a data field of the form raises nothing (returns None).

    The query's text is stored in English (an automatic query's text is clinical record) with its rendering
    in the other languages for the pages (`DataQuery.text_shown`): give ``text`` as a callable that builds
    the message with gettext, or a lazy string (monitoring/texts.py); a plain string is stored and shown as
    it is."""

    try:
        crf_correctable_field(crf, field)
    except ValidationError:
        return None
    english_text, translations = in_languages(text)
    english_text = english_text.strip()
    existing = DataQuery.objects.filter(
        content_type=crf_content_type(crf), object_id=crf.pk, field=field, text=english_text, automatic=True,
    ).exclude(status=QueryStatus.CLOSED).first()
    if existing is not None:
        return existing
    return _query_create(crf=crf, field=field, text=english_text, by=None, automatic=True,
                         text_translations={code: value.strip() for code, value in translations.items()})


def _answer_errors(error: ValidationError, *, field: str) -> ValidationError:
    """The form's refusal as the answer's: the corrected field's messages on `new_value`, the soft checks'
    acknowledgement and the reason as they are, any other field's messages on `new_value` naming it."""
    if isinstance(error, CrfConflict) or not hasattr(error, "error_dict"):
        return error
    errors: dict[str, list[str]] = {}
    for name, messages in error.message_dict.items():
        if name in ("acknowledge_deviation", "reason"):
            errors.setdefault(name, []).extend(messages)
        elif name in (field, "__all__"):
            errors.setdefault("new_value", []).extend(messages)
        else:
            errors.setdefault("new_value", []).extend(
                _("%(field)s: %(message)s") % {"field": name.replace("_", " ").capitalize(), "message": message}
                for message in messages)
    return ValidationError(errors)


def _value_text(model_field: Field[Any, Any], crf: CaseReportForm) -> str:
    """A stored value as the query's trail keeps it: a list or a table as JSON, anything else as text."""
    if isinstance(model_field, models.JSONField):
        return json.dumps(model_field.value_from_object(crf), ensure_ascii=False)
    return model_field.value_to_string(crf)


def _scalar_input(value: Any) -> str:
    """A one-value field's new value as the text a form field cleans (a number sent as JSON too); a list or
    an object is for the fields that hold one (`CaseReportForm.structured_fields`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValidationError({"new_value": _("Give the new value as text (dates as YYYY-MM-DD, coded values by code).")})


@transaction.atomic
def query_answer(*, query: DataQuery, by: User, text: str, new_value: Any = None, reason: str = "",
                 acknowledge_deviation: bool = False) -> DataQuery:
    """The site answers; it may correct the value. `new_value` is the raw input (text; a list or an object
    for a structured field such as the eligibility answers), typed by the field's form field
    (`crf.forms.correction_form_field`), then the form's own service saves it (`crf_correct`): a value the
    form refuses is refused here with the form's message, and nothing changes. A soft check needs
    ``acknowledge_deviation`` and the ``reason`` (which becomes the deviation's reason too)."""
    crf = query.crf
    assert crf is not None  # a query names its form, and forms are never deleted
    if not can_enter_data(by, crf.patient.site):
        raise PermissionDenied(_("Only the site's coordinators and investigators answer queries."))
    if query.status == QueryStatus.CLOSED:
        raise ValidationError(_("This query is closed; the monitor must re-open it first."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Write an answer.")})
    action = QueryMessage.Action.ANSWER
    old_value = new_text = ""
    if new_value is not None:
        model_field = crf_correctable_field(crf, query.field)
        form_field = correction_form_field(crf, query.field)
        if query.field not in type(crf).structured_fields:
            new_value = _scalar_input(new_value)
        try:
            cleaned = form_field.clean(new_value)
        except ValidationError as error:
            raise ValidationError({"new_value": error.messages}) from error
        old_value = _value_text(model_field, crf)
        if cleaned != getattr(crf, model_field.attname):
            reason = (reason or "").strip() or f"Query #{query.pk}: {text}"
            try:
                with transaction.atomic():
                    crf = crf_correct(crf=crf, field=query.field, value=cleaned, by=by, reason=reason,
                                      acknowledge_deviation=acknowledge_deviation, deviation_reason=reason)
            except ValidationError as error:
                raise _answer_errors(error, field=query.field) from error
            crf = type(crf)._base_manager.get(pk=crf.pk)
            new_text = _value_text(model_field, crf)
            action = QueryMessage.Action.CORRECT
    query.status = QueryStatus.ANSWERED
    audited_save(instance=query, by=by, reason="Query answered")
    _query_message(query=query, action=action, by=by, text=text, old_value=old_value,
                   new_value=new_text if action == QueryMessage.Action.CORRECT else "")
    return query


@transaction.atomic
def query_close(*, query: DataQuery, by: User, text: str = "") -> DataQuery:
    if not can_monitor(by, query.patient.site):
        raise PermissionDenied(_("Only monitors and data managers close queries."))
    if query.status == QueryStatus.CLOSED:
        raise ValidationError(_("This query is already closed."))
    query.status = QueryStatus.CLOSED
    query.closed_at = timezone.now()
    audited_save(instance=query, by=by, reason="Query closed")
    _query_message(query=query, action=QueryMessage.Action.CLOSE, by=by, text=(text or "").strip())
    return query


@transaction.atomic
def query_reopen(*, query: DataQuery, by: User, text: str) -> DataQuery:
    if not can_monitor(by, query.patient.site):
        raise PermissionDenied(_("Only monitors and data managers re-open queries."))
    if query.status != QueryStatus.CLOSED:
        raise ValidationError(_("Only a closed query can be re-opened."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": _("Say why the query is re-opened.")})
    query.status = QueryStatus.OPEN
    query.closed_at = None
    audited_save(instance=query, by=by, reason="Query re-opened")
    _query_message(query=query, action=QueryMessage.Action.REOPEN, by=by, text=text)
    return query
