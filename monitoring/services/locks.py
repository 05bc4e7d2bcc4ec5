"""Data locks: a data manager's lock of a form, a visit, a patient or the
whole trial; unlocking needs a reason. `data_lock_reason` is the floor's lock
check (registered in monitoring/apps.py): `crf_save` refuses what it names."""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crf.models import CaseReportForm, CrfStatus
from crf.services import (
    audited_save,
    crf_assert_editable,
    crf_content_type,
    crf_status_set,
)

from ..models import DataLock, DataQuery, LockScope, QueryStatus
from ..roles import can_lock
from ..texts import english

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

    from patients.models import Patient, Visit

#: The code of the refusal to lock while queries are open (pages link it to the queries).
OPEN_QUERIES_BEFORE_LOCK = "open_queries"


def data_lock_reason(crf: CaseReportForm) -> str:
    """Why a lock of the whole trial, the CRF's patient, its visit or the form itself forbids changing it,
    with who locked it, when and why ("" if none does). Pages show it before anything is typed; saves refuse
    with it, in the reader's language (it is never stored). One query, whatever the scope (every entry page
    asks)."""
    patient_id, visit_id = getattr(crf, "patient_id", None), getattr(crf, "visit_id", None)
    scopes = Q(scope=LockScope.TRIAL)
    if patient_id:
        scopes |= Q(scope=LockScope.PATIENT, patient_id=patient_id)
    if visit_id:
        scopes |= Q(scope=LockScope.VISIT, visit_id=visit_id)
    if crf.pk is not None:
        scopes |= Q(scope=LockScope.CRF, content_type=crf_content_type(crf), object_id=crf.pk)
    locks = {lock.scope: lock for lock in
             DataLock.objects.filter(scopes, unlocked_at__isnull=True).select_related("locked_by")}
    if LockScope.TRIAL in locks:
        return _("The trial database is locked (%(locked_by)s); a data manager must unlock it before any form can "
                 "be changed.") % {"locked_by": _locked_by(locks[LockScope.TRIAL])}
    if LockScope.PATIENT in locks:
        return _("This patient's data are locked (%(locked_by)s); a data manager must unlock them before a form "
                 "can be changed.") % {"locked_by": _locked_by(locks[LockScope.PATIENT])}
    if LockScope.VISIT in locks:
        return _("This visit is locked (%(locked_by)s); a data manager must unlock it before its forms can be "
                 "changed.") % {"locked_by": _locked_by(locks[LockScope.VISIT])}
    if LockScope.CRF in locks:
        return _("This form is locked (%(locked_by)s); a data manager must unlock it before it can be "
                 "changed.") % {"locked_by": _locked_by(locks[LockScope.CRF])}
    return ""


def _locked_by(lock: DataLock) -> str:
    """'by Dana Li on 2026-11-20: "Interim analysis"' — who, when and why, as the lock page lists them."""
    who = lock.locked_by.get_full_name() or lock.locked_by.get_username()
    when = timezone.localdate(lock.locked_at).isoformat()
    if lock.reason:
        return _('by %(who)s on %(when)s: "%(reason)s"') % {"who": who, "when": when, "reason": lock.reason}
    return _("by %(who)s on %(when)s") % {"who": who, "when": when}


def _open_queries_in_scope(*, patient: Patient | None = None,
                           crf: CaseReportForm | None = None) -> QuerySet[DataQuery]:
    queries = DataQuery.objects.exclude(status=QueryStatus.CLOSED)
    if crf is not None:
        return queries.filter(content_type=crf_content_type(crf), object_id=crf.pk)
    if patient is not None:
        return queries.filter(patient=patient)
    return queries


def _crf_lock_target(lock: DataLock, crf: CaseReportForm | None) -> QuerySet[DataQuery]:
    if crf is None:
        raise ValidationError({"crf": _("Name the form to lock.")})
    crf_assert_editable(crf)
    if crf.status == CrfStatus.DRAFT:
        raise ValidationError(_("A draft form cannot be locked."))
    lock.patient, lock.visit = crf.patient, crf.visit
    lock.content_type, lock.object_id, lock.previous_crf_status = crf_content_type(crf), crf.pk, crf.status
    return _open_queries_in_scope(crf=crf)


def _lock_target(lock: DataLock, *, crf: CaseReportForm | None, visit: Visit | None,
                 patient: Patient | None) -> QuerySet[DataQuery]:
    """Point the lock at what it locks (refusing a second lock of it); the open queries that block it."""
    active = DataLock.objects.filter(scope=lock.scope, unlocked_at__isnull=True)
    if lock.scope == LockScope.CRF:
        return _crf_lock_target(lock, crf)
    if lock.scope == LockScope.VISIT:
        if visit is None:
            raise ValidationError({"visit": _("Name the visit to lock.")})
        lock.patient, lock.visit = visit.patient, visit
        if active.filter(visit=visit).exists():
            raise ValidationError(_("This visit is already locked."))
        return _open_queries_in_scope(patient=visit.patient).none()
    if lock.scope == LockScope.PATIENT:
        lock.patient = patient
        if active.filter(patient=patient).exists():
            raise ValidationError(_("This patient is already locked."))
        return _open_queries_in_scope(patient=patient)
    if lock.scope == LockScope.TRIAL:
        if active.exists():
            raise ValidationError(_("The trial is already locked."))
        return _open_queries_in_scope()
    raise ValidationError({"scope": _("Unknown lock scope %(scope)r.") % {"scope": lock.scope}})


@transaction.atomic
def data_lock_create(*, scope: str, by: User, reason: str = "", crf: CaseReportForm | None = None,
                     visit: Visit | None = None, patient: Patient | None = None) -> DataLock:
    """A data manager locks a form, a visit, a patient or the whole trial.
    Open queries in the scope must be closed first."""
    if not can_lock(by):
        raise PermissionDenied(_("Only data managers lock data."))
    lock = DataLock(scope=scope, locked_by=by, reason=(reason or "").strip())
    open_queries = _lock_target(lock, crf=crf, visit=visit, patient=patient)
    if open_queries.exists():
        count = open_queries.count()
        raise ValidationError(ngettext("%(count)s open query must be closed before locking.",
                                       "%(count)s open queries must be closed before locking.", count)
                              % {"count": count}, code=OPEN_QUERIES_BEFORE_LOCK)
    # The audit trail's reason is English whatever the data manager's language (docs/i18n.md).
    audited_save(instance=lock, by=by, reason=f"Locked: {lock.reason or english(lock.get_scope_display())}")
    if crf is not None and scope == LockScope.CRF:
        crf_status_set(crf=crf, status=CrfStatus.LOCKED, by=by, reason=f"Locked: {lock.reason or 'data lock'}")
    return lock


@transaction.atomic
def data_lock_release(*, lock: DataLock, by: User, reason: str) -> DataLock:
    """Unlocking needs a reason; a form goes back to the status it had."""
    if not can_lock(by):
        raise PermissionDenied(_("Only data managers unlock data."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give a reason for unlocking.")})
    if lock.unlocked_at is not None:
        raise ValidationError(_("This lock was already released."))
    lock.unlocked_at, lock.unlocked_by, lock.unlock_reason = timezone.now(), by, reason
    audited_save(instance=lock, by=by, reason=f"Unlocked: {reason}")
    if lock.scope == LockScope.CRF:
        crf = lock.crf
        assert crf is not None  # a CRF lock names its form, and forms are never deleted
        crf_status_set(crf=crf, status=lock.previous_crf_status or CrfStatus.SUBMITTED, by=by,
                        reason=f"Unlocked: {reason}")
    return lock


def crf_lock(*, crf: CaseReportForm, by: User, reason: str = "") -> DataLock:
    return data_lock_create(scope=LockScope.CRF, crf=crf, by=by, reason=reason)


def crf_unlock(*, crf: CaseReportForm, by: User, reason: str) -> DataLock:
    lock = DataLock.objects.filter(scope=LockScope.CRF, content_type=crf_content_type(crf), object_id=crf.pk,
                                   unlocked_at__isnull=True).first()
    if lock is None:
        raise ValidationError(_("This form is not locked."))
    return data_lock_release(lock=lock, by=by, reason=reason)
