"""Operations on patients. Each validates, saves with an audit reason, and is
called alike by views, the API, the demo loader and tests.

Locks, always taken in this order so two transactions never wait on each
other: the protocol row (the trial-wide enrollment count), then the site row
(the site's screening and subject numbers).
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crf.models import CrfStatus, crf_model, crf_models
from crf.services import audited_save, crf_record, crf_save
from trial.hooks import app_modules
from trial.i18n import stored_language
from trial.models import Protocol, Site
from trial.selectors import primary_assessment_windows

from .models import BaselineCRF, Patient, PatientStatus, ScreeningCRF
from .rules import (
    EligibilityVerdict,
    eligibility_verdict,
    failed_criteria,
    in_follow_up,
    screen_failure_reason,
    status_on_study,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DECIDED = (PatientStatus.ENROLLED, PatientStatus.SCREEN_FAILED)


@transaction.atomic
def subject_id_assign(*, patient: Patient) -> str:
    """Hand out the site's next subject ID (SZ-001, SZ-002, …).

    The site row is locked for the rest of the transaction, so two
    coordinators enrolling at the same moment get different numbers; a number
    is never reused, even if the enrollment that took it is later undone.
    """
    site = Site.objects.select_for_update().get(pk=patient.site_id)
    site.last_subject_number += 1
    site.save(update_fields=["last_subject_number"])
    patient.subject_id = f"{site.code}-{site.last_subject_number:03d}"
    return patient.subject_id


def screening_number_assign(*, site: Site) -> str:
    """The site's next screening number, SCR-SZ-001, SCR-SZ-002, …

    Derived under the site row lock by counting the site's patients: patients
    are never deleted, so the count only grows and a number is never reused.
    A number already taken (numbers imported with the demo trial) is skipped;
    the unique constraint on screening_number is the backstop.
    Call inside a transaction.
    """
    site = Site.objects.select_for_update().get(pk=site.pk)
    number = Patient.objects.filter(site=site).count() + 1
    while Patient.objects.filter(screening_number=f"SCR-{site.code}-{number:03d}").exists():
        number += 1
    return f"SCR-{site.code}-{number:03d}"


def _criteria(protocol: Protocol) -> list[tuple[str, str, str]]:
    return list(protocol.eligibility_criteria.order_by("order", "code").values_list("code", "kind", "text"))


def eligibility_answers_clean(*, protocol: Protocol, eligibility: dict) -> dict[str, bool | None]:
    """Answers keyed by the protocol's criterion codes; an unknown code is a
    hard error (a typo must not pass as 'not assessed')."""
    codes = [code for code, _kind, _text in _criteria(protocol)]
    unknown = sorted(set(eligibility or {}) - set(codes))
    if unknown:
        raise ValidationError({"eligibility": _(
            "Unknown eligibility criteria: %(unknown)s. This protocol's criteria are: %(codes)s."
        ) % {"unknown": ", ".join(unknown), "codes": ", ".join(codes)}})
    answers = {}
    for code in codes:
        value = (eligibility or {}).get(code)
        if value is not None and not isinstance(value, bool):
            raise ValidationError({"eligibility": _("The answer for %(code)s must be true, false or null.")
                                                  % {"code": code}})
        answers[code] = value
    return answers


def _lock_protocol(protocol: Protocol) -> Protocol:
    return Protocol.objects.select_for_update().get(pk=protocol.pk)


def enrolled_count() -> int:
    """Patients enrolled in the trial so far (every site, every protocol
    version): those given a subject ID."""
    return Patient.objects.filter(subject_id__isnull=False).count()


@transaction.atomic
def patient_enroll(*, patient: Patient, by: User, on_date: datetime.date | None = None) -> Patient:
    """Enroll an eligible patient: a subject ID and status enrolled.

    Refused past the protocol's planned enrollment. The count is taken under
    the protocol row lock, so two enrollments at the same moment cannot both
    take the last place.
    """
    protocol = _lock_protocol(Protocol.objects.current())
    if patient.subject_id:
        raise ValidationError(_("%(subject_id)s is already enrolled.") % {"subject_id": patient.subject_id})
    if enrolled_count() >= protocol.planned_enrollment:
        raise ValidationError(
            {"eligibility": _("Enrollment is closed: the protocol plans %(planned)s patients and %(planned)s are "
                              "already enrolled.") % {"planned": protocol.planned_enrollment}}
        )
    subject_id_assign(patient=patient)
    patient.status = PatientStatus.ENROLLED
    patient.enrollment_date = on_date or timezone.localdate()
    patient.screen_failure_reason = ""
    audited_save(instance=patient, by=by, reason=f"Enrolled as {patient.subject_id}")
    return patient


def _decide(*, patient: Patient, screening: ScreeningCRF, by: User) -> None:
    """Enroll or record the screen failure once the eligibility answers decide."""
    criteria = _criteria(patient.protocol)
    verdict = eligibility_verdict(criteria=criteria, answers=screening.eligibility)
    if verdict == EligibilityVerdict.ELIGIBLE:
        patient_enroll(patient=patient, by=by, on_date=screening.screening_date)
    elif verdict == EligibilityVerdict.INELIGIBLE:
        patient.status = PatientStatus.SCREEN_FAILED
        patient.screen_failure_reason = screen_failure_reason(
            failed=failed_criteria(criteria=criteria, answers=screening.eligibility)
        )
        audited_save(instance=patient, by=by, reason="Screen failure")


@transaction.atomic
def patient_screen(
    *,
    site: Site,
    consent_date: datetime.date,
    eligibility: dict[str, bool | None],
    by: User,
    screening_date: datetime.date | None = None,
    screening_number: str | None = None,
) -> Patient:
    """Screen a new patient under the current protocol version.

    Creates the registry row and the Screening CRF. All criteria answered and
    none failed: enrolled. A criterion failed: a screen failure with the reason.
    Otherwise the patient stays in screening and the form is a draft.
    `screening_number` is for imports (the demo trial); normally it is assigned.
    """
    protocol = Protocol.objects.current()
    answers = eligibility_answers_clean(protocol=protocol, eligibility=eligibility)
    screening_date = screening_date or timezone.localdate()
    # The CRF's own checks first, so that bad dates use up no number.
    probe = ScreeningCRF(screening_date=screening_date, consent_date=consent_date, eligibility=answers,
                         protocol=protocol)
    probe.full_clean(exclude=["patient"])
    _lock_protocol(protocol)  # lock order: protocol, then site
    patient = Patient(
        site=site, protocol=protocol, screening_date=screening_date,
        screening_number=screening_number or screening_number_assign(site=site),
    )
    audited_save(instance=patient, by=by, reason="Screening")
    probe.patient = patient
    verdict = eligibility_verdict(criteria=_criteria(protocol), answers=answers)
    if verdict == EligibilityVerdict.PENDING:
        probe.status = CrfStatus.DRAFT
    crf_save(crf=probe, by=by, submit=verdict != EligibilityVerdict.PENDING)
    _decide(patient=patient, screening=probe, by=by)
    return patient


@transaction.atomic
def screening_update(
    *,
    patient: Patient,
    consent_date: datetime.date,
    screening_date: datetime.date,
    eligibility: dict[str, bool | None],
    by: User,
    reason: str = "",
    version: int | None = None,
    acknowledge_deviation: bool = False,
    deviation_reason: str = "",
) -> ScreeningCRF:
    """Correct or complete the Screening CRF.

    A patient still in screening is enrolled or screen-failed as soon as the
    answers decide. Once decided, a correction may not turn the verdict
    around: an enrolled patient found ineligible is a protocol deviation to
    report, and a screen failure who becomes eligible is screened again.
    """
    screening = ScreeningCRF.objects.select_for_update().get(patient=patient)
    answers = eligibility_answers_clean(protocol=patient.protocol, eligibility=eligibility)
    old_verdict = eligibility_verdict(criteria=_criteria(patient.protocol), answers=screening.eligibility)
    new_verdict = eligibility_verdict(criteria=_criteria(patient.protocol), answers=answers)
    if patient.status != PatientStatus.SCREENING and new_verdict != old_verdict:
        raise ValidationError({"eligibility": _(
            "%(study_id)s is already %(status)s; these answers would change the eligibility verdict. Report a "
            "protocol deviation (enrolled) or screen the patient again (screen failure) instead."
        ) % {"study_id": patient.study_id, "status": patient.get_status_display().lower()}})
    screening.consent_date = consent_date
    screening.screening_date = screening_date
    screening.eligibility = answers
    crf_record(crf=screening, by=by, reason=reason, submit=new_verdict != EligibilityVerdict.PENDING,
               expected_version=version, acknowledge_deviation=acknowledge_deviation,
               deviation_reason=deviation_reason)
    if patient.screening_date != screening_date:
        patient.screening_date = screening_date
        audited_save(instance=patient, by=by, reason=reason or "Screening date")
    if patient.status == PatientStatus.SCREENING:
        _decide(patient=patient, screening=screening, by=by)
    return screening


BASELINE_FIELDS = BaselineCRF.correctable_fields  # the form's data-entry fields


@transaction.atomic
def baseline_save(*, patient: Patient, by: User, reason: str = "", version: int | None = None,
                  acknowledge_deviation: bool = False, deviation_reason: str = "", **values: Any) -> BaselineCRF:
    """Create or edit the Baseline CRF. Hard checks (impossible weight,
    height, blasts, a birth date after consent) refuse the save on the field.
    The form is submitted once the disease status is complete, a draft before.
    ``version``: the version the editor loaded (0: none yet); stale → CrfConflict."""
    unknown = set(values) - set(BASELINE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown baseline fields: {sorted(unknown)}")
    baseline = BaselineCRF.objects.select_for_update().filter(patient=patient).first()
    if baseline is None:
        baseline = BaselineCRF(patient=patient, protocol=patient.protocol, status=CrfStatus.DRAFT)
    birth_date_before = baseline.birth_date if baseline.pk is not None else None
    for name, value in values.items():
        if name == "extramedullary_sites" and value is None:
            value = ""
        setattr(baseline, name, value)
    if baseline.assessment_date is None:
        baseline.assessment_date = patient.screening_date  # the API's one-step screening
    crf_record(crf=baseline, by=by, reason=reason, submit=baseline.disease_status_complete,
               expected_version=version, acknowledge_deviation=acknowledge_deviation,
               deviation_reason=deviation_reason)
    if birth_date_before is not None and baseline.birth_date != birth_date_before:
        patient_dates_changed(patient=patient, by=by, cause=(
            f"the birth date was corrected ({birth_date_before:%Y-%m-%d} → {baseline.birth_date:%Y-%m-%d})"))
    return baseline


def patient_off_study(*, patient: Patient, on_date: datetime.date, reason: str, by: User | None, cause: str) -> bool:
    """Move the patient off study on ``on_date`` for ``reason`` (idempotent; returns whether anything
    changed). The visits whose window had not closed by then become "not expected" (visits' status job)."""
    patient.refresh_from_db()
    if (patient.status == PatientStatus.OFF_STUDY and patient.off_study_date == on_date
            and patient.off_study_reason == reason):
        return False
    patient.status = PatientStatus.OFF_STUDY
    patient.off_study_date = on_date
    patient.off_study_reason = reason
    audited_save(instance=patient, by=by, reason=cause[:300])
    return True


def _record_inputs(patient: Patient) -> dict[str, bool]:
    """What the record holds for `rules.status_on_study`. The lymphodepletion, response-assessment and
    follow-up CRFs are apps above this one: reached through the CRF registry (a form in force, not removed)."""
    try:
        lymphodepleted = crf_model("lymphodepletion").objects.filter(patient=patient, removed=False).exists()
    except LookupError:  # an installation without the infusions app
        lymphodepleted = False
    followed_up = False
    if patient.infusion_date is not None:
        target_day, before, _after = primary_assessment_windows([patient.protocol_id])[patient.protocol_id]
        contact_dates = [
            day for model in crf_models() if model.follow_up_date_field
            for day in model.objects.filter(patient=patient, removed=False).values_list(
                model.follow_up_date_field, flat=True)]
        followed_up = in_follow_up(infusion_date=patient.infusion_date, follow_up_opens_day=target_day - before,
                                   contact_dates=contact_dates)
    return {"enrolled": bool(patient.subject_id), "screen_failed": bool(patient.screen_failure_reason),
            "lymphodepleted": lymphodepleted, "infused": patient.infusion_date is not None,
            "followed_up": followed_up}


def patient_record_status(patient: Patient) -> PatientStatus:
    """The status the patient's record gives: off study while an end of study stands (the one death or the
    End-of-study form: outcomes reconciles it, `patient_off_study` / `patient_on_study`), else the furthest
    step recorded (`rules.status_on_study`: in follow-up, infused, lymphodepletion, enrolled, …). Reads
    ``patient`` as it is in hand (a service may have set day 0 on it, not yet saved)."""
    if patient.status == PatientStatus.OFF_STUDY:
        return PatientStatus.OFF_STUDY
    return status_on_study(**_record_inputs(patient))


def patient_status_follow_record(*, patient: Patient, by: User | None, cause: str) -> bool:
    """After ``cause`` (a course, day 0, an assessment or a follow-up contact entered, corrected or removed):
    the patient's status follows the record (`patient_record_status`), audited with the cause ("Status
    derived from the record (Infused → In follow-up): the assessment of … was entered"). Idempotent;
    returns whether it changed. An off-study patient stays off study (the end of study is reconciled by
    outcomes)."""
    patient.refresh_from_db()
    derived = patient_record_status(patient)
    if derived == patient.status:
        return False
    with stored_language():  # the reason is stored: in English
        before, after = patient.get_status_display(), derived.label
        reason = f"Status derived from the record ({before} → {after}): {cause}"
    patient.status = derived
    audited_save(instance=patient, by=by, reason=reason[:300])
    return True


#: The audit cause of `patients_status_rederive`: stored, in English.
STATUS_RULE_CAUSE = "derived under the status rule (in follow-up from the 1-month assessment)"


def patients_status_rederive(*, by: User | None = None) -> list[tuple[str, str, str]]:
    """Derive every patient's status from the record once (`patient_status_follow_record`): statuses stored
    before "in follow-up" was derived (every infused patient stayed "infused"). Audited with
    `STATUS_RULE_CAUSE`; idempotent. Returns (study ID, status before, after) of each change.
    `manage.py patients_status_rederive` and migration patients/0009 run it."""
    changed = []
    for patient in Patient.objects.exclude(status=PatientStatus.OFF_STUDY).order_by("pk"):
        before = patient.status
        if patient_status_follow_record(patient=patient, by=by, cause=STATUS_RULE_CAUSE):
            changed.append((patient.study_id, before, patient.status))
    return changed


def patient_on_study(*, patient: Patient, by: User | None, cause: str) -> bool:
    """Take the patient back on study: the only death or end of study that took them off was corrected away
    or removed. The status is the one the record gives without the end of study (`rules.status_on_study`,
    the rule of the way forward: in follow-up when seen at or after the 1-month assessment), the off-study
    date and reason are cleared, audited with ``cause``. Idempotent; returns whether anything changed. The
    caller re-opens the visits (`visits.services.visits_follow_study_status`)."""
    patient.refresh_from_db()
    if patient.status != PatientStatus.OFF_STUDY and patient.off_study_date is None and not patient.off_study_reason:
        return False
    patient.off_study_date = None
    patient.off_study_reason = ""
    patient.status = status_on_study(**_record_inputs(patient))
    audited_save(instance=patient, by=by, reason=f"Back on study: {cause}"[:300])
    return True


def patient_death_recorded(*, patient: Patient, by: User | None, cause: str = "") -> None:
    """A form that records (or recorded) a death (a follow-up, a grade-5 adverse event, an end of study) was
    saved or removed: the app that keeps the one death reconciles the sources and the patient's end of study
    (`<app>/rederive.py`: `death_recorded`), with ``cause`` (what changed) in the audit reason."""
    for module in app_modules("rederive"):
        if hasattr(module, "death_recorded"):
            module.death_recorded(patient=patient, by=by, cause=cause)


def patient_dates_changed(*, patient: Patient, by: User | None, cause: str) -> None:
    """The birth date or day 0 was corrected: each app derives again what depends on them (the age
    that chose ICE or CAPD, an ICANS grade), through its `<app>/rederive.py` (`trial.hooks`), audited
    with ``cause`` in the reason."""
    for module in app_modules("rederive"):
        if hasattr(module, "patient_dates_changed"):
            module.patient_dates_changed(patient=patient, by=by, cause=cause)


def screening_correct(*, crf: ScreeningCRF, field: str, value: Any, by: User, reason: str,
                      acknowledge_deviation: bool = False, deviation_reason: str = "") -> ScreeningCRF:
    """One value corrected through the form's service: a date (the screening date follows onto the patient)
    or the eligibility answers (the verdict may not turn around once decided)."""
    values = {"consent_date": crf.consent_date, "screening_date": crf.screening_date,
              "eligibility": crf.eligibility, field: value}
    return screening_update(patient=crf.patient, by=by, reason=reason,
                            version=crf.version, acknowledge_deviation=acknowledge_deviation,
                            deviation_reason=deviation_reason, **values)


def baseline_correct(*, crf: BaselineCRF, field: str, value: Any, by: User, reason: str,
                     acknowledge_deviation: bool = False, deviation_reason: str = "") -> BaselineCRF:
    """One value corrected through the form's service (its checks; BSA is derived, never stored)."""
    return baseline_save(patient=crf.patient, by=by, reason=reason, version=crf.version,
                         acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason,
                         **{field: value})


@transaction.atomic
def patient_register(
    *,
    site: Site,
    sex: str,
    birth_date: datetime.date,
    consent_date: datetime.date,
    weight_kg: Decimal,
    height_cm: Decimal,
    eligibility: dict[str, bool | None],
    by: User,
    screening_date: datetime.date | None = None,
    **disease_status: Any,
) -> Patient:
    """Screening, enrollment and baseline in one step (the API's POST).

    All or nothing: a hard check failing on the baseline undoes the screening,
    so no screening or subject number is used up by a refused request.
    """
    baseline_probe = BaselineCRF(sex=sex, birth_date=birth_date, weight_kg=weight_kg, height_cm=height_cm,
                                 assessment_date=screening_date or timezone.localdate(),
                                 protocol=Protocol.objects.current(), **disease_status)
    errors = {}
    try:
        baseline_probe.full_clean(exclude=["patient"])
    except ValidationError as error:
        errors.update(error.message_dict)
    if birth_date and consent_date and birth_date > consent_date:
        errors.setdefault("birth_date", []).append(
            _("The date of birth is after the consent date (%(date)s).") % {"date": f"{consent_date:%Y-%m-%d}"})
    try:
        ScreeningCRF(screening_date=screening_date or timezone.localdate(), consent_date=consent_date,
                     protocol=baseline_probe.protocol).full_clean(exclude=["patient"])
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    patient = patient_screen(site=site, consent_date=consent_date, eligibility=eligibility, by=by,
                             screening_date=screening_date)
    baseline_save(patient=patient, by=by, sex=sex, birth_date=birth_date, weight_kg=weight_kg,
                  height_cm=height_cm, **disease_status)
    return patient
