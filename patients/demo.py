"""Synthetic patients for the demo trial (see trial/demo.py)."""
from monitoring.services import audited_save
from trial.demo import DemoPlan

from .models import Patient, PatientStatus
from .services import subject_id_assign

STAGE_STATUS = {
    "screening": PatientStatus.SCREENING,
    "screen_failed": PatientStatus.SCREEN_FAILED,
    "enrolled": PatientStatus.ENROLLED,
    # infusions/demo.py moves these on (and sets day 0) through the infusion services.
    "lymphodepleted": PatientStatus.ENROLLED,
    "infused": PatientStatus.ENROLLED,
    "assessed": PatientStatus.FOLLOW_UP,
    "relapsed": PatientStatus.FOLLOW_UP,
    "long_follow_up": PatientStatus.FOLLOW_UP,
    "dead": PatientStatus.OFF_STUDY,
}


def load_patient(*, plan: DemoPlan, protocol, site, by) -> Patient:
    patient = Patient(
        site=site, protocol=protocol, screening_number=plan.screening_number,
        sex=plan.sex, birth_date=plan.birth_date, consent_date=plan.consent_date,
        screening_date=plan.consent_date, status=STAGE_STATUS[plan.stage],
    )
    if plan.stage == "screen_failed":
        patient.screen_failure_reason = "Exclusion criterion present: active uncontrolled infection"
    elif plan.stage != "screening":
        subject_id_assign(patient=patient)
        patient.enrollment_date = plan.consent_date
    if plan.stage == "dead":
        patient.off_study_date = plan.date_of(plan.death_day)
        patient.off_study_reason = "Death"
    audited_save(instance=patient, by=by, reason="Demo data (synthetic)")
    return patient
