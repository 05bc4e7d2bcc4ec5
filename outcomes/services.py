"""Writing response assessments and follow-up contacts.

The forms and the API call these; each derives what the rules derive, runs
the hard and soft checks, and saves through the CRF recipe `crf.services.crf_record`
(acknowledgement, the audited save, a protocol deviation per acknowledged soft check).
"""
from __future__ import annotations

import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from crf.checks import visit_window_check
from crf.models import crf_model
from crf.services import crf_record, crf_remove, crf_save
from monitoring.services.queries import query_raise_automatic
from patients.models import Patient, Visit
from patients.services import patient_off_study, patient_on_study, patient_status_follow_record
from trial.i18n import stored_language
from visits.services import visits_follow_study_status

from .models import (
    EndOfStudy,
    EndOfStudyReason,
    FollowUp,
    GeneticResult,
    ResponseAssessment,
    genetic_aberration_detected,
)
from .rules import (
    COMPLETE_REMISSION_RESPONSES,
    PatientDeath,
    derive_mrd_negative,
    derive_response,
    follow_up_date_errors,
    mrd_verdict,
)
from .selectors import first_relapse_and_death, patient_death, prior_complete_remission

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RESPONSE_FIELDS = ResponseAssessment.correctable_fields  # the form's data-entry fields
FOLLOW_UP_FIELDS = FollowUp.correctable_fields
# Text fields store "" rather than NULL (Django's convention); the API may send null.
TEXT_FIELDS = frozenset({
    "comments", "relapse_cd19", "relapse_site",
    "subsequent_therapy", "death_cause",
})
DEATH_OFF_STUDY_REASON = "Death"
#: The field of each death-recording form that holds the date (where a disagreement's query goes).
DEATH_DATE_FIELD = {"follow_up": "death_date", "adverse_events": "death_date", "end_of_study": "end_date"}


def _infusion_date_or_error(patient: Patient) -> datetime.date:
    if patient.infusion_date is None:
        raise ValidationError(gettext("This patient has not been infused: there is nothing to assess yet."))
    return patient.infusion_date


def _check_visit(*, patient: Patient, visit: Visit | None) -> None:
    if visit is not None and visit.patient_id != patient.pk:
        raise ValidationError({"visit": gettext("This visit belongs to another patient.")})


# Response assessments --------------------------------------------------------


def response_assessment_derive(
    *, patient: Patient, values: dict[str, Any], exclude_pk: int | None = None
) -> tuple[str, bool | None]:
    """The response and MRD negativity the rules give for these values (shown before saving).

    ``prior_cr`` comes from the patient's earlier assessments, so a marrow with
    5 % blasts or more after a CR is a relapse, not a non-response.
    """
    assessment_date = values.get("assessment_date")
    prior_cr = assessment_date is not None and prior_complete_remission(
        patient=patient, before=assessment_date, exclude_pk=exclude_pk
    )
    try:
        response = derive_response(
            bone_marrow_blasts_percent=values.get("bone_marrow_blasts_percent"),
            circulating_blasts=values.get("circulating_blasts"),
            extramedullary_disease=values.get("extramedullary_disease"),
            anc_per_ul=values.get("anc_per_ul"),
            platelets_per_ul=values.get("platelets_per_ul"),
            prior_cr=prior_cr,
        )
        mrd_negative = derive_mrd_negative(
            mrd_flow_percent=values.get("mrd_flow_percent"),
            genetic_aberration_detected=genetic_aberration_detected(
                values.get("karyotype_result") or "not_done", values.get("molecular_result") or "not_done"
            ),
            mrd_assay_sensitivity_percent=values.get("mrd_assay_sensitivity_percent"),
        )
    except ValueError as error:  # out-of-range input: the field validators name the field
        raise ValidationError(str(error)) from error
    return response, mrd_negative


def response_mrd_reason(values: dict[str, Any]) -> str:
    """Why MRD is not evaluable for these values ("" when it is negative or positive): `rules.mrd_verdict`.
    Stored on the assessment (`mrd_reason`), so in English whatever the language of the request; the pages
    show `response_mrd_reason_display`."""
    with stored_language():
        return response_mrd_reason_display(values)


def response_mrd_reason_display(values: dict[str, Any]) -> str:
    """`response_mrd_reason` in the active language, for a person to read."""
    try:
        return mrd_verdict(
            mrd_flow_percent=values.get("mrd_flow_percent"),
            genetic_aberration_detected=genetic_aberration_detected(
                values.get("karyotype_result") or "not_done", values.get("molecular_result") or "not_done"),
            mrd_assay_sensitivity_percent=values.get("mrd_assay_sensitivity_percent"),
        ).reason
    except ValueError as error:
        raise ValidationError(str(error)) from error


def _response_assessment_hard_checks(*, patient: Patient, assessment: ResponseAssessment) -> None:
    infusion_date = _infusion_date_or_error(patient)
    on = assessment.assessment_date
    if on is None:
        return
    errors = {}
    if on > timezone.localdate():
        errors["assessment_date"] = gettext("The assessment date %(date)s is in the future.") % {
            "date": f"{on:%Y-%m-%d}"}
    elif on < patient.consent_date:
        errors["assessment_date"] = gettext("The assessment is before consent (%(date)s).") % {
            "date": f"{patient.consent_date:%Y-%m-%d}"}
    elif on < infusion_date:
        errors["assessment_date"] = gettext("The assessment is before the CAR-T infusion (%(date)s).") % {
            "date": f"{infusion_date:%Y-%m-%d}"}
    else:
        death = patient_death(patient)
        if death is not None and on > death.death_date:
            errors["assessment_date"] = gettext("The assessment is after the patient's death (%(date)s).") % {
                "date": f"{death.death_date:%Y-%m-%d}"}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def response_assessment_save(
    *,
    patient: Patient,
    values: dict[str, Any],
    by: User,
    assessment: ResponseAssessment | None = None,
    visit: Visit | None = None,
    reason: str = "",
    acknowledge_deviation: bool = False,
    deviation_reason: str = "",
) -> ResponseAssessment:
    """Create (or, with ``assessment``, edit) a response assessment with its derived response.

    ``values``: the RESPONSE_FIELDS (missing ones keep their stored value).
    Hard checks raise ValidationError per field; a soft check (the date
    outside the linked visit's window) needs ``acknowledge_deviation`` and a
    ``deviation_reason`` and files a protocol deviation.
    """
    if assessment is None:
        assessment = ResponseAssessment(patient=patient, protocol=patient.protocol)
    elif assessment.patient_id != patient.pk:
        raise ValidationError(gettext("This assessment belongs to another patient."))
    _check_visit(patient=patient, visit=visit)
    if visit is not None:
        assessment.visit = visit
    for name in RESPONSE_FIELDS:
        if name in values:
            value = values[name]
            if isinstance(value, float):  # 0.001 as typed, not 0.001000000000000000020816…
                value = Decimal(repr(value))
            if value is None and name in ("karyotype_result", "molecular_result"):
                value = GeneticResult.NOT_DONE
            setattr(assessment, name, "" if value is None and name in TEXT_FIELDS else value)
    # Field validators first, so that 120 % blasts is refused on its field, not by the rules.
    assessment.full_clean(exclude=["protocol", "patient", "visit"])
    _response_assessment_hard_checks(patient=patient, assessment=assessment)
    current = {name: getattr(assessment, name) for name in RESPONSE_FIELDS}
    assessment.response, assessment.mrd_negative = response_assessment_derive(
        patient=patient, values=current, exclude_pk=assessment.pk
    )
    assessment.mrd_reason = response_mrd_reason(current)
    entered = assessment.pk is None
    crf_record(
        crf=assessment, by=by, reason=reason,
        soft_checks=visit_window_check(visit=assessment.visit, on_date=assessment.assessment_date,
                                       field="assessment_date"),
        acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason,
    )
    cause = (f"the assessment of {assessment.assessment_date:%Y-%m-%d} was "
             f"{'entered' if entered else 'corrected'}{f' ({reason.strip()})' if reason.strip() else ''}")
    responses_rederive(patient=patient, by=by, cause=cause)
    patient_status_follow_record(patient=patient, by=by, cause=cause)  # in follow-up from the 1-month assessment
    assessment.refresh_from_db()
    return assessment


def response_values(assessment: ResponseAssessment) -> dict[str, Any]:
    return {name: getattr(assessment, name) for name in RESPONSE_FIELDS}


def responses_derived(assessments: list[ResponseAssessment]) -> dict[int, tuple[str, bool | None]]:
    """Each assessment's response and MRD negativity derived from scratch, in date order: ``prior_cr``
    is whether an assessment of an earlier day (a same-day marrow describes the same marrow) derived CR
    or CRi. No database access: the invariant tests recompute with it too."""
    derived: dict[int, tuple[str, bool | None]] = {}
    remission_dates: list[datetime.date] = []
    for assessment in sorted(assessments, key=lambda a: (a.assessment_date, a.pk)):
        values = response_values(assessment)
        prior_cr = any(day < assessment.assessment_date for day in remission_dates)
        response = derive_response(
            bone_marrow_blasts_percent=values["bone_marrow_blasts_percent"],
            circulating_blasts=values["circulating_blasts"], extramedullary_disease=values["extramedullary_disease"],
            anc_per_ul=values["anc_per_ul"], platelets_per_ul=values["platelets_per_ul"], prior_cr=prior_cr,
        )
        mrd_negative = derive_mrd_negative(
            mrd_flow_percent=values["mrd_flow_percent"],
            genetic_aberration_detected=genetic_aberration_detected(values["karyotype_result"],
                                                                    values["molecular_result"]),
            mrd_assay_sensitivity_percent=values["mrd_assay_sensitivity_percent"],
        )
        derived[assessment.pk] = (response, mrd_negative)
        if response in COMPLETE_REMISSION_RESPONSES:
            remission_dates.append(assessment.assessment_date)
    return derived


def responses_rederive(*, patient: Patient, by: User, cause: str) -> list[ResponseAssessment]:
    """Derive every response of the patient again, in date order, after ``cause`` (an assessment
    entered, corrected or removed): a marrow with blasts after an earlier CR/CRi becomes a relapse,
    and one whose earlier remission is gone is no longer one. Each changed assessment is saved with
    the reason naming the cause (its signature is void: its derived value changed)."""
    assessments = list(ResponseAssessment.objects.select_for_update().filter(patient=patient, removed=False)
                       .order_by("assessment_date", "pk"))
    derived = responses_derived(assessments)
    changed = []
    for assessment in assessments:
        response, mrd_negative = derived[assessment.pk]
        mrd_reason = response_mrd_reason(response_values(assessment))
        if (response, mrd_negative, mrd_reason) == (assessment.response, assessment.mrd_negative,
                                                    assessment.mrd_reason):
            continue
        with stored_language():  # the reason for change is stored: in English
            before = str(assessment.get_response_display())
            assessment.response, assessment.mrd_negative, assessment.mrd_reason = response, mrd_negative, mrd_reason
            after = str(assessment.get_response_display())
        crf_save(crf=assessment, by=by, reason=f"Response re-derived ({before} → {after}) because {cause}"[:300])
        changed.append(assessment)
    return changed


@transaction.atomic
def response_assessment_remove(*, crf: ResponseAssessment, by: User, reason: str) -> ResponseAssessment:
    """Remove an assessment (a status with a reason) and derive the patient's other responses again
    (`ResponseAssessment.removal_service`)."""
    crf_remove(crf=crf, by=by, reason=reason)
    cause = f"the assessment of {crf.assessment_date:%Y-%m-%d} was removed ({reason.strip()})"
    responses_rederive(patient=crf.patient, by=by, cause=cause)
    patient_status_follow_record(patient=crf.patient, by=by, cause=cause)  # it may be what made them followed up
    return crf


def response_assessment_correct(*, crf: ResponseAssessment, field: str, value: Any, by: User, reason: str,
                                acknowledge_deviation: bool = False, deviation_reason: str = "") -> ResponseAssessment:
    """One value corrected through the form's service: checks, derived response, later responses."""
    return response_assessment_save(
        patient=crf.patient, values={field: value}, by=by, assessment=crf, reason=reason,
        acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason,
    )


# Follow-up -----------------------------------------------------------------


@transaction.atomic
def follow_up_save(
    *,
    patient: Patient,
    values: dict[str, Any],
    by: User,
    follow_up: FollowUp | None = None,
    visit: Visit | None = None,
    reason: str = "",
    acknowledge_deviation: bool = False,
    deviation_reason: str = "",
) -> FollowUp:
    """Create (or edit) a follow-up contact; a death takes the patient off study.

    Hard checks (``rules.follow_up_date_errors``): dates on or after the
    infusion and not after the contact, relapsed/dead need their date, death
    not before the first relapse or the HSCT, one death date per patient.
    """
    infusion_date = _infusion_date_or_error(patient)
    if follow_up is None:
        follow_up = FollowUp(patient=patient, protocol=patient.protocol)
    elif follow_up.patient_id != patient.pk:
        raise ValidationError(gettext("This follow-up belongs to another patient."))
    _check_visit(patient=patient, visit=visit)
    if visit is not None:
        follow_up.visit = visit
    entered = follow_up.pk is None
    death_before = (FollowUp.objects.filter(pk=follow_up.pk).values_list("death_date", "contact_date").first()
                    if follow_up.pk else None)
    for name in FOLLOW_UP_FIELDS:
        if name in values:
            value = values[name]
            setattr(follow_up, name, "" if value is None and name in TEXT_FIELDS else value)
    follow_up.full_clean(exclude=["protocol", "patient", "visit"])
    recorded_relapse, recorded_death = first_relapse_and_death(patient=patient, exclude_pk=follow_up.pk)
    errors = follow_up_date_errors(
        infusion_date=infusion_date, contact_date=follow_up.contact_date, status=follow_up.follow_up_status,
        relapse_date=follow_up.relapse_date, death_date=follow_up.death_date,
        hsct_date=follow_up.hsct_date, recorded_relapse_date=recorded_relapse,
        recorded_death_date=recorded_death, today=timezone.localdate(),
    )
    if errors:
        if "status" in errors:
            errors["follow_up_status"] = errors.pop("status")
        raise ValidationError(errors)
    crf_record(
        crf=follow_up, by=by, reason=reason,
        soft_checks=visit_window_check(visit=follow_up.visit, on_date=follow_up.contact_date, field="contact_date"),
        acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason,
    )
    cause = ""
    if death_before is not None and death_before[0] is not None and death_before[0] != follow_up.death_date:
        cause = (f"death of {death_before[0]:%Y-%m-%d} on the follow-up of {death_before[1]:%Y-%m-%d} corrected"
                 f"{f' to {follow_up.death_date:%Y-%m-%d}' if follow_up.death_date else ''}: {reason.strip()}")
    if follow_up.death_date is not None or cause:  # a death recorded, or corrected
        patient_death_reconcile(patient=patient, by=by, cause=cause)
    patient_status_follow_record(patient=patient, by=by, cause=(
        f"the follow-up contact of {follow_up.contact_date:%Y-%m-%d} was {'entered' if entered else 'corrected'}"
        f"{f' ({reason.strip()})' if reason.strip() else ''}"))
    return follow_up


@transaction.atomic
def follow_up_remove(*, crf: FollowUp, by: User, reason: str) -> FollowUp:
    """Remove a follow-up contact (`FollowUp.removal_service`): a death it recorded that another form also
    records is reconciled from the forms that remain (the only record of a death is not removed:
    `crf_remove`)."""
    crf_remove(crf=crf, by=by, reason=reason)
    if crf.death_date is not None:
        patient_death_reconcile(patient=crf.patient, by=by, cause=(
            f"death of {crf.death_date:%Y-%m-%d} on the follow-up of {crf.contact_date:%Y-%m-%d} removed: "
            f"{reason.strip()}"))
    patient_status_follow_record(patient=crf.patient, by=by, cause=(
        f"the follow-up contact of {crf.contact_date:%Y-%m-%d} was removed ({reason.strip()})"))
    return crf


def follow_up_correct(*, crf: FollowUp, field: str, value: Any, by: User, reason: str,
                      acknowledge_deviation: bool = False, deviation_reason: str = "") -> FollowUp:
    """One value corrected through the form's service: the date checks, the death's off-study."""
    return follow_up_save(
        patient=crf.patient, values={field: value}, by=by, follow_up=crf, reason=reason,
        acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason,
    )


# End of study ----------------------------------------------------------------

END_OF_STUDY_FIELDS = EndOfStudy.correctable_fields


def end_of_study_hard_checks(*, patient: Patient, end_of_study: EndOfStudy) -> None:
    """Impossible data, on the field: a date before consent or in the future, "other" without what, a
    second end of study, a reason other than death when the patient's death is recorded elsewhere."""
    errors: dict[str, str] = {}
    on = end_of_study.end_date
    if on is not None:
        consent = patient.consent_date
        if on > timezone.localdate():
            errors["end_date"] = gettext("The end-of-study date %(date)s is in the future.") % {
                "date": f"{on:%Y-%m-%d}"}
        elif consent is not None and on < consent:
            errors["end_date"] = gettext("The end of study is before consent (%(date)s).") % {
                "date": f"{consent:%Y-%m-%d}"}
    if end_of_study.end_reason == EndOfStudyReason.OTHER and not end_of_study.end_reason_other.strip():
        errors["end_reason_other"] = gettext("Say why the patient's study ended.")
    other = (EndOfStudy.objects.filter(patient=patient, removed=False).exclude(pk=end_of_study.pk).first())
    if other is not None:
        errors["end_date"] = gettext("An end of study is already recorded for this patient (%(date)s, %(reason)s): "
                                     "correct that form.") % {"date": f"{other.end_date:%Y-%m-%d}",
                                                               "reason": other.reason_display}
    death = patient_death(patient)
    elsewhere = [f"{gettext(str(s.crf_label))} {s.death_date:%Y-%m-%d}"
                 for s in (death.sources if death is not None else ())
                 if not (s.crf_code == EndOfStudy.crf_code and s.pk == end_of_study.pk)]
    if elsewhere and end_of_study.end_reason != EndOfStudyReason.DEATH:
        errors["end_reason"] = gettext("The patient's death is recorded (%(forms)s): the end-of-study reason is "
                                       "death.") % {"forms": "; ".join(elsewhere)}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def end_of_study_save(
    *,
    patient: Patient,
    values: dict[str, Any],
    by: User,
    end_of_study: EndOfStudy | None = None,
    visit: Visit | None = None,
    reason: str = "",
    acknowledge_deviation: bool = False,
    deviation_reason: str = "",
) -> EndOfStudy:
    """Record (or correct) the patient's end of study: it takes the patient off study on its date with its
    reason, so the visits after it are not expected; for a death, the one death is reconciled with the
    follow-up and adverse-event records (a disagreeing date raises a query)."""
    if end_of_study is None:
        end_of_study = EndOfStudy(patient=patient, protocol=patient.protocol)
    elif end_of_study.patient_id != patient.pk:
        raise ValidationError(gettext("This end-of-study form belongs to another patient."))
    before = EndOfStudy.objects.filter(pk=end_of_study.pk).first() if end_of_study.pk else None
    _check_visit(patient=patient, visit=visit)
    if visit is not None:
        end_of_study.visit = visit
    for name in END_OF_STUDY_FIELDS:
        if name in values:
            value = values[name]
            setattr(end_of_study, name, "" if value is None and name in ("end_reason_other", "comments") else value)
    end_of_study.full_clean(exclude=["protocol", "patient", "visit"])
    end_of_study_hard_checks(patient=patient, end_of_study=end_of_study)
    crf_record(crf=end_of_study, by=by, reason=reason, acknowledge_deviation=acknowledge_deviation,
               deviation_reason=deviation_reason)
    cause = ""
    if before is not None and (before.end_date, before.reason_text) != (end_of_study.end_date,
                                                                        end_of_study.reason_text):
        cause = (f"end of study of {before.end_date:%Y-%m-%d} ({before.reason_text}) corrected to "
                 f"{end_of_study.end_date:%Y-%m-%d} ({end_of_study.reason_text}): {reason.strip()}")
    patient_death_reconcile(patient=patient, by=by, cause=cause)
    return end_of_study


@transaction.atomic
def end_of_study_remove(*, crf: EndOfStudy, by: User, reason: str) -> EndOfStudy:
    """Remove an End-of-study form (`EndOfStudy.removal_service`): the patient's end of study follows the
    forms that remain — a death recorded elsewhere, or back on study with the visits re-opened. The only
    record of a death is not removed (as `crf_remove` holds for the forms with a death date)."""
    if crf.end_reason == EndOfStudyReason.DEATH and not crf.removed:
        death = patient_death(crf.patient)
        if death is not None and all(s.crf_code == EndOfStudy.crf_code for s in death.sources):
            raise ValidationError({"reason": gettext(
                "This form is the only record of the patient's death (%(date)s), which took the patient off "
                "study. Record the death where it belongs before removing this form, or correct it through a "
                "query.") % {"date": f"{crf.end_date:%Y-%m-%d}"}})
    crf_remove(crf=crf, by=by, reason=reason)
    patient_death_reconcile(patient=crf.patient, by=by, cause=(
        f"end of study of {crf.end_date:%Y-%m-%d} ({crf.reason_text}) removed: {reason.strip()}"))
    return crf


def end_of_study_correct(*, crf: EndOfStudy, field: str, value: Any, by: User, reason: str,
                         acknowledge_deviation: bool = False, deviation_reason: str = "") -> EndOfStudy:
    """One value corrected through the form's service: the checks and the off-study date follow."""
    return end_of_study_save(patient=crf.patient, values={field: value}, by=by, end_of_study=crf, reason=reason,
                             acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)


def patient_death_reconcile(*, patient: Patient, by: User | None, cause: str = "") -> PatientDeath | None:
    """After a form that records (or recorded) a death was saved or removed: the patient's end of study
    follows the record (`patient_study_end_reconcile`); sources of the one death that disagree on the date
    get an automatic query each, naming every date recorded. ``cause`` says what changed."""
    death = patient_study_end_reconcile(patient=patient, by=by, cause=cause)
    if death is None:
        return None
    if not death.dates_agree:
        with stored_language():  # an automatic query's text is stored: in English
            dates_text = death.dates_text
        for source in death.sources:
            crf = crf_model(source.crf_code).objects.get(pk=source.pk)
            query_raise_automatic(crf=crf, field=DEATH_DATE_FIELD.get(source.crf_code, "death_date"), text=(
                f"The death dates recorded for this patient disagree ({dates_text}). One death has one "
                f"date: correct the form(s) that are wrong."))
    return death


def patient_study_end_reconcile(*, patient: Patient, by: User | None, cause: str = "") -> PatientDeath | None:
    """The patient's end of study as the record gives it, whatever changed: the one death
    (`selectors.patient_death`: follow-up, grade-5 adverse event, end of study for death, the earliest date)
    takes the patient off study on its date; else the End-of-study form on its date with its reason; else
    — the only death or end of study was corrected away or removed — the patient is back on study
    (`patients.services.patient_on_study`). The visits follow (`visits_follow_study_status`). Every change
    is audited with the source and ``cause`` (what was corrected or removed). Returns the death, if any."""
    death = patient_death(patient)
    end = EndOfStudy.objects.filter(patient=patient, removed=False).first()
    why = f" ({cause})" if cause else ""
    if death is not None:
        with stored_language():  # the audit cause is stored: in English
            labels = " and ".join(sorted({str(source.crf_label).lower() for source in death.sources}))
        changed = patient_off_study(
            patient=patient, on_date=death.death_date, reason=DEATH_OFF_STUDY_REASON, by=by,
            cause=f"Death on {death.death_date:%Y-%m-%d} recorded on the {labels} form{why}")
    elif end is not None:
        changed = patient_off_study(
            patient=patient, on_date=end.end_date, reason=end.reason_text[:200], by=by,
            cause=f"End of study on {end.end_date:%Y-%m-%d} ({end.reason_text}) recorded on the end-of-study "
                  f"form{why}")
    else:
        changed = patient_on_study(patient=patient, by=by, cause=cause or "no death or end of study recorded")
    if changed:
        patient.refresh_from_db()
        visits_follow_study_status(patient=patient, by=by, cause=cause or (
            f"the patient's end of study changed ({patient.off_study_reason or 'back on study'})"))
    return death
