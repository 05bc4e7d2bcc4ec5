"""Dosing cross-checks (soft: acknowledgement + reason → deviation), with the protocol's parameters: the last
lymphodepletion dose on days −5 to −3 of the infusion, fractions spread over at most 7 days, and fludarabine by
renal function (the label's bands: 30–70 mL/min −20 %, < 30 mL/min not recommended → a major deviation)."""
import datetime
from decimal import Decimal

import pytest

from crf.checks import SoftChecksNotAcknowledged
from infusions import services
from infusions.rules import InfusionFraction, fraction_spread_days, lymphodepletion_off_schedule
from monitoring.models import ProtocolDeviation
from tests.infusions.conftest import PLAN_173, PRODUCT, START, full_course, single

pytestmark = pytest.mark.django_db

LAST_DOSE = START + datetime.timedelta(days=2)  # day −3: 3 February


@pytest.mark.parametrize("days_after_last_dose, off", [(1, True), (2, True), (3, False), (5, False), (6, True),
                                                       (12, True)])
def test_last_lymphodepletion_dose_must_fall_on_days_minus_5_to_minus_3_of_the_infusion(days_after_last_dose, off):
    infusion = LAST_DOSE + datetime.timedelta(days=days_after_last_dose)
    assert lymphodepletion_off_schedule(last_dose_date=LAST_DOSE, infusion_date=infusion, first_day=-5,
                                        last_day=-3) is off


def test_fraction_spread_counts_days_from_first_to_last_fraction():
    day = datetime.date(2026, 2, 6)
    assert fraction_spread_days([InfusionFraction(day, 1)]) == 0
    assert fraction_spread_days([InfusionFraction(day, 1), InfusionFraction(day + datetime.timedelta(8), 1)]) == 8


@pytest.mark.parametrize("days_after_last_dose", [2, 12])
def test_infusion_2_or_12_days_after_the_last_lymphodepletion_dose_needs_an_acknowledged_deviation(
        lymphodepleted, coordinator, days_after_last_dose):
    """Before: an infusion 2 days or 12 days after the last dose passed silently."""
    day_0 = LAST_DOSE + datetime.timedelta(days=days_after_last_dose)
    with pytest.raises(SoftChecksNotAcknowledged) as refused:
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"), product=PRODUCT,
                                 fractions=single(300_000_000, on=day_0))
    [check] = refused.value.checks
    assert check.rule == "lymphodepletion_schedule"
    assert f"is on day {-days_after_last_dose} of this infusion, not on days -5 to -3" in check.message
    services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"), product=PRODUCT,
                             fractions=single(300_000_000, on=day_0), acknowledge_deviation=True,
                             deviation_reason="Infusion delayed: fever on day 0")
    assert ProtocolDeviation.objects.get().rule == "lymphodepletion_schedule"


def test_fractions_spread_over_8_days_need_an_acknowledged_deviation(lymphodepleted, coordinator):
    day_0 = datetime.date(2026, 2, 6)
    fractions = [InfusionFraction(day_0, 150_000_000), InfusionFraction(day_0 + datetime.timedelta(8), 150_000_000)]
    with pytest.raises(SoftChecksNotAcknowledged) as refused:
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("50"), product=PRODUCT,
                                 fractions=fractions)
    assert [check.rule for check in refused.value.checks] == ["fraction_spread"]
    assert "spread over 8 days, more than the protocol's 7" in refused.value.checks[0].message


def test_fludarabine_given_with_crcl_below_30_needs_acknowledgement_and_files_a_major_deviation(
        patient_sz, coordinator):
    """The label does not recommend fludarabine below 30 mL/min: a dose given anyway is a major deviation (before,
    a low clearance only hid deviations)."""
    kwargs = dict(patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"),
                  height_cm=Decimal("170"), doses=full_course(PLAN_173), creatinine_clearance_ml_min=Decimal("25"))
    with pytest.raises(SoftChecksNotAcknowledged) as refused:
        services.lymphodepletion_record(**kwargs)
    assert {(check.rule, check.severity) for check in refused.value.checks} == {
        ("fludarabine_renal_not_recommended", "major")}
    assert len(refused.value.checks) == 3  # one per fludarabine day
    services.lymphodepletion_record(**kwargs, acknowledge_deviation=True,
                                    deviation_reason="Haematologist's decision: no alternative regimen")
    assert set(ProtocolDeviation.objects.values_list("rule", "severity")) == {
        ("fludarabine_renal_not_recommended", "major")}


def test_fludarabine_omitted_with_crcl_below_30_is_not_a_missed_dose(patient_sz, coordinator):
    course = services.lymphodepletion_record(
        patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"), height_cm=Decimal("170"),
        doses=full_course({"cyclophosphamide": Decimal("519")}), creatinine_clearance_ml_min=Decimal("25"))
    assert course.doses.filter(agent="fludarabine", verdict="missed").count() == 3
    assert not ProtocolDeviation.objects.exists()


def test_infusion_preview_shows_the_cross_checks_before_saving(client, coordinator, lymphodepleted):
    from infusions.models import Infusion

    client.force_login(coordinator)
    html = client.post(f"/patients/{lymphodepleted.subject_id}/infusion/new/", {
        "product_lot": "SZ-CART-0042", "manufacture_date": "2026-01-20", "total_viable_cells_million": "2000",
        "viability_percent": "92.5", "car_positive_percent": "50", "weight_kg": "50",
        "fraction_1_date": "2026-02-15", "fraction_1_cells_million": "300", "calculate": "1"}).content.decode()
    checks = html[html.index('data-testid="cross-checks"'):]
    assert "The last lymphodepletion dose (2026-02-03) is on day -12 of this infusion" in checks
    assert not Infusion.objects.exists()
