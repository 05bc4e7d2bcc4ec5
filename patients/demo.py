"""Synthetic patients for the demo trial (see trial/demo.py), screened,
enrolled and given a baseline through the same services as a coordinator."""
from decimal import Decimal

from crf.services import audited_save
from trial.demo import DemoPlan

from .models import Patient, PatientStatus
from .services import baseline_save, patient_screen

STAGE_STATUS = {
    "screening": PatientStatus.SCREENING,
    "screen_failed": PatientStatus.SCREEN_FAILED,
    "enrolled": PatientStatus.ENROLLED,
    # infusions/demo.py moves these on (and sets day 0) through the infusion services; outcomes/demo.py's
    # 1-month assessment puts them in follow-up (patients.rules.status_on_study, derived, never set here).
    "lymphodepleted": PatientStatus.ENROLLED,
    "infused": PatientStatus.ENROLLED,
    "assessed": PatientStatus.ENROLLED,
    "relapsed": PatientStatus.ENROLLED,
    "long_follow_up": PatientStatus.ENROLLED,
    "dead": PatientStatus.OFF_STUDY,
}


def demo_eligibility(plan: DemoPlan, codes: list[tuple[str, str]]) -> dict[str, bool | None]:
    """Answers that give the plan's stage: screening leaves the last criterion
    open, screen failures have an uncontrolled infection, the rest are eligible."""
    answers = {code: kind == "inclusion" for code, kind in codes}
    if plan.stage == "screening":
        answers[codes[-1][0]] = None
    elif plan.stage == "screen_failed":
        answers["uncontrolled_infection"] = True
    return answers


def load_patient(*, plan: DemoPlan, protocol, site, by) -> Patient:
    codes = list(protocol.eligibility_criteria.values_list("code", "kind"))
    patient = patient_screen(
        site=site, consent_date=plan.consent_date, screening_date=plan.consent_date,
        eligibility=demo_eligibility(plan, codes), by=by, screening_number=plan.screening_number,
    )
    if plan.stage not in {"screening", "screen_failed"}:
        # Disease status at entry, varied but fixed by the plan number.
        baseline_save(
            patient=patient, by=by, assessment_date=plan.consent_date, sex=plan.sex, birth_date=plan.birth_date,
            weight_kg=plan.weight_kg, height_cm=plan.height_cm,
            bone_marrow_blasts_percent=Decimal((plan.number * 37) % 90 + 1),
            mrd_percent=None if plan.number % 3 else Decimal("0.85"),
            extramedullary_sites="CNS" if plan.number % 7 == 0 else "",
            ph_status="positive" if plan.number % 5 == 0 else "negative",
            prior_lines_of_therapy=1 + plan.number % 4,
            prior_hsct=plan.number % 6 == 0,
            prior_blinatumomab=plan.number % 3 == 0,
            prior_inotuzumab=plan.number % 8 == 0,
        )
    # The later stages are the other apps' to record (infusions/demo.py sets
    # day 0 and moves treated patients on); the registry row carries the rest.
    later = STAGE_STATUS[plan.stage]
    if patient.status != later:
        patient.status = later
        if plan.stage == "dead":
            patient.off_study_date = plan.date_of(plan.death_day)
            patient.off_study_reason = "Death"
        audited_save(instance=patient, by=by, reason="Demo data (synthetic)")
    return patient
