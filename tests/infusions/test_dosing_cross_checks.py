"""Dosing cross-checks (soft: acknowledgement + reason → deviation), with the protocol's parameters: the infusion
weight within 10 % of the latest earlier weight, the last lymphodepletion dose on days −5 to −3 of the infusion,
fractions spread over at most 7 days, and fludarabine by renal function (the label's bands: 30–70 mL/min −20 %,
< 30 mL/min not recommended → a major deviation)."""
import datetime
from decimal import Decimal

import pytest

from crf.checks import SoftChecksNotAcknowledged
from infusions import services
from infusions.models import Infusion
from infusions.rules import InfusionFraction, fraction_spread_days, lymphodepletion_off_schedule, weight_change_exceeds
from monitoring.models import ProtocolDeviation
from tests.infusions.conftest import PLAN_173, PRODUCT, START, full_course, single
from trial.models import Protocol

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
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                                 fractions=single(300_000_000, on=day_0))
    [check] = refused.value.checks
    assert check.rule == "lymphodepletion_schedule"
    assert f"is on day {-days_after_last_dose} of this infusion, not on days -5 to -3" in check.message
    services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                             fractions=single(300_000_000, on=day_0), acknowledge_deviation=True,
                             deviation_reason="Infusion delayed: fever on day 0")
    assert ProtocolDeviation.objects.get().rule == "lymphodepletion_schedule"


def test_fractions_spread_over_8_days_need_an_acknowledged_deviation(lymphodepleted, coordinator):
    day_0 = datetime.date(2026, 2, 6)
    fractions = [InfusionFraction(day_0, 150_000_000), InfusionFraction(day_0 + datetime.timedelta(8), 150_000_000)]
    with pytest.raises(SoftChecksNotAcknowledged) as refused:
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
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
        "viability_percent": "92.5", "car_positive_percent": "50", "weight_kg": "60",
        "fraction_1_date": "2026-02-15", "fraction_1_cells_million": "300", "calculate": "1"}).content.decode()
    checks = html[html.index('data-testid="cross-checks"'):]
    assert "The last lymphodepletion dose (2026-02-03) is on day -12 of this infusion" in checks
    assert not Infusion.objects.exists()


# --- the infusion weight against the latest earlier weight ------------------------------------------------------

# 170 cm, 70 kg: Mosteller sqrt(170 × 70 / 3600) = 1.8181 → 1.82 m²; fludarabine 30 × 1.82 = 54.6 → 55 mg;
# cyclophosphamide 300 × 1.82 = 546 mg.
PLAN_182 = {"fludarabine": Decimal("55"), "cyclophosphamide": Decimal("546")}


@pytest.fixture
def lymphodepleted_at_70_kg(patient_sz, coordinator):
    services.lymphodepletion_record(patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("70"),
                                    height_cm=Decimal("170"), doses=full_course(PLAN_182))
    patient_sz.refresh_from_db()
    return patient_sz


@pytest.mark.parametrize("weight, exceeds", [("63", False), ("77", False), ("62.9", True), ("77.1", True),
                                             ("35", True)])
def test_weight_more_than_10_percent_from_the_earlier_70_kg_exceeds_and_exactly_10_percent_does_not(weight, exceeds):
    """63 and 77 kg are exactly 10 % from 70 kg (within); 62.9 kg is 10.14 % below."""
    assert weight_change_exceeds(weight_kg=Decimal(weight), earlier_weight_kg=Decimal("70"),
                                 limit_percent=Decimal("10")) is exceeds


def test_35_kg_typed_against_70_kg_at_lymphodepletion_needs_acknowledgement_naming_both_weights_and_dates(
        lymphodepleted_at_70_kg, coordinator):
    """The reproduced case: 350 ×10⁶ CAR⁺ cells are 5.00 ×10⁶/kg at 70 kg, but 35 kg typed made them
    "10.00 ×10⁶/kg within range" and the infusion saved silently. Now the weight is a soft check."""
    record = dict(patient=lymphodepleted_at_70_kg, by=coordinator, weight_kg=Decimal("35"), product=PRODUCT,
                  fractions=single(350_000_000))
    with pytest.raises(SoftChecksNotAcknowledged) as refused:
        services.infusion_record(**record)
    [check] = refused.value.checks
    assert (check.rule, check.field, check.value) == ("infusion_weight_change", "weight_kg", "35 kg")
    assert check.message == ("The weight at infusion (35 kg on 2026-02-06) is 50.0 % below the lymphodepletion "
                             "weight (70 kg on 2026-02-01), more than the protocol's 10 %: the dose per kg rests "
                             "on it.")
    assert not Infusion.objects.exists()
    infusion = services.infusion_record(**record, acknowledge_deviation=True,
                                        deviation_reason="Weighed again on day 0: 35 kg confirmed")
    assert (infusion.dose_cells_per_kg, infusion.dose_verdict) == (Decimal("10000000.00"), "within_range")
    assert ProtocolDeviation.objects.get().rule == "infusion_weight_change"


def test_infusion_weight_exactly_10_percent_below_the_lymphodepletion_weight_passes(lymphodepleted_at_70_kg,
                                                                                    coordinator):
    """63 kg against 70 kg: 10.0 % is within; 330 ×10⁶ cells / 63 kg = 5.24 ×10⁶/kg, within range."""
    infusion = services.infusion_record(patient=lymphodepleted_at_70_kg, by=coordinator, weight_kg=Decimal("63"),
                                        product=PRODUCT, fractions=single(330_000_000))
    assert infusion.dose_cells_per_kg == Decimal("5238095.24")
    assert not ProtocolDeviation.objects.exists()


def test_without_a_lymphodepletion_course_the_weight_is_checked_against_the_baseline(patient_sz):
    """PatientFactory's baseline: 70 kg on 2026-01-06 (the screening day)."""
    checks = services.infusion_cross_checks(patient=patient_sz, fractions=single(350_000_000),
                                            weight_kg=Decimal("77.5"))
    assert [check.message for check in checks] == [
        "The weight at infusion (77.5 kg on 2026-02-06) is 10.7 % above the baseline weight (70 kg on 2026-01-06), "
        "more than the protocol's 10 %: the dose per kg rests on it."]


def test_the_weight_change_limit_is_the_protocols(lymphodepleted_at_70_kg, coordinator):
    """An amendment allowing 25 %: 56 kg against 70 kg (−20 %) passes, 52 kg (−25.7 %) asks for acknowledgement.
    A limit written into the code would refuse both."""
    Protocol.objects.filter(pk=lymphodepleted_at_70_kg.protocol_id).update(infusion_weight_change_percent=25)
    lymphodepleted_at_70_kg.refresh_from_db()
    assert services.infusion_cross_checks(patient=lymphodepleted_at_70_kg, fractions=single(350_000_000),
                                          weight_kg=Decimal("56")) == []
    [check] = services.infusion_cross_checks(patient=lymphodepleted_at_70_kg, fractions=single(350_000_000),
                                             weight_kg=Decimal("52"))
    assert "is 25.7 % below the lymphodepletion weight (70 kg on 2026-02-01), more than the protocol's 25 %" in \
        check.message


def test_infusion_preview_lists_the_weight_change(client, coordinator, lymphodepleted_at_70_kg):
    client.force_login(coordinator)
    html = client.post(f"/patients/{lymphodepleted_at_70_kg.subject_id}/infusion/new/", {
        "product_lot": "SZ-CART-0042", "manufacture_date": "2026-01-20", "total_viable_cells_million": "2000",
        "viability_percent": "92.5", "car_positive_percent": "50", "weight_kg": "35",
        "fraction_1_date": "2026-02-06", "fraction_1_cells_million": "350", "calculate": "1"}).content.decode()
    checks = html[html.index('data-testid="cross-checks"'):]
    assert ("The weight at infusion (35 kg on 2026-02-06) is 50.0 % below the lymphodepletion weight (70 kg on "
            "2026-02-01)") in checks
    assert not Infusion.objects.exists()


def test_api_answers_400_with_the_weight_change_in_soft_checks_then_saves_when_acknowledged(
        api_client, coordinator, lymphodepleted_at_70_kg):
    api_client.force_authenticate(coordinator)
    url = f"/api/v1/patients/{lymphodepleted_at_70_kg.subject_id}/infusion/"
    body = {"infusion_date": "2026-02-06", "weight_kg": "35", "cart_cells_infused": 350_000_000,
            "product": {"lot": "SZ-CART-0001", "manufacture_date": "2026-01-20", "total_viable_cells": 2_000_000_000,
                        "viability_percent": "92.5", "car_positive_percent": "50"}}
    refused = api_client.post(url, body, format="json")
    assert refused.status_code == 400
    assert [check["rule"] for check in refused.json()["soft_checks"]] == ["infusion_weight_change"]
    assert "35 kg on 2026-02-06" in refused.json()["acknowledge_deviation"][0]
    assert not Infusion.objects.exists()
    saved = api_client.post(url, dict(body, acknowledge_deviation=True, reason="35 kg confirmed"), format="json")
    assert saved.status_code == 201, saved.json()
    assert saved.json()["dose_million_cells_per_kg"] == "10.00"
