"""Demo lymphodepletion courses and CAR-T infusions, written through the services
(so the demo passes the same checks as a coordinator), then the visit schedule."""
import datetime
from decimal import ROUND_CEILING, Decimal

from patients.models import PatientStatus
from trial.demo import DemoPlan
from visits.services import visits_mark_done_many, visits_schedule, visits_update_status

from . import services
from .rules import InfusionFraction

DEMO_REASON = "Demo data (synthetic)"
# The demo product: 45 % CAR⁺ among viable cells, made 12 days before infusion,
# with a third more CAR⁺ cells than infused (the rest is cryopreserved).
CAR_POSITIVE_PERCENT = Decimal("45")
MANUFACTURE_DAYS_BEFORE_INFUSION = 12


def _course(plan: DemoPlan, patient, by):
    _, planned = services.lymphodepletion_plan(
        protocol=patient.protocol, start_date=plan.lymphodepletion_start, weight_kg=plan.weight_kg,
        height_cm=plan.height_cm)
    doses = [services.DoseEntry(dose.study_day, dose.agent, dose.planned_mg) for dose in planned]
    return services.lymphodepletion_record(
        patient=patient, by=by, start_date=plan.lymphodepletion_start, weight_kg=plan.weight_kg,
        height_cm=plan.height_cm, doses=doses)


def _infusion(plan: DemoPlan, patient, by):
    cells = int(plan.cells_per_kg_million * plan.weight_kg * 1_000_000)
    total_viable = int((Decimal(cells) * 4 / 3 * 100 / CAR_POSITIVE_PERCENT).to_integral_value(ROUND_CEILING))
    protocol = patient.protocol
    in_range = (protocol.cart_dose_min_million_per_kg <= plan.cells_per_kg_million
                <= protocol.cart_dose_max_million_per_kg)
    return services.infusion_record(
        patient=patient, by=by, weight_kg=plan.weight_kg,
        product=services.ProductEntry(
            lot=f"{plan.site_code}-CART-{plan.number:04d}",
            manufacture_date=plan.infusion_date - datetime.timedelta(days=MANUFACTURE_DAYS_BEFORE_INFUSION),
            total_viable_cells=total_viable, viability_percent=Decimal("91.5"),
            car_positive_percent=CAR_POSITIVE_PERCENT),
        fractions=[InfusionFraction(plan.infusion_date, cells)],
        # Out-of-range doses in the plan are recorded as acknowledged deviations.
        acknowledge_deviation=not in_range,
        deviation_reason="" if in_range else "Manufactured yield allowed only this dose; investigator agreed",
    )


def load(*, created, users):
    from django.utils import timezone

    infused = []
    for plan, patient, by in created:
        if plan.lymphodepletion_start is None or patient.status in (
            PatientStatus.SCREENING, PatientStatus.SCREEN_FAILED
        ):
            continue
        _course(plan, patient, by)
        if plan.infusion_date is not None:
            _infusion(plan, patient, by)
            patient.refresh_from_db()
            # Scheduled here, synchronously, so the demo has its visits even
            # without a worker; the task queued on commit then finds nothing to do.
            visits_schedule(patient=patient, by=by, today=plan.infusion_date)
            infused.append((plan, patient, by))
    for plan, patient, by in infused:
        # The plan says when the patient was last seen: the visits before then took place.
        last_seen = plan.date_of(plan.last_contact_day)
        visits_mark_done_many(visits=patient.visits.filter(window_end__lt=last_seen), by=by, reason=DEMO_REASON)
    if infused:
        visits_update_status(today=timezone.localdate(), patient_ids=[patient.pk for _, patient, _ in infused])
