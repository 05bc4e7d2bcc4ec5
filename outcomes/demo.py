"""Demo response assessments and follow-up, written through the services (see trial/demo.py)."""
from decimal import Decimal

from patients.models import Visit

from .models import FollowUpStatus, GeneticResult
from .services import follow_up_save, response_assessment_save

DEMO_REASON = "Demo data (synthetic)"

# Day-28 marrow values that the rules derive to each planned response.
MARROW_BY_RESPONSE = {
    "CR": dict(bone_marrow_blasts_percent=Decimal("1.2"), circulating_blasts=False,
               extramedullary_disease=False, anc_per_ul=1800, platelets_per_ul=145_000),
    "CRi": dict(bone_marrow_blasts_percent=Decimal("2.0"), circulating_blasts=False,
                extramedullary_disease=False, anc_per_ul=650, platelets_per_ul=48_000),
    "no_response": dict(bone_marrow_blasts_percent=Decimal("38.5"), circulating_blasts=True,
                        extramedullary_disease=False, anc_per_ul=400, platelets_per_ul=30_000),
}


def _mrd_values(plan) -> dict:
    sensitivity = Decimal("0.001")
    if plan.mrd_negative:
        return dict(mrd_flow_percent=Decimal("0"), mrd_assay_sensitivity_percent=sensitivity,
                    karyotype_result=GeneticResult.NOT_DETECTED, molecular_result=GeneticResult.NOT_DETECTED)
    level = Decimal("35") if plan.response == "no_response" else Decimal("0.35")
    return dict(mrd_flow_percent=level, mrd_assay_sensitivity_percent=sensitivity,
                karyotype_result=GeneticResult.NOT_DONE, molecular_result=GeneticResult.DETECTED)


def _alive_status(plan, relapsed: bool) -> str:
    if relapsed:
        return FollowUpStatus.RELAPSED
    if plan.response in ("CR", "CRi"):
        return FollowUpStatus.ALIVE_IN_REMISSION
    if plan.response == "no_response":
        return FollowUpStatus.ALIVE_WITH_DISEASE
    return FollowUpStatus.ALIVE


def load(*, created, users) -> None:
    for plan, patient, by in created:
        if not plan.is_infused or patient.infusion_date is None:
            continue
        primary_visit = (Visit.objects.filter(patient=patient, definition__is_primary_assessment=True)
                         .select_related("definition").first())
        if plan.response in MARROW_BY_RESPONSE:
            day = primary_visit.definition.target_day if primary_visit else patient.protocol.primary_assessment_day
            response_assessment_save(
                patient=patient, by=by, visit=primary_visit, reason=DEMO_REASON,
                values={"assessment_date": plan.date_of(day), **MARROW_BY_RESPONSE[plan.response],
                        **_mrd_values(plan)},
            )
        contacts = []  # (study day, values)
        relapse_values = {}
        if plan.relapse_day is not None:
            relapse_values = {
                "relapse_date": plan.date_of(plan.relapse_day),
                "relapse_cd19": "negative" if plan.extras.get("cd19_negative") else "positive",
                "relapse_site": "bone_marrow",
            }
            contacts.append((plan.relapse_day, {"follow_up_status": FollowUpStatus.RELAPSED, **relapse_values,
                                                "subsequent_therapy": "Salvage chemotherapy"}))
        if plan.hsct_day is not None:
            contacts.append((plan.hsct_day, {"follow_up_status": _alive_status(plan, False),
                                             "hsct_date": plan.date_of(plan.hsct_day),
                                             "subsequent_therapy": "Allogeneic HSCT in CR1 after CAR-T"}))
        if plan.death_day is not None:
            contacts.append((plan.death_day, {
                "follow_up_status": FollowUpStatus.DEAD, "death_date": plan.date_of(plan.death_day),
                "death_cause": "Relapsed leukemia" if plan.relapse_day is not None else "Infection",
            }))
        elif plan.last_contact_day is not None and plan.last_contact_day not in {day for day, _ in contacts}:
            contacts.append((plan.last_contact_day, {
                "follow_up_status": _alive_status(plan, plan.relapse_day is not None), **relapse_values,
            }))
        for day, values in sorted(contacts, key=lambda contact: contact[0]):
            follow_up_save(patient=patient, by=by, reason=DEMO_REASON,
                           values={"contact_date": plan.date_of(day), **values})
