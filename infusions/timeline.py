"""Lymphodepletion days and CAR-T fractions on the patient's timeline."""
from patients.timeline import TimelineEvent

from .models import Infusion, Lymphodepletion
from .rules import dose_million_cells_per_kg


def _mg(value) -> str:
    return "missed" if not value else f"{value.normalize():f} mg"


def timeline_events(patient) -> list[TimelineEvent]:
    events = []
    course = Lymphodepletion.objects.filter(patient=patient, removed=False).prefetch_related("doses").first()
    if course is not None:
        by_day = {}
        for dose in course.doses.all():
            by_day.setdefault((dose.study_day, dose.administration_date or dose.planned_date), []).append(dose)
        for (study_day, date), doses in sorted(by_day.items()):
            detail = "; ".join(
                f"{dose.get_agent_display()} {_mg(dose.administered_mg)} (plan {_mg(dose.planned_mg)})"
                for dose in doses)
            events.append(TimelineEvent(
                date=date, kind="lymphodepletion", label=f"Lymphodepletion day {study_day}", detail=detail,
                status=course.status, url=course.get_absolute_url(),
            ))
    infusion = Infusion.objects.filter(patient=patient, removed=False).prefetch_related("fractions").first()
    if infusion is not None:
        fractions = list(infusion.fractions.all())
        dose = dose_million_cells_per_kg(cells_per_kg=infusion.dose_cells_per_kg)
        for number, fraction in enumerate(fractions, start=1):
            label = "CAR-T infusion" if len(fractions) == 1 else f"CAR-T fraction {number} of {len(fractions)}"
            fraction_dose = dose_million_cells_per_kg(cells_per_kg=fraction.cart_cells_infused / infusion.weight_kg)
            events.append(TimelineEvent(
                date=fraction.infusion_date, kind="infusion", label=label,
                detail=(f"{fraction_dose} ×10⁶ CAR⁺ cells/kg (total {dose} ×10⁶/kg, lot {infusion.product_lot})"),
                status=infusion.status, url=infusion.get_absolute_url(),
            ))
    return events
