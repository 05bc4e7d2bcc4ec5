"""Synthetic safety data for the demo patients, written through the services
so the grades are computed by the ASTCT rules from clinical inputs."""
import datetime
from decimal import Decimal

from django.utils import timezone

from .models import AdverseEvent, CrsAssessment, IcansAssessment, SaeReport
from .services import (
    adverse_event_save,
    crs_assessment_save,
    icans_assessment_save,
    patient_uses_capd,
    sae_report_record,
)

DEMO_REASON = "Demo data (synthetic)"

# CRS inputs that produce each ASTCT grade: (max temperature, hypotension, hypoxia).
CRS_INPUTS = {
    0: (Decimal("37.2"), "none", "none"),
    1: (Decimal("38.6"), "none", "none"),
    2: (Decimal("38.9"), "fluids", "low_flow"),
    3: (Decimal("39.4"), "one_vasopressor", "high_flow"),
    4: (Decimal("39.8"), "multiple_vasopressors", "positive_pressure"),
}
# ICE items (orientation, naming, commands, writing, attention) and consciousness per ICANS grade.
ICE_INPUTS = {
    0: ((4, 3, 1, 1, 1), "normal"),  # ICE 10
    1: ((3, 3, 1, 0, 1), "spontaneous"),  # ICE 8
    2: ((2, 2, 1, 0, 0), "voice"),  # ICE 5
    3: ((1, 1, 0, 0, 0), "tactile"),  # ICE 2
}
# CAPD items (as scored) for a child under 12, per ICANS grade (consciousness separates 1 from 2).
CAPD_INPUTS = {
    0: [0, 0, 0, 0, 0, 0, 0, 0],
    1: [1, 1, 0, 0, 1, 0, 0, 1],  # CAPD 4
    2: [2, 1, 1, 0, 1, 0, 1, 1],  # CAPD 7
    3: [2, 2, 2, 1, 1, 1, 0, 1],  # CAPD 10: delirium
}


def _course(peak: int) -> list[int]:
    """Grades on consecutive assessment days: up to the peak, then back down to 0."""
    if peak == 0:
        return [0]
    return list(range(1, peak + 1)) + list(range(peak - 1, -1, -1))


def _fit(grades: list[int], *, peak: int, first_day: int, last_day: int) -> list[tuple[int, int]]:
    """(study day, grade) from first_day, one a day, keeping the peak when days run short."""
    first_day = min(first_day, last_day)
    available = last_day - first_day + 1
    if len(grades) > available:
        grades = grades[max(peak - 1, 0):][:available]
    return [(first_day + offset, grade) for offset, grade in enumerate(grades)]


def _crs(patient, plan, by, day: int, grade: int):
    temperature, hypotension, hypoxia = CRS_INPUTS[grade]
    assessment = CrsAssessment(
        patient=patient, protocol=patient.protocol, assessment_date=plan.date_of(day),
        max_temperature_c=temperature, hypotension=hypotension, hypoxia=hypoxia,
    )
    if grade >= 2:  # tocilizumab 8 mg/kg (at most 800 mg) for grade 2 or more
        assessment.tocilizumab_dose_mg = min(plan.weight_kg * 8, Decimal("800"))
        assessment.tocilizumab_given_on = assessment.assessment_date
    if grade >= 3:
        assessment.corticosteroid = CrsAssessment.Corticosteroid.DEXAMETHASONE
        assessment.corticosteroid_dose_mg = Decimal("10")
        assessment.corticosteroid_given_on = assessment.assessment_date
    saved = crs_assessment_save(assessment=assessment, by=by, reason=DEMO_REASON)
    assert saved.grade == grade, (saved, grade)


def _icans(patient, plan, by, day: int, grade: int, child: bool):
    assessment = IcansAssessment(patient=patient, protocol=patient.protocol, assessment_date=plan.date_of(day))
    if grade == 4:
        assessment.unable_to_assess = True
        assessment.consciousness = "unarousable"
    elif child:
        assessment.capd_items = CAPD_INPUTS[grade]
        assessment.consciousness = ICE_INPUTS[grade][1] if grade <= 2 else "normal"
    else:
        items, assessment.consciousness = ICE_INPUTS[grade]
        (assessment.ice_orientation, assessment.ice_naming, assessment.ice_following_commands,
         assessment.ice_writing, assessment.ice_attention) = items
    saved = icans_assessment_save(assessment=assessment, by=by, reason=DEMO_REASON)
    assert saved.grade == grade, (saved, grade)


def _adverse_event(patient, by, **fields):
    event = AdverseEvent(patient=patient, protocol=patient.protocol, **fields)
    return adverse_event_save(event=event, by=by, reason=DEMO_REASON)


def load(*, created, users) -> None:
    today = timezone.localdate()
    sae_done = False
    for plan, patient, by in created:
        if not plan.is_infused or patient.infusion_date is None:
            continue
        last_day = min(14, plan.last_contact_day or 14, (today - plan.infusion_date).days)
        if last_day < 0:
            continue
        for day, grade in _fit(_course(plan.max_crs_grade), peak=plan.max_crs_grade, first_day=1, last_day=last_day):
            _crs(patient, plan, by, day, grade)
        child = patient_uses_capd(patient=patient)
        for day, grade in _fit(_course(plan.max_icans_grade), peak=plan.max_icans_grade, first_day=4,
                               last_day=last_day):
            _icans(patient, plan, by, day, grade, child)

        # Cytopenia after lymphodepletion, in nearly everyone.
        neutropenia_resolved = plan.date_of(14) if last_day >= 14 else None
        _adverse_event(
            patient, by, term="Neutrophil count decreased", grade=4, onset_date=plan.date_of(min(1, last_day)),
            resolution_date=neutropenia_resolved, relatedness_cart="possible", relatedness_lymphodepletion="probable",
            action_taken="treatment", outcome="recovered" if neutropenia_resolved else "recovering",
        )
        if plan.max_crs_grade:
            # The CRS episode as a CTCAE adverse event; the first grade 3 or more is the demo's SAE.
            onset = plan.date_of(min(1, last_day))
            # The report goes out six hours after awareness: keep both in the past.
            serious = plan.max_crs_grade >= 3 and not sae_done and (today - onset).days >= 2
            aware_at = timezone.make_aware(datetime.datetime.combine(onset, datetime.time(10, 0))) if serious else None
            event = _adverse_event(
                patient, by, term="Cytokine release syndrome", grade=plan.max_crs_grade, onset_date=onset,
                serious=serious, seriousness_criteria=["hospitalisation", "life_threatening"] if serious else [],
                aware_at=aware_at, relatedness_cart="definite", relatedness_lymphodepletion="not_related",
                action_taken="treatment", outcome="recovering",
            )
            if serious:
                sae_report_record(event=event, kind=SaeReport.Kind.INITIAL, by=users.get("investigator", by),
                                  sent_at=aware_at + datetime.timedelta(hours=6),
                                  notes="Initial report faxed and e-mailed to the sponsor's safety desk.")
                sae_done = True
        if plan.number % 3 == 0 and last_day >= 2:
            _adverse_event(
                patient, by, term="Febrile neutropenia", grade=3, onset_date=plan.date_of(2),
                resolution_date=plan.date_of(min(5, last_day)), relatedness_cart="possible",
                relatedness_lymphodepletion="possible", action_taken="treatment", outcome="recovered",
            )
