import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from crf.checks import SoftChecksNotAcknowledged
from infusions import services
from infusions.models import Infusion, Lymphodepletion
from infusions.rules import InfusionFraction
from monitoring.models import ProtocolDeviation
from patients.models import PatientStatus, Visit

from .conftest import DAY_0, PLAN_173, PRODUCT, START, full_course, single

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "height_cm, weight_kg, bsa, fludarabine_mg, cyclophosphamide_mg",
    [
        # sqrt(170 × 63.4 / 3600) = 1.7303 → 1.73; 30 × 1.73 = 51.9 → 52; 300 × 1.73 = 519
        ("170", "63.4", "1.73", "52", "519"),
        # sqrt(150 × 37.5 / 3600) = 1.25 exactly; 30 × 1.25 = 37.5 → 38 (half up); 375
        ("150", "37.5", "1.25", "38", "375"),
        # sqrt(180 × 84 / 3600) = 2.0494 → 2.05; 61.5 → 62; 615
        ("180", "84", "2.05", "62", "615"),
        # a child: sqrt(120 × 22 / 3600) = 0.8563 → 0.86; 25.8 → 26; 258
        ("120", "22", "0.86", "26", "258"),
    ],
)
def test_planned_doses_from_bsa_match_hand_computed_mg(protocol, height_cm, weight_kg, bsa, fludarabine_mg,
                                                       cyclophosphamide_mg):
    computed_bsa, planned = services.lymphodepletion_plan(
        protocol=protocol, start_date=START, weight_kg=Decimal(weight_kg), height_cm=Decimal(height_cm))
    assert computed_bsa == Decimal(bsa)
    assert [(dose.study_day, dose.date, dose.agent, dose.planned_mg) for dose in planned] == [
        (day, START + datetime.timedelta(days=day + 5), agent, Decimal(mg))
        for day in (-5, -4, -3)
        for agent, mg in (("fludarabine", fludarabine_mg), ("cyclophosphamide", cyclophosphamide_mg))
    ]


def test_course_as_planned_saves_without_deviation_and_starts_lymphodepletion(lymphodepleted):
    course = Lymphodepletion.objects.get(patient=lymphodepleted)
    assert course.bsa_m2 == Decimal("1.73")
    assert [(d.study_day, d.agent, d.planned_mg, d.verdict) for d in course.doses.all()][:2] == [
        (-5, "cyclophosphamide", Decimal("519"), "within_tolerance"),
        (-5, "fludarabine", Decimal("52"), "within_tolerance"),
    ]
    assert lymphodepleted.status == PatientStatus.LYMPHODEPLETION
    assert not ProtocolDeviation.objects.exists()


@pytest.mark.parametrize("given_mg, outside", [
    ("57.2", False),  # +10.0 % of 52 mg: exactly the tolerance, within
    ("57.3", True),   # +10.19 %
    ("46.8", False),  # −10.0 %
    ("46.7", True),   # −10.19 %
])
def test_ten_percent_tolerance_boundary_on_fludarabine_52_mg(patient_sz, coordinator, given_mg, outside):
    doses = full_course(PLAN_173, {(-4, "fludarabine"): Decimal(given_mg)})
    record = lambda **ack: services.lymphodepletion_record(  # noqa: E731
        patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"),
        height_cm=Decimal("170"), doses=doses, **ack)
    if not outside:
        record()
        assert not ProtocolDeviation.objects.exists()
        return
    with pytest.raises(SoftChecksNotAcknowledged) as refused:
        record()
    assert refused.value.checks[0].rule == "lymphodepletion_dose_tolerance"
    assert f"{given_mg} mg given, plan 52 mg" in refused.value.checks[0].message
    assert "more than 10 % from the plan" in refused.value.checks[0].message
    assert not Lymphodepletion.objects.exists()
    record(acknowledge_deviation=True, deviation_reason="Pharmacy prepared the vial by weight")
    deviation = ProtocolDeviation.objects.get()
    assert (deviation.rule, deviation.value, deviation.reason, deviation.crf_label) == (
        "lymphodepletion_dose_tolerance", f"{given_mg} mg", "Pharmacy prepared the vial by weight",
        "Lymphodepletion")


def test_missed_day_and_dose_on_the_wrong_day_are_soft_checks(patient_sz, coordinator):
    doses = [d for d in full_course(PLAN_173) if d.study_day != -3 or d.agent != "cyclophosphamide"]
    doses = [services.DoseEntry(d.study_day, d.agent, d.administered_mg,
                                START + datetime.timedelta(days=2) if d.study_day == -4 else None) for d in doses]
    with pytest.raises(SoftChecksNotAcknowledged) as refused:
        services.lymphodepletion_record(patient=patient_sz, by=coordinator, start_date=START,
                                        weight_kg=Decimal("63.4"), height_cm=Decimal("170"), doses=doses)
    assert sorted(check.rule for check in refused.value.checks) == [
        "lymphodepletion_dose_date", "lymphodepletion_dose_date", "lymphodepletion_dose_missed"]


def test_fludarabine_reduced_for_renal_function_is_judged_against_the_adjusted_plan(patient_sz, coordinator):
    """CrCl 55 mL/min: the label's 20 % reduction plans 42 mg (52 × 0.8 = 41.6), so 42 mg is within tolerance
    and no deviation; without a low clearance the same reduction is a deviation."""
    reduced = {(day, "fludarabine"): Decimal("42") for day in (-5, -4, -3)}  # −19 % of 52 mg
    course = services.lymphodepletion_record(
        patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"), height_cm=Decimal("170"),
        doses=full_course(PLAN_173, reduced), creatinine_clearance_ml_min=Decimal("55"))
    flu = course.doses.get(study_day=-5, agent="fludarabine")
    assert (flu.planned_mg, flu.verdict, flu.renal_adjustment) == (Decimal("42"), "within_tolerance", True)
    assert not ProtocolDeviation.objects.exists()
    with pytest.raises(SoftChecksNotAcknowledged):
        services.lymphodepletion_record(
            patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"),
            height_cm=Decimal("170"), doses=full_course(PLAN_173, reduced),
            creatinine_clearance_ml_min=Decimal("85"), reason="Clearance re-measured")


def test_zero_weight_is_a_hard_error(patient_sz, coordinator):
    with pytest.raises(ValidationError) as refused:
        services.lymphodepletion_record(patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("0"),
                                        height_cm=Decimal("170"), doses=full_course(PLAN_173))
    assert "weight_kg" in refused.value.message_dict


# --- infusion ------------------------------------------------------------------------------------

# 50 kg: 5.00 ×10⁶/kg is 250,000,000 cells.
@pytest.mark.parametrize("cells, verdict", [
    (249_500_000, "below_range"),   # 4.99 ×10⁶/kg
    (250_000_000, "within_range"),  # 5.00
    (500_000_000, "within_range"),  # 10.00
    (500_500_000, "above_range"),   # 10.01
])
def test_cart_dose_range_boundaries_at_50_kg(lymphodepleted, coordinator, django_capture_on_commit_callbacks,
                                             cells, verdict):
    record = lambda **ack: services.infusion_record(  # noqa: E731
        patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"), product=PRODUCT, fractions=single(cells),
        **ack)
    with django_capture_on_commit_callbacks(execute=True):
        if verdict == "within_range":
            infusion = record()
        else:
            with pytest.raises(SoftChecksNotAcknowledged) as refused:
                record()
            assert refused.value.checks[0].rule == "cart_dose_range"
            assert Infusion.objects.count() == 0
            infusion = record(acknowledge_deviation=True, deviation_reason="Manufacturing yield")
            assert ProtocolDeviation.objects.get().value == f"{cells / 50 / 1e6:.2f} ×10⁶/kg"
    assert infusion.dose_verdict == verdict
    assert infusion.dose_cells_per_kg == Decimal(cells) / 50
    lymphodepleted.refresh_from_db()
    assert (lymphodepleted.infusion_date, lymphodepleted.status) == (DAY_0, PatientStatus.INFUSED)
    assert Visit.objects.filter(patient=lymphodepleted).count() == 16


def test_more_cells_than_the_lot_holds_is_a_hard_error_even_when_acknowledged(lymphodepleted, coordinator):
    with pytest.raises(ValidationError) as refused:
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("100"), product=PRODUCT,
                                 fractions=single(1_000_000_001), acknowledge_deviation=True, deviation_reason="x")
    assert "more car⁺ cells infused than the lot holds" in str(refused.value.message_dict["cart_cells_infused"]).lower()


def test_zero_weight_at_infusion_is_a_hard_error(lymphodepleted, coordinator):
    with pytest.raises(ValidationError) as refused:
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("0"), product=PRODUCT,
                                 fractions=single(300_000_000))
    assert "weight_kg" in refused.value.message_dict


def test_infusion_one_day_after_last_lymphodepletion_dose_is_refused(lymphodepleted, coordinator):
    # Last dose 3 February; 2 days later (5 February) is the earliest.
    with pytest.raises(ValidationError) as refused:
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"), product=PRODUCT,
                                 fractions=single(300_000_000, on=datetime.date(2026, 2, 4)))
    assert "2026-02-05 at the earliest" in refused.value.message_dict["infusion_date"][0]
    # Day −2 is possible but not the protocol's schedule (days −5 to −3): a soft check, acknowledged.
    services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"), product=PRODUCT,
                             fractions=single(300_000_000, on=datetime.date(2026, 2, 5)), acknowledge_deviation=True,
                             deviation_reason="Product released early")


def test_split_dose_sums_fractions_and_day_0_is_the_first(lymphodepleted, coordinator,
                                                         django_capture_on_commit_callbacks):
    fractions = [InfusionFraction(datetime.date(2026, 2, 7), 200_000_000),
                 InfusionFraction(DAY_0, 100_000_000)]  # 300 M over 50 kg = 6.00 ×10⁶/kg
    with django_capture_on_commit_callbacks(execute=True):
        infusion = services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"),
                                            product=PRODUCT, fractions=fractions)
    assert (infusion.infusion_date, infusion.cart_cells_infused, infusion.dose_cells_per_kg) == (
        DAY_0, 300_000_000, Decimal("6000000"))
    assert [f.infusion_date for f in infusion.fractions.all()] == [DAY_0, datetime.date(2026, 2, 7)]
    d28 = Visit.objects.get(patient=lymphodepleted, definition__code="D28")
    assert d28.target_date == datetime.date(2026, 3, 6)


def test_correcting_the_infusion_date_retargets_visits_with_an_audited_reason(
        lymphodepleted, coordinator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"), product=PRODUCT,
                                 fractions=single(300_000_000))
    with pytest.raises(ValidationError) as refused:  # a submitted form needs a reason for change
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"), product=PRODUCT,
                                 fractions=single(300_000_000, on=datetime.date(2026, 2, 8)))
    assert "reason" in refused.value.message_dict
    with django_capture_on_commit_callbacks(execute=True):
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"), product=PRODUCT,
                                 fractions=single(300_000_000, on=datetime.date(2026, 2, 8)),
                                 reason="Transcription error: bag hung on 8 February")
    lymphodepleted.refresh_from_db()
    assert lymphodepleted.infusion_date == datetime.date(2026, 2, 8)
    assert lymphodepleted.history.first().history_change_reason.startswith("Infusion date corrected from 2026-02-06")
    d1 = Visit.objects.get(patient=lymphodepleted, definition__code="D1")
    assert (d1.target_date, d1.window_start, d1.window_end) == (
        datetime.date(2026, 2, 9), datetime.date(2026, 2, 8), datetime.date(2026, 2, 10))
    assert d1.history.first().history_change_reason == "Re-targeted: day 0 is now 2026-02-08"
    assert Visit.objects.filter(patient=lymphodepleted).count() == 16
