"""Lymphodepletion days and CAR-T fractions on the patient's timeline."""
from django.utils.translation import gettext as _

from patients.timeline import TimelineEvent

from .models import Infusion, Lymphodepletion
from .rules import dose_million_cells_per_kg


def _mg(value) -> str:
    return _("missed") if not value else f"{value.normalize():f} mg"


def timeline_events(patient) -> list[TimelineEvent]:
    events = []
    course = Lymphodepletion.objects.filter(patient=patient, removed=False).prefetch_related("doses").first()
    if course is not None:
        by_day = {}
        for dose in course.doses.all():
            by_day.setdefault((dose.study_day, dose.administration_date or dose.planned_date), []).append(dose)
        for (study_day, date), doses in sorted(by_day.items()):
            detail = _("; ").join(
                _("%(agent)s %(given)s (plan %(planned)s)") % {
                    "agent": dose.get_agent_display(), "given": _mg(dose.administered_mg),
                    "planned": _mg(dose.planned_mg)}
                for dose in doses)
            events.append(TimelineEvent(
                date=date, kind="lymphodepletion", label=_("Lymphodepletion day %(day)s") % {"day": study_day},
                detail=detail,
                status=course.status, url=course.get_absolute_url(),
            ))
    infusion = Infusion.objects.filter(patient=patient, removed=False).prefetch_related("fractions").first()
    if infusion is not None:
        fractions = list(infusion.fractions.all())
        dose = dose_million_cells_per_kg(cells_per_kg=infusion.dose_cells_per_kg)
        for number, fraction in enumerate(fractions, start=1):
            label = _("CAR-T infusion") if len(fractions) == 1 else _("CAR-T fraction %(number)s of %(total)s") % {
                "number": number, "total": len(fractions)}
            fraction_dose = dose_million_cells_per_kg(cells_per_kg=fraction.cart_cells_infused / infusion.weight_kg)
            events.append(TimelineEvent(
                date=fraction.infusion_date, kind="infusion", label=label,
                detail=_("%(fraction_dose)s ×10⁶ CAR⁺ cells/kg (total %(dose)s ×10⁶/kg, lot %(lot)s)") % {
                    "fraction_dose": fraction_dose, "dose": dose, "lot": infusion.product_lot},
                status=infusion.status, url=infusion.get_absolute_url(),
            ))
    return events
