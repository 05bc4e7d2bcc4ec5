"""The follow-up visit schedule: placing visits, keeping their status, reminding.

- `visits_schedule` places a patient's visits from the infusion date and the
  protocol's `VisitDefinition`s. Idempotent: the (patient, definition) unique
  constraint guarantees each visit once, and an existing visit is only
  re-targeted (audited) when the infusion date was corrected.
- `visits_update_status` is the daily set-based status pass (see its docstring
  for how the audit trail is kept without a query per visit).
- `visit_reminders_send` e-mails each site's coordinators once a day.
- `visit_mark_done` and `visit_window_warning` are for other apps' CRF flows.
"""
from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crf.audit import update_with_history
from crf.models import crf_models
from crf.services import audited_save
from patients.models import Patient, PatientStatus, Visit
from trial.history import history_username_attrs
from trial.models import Protocol, Role, SiteMembership, VisitDefinition
from trial.rules import (
    VISIT_WINDOW_BANDS,
    VisitStatus,
    WindowBand,
    visit_status,
    visit_window,
    visit_window_message,
)

from .models import VisitReminder

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

#: Statuses the daily job never changes: data entered, or the patient left the study.
FINAL_STATUSES = (VisitStatus.DONE, VisitStatus.NOT_EXPECTED)
# The statuses a visit's window and the grace period decide; with FINAL_STATUSES, every status.
WINDOW_STATUSES = tuple(band.status for band in VISIT_WINDOW_BANDS)
#: How far ahead the coordinators' reminder and dashboard look.
REMINDER_HORIZON_DAYS = 7
SCHEDULED_REASON = "Scheduled from the infusion date"


# --- scheduling ----------------------------------------------------------------------


def visits_schedule(*, patient: Patient, by: User | None = None, today: datetime.date | None = None) -> dict[str, int]:
    """Place (or re-target) every visit of the patient's protocol, then set their status.

    Idempotent and all-or-nothing: one transaction holding the patient's row
    lock inserts only the missing visits (INSERT … ON CONFLICT DO NOTHING, the
    (patient, definition) unique constraint being the last word) with their
    '+' history rows. A retry after a crash finds either nothing done or
    everything done, never half.
    """
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        if patient.infusion_date is None:
            return {"created": 0, "retargeted": 0}
        existing = {visit.definition_id: visit for visit in Visit.objects.filter(patient=patient)}
        missing, retargeted = [], 0
        for definition in VisitDefinition.objects.filter(protocol_id=patient.protocol_id).order_by("target_day"):
            window = visit_window(
                infusion_date=patient.infusion_date, target_day=definition.target_day,
                window_before_days=definition.window_before_days, window_after_days=definition.window_after_days,
            )
            visit = existing.get(definition.pk)
            if visit is None:
                missing.append(Visit(patient=patient, definition=definition, **window._asdict()))
            elif (visit.target_date, visit.window_start, visit.window_end) != tuple(window):
                visit.target_date, visit.window_start, visit.window_end = window
                audited_save(instance=visit, by=by,
                             reason=f"Re-targeted: day 0 is now {patient.infusion_date:%Y-%m-%d}")
                retargeted += 1
        if missing:
            Visit.objects.bulk_create(missing, ignore_conflicts=True)
            created = list(Visit.objects.filter(patient=patient).exclude(pk__in=[v.pk for v in existing.values()]))
            Visit.history.bulk_history_create(created, default_user=by, default_change_reason=SCHEDULED_REASON,
                                              custom_historical_attrs=history_username_attrs(by))
        else:
            created = []
        visits_update_status(today=today or timezone.localdate(), patient_ids=[patient.pk], by=by)
    return {"created": len(created), "retargeted": retargeted}


def visits_unscheduled_patient_ids() -> list[int]:
    """Infused patients whose schedule is incomplete or out of date: a visit of
    their protocol missing, or one whose target date no longer follows from
    day 0 (the scheduling task was never queued — Redis down — or was lost).
    Two queries whatever the number of patients."""
    target_days: dict[int, dict[int, int]] = defaultdict(dict)
    for definition_id, protocol_id, target_day in VisitDefinition.objects.values_list(
            "pk", "protocol_id", "target_day"):
        target_days[protocol_id][definition_id] = target_day
    infused: dict[int, tuple[int, datetime.date]] = {
        pk: (protocol_id, day0) for pk, protocol_id, day0 in Patient.objects.filter(
            infusion_date__isnull=False).values_list("pk", "protocol_id", "infusion_date") if day0 is not None}
    placed: dict[int, dict[int, datetime.date]] = defaultdict(dict)
    for patient_id, definition_id, target_date in Visit.objects.filter(patient_id__in=infused).values_list(
            "patient_id", "definition_id", "target_date"):
        placed[patient_id][definition_id] = target_date
    stale = []
    for patient_id, (protocol_id, day0) in infused.items():
        expected = {definition_id: day0 + datetime.timedelta(days=day)
                    for definition_id, day in target_days[protocol_id].items()}
        if any(placed[patient_id].get(definition_id) != target for definition_id, target in expected.items()):
            stale.append(patient_id)
    return sorted(stale)


def visits_schedule_missing(*, today: datetime.date | None = None) -> list[int]:
    """The catch-up sweep (beat, every few minutes): schedule every infused patient
    whose schedule is incomplete or out of date. Idempotent; returns their ids."""
    patient_ids = visits_unscheduled_patient_ids()
    for patient in Patient.objects.filter(pk__in=patient_ids):
        visits_schedule(patient=patient, today=today)
    if patient_ids:
        logger.info("Scheduled the visits of %d patient(s) the task queue had missed", len(patient_ids))
    return patient_ids


# --- the daily status pass -------------------------------------------------------------------


def _crf_linked_visits() -> Q:
    """Visits that some (not removed) CRF points at: data was entered."""
    condition = Q(pk__in=[])
    for model in crf_models():
        condition |= Q(pk__in=model.objects.filter(visit__isnull=False, removed=False).values("visit_id"))
    return condition


def window_band_condition(band: WindowBand, *, today: datetime.date, grace_days: int) -> Q:
    """The visits that are in ``band`` on ``today``, as a condition on their window columns:
    ``first_day <= today`` is ``anchor <= today - days`` and ``today <= last_day`` is
    ``anchor >= today - days`` (plus the grace period where the edge has it), which the
    (status, window_start) and (status, window_end) indexes serve."""
    condition = Q()
    for edge, lookup in ((band.first_day, "lte"), (band.last_day, "gte")):
        if edge is not None:
            shift = datetime.timedelta(days=edge.days + (grace_days if edge.plus_grace else 0))
            condition &= Q(**{f"{edge.anchor}__{lookup}": today - shift})
    return condition


#: done_date of a visit marked done by ``_apply``: kept if set, else this date or (TARGET) the target date.
TARGET = "target_date"


def _apply(queryset: QuerySet[Visit], *, status: str, status_reason: str, by: User | None,
           when: datetime.datetime, done_date: datetime.date | str | None = None, reason: str = "") -> int:
    """Move the visits of ``queryset`` that are not already in ``status`` to it (``status_reason`` shown
    with the status), with their history rows (`crf.audit.update_with_history`: one statement on
    PostgreSQL; ``reason`` on the history rows, the job by default)."""
    assignments: dict[str, tuple[str, list[Any]]] = {
        "status": ("%s", [status]), "status_reason": ("%s", [status_reason[:200]]),
    }
    if done_date == TARGET:
        assignments["done_date"] = ("COALESCE(done_date, target_date)", [])
    elif isinstance(done_date, datetime.date):
        assignments["done_date"] = ("COALESCE(done_date, %s)", [connection.ops.adapt_datefield_value(done_date)])
    return update_with_history(queryset.exclude(status=status), assignments=assignments, by=by, when=when,
                               reason=reason or f"Daily visit status job: {status}")


@transaction.atomic
def visits_update_status(
    *, today: datetime.date, patient_ids: list[int] | None = None, by: User | None = None
) -> dict[str, int]:
    """Move every visit to the status its window, its data and its patient call for.

    Precedence (trial.rules.visit_status): a visit with a CRF linked is done;
    otherwise a visit of a patient who left the study (death, withdrawal)
    whose window had not closed by the off-study date is not expected, with
    the reason; otherwise by its inclusive window and the protocol's grace
    period: scheduled, due, overdue, missed.

    Set-based: a handful of UPDATEs over the whole table (per protocol
    version), not a query per visit. The design rule against
    ``QuerySet.update()`` on audited models exists to keep the audit trail
    complete; here every UPDATE is paired with an INSERT … SELECT that writes
    the history rows (see ``_apply``), so the trail stays complete.
    """
    when = timezone.now()
    visits = Visit.objects.all()
    if patient_ids is not None:
        visits = visits.filter(patient_id__in=patient_ids)
    counts: dict[str, int] = {}
    counts[VisitStatus.DONE] = _apply(
        visits.filter(_crf_linked_visits()), status=VisitStatus.DONE, status_reason="Data entered", by=by, when=when,
        done_date=today,
    )
    open_visits = visits.exclude(status__in=FINAL_STATUSES)
    left_study = Q(patient__status=PatientStatus.OFF_STUDY) & (
        Q(patient__off_study_date__isnull=True) | Q(window_end__gte=F("patient__off_study_date"))
    )
    counts[VisitStatus.NOT_EXPECTED] = 0
    off_study = (Patient.objects.filter(status=PatientStatus.OFF_STUDY).order_by()
                 .values_list("off_study_reason", flat=True).distinct())
    for off_reason in off_study:  # one UPDATE per distinct reason (death, withdrawal, …), not per patient
        counts[VisitStatus.NOT_EXPECTED] += _apply(
            open_visits.filter(left_study, patient__off_study_reason=off_reason),
            status=VisitStatus.NOT_EXPECTED, by=by, when=when, status_reason=off_study_status_reason(off_reason),
        )
    for status in WINDOW_STATUSES:
        counts.setdefault(status, 0)
    for protocol_id, grace_days in Protocol.objects.values_list("pk", "visit_overdue_grace_days"):
        scoped = visits.filter(patient__protocol_id=protocol_id)
        for band in VISIT_WINDOW_BANDS:  # the status table of trial.rules, one UPDATE per band
            # Open visits by the other window statuses named, not as "not final": an IN list the
            # (status, window_end) and (status, window_start) indexes serve, where a NOT IN made
            # PostgreSQL read every visit.
            others = [other for other in WINDOW_STATUSES if other != band.status]
            condition = window_band_condition(band, today=today, grace_days=grace_days)
            counts[band.status] += _apply(scoped.filter(condition, status__in=others), status=band.status,
                                          status_reason=band.reason.format(grace_days=grace_days), by=by, when=when)
    return counts


def off_study_status_reason(off_study_reason: str) -> str:
    """What a visit "not expected" because its patient left the study shows with its status."""
    return f"Patient off study: {off_study_reason or 'no reason recorded'}"[:200]


@transaction.atomic
def visits_follow_study_status(*, patient: Patient, by: User | None, cause: str,
                               today: datetime.date | None = None) -> dict[str, int]:
    """The patient's end of study changed (back on study, or a later or earlier off-study date, or another
    reason): the visits follow, by the daily job's rules. A "not expected" visit that the patient's end of
    study no longer covers (on study, or its window closed before the off-study date) is re-opened to the
    status its window gives today (`trial.rules.visit_status`); one still covered takes the new reason;
    each audited with ``cause``. Then the status pass for the patient marks what the end now covers (and a
    visit with data done). Returns the counts re-opened and re-reasoned."""
    today = today or timezone.localdate()
    patient = Patient.objects.select_related("protocol").get(pk=patient.pk)
    grace_days = patient.protocol.visit_overdue_grace_days
    reasons = {band.status: band.reason.format(grace_days=grace_days) for band in VISIT_WINDOW_BANDS}
    off_study = patient.status == PatientStatus.OFF_STUDY
    counts = {"reopened": 0, "reason_changed": 0}
    for visit in Visit.objects.filter(patient=patient, status=VisitStatus.NOT_EXPECTED):
        covered = off_study and (patient.off_study_date is None or visit.window_end >= patient.off_study_date)
        if covered:
            status_reason = off_study_status_reason(patient.off_study_reason)
            if visit.status_reason == status_reason:
                continue
            visit.status_reason = status_reason
            counts["reason_changed"] += 1
        else:
            visit.status = visit_status(today=today, window_start=visit.window_start, window_end=visit.window_end,
                                        done=False, grace_days=grace_days)
            visit.status_reason = reasons[visit.status]
            counts["reopened"] += 1
        audited_save(instance=visit, by=by, reason=f"{'Not expected' if covered else 'Re-opened'}: {cause}"[:300])
    visits_update_status(today=today, patient_ids=[patient.pk], by=by)
    return counts


# --- for CRF flows of other apps ----------------------------------------------------------------


def visit_mark_done(*, visit: Visit, on_date: datetime.date, by: User) -> Visit:
    """A CRF was saved for this visit: it is done (kept done whatever happens later)."""
    if visit.status != VisitStatus.DONE or visit.done_date is None:
        visit.status = VisitStatus.DONE
        visit.done_date = visit.done_date or on_date
        visit.status_reason = "Data entered"
        audited_save(instance=visit, by=by, reason="Data entered for the visit")
    return visit


def visits_mark_done_many(*, visits: QuerySet[Visit], by: User | None, reason: str) -> int:
    """Mark many visits done at once (done on their target date), with history rows: for data loads."""
    return _apply(visits.exclude(status=VisitStatus.NOT_EXPECTED), status=VisitStatus.DONE,
                  status_reason="Data entered", by=by, when=timezone.now(), done_date=TARGET, reason=reason)


def visit_window_warning(visit: Visit, on_date: datetime.date) -> str | None:
    """A soft warning when data for ``visit`` is dated outside its window, else None."""
    return visit_window_message(on_date=on_date, visit_code=visit.definition.code,
                                window_start=visit.window_start, window_end=visit.window_end)


# --- reminders ------------------------------------------------------------------------------------


def visits_needing_attention(*, visits: QuerySet[Visit], today: datetime.date) -> QuerySet[Visit]:
    """Visits due now or opening within the horizon, and overdue ones, most urgent first."""
    horizon = today + datetime.timedelta(days=REMINDER_HORIZON_DAYS)
    return (
        visits.filter(
            Q(status=VisitStatus.OVERDUE)
            | Q(status=VisitStatus.DUE)
            | Q(status=VisitStatus.SCHEDULED, window_start__lte=horizon)
        )
        .annotate(urgency=Case(
            When(status=VisitStatus.OVERDUE, then=Value(0)), When(status=VisitStatus.DUE, then=Value(1)),
            default=Value(2), output_field=IntegerField(),
        ))
        .select_related("patient", "patient__site", "definition")
        .order_by("urgency", "window_end", "window_start", "patient__subject_id")
    )


def visit_reminders_send(*, today: datetime.date) -> int:
    """E-mail each coordinator their sites' visits due within 7 days and overdue.

    At most one e-mail per coordinator per day: the VisitReminder row is
    written in the same transaction as the send, so a re-run skips, and a
    failed send leaves no row (and is tried again on the next run).
    """
    memberships = (SiteMembership.objects.filter(role=Role.COORDINATOR, site__isnull=False, user__is_active=True)
                   .exclude(user__email="").select_related("user"))
    sites_by_user: dict[int, set[int]] = defaultdict(set)
    users = {}
    for membership in memberships:
        if membership.site_id is None:  # excluded by the query; a trial-wide role has no site to remind about
            continue
        sites_by_user[membership.user_id].add(membership.site_id)
        users[membership.user_id] = membership.user
    if not users:
        return 0
    already = set(VisitReminder.objects.filter(date=today, user_id__in=users).values_list("user_id", flat=True))
    all_sites = set().union(*sites_by_user.values())
    by_site = defaultdict(list)
    for visit in visits_needing_attention(visits=Visit.objects.filter(patient__site_id__in=all_sites), today=today):
        by_site[visit.patient.site_id].append(visit)
    sent = 0
    for user_id, site_ids in sites_by_user.items():
        if user_id in already:
            continue
        mine = sorted((visit for site_id in site_ids for visit in by_site[site_id]),
                      key=lambda visit: (visit.urgency, visit.window_end, visit.window_start))  # type: ignore[attr-defined]
        overdue = [visit for visit in mine if visit.status == VisitStatus.OVERDUE]
        due = [visit for visit in mine if visit.status != VisitStatus.OVERDUE]
        if not mine:
            continue
        user = users[user_id]
        context = {"user": user, "today": today, "due": due, "overdue": overdue,
                   "horizon_days": REMINDER_HORIZON_DAYS}
        try:
            with transaction.atomic(), translation.override(reminder_language(user)):
                VisitReminder.objects.create(user=user, date=today, visits_due=len(due), visits_overdue=len(overdue))
                send_mail(
                    subject=_("Visits %(today)s: %(overdue)s overdue, %(due)s due within %(days)s days") % {
                        "today": f"{today:%Y-%m-%d}", "overdue": len(overdue), "due": len(due),
                        "days": REMINDER_HORIZON_DAYS},
                    message=render_to_string("visits/reminder_email.txt", context),
                    from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[user.email],
                )
        except IntegrityError:  # another run sent today's e-mail first
            continue
        sent += 1
    return sent


def reminder_language(user: User) -> str:
    """The coordinator's own language (their account setting, trial's user profile), else the application's
    (English): the daily job runs with no request, so no browser to ask."""
    profile = getattr(user, "profile", None)  # absent until the user picks a language
    return getattr(profile, "language", "") or settings.LANGUAGE_CODE


def visits_daily(*, today: datetime.date) -> dict:
    """The daily beat job: the status pass, then the coordinators' reminders."""
    counts = visits_update_status(today=today)
    emails = visit_reminders_send(today=today)
    logger.info("Visit status job for %s: %s; %s reminder e-mails", today,
                {str(status): n for status, n in counts.items()}, emails)
    return {"statuses": counts, "emails": emails}
