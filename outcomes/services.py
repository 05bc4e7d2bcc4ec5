"""Writing response assessments and follow-up contacts.

The forms and the API call these; each derives what the rules derive, runs
the hard and soft checks, and saves through the CRF recipe `crf.services.crf_record`
(acknowledgement, the audited save, a protocol deviation per acknowledged soft check).
"""
import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crf.checks import visit_window_check
from crf.services import audited_save, crf_record
from patients.models import Patient, PatientStatus, Visit

from .models import (
    FollowUp,
    FollowUpStatus,
    GeneticResult,
    ResponseAssessment,
    genetic_aberration_detected,
)
from .rules import derive_mrd_negative, derive_response, follow_up_date_errors
from .selectors import first_relapse_and_death, prior_complete_remission

RESPONSE_FIELDS = (
    "assessment_date", "bone_marrow_blasts_percent", "circulating_blasts", "extramedullary_disease",
    "anc_per_ul", "platelets_per_ul", "mrd_flow_percent", "mrd_assay_sensitivity_percent",
    "karyotype_result", "molecular_result", "comments",
)
FOLLOW_UP_FIELDS = (
    "contact_date", "follow_up_status", "relapse_date", "relapse_cd19", "relapse_site", "subsequent_therapy",
    "hsct_date", "death_date", "death_cause", "comments",
)
# Text fields store "" rather than NULL (Django's convention); the API may send null.
TEXT_FIELDS = frozenset({
    "comments", "relapse_cd19", "relapse_site",
    "subsequent_therapy", "death_cause",
})
DEATH_OFF_STUDY_REASON = "Death"


def _infusion_date_or_error(patient: Patient) -> datetime.date:
    if patient.infusion_date is None:
        raise ValidationError("This patient has not been infused: there is nothing to assess yet.")
    return patient.infusion_date


def _check_visit(*, patient: Patient, visit: Visit | None) -> None:
    if visit is not None and visit.patient_id != patient.pk:
        raise ValidationError({"visit": "This visit belongs to another patient."})


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


def _response_assessment_hard_checks(*, patient: Patient, assessment: ResponseAssessment) -> None:
    infusion_date = _infusion_date_or_error(patient)
    on = assessment.assessment_date
    if on is None:
        return
    errors = {}
    if on > timezone.localdate():
        errors["assessment_date"] = f"The assessment date {on:%Y-%m-%d} is in the future."
    elif on < patient.consent_date:
        errors["assessment_date"] = f"The assessment is before consent ({patient.consent_date:%Y-%m-%d})."
    elif on < infusion_date:
        errors["assessment_date"] = f"The assessment is before the CAR-T infusion ({infusion_date:%Y-%m-%d})."
    else:
        _relapse, death_date = first_relapse_and_death(patient=patient)
        if death_date is not None and on > death_date:
            errors["assessment_date"] = f"The assessment is after the patient's death ({death_date:%Y-%m-%d})."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def response_assessment_save(
    *,
    patient: Patient,
    values: dict[str, Any],
    by,
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
        raise ValidationError("This assessment belongs to another patient.")
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
    return crf_record(
        crf=assessment, by=by, reason=reason,
        soft_checks=visit_window_check(visit=assessment.visit, on_date=assessment.assessment_date,
                                       field="assessment_date"),
        acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason,
    )


# Follow-up -----------------------------------------------------------------


@transaction.atomic
def follow_up_save(
    *,
    patient: Patient,
    values: dict[str, Any],
    by,
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
        raise ValidationError("This follow-up belongs to another patient.")
    _check_visit(patient=patient, visit=visit)
    if visit is not None:
        follow_up.visit = visit
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
    if follow_up.follow_up_status == FollowUpStatus.DEAD:
        patient_off_study_for_death(patient=patient, death_date=follow_up.death_date, by=by)
    return follow_up


def patient_off_study_for_death(*, patient: Patient, death_date: datetime.date, by) -> None:
    """Move the patient off study on the date of death (idempotent)."""
    patient.refresh_from_db()
    if (patient.status == PatientStatus.OFF_STUDY and patient.off_study_date == death_date
            and patient.off_study_reason == DEATH_OFF_STUDY_REASON):
        return
    patient.status = PatientStatus.OFF_STUDY
    patient.off_study_date = death_date
    patient.off_study_reason = DEATH_OFF_STUDY_REASON
    audited_save(instance=patient, by=by, reason=f"Death on {death_date:%Y-%m-%d} recorded on the follow-up form")

