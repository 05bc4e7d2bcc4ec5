"""The CRF floor's writes: every create and edit of a clinical record goes
through `crf_save` (a CRF) or `audited_save` (any other audited record), so
the audit trail always has who, when and why; `crf_record` is the recipe every
CRF service follows (hard checks → soft checks → acknowledgement → save →
deviations); `crf_status_set` is a life-cycle step (verified, signed, locked).

What happens upstairs when a form changes (locks, SDV marks, signatures,
deviations) is reached through the callbacks of `crf.hooks`."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from trial.history import history_author
from trial.i18n import stored_language
from trial.roles import can_enter_data

from . import hooks
from .audit import history_note, history_value_text
from .checks import CrfChange, CrfConflict, SoftCheck, require_acknowledgement
from .display import field_label
from .models import (
    CaseReportForm,
    CrfChildRow,
    CrfStatus,
    crf_child_rows,
    crf_children,
    crf_models,
    future_clinical_date_errors,
)

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import User
    from django.db.models import Field, Model

CrfT = TypeVar("CrfT", bound=CaseReportForm)
ModelT = TypeVar("ModelT", bound="Model")

INITIAL_ENTRY_REASON = "Initial entry"

# Columns that are bookkeeping, not clinical values: they are neither signed
# nor verified, and changing them is not an edit of the data.
BOOKKEEPING_FIELDS = frozenset({"id", "status", "created_at", "updated_at", "created_by", "version"})


def crf_value_fields(model: type[Model]) -> list[Field[Any, Any]]:
    """The concrete fields that hold the form's data, in model order."""
    return [f for f in model._meta.concrete_fields if f.name not in BOOKKEEPING_FIELDS]


def crf_values(crf: Model) -> dict[str, str]:
    """Each data field's stored value as text (foreign keys as their key)."""
    return {f.name: f.value_to_string(crf) for f in crf_value_fields(type(crf))}


def crf_child_row_values(row: Model) -> dict[str, str]:
    """A child row's stored values as text, its removal mark and key included."""
    return {f.name: f.value_to_string(row) for f in row._meta.concrete_fields}


def crf_values_sha256(crf: Model, *, with_rows: bool = True) -> str:
    """The fingerprint a signature binds to: SHA-256 of the values as canonical JSON — the form's own
    and, for a form with child rows (doses, fractions), every row's, removed ones included.
    ``with_rows=False``: the form's own values only, the fingerprint signatures were given with before
    child rows were part of it (`Signature.HashScope.FORM_VALUES`)."""
    content: dict[str, Any] = {"form": type(crf)._meta.label_lower, "pk": crf.pk, "values": crf_values(crf)}
    relations = crf_children(type(crf), form_rows_only=True) if with_rows else []
    if relations:  # a form without rows keeps the payload (and the signatures) it always had
        content["rows"] = {
            row_model._meta.label_lower: [
                crf_child_row_values(row)
                for row in row_model.all_rows.filter(**{fk.attname: crf.pk}).order_by("pk")
            ]
            for row_model, fk in relations
        }
    payload = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def crf_child_rows_unchanged_since(crf: Model, when: datetime.datetime) -> bool:
    """Whether every child row of the form holds now what its audit trail says it held at ``when``: a
    row added, changed or removed since — through the services or around them — answers False."""
    for row in crf_child_rows(crf):
        history = type(row).history  # type: ignore[attr-defined]  # simple-history's, on every child row model
        then = history.filter(id=row.pk, history_date__lte=when).order_by("-history_date", "-history_id").first()
        if then is None or crf_child_row_values(then.instance) != crf_child_row_values(row):
            return False
    return True


def crf_correctable_field(crf_or_model: CaseReportForm | type[CaseReportForm], field_name: str) -> Field[Any, Any]:
    """The model field a query may ask about and an answer may correct: one of the form's data-entry
    fields (`CaseReportForm.correctable_fields`), never a key, the status, a derived or a system field."""
    model = crf_or_model if isinstance(crf_or_model, type) else type(crf_or_model)
    model_field = crf_field(model, field_name) if field_name not in BOOKKEEPING_FIELDS else None
    if model_field is None or model_field.name not in model.correctable_fields:
        named = model_field or model._meta.get_field(field_name)
        raise ValidationError({"field": _(
            "%(field)s of the %(form)s form cannot be corrected through a query: it is not a data-entry field (a "
            "key, the form's status, a derived or a system value). Ask about the value it comes from.") % {
            "field": field_label(named) if hasattr(named, "verbose_name") else field_name,
            "form": model.crf_label or model.__name__}})
    return model_field


def crf_correct(*, crf: CaseReportForm, field: str, value: Any, by: User | None, reason: str,
                acknowledge_deviation: bool = False, deviation_reason: str = "") -> CaseReportForm:
    """Correct one data-entry field of a CRF through the form's own service (its `correction_service`):
    the same hard and soft checks, derived values and dependent records as an edit on its page."""
    from django.utils.module_loading import import_string

    model = type(crf)
    crf_correctable_field(model, field)
    if not model.correction_service:
        raise ValidationError({"field": _("The %(form)s form names no service to correct it with.") % {
            "form": model.crf_label}})
    correct = import_string(model.correction_service)
    return correct(crf=crf, field=field, value=value, by=by, reason=reason,
                   acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)


def crf_field(crf_or_model: CaseReportForm | type[CaseReportForm], field_name: str) -> Field[Any, Any]:
    model = crf_or_model if isinstance(crf_or_model, type) else type(crf_or_model)
    try:
        model_field = model._meta.get_field(field_name)
    except FieldDoesNotExist:
        raise ValidationError({"field": _("%(form)s has no field %(field)r.") % {
            "form": model.crf_label or model.__name__, "field": field_name}}) from None
    if (model_field.name in BOOKKEEPING_FIELDS or not getattr(model_field, "concrete", False)
            or not isinstance(model_field, models.Field)):
        raise ValidationError({"field": _("%(field)r is not a data field of the form.") % {"field": field_name}})
    return model_field


def crf_lock_reason(crf: CaseReportForm) -> str:
    """Why the CRF may not be changed now, or "" when it may: a lock of the trial, its patient, its visit or
    the form itself, with who locked it and why (the apps above the floor keep the locks:
    `monitoring.services.locks.data_lock_reason`), else the form's own locked status. A new, unsaved form
    (its patient and visit set) answers for the page that would create it."""
    for check in hooks.lock_checks():
        reason = check(crf)
        if reason:
            return reason
    if crf.pk is not None:
        stored_status = type(crf).objects.filter(pk=crf.pk).values_list("status", flat=True).first()
        if stored_status == CrfStatus.LOCKED:
            return _("This form is locked; a data manager must unlock it before it can be changed.")
    return ""


def crf_is_editable(crf: CaseReportForm) -> bool:
    return not crf_lock_reason(crf)


def crf_change_needs_reason(crf: CaseReportForm) -> bool:
    """A form that has left draft is part of the record: editing it needs a reason."""
    if crf.pk is None:
        return False
    stored_status = type(crf).objects.filter(pk=crf.pk).values_list("status", flat=True).first()
    return stored_status not in (None, CrfStatus.DRAFT)


def crf_assert_editable(crf: CaseReportForm) -> None:
    """Refuse any change to locked data, whichever page, API or admin asks."""
    reason = crf_lock_reason(crf)
    if reason:
        raise ValidationError(reason)


def crf_changes_since(crf: CaseReportForm, *, version: int) -> list[CrfChange]:
    """What the saves after ``version`` changed, value by value, from the audit trail:
    each field's value at ``version`` → the value a later save gave it, with who and when."""
    model = type(crf)
    fields = crf_value_fields(model)
    rows = list(crf.history.select_related("history_user").order_by("history_date", "history_id"))
    previous = None
    changes = []
    related: dict[tuple[Any, Any], Any] = {}  # each related record read once for the whole list
    for row in rows:
        if row.version > version:
            for model_field in fields:
                new = getattr(row, model_field.attname)
                old: Any = getattr(previous, model_field.attname) if previous is not None else None
                if old != new and not (previous is None and new in (None, "")):
                    changes.append(CrfChange(
                        field=model_field.name, label=field_label(model_field),
                        old=history_value_text(model, model_field.name, old, related),
                        new=history_value_text(model, model_field.name, new, related),
                        by=history_author(row), at=row.history_date, reason=row.history_change_reason or "",
                    ))
        previous = row
    return changes


@transaction.atomic
def crf_save(*, crf: CrfT, by: User | None, reason: str = "", submit: bool = True,
             expected_version: int | None = None) -> CrfT:
    """Validate and save a CRF with its author and reason on the history row.

    Editing a submitted, verified or signed form needs a reason; an edit that
    changes a value sends it back to submitted, clears the source verification
    of the changed fields (and of the whole form) and voids the signatures —
    they covered the old values.

    Optimistic concurrency: the edit is based on ``expected_version`` (the
    version the editor loaded, carried by the page's hidden field or the API's
    ``version``; by default the version of ``crf`` in hand). The stored row is
    read under SELECT … FOR UPDATE, so a concurrent save waits for this one;
    a stored version that moved on raises `CrfConflict` listing what the other
    saves changed, and nothing is saved. Each save raises the version by one.
    """
    # Row lock first: a lock, signature or edit committed meanwhile is seen by the checks below.
    stored = (type(crf).objects.select_for_update().filter(pk=crf.pk).first()
              if crf.pk is not None else None)
    crf_assert_editable(crf)
    reason = (reason or "").strip()
    if stored is not None:
        expected = crf.version if expected_version is None else expected_version
        if expected != stored.version:
            raise CrfConflict(
                crf_label=crf.crf_label, expected_version=expected, current_version=stored.version,
                changes=crf_changes_since(stored, version=expected),
            )
        crf.version = stored.version + 1
    else:
        crf.version = 1
    changed_fields: list[str] = []
    if stored is not None:
        before, after = crf_values(stored), crf_values(crf)
        changed_fields = [name for name in after if before[name] != after[name]]
    if crf_change_needs_reason(crf):
        if not reason:
            raise ValidationError({"reason": _("Give a reason for changing a submitted form.")})
        crf.status = CrfStatus.SUBMITTED if changed_fields or stored is None else stored.status
    elif submit:
        crf.status = CrfStatus.SUBMITTED
    if crf.pk is None and by is not None and getattr(crf, "created_by_id", None) is None:
        crf.created_by = by
    # Whatever the form's own checks said: nothing clinical happens in the future (plans may).
    if future := future_clinical_date_errors(crf):
        raise ValidationError(future)
    crf.full_clean()
    history_note(crf, by=by, reason=reason or INITIAL_ENTRY_REASON)
    crf.save()
    if changed_fields:
        # Upstairs: the SDV marks of the changed values are cleared and the signatures voided.
        for callback in hooks.values_changed_callbacks():
            callback(crf=crf, fields=changed_fields, reason=reason, by=by)
    return crf


@transaction.atomic
def crf_record(
    *,
    crf: CrfT,
    by: User | None,
    reason: str = "",
    hard_checks: Iterable[Callable[[], None]] = (),
    soft_checks: Iterable[SoftCheck] | Callable[[], Iterable[SoftCheck]] = (),
    acknowledge_deviation: bool = False,
    deviation_reason: str = "",
    submit: bool = True,
    expected_version: int | None = None,
) -> CrfT:
    """The recipe every CRF service follows, in this order:

    1. hard checks: each callable raises a ValidationError for impossible data;
    2. soft checks: unexpected but possible data (a list, or a callable run after the hard checks);
    3. acknowledgement: failed soft checks need ``acknowledge_deviation`` and a ``deviation_reason``
       (`SoftChecksNotAcknowledged` otherwise);
    4. `crf_save`: the audited save (reason once submitted, locks, version);
    5. deviations: one protocol deviation per acknowledged soft check (`crf.hooks`).

    A form with child rows (lymphodepletion doses, infusion fractions) saves them after this,
    in the same transaction (the caller's `transaction.atomic`).

    Worked example: `outcomes.services.response_assessment_save`.
    """
    for check in hard_checks:
        check()
    checks = list(soft_checks() if callable(soft_checks) else soft_checks)
    require_acknowledgement(checks, acknowledged=acknowledge_deviation, reason=deviation_reason)
    crf_save(crf=crf, by=by, reason=reason, submit=submit, expected_version=expected_version)
    if checks:
        # The deviations and their automatic queries are clinical record: their texts are written in English
        # (the checks' messages are lazy: `trial.i18n.lazy_message`), whatever language the page was in.
        with stored_language():
            for record in hooks.deviation_recorders():
                record(crf=crf, checks=checks, reason=deviation_reason, by=by)
    return crf


@transaction.atomic
def crf_child_rows_save(*, crf: CaseReportForm, rows: Iterable[Model] = (), removed: Iterable[Any] = (),
                        by: User | None, reason: str) -> bool:
    """Write a form's child rows after `crf_save` wrote the form: each new or changed row in ``rows``
    is checked (no clinical date in the future, field validation) and saved with the author and
    reason; each row in ``removed`` is marked removed with the reason — never deleted. When a row of
    a form that existed before changes, it is a change to the form: its signatures are void, its SDV
    marks cleared (`crf.hooks`) and a verified or signed form goes back to submitted. Returns whether
    anything changed."""
    reason = (reason or "").strip() or INITIAL_ENTRY_REASON
    row_models = {row_model for row_model, _fk in crf_children(type(crf), form_rows_only=True)}
    changed = False
    for row in rows:
        if type(row) not in row_models:
            raise TypeError(f"{type(row).__name__} is not a row of {type(crf).__name__}.")
        if row.pk is not None:
            stored = type(row).all_rows.filter(pk=row.pk).first()  # type: ignore[attr-defined]
            if stored is not None and all(
                getattr(stored, f.attname) == f.to_python(getattr(row, f.attname))
                for f in row._meta.concrete_fields
            ):
                continue
        if future := future_clinical_date_errors(row):
            raise ValidationError(future)
        audited_save(instance=row, by=by, reason=reason)
        changed = True
    for row in removed:
        if row.removed:
            continue
        row.removed = True
        row.removal_reason = f"Removed: {reason}"[:300]
        audited_save(instance=row, by=by, reason=row.removal_reason)
        changed = True
    if changed and reason != INITIAL_ENTRY_REASON:
        for callback in hooks.values_changed_callbacks():
            callback(crf=crf, fields=[], reason=reason, by=by)
        stored_status = type(crf).objects.filter(pk=crf.pk).values_list("status", flat=True).first()
        if stored_status in (CrfStatus.VERIFIED, CrfStatus.SIGNED):
            crf_status_set(crf=crf, status=CrfStatus.SUBMITTED, by=by, reason=f"Rows changed: {reason}")
    return changed


@transaction.atomic
def crf_remove(*, crf: CrfT, by: User | None, reason: str) -> CrfT:
    """Remove a form from the record: a status with a reason, never a delete. The form stays in the
    history and the casebook; its signatures are void (`crf_save`), a lock refuses it. The only record
    of the patient's death is not removed: the patient would stay off study for a death no form holds."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for removing the form.")})
    if crf.removed:
        raise ValidationError(_("This form is already removed."))
    death_date = getattr(crf, "death_date", None)
    if death_date is not None and not _other_death_records(crf):
        raise ValidationError({"reason": _(
            "This form is the only record of the patient's death (%(date)s), which took the patient off study. "
            "Record the death where it belongs before removing this form, or correct the death date through a "
            "query.") % {"date": f"{death_date:%Y-%m-%d}"}})
    crf.removed = True
    crf.removal_reason = reason[:300]
    return crf_save(crf=crf, by=by, reason=f"Removed: {reason}")


def _other_death_records(crf: CaseReportForm) -> bool:
    """Whether a form other than ``crf`` (any CRF with a death date: follow-up, adverse event, …) records
    the patient's death."""
    for model in crf_models():
        if not any(f.name == "death_date" for f in model._meta.concrete_fields):
            continue
        others = model.objects.filter(patient_id=crf.patient_id, removed=False, death_date__isnull=False)
        if model is type(crf):
            others = others.exclude(pk=crf.pk)
        if others.exists():
            return True
    return False


def crf_remove_through_form(*, crf: CaseReportForm, by: User, reason: str) -> CaseReportForm:
    """Remove a form through its own removal service (`CaseReportForm.removal_service`), whoever asks
    (page or API): only a user who may enter data at the patient's site, as for an edit."""
    from django.utils.module_loading import import_string

    _require_data_entry(by, crf)
    if not type(crf).removal_service:
        raise ValidationError({"reason": _(
            "The %(form)s form is corrected, never removed: it carries the patient's enrollment or day 0. Correct "
            "its values on the form or through a query.") % {"form": type(crf).crf_label}})
    return import_string(type(crf).removal_service)(crf=crf, by=by, reason=reason)


def crf_child_row_remove(*, row: CrfChildRow, by: User, reason: str, acknowledge_deviation: bool = False,
                         deviation_reason: str = "") -> CaseReportForm:
    """Remove one row of a form (a lymphodepletion dose, an infusion fraction) through the form's own
    service (the row model's `removal_service`): the form is recorded again without it, with its checks
    (a soft check needs the acknowledgement) and derived values, and the row is marked removed with the
    reason. Returns the form."""
    from django.utils.module_loading import import_string

    crf = row_form(row)
    _require_data_entry(by, crf)
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give a reason for removing the row.")})
    if row.removed:
        raise ValidationError(_("This row is already removed."))
    return import_string(type(row).removal_service)(
        row=row, by=by, reason=reason.strip(), acknowledge_deviation=acknowledge_deviation,
        deviation_reason=deviation_reason)


def row_form(row: CrfChildRow) -> CaseReportForm:
    """The form a child row belongs to."""
    for field in row._meta.concrete_fields:
        if field.is_relation and isinstance(field.related_model, type) and issubclass(
                field.related_model, CaseReportForm):
            return getattr(row, field.name)
    raise TypeError(f"{type(row).__name__} is not a row of a form.")


def _require_data_entry(user: User, crf: CaseReportForm) -> None:
    if not can_enter_data(user, crf.patient.site):
        raise PermissionDenied(_("Only the site's coordinators and investigators change its forms."))


def audited_save(*, instance: Model, by: User | None, reason: str) -> None:
    """Save a non-CRF audited record (a patient, a visit) with who and why."""
    instance.full_clean()
    history_note(instance, by=by, reason=reason)
    instance.save()


def crf_status_set(*, crf: CaseReportForm, status: str, by: User | None, reason: str) -> None:
    """A life-cycle step (verified, signed, locked): an audited save of the status only."""
    crf.status = status
    history_note(crf, by=by, reason=reason)
    crf.save(update_fields=["status", "updated_at"])


def crf_content_type(crf: Model) -> ContentType:
    """The content type that monitoring records (queries, marks, signatures, locks) use to point at a CRF."""
    return ContentType.objects.get_for_model(type(crf))
