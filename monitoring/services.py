"""The CRF life cycle: every create and edit of a clinical record goes
through `crf_save`, so the audit trail always has who, when and why.

Monitoring operations live here too: data queries, source-data verification,
investigator e-signatures and locks (design.md, "The life of a CRF")."""
import hashlib
import json

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from trial.models import Role
from trial.roles import can_enter_data, has_role

from .checks import CrfChange, CrfConflict
from .crf import CaseReportForm, CrfStatus

INITIAL_ENTRY_REASON = "Initial entry"

# Columns that are bookkeeping, not clinical values: they are neither signed
# nor verified, and changing them is not an edit of the data.
BOOKKEEPING_FIELDS = frozenset({"id", "status", "created_at", "updated_at", "created_by", "version"})


def crf_value_fields(model) -> list:
    """The concrete fields that hold the form's data, in model order."""
    return [f for f in model._meta.concrete_fields if f.name not in BOOKKEEPING_FIELDS]


def crf_values(crf) -> dict[str, str]:
    """Each data field's stored value as text (foreign keys as their key)."""
    return {f.name: f.value_to_string(crf) for f in crf_value_fields(type(crf))}


def crf_values_sha256(crf) -> str:
    """The fingerprint a signature binds to: SHA-256 of the values as canonical JSON."""
    payload = json.dumps(
        {"form": type(crf)._meta.label_lower, "pk": crf.pk, "values": crf_values(crf)},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def crf_field(crf_or_model, field_name: str):
    model = crf_or_model if isinstance(crf_or_model, type) else type(crf_or_model)
    try:
        model_field = model._meta.get_field(field_name)
    except FieldDoesNotExist:
        raise ValidationError({"field": f"{model.crf_label or model.__name__} has no field {field_name!r}."})
    if model_field.name in BOOKKEEPING_FIELDS or not getattr(model_field, "concrete", False):
        raise ValidationError({"field": f"{field_name!r} is not a data field of the form."})
    return model_field


def crf_lock_reason(crf) -> str:
    """Why the CRF may not be changed now, or "" when it may: its own lock,
    or a lock of its visit, its patient or the whole trial."""
    from .models import DataLock, LockScope

    if crf.pk is not None:
        stored_status = type(crf).objects.filter(pk=crf.pk).values_list("status", flat=True).first()
        if stored_status == CrfStatus.LOCKED:
            return "This form is locked; a data manager must unlock it before it can be changed."
    active = DataLock.objects.filter(unlocked_at__isnull=True)
    if active.filter(scope=LockScope.TRIAL).exists():
        return "The trial database is locked; a data manager must unlock it before any form can be changed."
    patient_id = getattr(crf, "patient_id", None)
    if patient_id and active.filter(scope=LockScope.PATIENT, patient_id=patient_id).exists():
        return "This patient's data are locked; a data manager must unlock them before a form can be changed."
    visit_id = getattr(crf, "visit_id", None)
    if visit_id and active.filter(scope=LockScope.VISIT, visit_id=visit_id).exists():
        return "This visit is locked; a data manager must unlock it before its forms can be changed."
    return ""


def crf_is_editable(crf) -> bool:
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


def _who(user) -> str:
    if user is None:
        return "system"
    full_name = user.get_full_name()
    return f"{full_name} ({user.username})" if full_name else user.username


def crf_changes_since(crf: CaseReportForm, *, version: int) -> list[CrfChange]:
    """What the saves after ``version`` changed, value by value, from the audit trail:
    each field's value at ``version`` → the value a later save gave it, with who and when."""
    from .audit import history_value_text
    from .display import field_label

    model = type(crf)
    fields = crf_value_fields(model)
    rows = list(crf.history.select_related("history_user").order_by("history_date", "history_id"))
    previous = None
    changes = []
    related = {}  # each related record read once for the whole list
    for row in rows:
        if row.version > version:
            for model_field in fields:
                new = getattr(row, model_field.attname)
                old = getattr(previous, model_field.attname) if previous is not None else None
                if old != new and not (previous is None and new in (None, "")):
                    changes.append(CrfChange(
                        field=model_field.name, label=field_label(model_field),
                        old=history_value_text(model, model_field.name, old, related),
                        new=history_value_text(model, model_field.name, new, related),
                        by=_who(row.history_user), at=row.history_date, reason=row.history_change_reason or "",
                    ))
        previous = row
    return changes


@transaction.atomic
def crf_save(*, crf: CaseReportForm, by, reason: str = "", submit: bool = True,
             expected_version: int | None = None) -> CaseReportForm:
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
            raise ValidationError({"reason": "Give a reason for changing a submitted form."})
        crf.status = CrfStatus.SUBMITTED if changed_fields else stored.status
    elif submit:
        crf.status = CrfStatus.SUBMITTED
    if crf.pk is None and by is not None and getattr(crf, "created_by_id", None) is None:
        crf.created_by = by
    crf.full_clean()
    crf._change_reason = reason or INITIAL_ENTRY_REASON
    crf._history_user = by
    crf.save()
    if changed_fields:
        sdv_clear(crf=crf, fields=changed_fields, reason=reason, by=by)
        signatures_void(crf=crf, reason=f"Form changed after signing: {reason}", by=by)
    return crf


def audited_save(*, instance, by, reason: str) -> None:
    """Save a non-CRF audited record (a patient, a visit) with who and why."""
    instance.full_clean()
    instance._change_reason = reason
    instance._history_user = by
    instance.save()


def deviations_record(*, crf, checks, reason: str, by) -> list:
    """File a protocol deviation for each acknowledged soft check of a saved CRF."""
    from .models import ProtocolDeviation

    content_type = ContentType.objects.get_for_model(crf)
    deviations = []
    for check in checks:
        deviation = ProtocolDeviation(
            patient=crf.patient, content_type=content_type, object_id=crf.pk,
            crf_label=crf.crf_label, rule=check.rule, field=check.field, message=check.message,
            value=check.value, reason=reason.strip(), created_by=by,
        )
        deviation._history_user = by
        deviation._change_reason = reason.strip()
        deviation.save()
        deviations.append(deviation)
        # The edit check asks the site to confirm the unexpected value against source.
        query_raise_automatic(
            crf=crf, field=check.field,
            text=f"Protocol deviation recorded: {check.message} Please confirm the value against the source "
                 f"documents.",
        )
    return deviations


# --- Who may do what ---------------------------------------------------------

def _site_of(crf):
    return crf.patient.site


def can_monitor(user, site) -> bool:
    """Monitors (their sites), data managers and administrators raise and close queries and verify."""
    return has_role(user, Role.MONITOR, Role.DATA_MANAGER, Role.ADMINISTRATOR, site=site)


def can_lock(user) -> bool:
    return has_role(user, Role.DATA_MANAGER, Role.ADMINISTRATOR)


def can_sign(user, site) -> bool:
    """Only an investigator of the patient's site signs (not an administrator)."""
    return has_role(user, Role.INVESTIGATOR, site=site)


def _crf_status_set(*, crf, status: str, by, reason: str) -> None:
    """A life-cycle step (verified, signed, locked): an audited save of the status only."""
    crf.status = status
    crf._change_reason = reason
    crf._history_user = by
    crf.save(update_fields=["status", "updated_at"])


def _content_type(crf):
    return ContentType.objects.get_for_model(type(crf))


# --- Data queries ------------------------------------------------------------

def _query_message(*, query, action: str, by, text: str = "", old_value: str = "", new_value: str = ""):
    from .models import QueryMessage

    message = QueryMessage(query=query, action=action, author=by, text=text, old_value=old_value,
                           new_value=new_value)
    message.full_clean()
    message.save()
    return message


def _query_create(*, crf, field: str, text: str, by, automatic: bool):
    from .models import DataQuery, QueryMessage

    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Say what is wrong with the value."})
    model_field = crf_field(crf, field)
    query = DataQuery(
        patient=crf.patient, content_type=_content_type(crf), object_id=crf.pk, crf_label=crf.crf_label,
        field=model_field.name, field_label=str(model_field.verbose_name), text=text, raised_by=by,
        automatic=automatic,
    )
    query.full_clean()
    query._history_user = by
    query._change_reason = "Query raised"
    query.save()
    _query_message(query=query, action=QueryMessage.Action.RAISE, by=by, text=text,
                   old_value=model_field.value_to_string(crf))
    return query


@transaction.atomic
def query_raise(*, crf, field: str, text: str, by):
    """A monitor or data manager asks the site about one field of a CRF."""
    if not can_monitor(by, _site_of(crf)):
        raise PermissionDenied("Only monitors and data managers raise queries.")
    return _query_create(crf=crf, field=field, text=text, by=by, automatic=False)


def query_raise_automatic(*, crf, field: str, text: str):
    """An edit check's query. Raised once: an identical open query is not repeated.
    A field that is not a data field of the form raises nothing (returns None)."""
    from .models import DataQuery, QueryStatus

    try:
        crf_field(crf, field)
    except ValidationError:
        return None
    existing = DataQuery.objects.filter(
        content_type=_content_type(crf), object_id=crf.pk, field=field, text=text.strip(), automatic=True,
    ).exclude(status=QueryStatus.CLOSED).first()
    if existing is not None:
        return existing
    return _query_create(crf=crf, field=field, text=text, by=None, automatic=True)


def _query_save(*, query, by, reason: str) -> None:
    query.full_clean()
    query._history_user = by
    query._change_reason = reason
    query.save()


@transaction.atomic
def query_answer(*, query, by, text: str, new_value=None, reason: str = ""):
    """The site answers; it may correct the value (an audited `crf_save` with
    the reason for change). `new_value` is the raw input, cleaned by the
    model field's own form field, so the same validation applies as on the form."""
    from .models import QueryMessage, QueryStatus

    crf = query.crf
    if not can_enter_data(by, _site_of(crf)):
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
        try:
            cleaned = form_field.clean(new_value)
        except ValidationError as error:
            raise ValidationError({"new_value": error.messages})
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
                    raise ValidationError({"new_value": error.error_dict[query.field][0].messages})
                raise
            action = QueryMessage.Action.CORRECT
    query.status = QueryStatus.ANSWERED
    _query_save(query=query, by=by, reason="Query answered")
    _query_message(query=query, action=action, by=by, text=text, old_value=old_value,
                   new_value=new_text if action == QueryMessage.Action.CORRECT else "")
    return query


@transaction.atomic
def query_close(*, query, by, text: str = ""):
    from .models import QueryMessage, QueryStatus

    if not can_monitor(by, query.patient.site):
        raise PermissionDenied("Only monitors and data managers close queries.")
    if query.status == QueryStatus.CLOSED:
        raise ValidationError("This query is already closed.")
    query.status = QueryStatus.CLOSED
    query.closed_at = timezone.now()
    _query_save(query=query, by=by, reason="Query closed")
    _query_message(query=query, action=QueryMessage.Action.CLOSE, by=by, text=(text or "").strip())
    return query


@transaction.atomic
def query_reopen(*, query, by, text: str):
    from .models import QueryMessage, QueryStatus

    if not can_monitor(by, query.patient.site):
        raise PermissionDenied("Only monitors and data managers re-open queries.")
    if query.status != QueryStatus.CLOSED:
        raise ValidationError("Only a closed query can be re-opened.")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Say why the query is re-opened."})
    query.status = QueryStatus.OPEN
    query.closed_at = None
    _query_save(query=query, by=by, reason="Query re-opened")
    _query_message(query=query, action=QueryMessage.Action.REOPEN, by=by, text=text)
    return query


# --- Source-data verification -------------------------------------------------

@transaction.atomic
def crf_verify(*, crf, by, fields: list[str] | None = None):
    """A monitor marks the whole form (fields None) or some fields as matching
    the source. Verifying the whole form moves a submitted form to verified."""
    from .models import SourceVerification

    if not can_monitor(by, _site_of(crf)):
        raise PermissionDenied("Only monitors verify source data.")
    if crf.removed or crf.status == CrfStatus.DRAFT:
        raise ValidationError("Only a submitted form can be source-verified.")
    names = [crf_field(crf, name).name for name in fields] if fields else [""]
    marks = []
    for name in names:
        mark = SourceVerification(patient=crf.patient, content_type=_content_type(crf), object_id=crf.pk,
                                  field=name, verified_by=by)
        mark.full_clean()
        mark._history_user = by
        mark._change_reason = "Source-data verified"
        mark.save()
        marks.append(mark)
    if not fields and crf.status == CrfStatus.SUBMITTED:
        _crf_status_set(crf=crf, status=CrfStatus.VERIFIED, by=by, reason="Source-data verified")
    return marks


def sdv_clear(*, crf, fields: list[str], reason: str, by=None) -> int:
    """Clear the marks an edit invalidates: the whole-form mark and those of the changed fields."""
    from .models import SourceVerification

    cleared = 0
    for mark in SourceVerification.objects.filter(
        content_type=_content_type(crf), object_id=crf.pk, cleared_at__isnull=True, field__in=["", *fields],
    ):
        mark.cleared_at = timezone.now()
        mark.cleared_reason = f"Value changed: {reason}"[:300]
        mark._change_reason = mark.cleared_reason
        if by is not None:  # the editor, also over the API where no session names them
            mark._history_user = by
        mark.save()
        cleared += 1
    return cleared


# --- Electronic signatures -----------------------------------------------------

def _check_password(*, by, password: str) -> None:
    if not password or not by.check_password(password):
        raise ValidationError({"password": "The password is not correct; the form was not signed."})


def _check_second_factor(*, by, site, otp_token: str = "", otp_verified: bool = False) -> None:
    """Where the site asks for it, a signature needs a second factor: a session
    verified with the signer's authenticator at login, or its current code."""
    from django_otp import devices_for_user, match_token

    if not site.require_two_factor_for_signing or otp_verified:
        return
    if next(devices_for_user(by, confirmed=True), None) is None:
        raise ValidationError({"otp_token": f"Site {site.code} requires two-factor authentication to sign, and no "
                                            f"authenticator app is enrolled for you; ask an administrator to enrol "
                                            f"one. The form was not signed."})
    token = (otp_token or "").strip()
    if not token:
        raise ValidationError({"otp_token": f"Site {site.code} requires two-factor authentication to sign: enter "
                                            f"the 6-digit code from your authenticator app. The form was not signed."})
    if match_token(by, token) is None:
        raise ValidationError({"otp_token": "That authenticator code is wrong or expired; enter the current one. "
                                            "The form was not signed."})


def _crf_sign_one(*, crf, by, visit=None):
    from .models import Signature

    if not can_sign(by, _site_of(crf)):
        raise PermissionDenied("Only an investigator of the patient's site may sign.")
    crf_assert_editable(crf)
    if crf.removed or crf.status not in (CrfStatus.SUBMITTED, CrfStatus.VERIFIED):
        raise ValidationError(f"{crf.crf_label} cannot be signed in status {crf.get_status_display()}.")
    signature = Signature(
        patient=crf.patient, content_type=_content_type(crf), object_id=crf.pk, crf_label=crf.crf_label,
        visit=visit, signer=by, signer_full_name=by.get_full_name() or by.username, signed_at=timezone.now(),
        meaning=Signature.MEANING_REVIEWED, values_sha256=crf_values_sha256(crf),
    )
    signature.full_clean()
    signature._history_user = by
    signature._change_reason = "Signed"
    signature.save()
    _crf_status_set(crf=crf, status=CrfStatus.SIGNED, by=by,
                    reason=f"Signed by {signature.signer_full_name}: {signature.meaning}")
    return signature


@transaction.atomic
def crf_sign(*, crf, by, password: str, otp_token: str = "", otp_verified: bool = False):
    """An investigator signs a CRF by re-entering the password (21 CFR 11.200):
    the signature records the printed name, date and time, and its meaning.
    A site with `require_two_factor_for_signing` also needs `otp_token` or an
    OTP-verified session (`otp_verified`, the caller's `user.is_verified()`)."""
    _check_password(by=by, password=password)
    if can_sign(by, _site_of(crf)):  # others are refused below, whatever their second factor
        _check_second_factor(by=by, site=_site_of(crf), otp_token=otp_token, otp_verified=otp_verified)
    return _crf_sign_one(crf=crf, by=by)


@transaction.atomic
def visit_sign(*, visit, by, password: str, otp_token: str = "", otp_verified: bool = False) -> list:
    """Sign every unsigned form of a visit at once, with one password entry
    (and one second factor where the site requires it)."""
    from .selectors import visit_crfs

    _check_password(by=by, password=password)
    if can_sign(by, visit.patient.site):
        _check_second_factor(by=by, site=visit.patient.site, otp_token=otp_token, otp_verified=otp_verified)
    pending = [crf for crf in visit_crfs(visit) if crf.status in (CrfStatus.SUBMITTED, CrfStatus.VERIFIED)]
    if not pending:
        raise ValidationError("This visit has no form waiting for a signature.")
    return [_crf_sign_one(crf=crf, by=by, visit=visit) for crf in pending]


def signatures_void(*, crf, reason: str, by=None) -> int:
    """An edit voids the signatures of the old values; the form asks for a new one."""
    from .models import Signature

    voided = 0
    for signature in Signature.objects.filter(content_type=_content_type(crf), object_id=crf.pk,
                                              voided_at__isnull=True):
        signature.voided_at = timezone.now()
        signature.void_reason = reason[:300]
        signature._change_reason = signature.void_reason
        if by is not None:
            signature._history_user = by
        signature.save()
        voided += 1
    return voided


def signature_is_intact(signature) -> bool:
    """True when the form still holds the values that were signed (tampering shows as False)."""
    crf = signature.crf
    return crf is not None and crf_values_sha256(crf) == signature.values_sha256


# --- Locks ---------------------------------------------------------------------

def _lock_save(lock, *, by, reason: str) -> None:
    lock.full_clean()
    lock._history_user = by
    lock._change_reason = reason
    lock.save()


def _open_queries_in_scope(*, patient=None, crf=None):
    from .models import DataQuery, QueryStatus

    queries = DataQuery.objects.exclude(status=QueryStatus.CLOSED)
    if crf is not None:
        return queries.filter(content_type=_content_type(crf), object_id=crf.pk)
    if patient is not None:
        return queries.filter(patient=patient)
    return queries


@transaction.atomic
def data_lock_create(*, scope: str, by, reason: str = "", crf=None, visit=None, patient=None):
    """A data manager locks a form, a visit, a patient or the whole trial.
    Open queries in the scope must be closed first."""
    from .models import DataLock, LockScope

    if not can_lock(by):
        raise PermissionDenied("Only data managers lock data.")
    lock = DataLock(scope=scope, locked_by=by, reason=(reason or "").strip())
    if scope == LockScope.CRF:
        crf_assert_editable(crf)
        if crf.status == CrfStatus.DRAFT:
            raise ValidationError("A draft form cannot be locked.")
        lock.patient, lock.visit = crf.patient, crf.visit
        lock.content_type, lock.object_id, lock.previous_crf_status = _content_type(crf), crf.pk, crf.status
        open_queries = _open_queries_in_scope(crf=crf)
    elif scope == LockScope.VISIT:
        lock.patient, lock.visit = visit.patient, visit
        open_queries = _open_queries_in_scope(patient=visit.patient).none()
        if DataLock.objects.filter(scope=scope, visit=visit, unlocked_at__isnull=True).exists():
            raise ValidationError("This visit is already locked.")
    elif scope == LockScope.PATIENT:
        lock.patient = patient
        open_queries = _open_queries_in_scope(patient=patient)
        if DataLock.objects.filter(scope=scope, patient=patient, unlocked_at__isnull=True).exists():
            raise ValidationError("This patient is already locked.")
    elif scope == LockScope.TRIAL:
        open_queries = _open_queries_in_scope()
        if DataLock.objects.filter(scope=scope, unlocked_at__isnull=True).exists():
            raise ValidationError("The trial is already locked.")
    else:
        raise ValidationError({"scope": f"Unknown lock scope {scope!r}."})
    if open_queries.exists():
        raise ValidationError(f"{open_queries.count()} open quer{'y' if open_queries.count() == 1 else 'ies'} "
                              f"must be closed before locking.")
    _lock_save(lock, by=by, reason=f"Locked: {lock.reason or lock.get_scope_display()}")
    if scope == LockScope.CRF:
        _crf_status_set(crf=crf, status=CrfStatus.LOCKED, by=by, reason=f"Locked: {lock.reason or 'data lock'}")
    return lock


@transaction.atomic
def data_lock_release(*, lock, by, reason: str):
    """Unlocking needs a reason; a form goes back to the status it had."""
    from .models import LockScope

    if not can_lock(by):
        raise PermissionDenied("Only data managers unlock data.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give a reason for unlocking."})
    if lock.unlocked_at is not None:
        raise ValidationError("This lock was already released.")
    lock.unlocked_at, lock.unlocked_by, lock.unlock_reason = timezone.now(), by, reason
    _lock_save(lock, by=by, reason=f"Unlocked: {reason}")
    if lock.scope == LockScope.CRF:
        crf = lock.crf
        _crf_status_set(crf=crf, status=lock.previous_crf_status or CrfStatus.SUBMITTED, by=by,
                        reason=f"Unlocked: {reason}")
    return lock


def crf_lock(*, crf, by, reason: str = ""):
    from .models import LockScope

    return data_lock_create(scope=LockScope.CRF, crf=crf, by=by, reason=reason)


def crf_unlock(*, crf, by, reason: str):
    from .models import DataLock, LockScope

    lock = DataLock.objects.filter(scope=LockScope.CRF, content_type=_content_type(crf), object_id=crf.pk,
                                   unlocked_at__isnull=True).first()
    if lock is None:
        raise ValidationError("This form is not locked.")
    return data_lock_release(lock=lock, by=by, reason=reason)


# --- Exports --------------------------------------------------------------------

def export_record(*, user, kind: str, description: str):
    from .models import ExportRecord

    record = ExportRecord(user=user, kind=kind, description=description[:300])
    record.full_clean()
    record.save()
    return record


@transaction.atomic
def export_job_create(*, by, patients):
    """Queue a batch of casebook PDFs; the Celery task starts after commit."""
    from .models import ExportJob
    from .tasks import export_job_run as export_job_run_task

    patients = list(patients)
    if not patients:
        raise ValidationError({"study_ids": "No patient matches."})
    job = ExportJob(requested_by=by, total_count=len(patients))
    job.full_clean()
    job.save()
    job.patients.set(patients)
    export_record(user=by, kind="casebook_batch",
                  description=f"Casebooks of {len(patients)} patients: "
                              + ", ".join(p.study_id for p in patients))
    transaction.on_commit(lambda: export_job_start(job_id=job.pk, task=export_job_run_task))
    return job


def export_job_start(*, job_id: int, task) -> "threading.Thread | None":
    """Hand the batch to a Celery worker; without a broker (tasks run eagerly, in the request) run it in a
    background thread of this process instead, so the request answers at once and the job page shows the
    progress. Returns the thread, if one was started."""
    import threading

    from django.conf import settings

    from config.celery import app

    # CASEBOOK_BATCH_IN_THREAD (default on) is turned off by tests that want the eager task inline.
    if not app.conf.task_always_eager or not getattr(settings, "CASEBOOK_BATCH_IN_THREAD", True):
        task.delay(job_id)
        return None
    thread = threading.Thread(target=_export_job_run_in_thread, kwargs={"job_id": job_id},
                              name=f"casebook-batch-{job_id}", daemon=True)
    thread.start()
    return thread


def _export_job_run_in_thread(*, job_id: int) -> None:
    import logging

    from django.db import connection

    try:
        export_job_run(job_id=job_id)
    except Exception:  # recorded on the job by export_job_run; a thread has no one else to tell
        logging.getLogger(__name__).exception("Casebook batch %s failed", job_id)
    finally:
        connection.close()  # the thread's own connection


def export_job_run(*, job_id: int) -> None:
    """Build the ZIP of casebooks; a job already done is left as it is (idempotent)."""
    import zipfile
    from io import BytesIO

    from django.core.files.base import ContentFile

    from .models import ExportJob
    from .reports import casebook_pdf

    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None or job.status == ExportJob.Status.DONE:
        return
    patients = list(job.patients.select_related("site", "protocol").order_by("subject_id"))
    job.status = ExportJob.Status.RUNNING
    job.total_count, job.done_count = len(patients), 0
    job.save(update_fields=["status", "total_count", "done_count"])
    try:
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for patient in patients:
                archive.writestr(f"casebook-{patient.study_id}.pdf",
                                 casebook_pdf(patient=patient, by=job.requested_by))
                job.done_count += 1
                job.save(update_fields=["done_count"])  # the job page's progress bar
        job.file.save(f"casebooks-{job.pk}.zip", ContentFile(buffer.getvalue()), save=False)
        job.status = ExportJob.Status.DONE
        job.error = ""
    except Exception as error:  # recorded for the user; the task may be retried
        job.status = ExportJob.Status.FAILED
        job.error = str(error)[:2000]
        job.finished_at = timezone.now()
        job.save()
        raise
    job.finished_at = timezone.now()
    job.save()
