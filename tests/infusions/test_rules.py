import datetime
from collections import namedtuple
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infusions.rules import (
    Agent,
    CellDoseVerdict,
    DoseVerdict,
    InfusionFraction,
    PlannedDose,
    car_positive_viable_cells,
    cell_dose_per_kg,
    cell_dose_verdict,
    cells_exceed_lot,
    dose_million_cells_per_kg,
    dose_verdict,
    earliest_infusion_date,
    first_fraction_date,
    fludarabine_renal_band,
    infusion_too_early,
    planned_course,
    planned_dose_mg,
    renal_adjusted_dose_mg,
    total_cells,
)

D = Decimal
FLU = Agent.FLUDARABINE
CY = Agent.CYCLOPHOSPHAMIDE
# The registry record: fludarabine 30 mg/m², cyclophosphamide 300 mg/m², days −5 to −3.
REGIMEN = {FLU: D("30"), CY: D("300")}
LYMPHODEPLETION_DAYS = (-5, -4, -3)
TOLERANCE = D("10")
MIN_CELLS, MAX_CELLS = D("5000000"), D("10000000")


# --- planned dose ---------------------------------------------------------------


def test_fludarabine_planned_dose_for_bsa_1_82():
    assert planned_dose_mg(dose_mg_per_m2=D("30"), bsa_m2=D("1.82")) == D("55")  # 54.60 → 55


def test_cyclophosphamide_planned_dose_for_bsa_1_82():
    assert planned_dose_mg(dose_mg_per_m2=D("300"), bsa_m2=D("1.82")) == D("546")  # 546.00


def test_child_with_bsa_0_91_gets_27_mg_fludarabine_and_273_mg_cyclophosphamide():
    assert planned_dose_mg(dose_mg_per_m2=D("30"), bsa_m2=D("0.91")) == D("27")  # 27.30 → 27
    assert planned_dose_mg(dose_mg_per_m2=D("300"), bsa_m2=D("0.91")) == D("273")


def test_fludarabine_planned_dose_rounds_a_half_mg_up():
    assert planned_dose_mg(dose_mg_per_m2=D("30"), bsa_m2=D("1.15")) == D("35")  # 34.50 → 35, not 34


def test_planned_dose_is_a_whole_mg():
    assert planned_dose_mg(dose_mg_per_m2=D("30"), bsa_m2=D("2.12")) == D("64")  # 63.60
    assert planned_dose_mg(dose_mg_per_m2=D("30"), bsa_m2=D("2.12")).as_tuple().exponent == 0


@pytest.mark.parametrize(("mg_m2", "bsa"), [(D("0"), D("1.8")), (D("30"), D("0")), (D("-30"), D("1.8"))])
def test_planned_dose_refuses_non_positive_inputs(mg_m2, bsa):
    with pytest.raises(ValueError):
        planned_dose_mg(dose_mg_per_m2=mg_m2, bsa_m2=bsa)


# --- planned course ---------------------------------------------------------------


def test_protocol_course_is_both_agents_on_days_minus_5_to_minus_3():
    start = datetime.date(2024, 2, 25)
    course = planned_course(start_date=start, bsa_m2=D("1.82"), regimen=REGIMEN, study_days=LYMPHODEPLETION_DAYS)
    assert course == [
        PlannedDose(-5, datetime.date(2024, 2, 25), "fludarabine", D("55")),
        PlannedDose(-5, datetime.date(2024, 2, 25), "cyclophosphamide", D("546")),
        PlannedDose(-4, datetime.date(2024, 2, 26), "fludarabine", D("55")),
        PlannedDose(-4, datetime.date(2024, 2, 26), "cyclophosphamide", D("546")),
        PlannedDose(-3, datetime.date(2024, 2, 27), "fludarabine", D("55")),
        PlannedDose(-3, datetime.date(2024, 2, 27), "cyclophosphamide", D("546")),
    ]


def test_course_start_date_is_the_lowest_study_day_whatever_the_order_given():
    course = planned_course(
        start_date=datetime.date(2024, 1, 1), bsa_m2=D("1"), regimen={FLU: D("30")}, study_days=(-3, -5, -4)
    )
    assert [(dose.study_day, dose.date.day) for dose in course] == [(-5, 1), (-4, 2), (-3, 3)]


def test_course_without_days_or_agents_is_refused():
    with pytest.raises(ValueError):
        planned_course(start_date=datetime.date(2024, 1, 1), bsa_m2=D("1"), regimen=REGIMEN, study_days=())
    with pytest.raises(ValueError):
        planned_course(start_date=datetime.date(2024, 1, 1), bsa_m2=D("1"), regimen={}, study_days=(-5,))


# --- administered dose soft check ----------------------------------------------------


@pytest.mark.parametrize(
    ("administered_mg", "verdict"),
    [
        (D("44.9"), DoseVerdict.OUTSIDE_TOLERANCE),  # −10.2 %
        (D("45.0"), DoseVerdict.WITHIN_TOLERANCE),  # −10.00 % exactly
        (D("50"), DoseVerdict.WITHIN_TOLERANCE),
        (D("55.0"), DoseVerdict.WITHIN_TOLERANCE),  # +10.00 % exactly
        (D("55.1"), DoseVerdict.OUTSIDE_TOLERANCE),  # +10.2 %
    ],
)
def test_fludarabine_50_mg_plan_tolerates_exactly_10_percent(administered_mg, verdict):
    assert dose_verdict(planned_mg=D("50"), administered_mg=administered_mg, tolerance_percent=TOLERANCE) == verdict


@pytest.mark.parametrize(
    ("administered_mg", "verdict"),
    [
        (D("49.4"), "outside_tolerance"),
        (D("49.5"), "within_tolerance"),
        (D("60.5"), "within_tolerance"),
        (D("60.6"), "outside_tolerance"),
    ],
)
def test_fludarabine_55_mg_plan_boundaries_at_49_5_and_60_5(administered_mg, verdict):
    assert dose_verdict(planned_mg=D("55"), administered_mg=administered_mg, tolerance_percent=TOLERANCE) == verdict


@pytest.mark.parametrize("administered_mg", [None, D("0"), D("0.00")])
def test_dose_not_given_is_missed(administered_mg):
    assert dose_verdict(planned_mg=D("546"), administered_mg=administered_mg, tolerance_percent=TOLERANCE) == "missed"


def test_negative_administered_dose_is_refused():
    with pytest.raises(ValueError):
        dose_verdict(planned_mg=D("50"), administered_mg=D("-5"), tolerance_percent=TOLERANCE)


@given(
    planned=st.integers(min_value=1, max_value=2000),
    administered=st.decimals(min_value=D("0.1"), max_value=D("3000"), places=1),
)
def test_dose_verdict_agrees_with_exact_rational_deviation(planned, administered):
    deviation_percent = abs(Fraction(administered) - planned) / planned * 100
    expected = "outside_tolerance" if deviation_percent > 10 else "within_tolerance"
    assert dose_verdict(planned_mg=D(planned), administered_mg=administered, tolerance_percent=TOLERANCE) == expected


# --- renal adjustment (the protocol's bands, from the fludarabine label) ----------------------------

BANDS = [{"crcl_min_ml_min": 30, "crcl_max_ml_min": 70, "reduction_percent": 20, "not_recommended": False},
         {"crcl_min_ml_min": 0, "crcl_max_ml_min": 30, "reduction_percent": None, "not_recommended": True}]


@pytest.mark.parametrize("crcl, reduction, not_recommended", [
    (D("69.9"), D("20"), False), (D("30"), D("20"), False), (D("29.9"), None, True), (D("70"), None, None),
    (None, None, None)])
def test_fludarabine_renal_band_by_creatinine_clearance(crcl, reduction, not_recommended):
    band = fludarabine_renal_band(creatinine_clearance_ml_min=crcl, bands=BANDS)
    if not_recommended is None:
        assert band is None
    else:
        assert (band.reduction_percent, band.not_recommended) == (reduction, not_recommended)


def test_crcl_55_plans_fludarabine_20_percent_lower_rounded_to_a_whole_mg():
    band = fludarabine_renal_band(creatinine_clearance_ml_min=D("55"), bands=BANDS)
    assert renal_adjusted_dose_mg(planned_mg=D("52"), band=band) == D("42")
    assert renal_adjusted_dose_mg(planned_mg=D("52"), band=None) == D("52")


def test_renal_bands_come_from_the_protocol():
    stricter = [{"crcl_min_ml_min": 0, "crcl_max_ml_min": 60, "reduction_percent": 25, "not_recommended": False}]
    assert fludarabine_renal_band(creatinine_clearance_ml_min=D("65"), bands=stricter) is None
    band = fludarabine_renal_band(creatinine_clearance_ml_min=D("59"), bands=stricter)
    assert renal_adjusted_dose_mg(planned_mg=D("52"), band=band) == D("39")


# --- CAR-T cell dose -------------------------------------------------------------------


def test_5e8_cells_in_100_kg_is_5_million_per_kg_exactly():
    assert cell_dose_per_kg(cart_cells_infused=500_000_000, weight_kg=D("100")) == D("5000000")


def test_cell_dose_for_70_kg_adult_is_7_14_million_per_kg():
    per_kg = cell_dose_per_kg(cart_cells_infused=500_000_000, weight_kg=D("70"))  # 7 142 857.142857…
    assert dose_million_cells_per_kg(cells_per_kg=per_kg) == D("7.14")
    assert cell_dose_verdict(cells_per_kg=per_kg, min_cells_per_kg=MIN_CELLS, max_cells_per_kg=MAX_CELLS) == (
        "within_range"
    )


@pytest.mark.parametrize(
    ("cells_in_100_kg", "shown", "verdict"),
    [
        (499_000_000, D("4.99"), CellDoseVerdict.BELOW_RANGE),
        (500_000_000, D("5.00"), CellDoseVerdict.WITHIN_RANGE),
        (1_000_000_000, D("10.00"), CellDoseVerdict.WITHIN_RANGE),
        (1_001_000_000, D("10.01"), CellDoseVerdict.ABOVE_RANGE),
    ],
)
def test_cell_dose_range_5_to_10_million_per_kg_is_inclusive(cells_in_100_kg, shown, verdict):
    per_kg = cell_dose_per_kg(cart_cells_infused=cells_in_100_kg, weight_kg=D("100"))
    assert dose_million_cells_per_kg(cells_per_kg=per_kg) == shown
    assert cell_dose_verdict(cells_per_kg=per_kg, min_cells_per_kg=MIN_CELLS, max_cells_per_kg=MAX_CELLS) == verdict


@pytest.mark.parametrize(
    ("cells_per_kg", "shown", "verdict"),
    [
        (D("4994999.99"), D("4.99"), "below_range"),
        (D("4995000"), D("5.00"), "within_range"),  # shown as 5.00, so judged within
        (D("10004999.99"), D("10.00"), "within_range"),
        (D("10005000"), D("10.01"), "above_range"),
    ],
)
def test_cell_dose_is_judged_on_the_displayed_two_decimal_value(cells_per_kg, shown, verdict):
    assert dose_million_cells_per_kg(cells_per_kg=cells_per_kg) == shown
    assert (
        cell_dose_verdict(cells_per_kg=cells_per_kg, min_cells_per_kg=MIN_CELLS, max_cells_per_kg=MAX_CELLS)
        == verdict
    )


@given(
    cells=st.integers(min_value=0, max_value=5_000_000_000),
    weight=st.decimals(min_value=D("2"), max_value=D("250"), places=1),
)
def test_cell_dose_verdict_never_contradicts_the_displayed_dose(cells, weight):
    per_kg = cell_dose_per_kg(cart_cells_infused=cells, weight_kg=weight)
    shown = dose_million_cells_per_kg(cells_per_kg=per_kg)
    verdict = cell_dose_verdict(cells_per_kg=per_kg, min_cells_per_kg=MIN_CELLS, max_cells_per_kg=MAX_CELLS)
    expected = "below_range" if shown < 5 else "above_range" if shown > 10 else "within_range"
    assert verdict == expected


def test_cell_dose_refuses_fractional_or_negative_cells_and_zero_weight():
    with pytest.raises(TypeError):
        cell_dose_per_kg(cart_cells_infused=5e8, weight_kg=D("70"))
    with pytest.raises(ValueError):
        cell_dose_per_kg(cart_cells_infused=-1, weight_kg=D("70"))
    with pytest.raises(ValueError):
        cell_dose_per_kg(cart_cells_infused=500_000_000, weight_kg=D("0"))


# --- product lot ---------------------------------------------------------------------------


def test_lot_of_1e9_viable_cells_at_45_37_percent_car_positive_holds_453_7_million():
    assert car_positive_viable_cells(total_viable_cells=1_000_000_000, car_positive_percent=D("45.37")) == 453_700_000


def test_lot_capacity_rounds_partial_cells_down():
    assert car_positive_viable_cells(total_viable_cells=999, car_positive_percent=D("33.3")) == 332  # 332.667


def test_car_positive_percent_above_100_is_refused():
    with pytest.raises(ValueError):
        car_positive_viable_cells(total_viable_cells=1_000, car_positive_percent=D("100.1"))


def test_infusing_more_car_positive_cells_than_the_lot_holds_is_a_hard_error():
    lot = {"total_viable_cells": 1_000_000_000, "car_positive_percent": D("45.37")}
    assert not cells_exceed_lot(cart_cells_infused=453_700_000, **lot)
    assert cells_exceed_lot(cart_cells_infused=453_700_001, **lot)


# --- infusion timing ---------------------------------------------------------------------------


def test_infusion_is_allowed_two_days_after_the_last_lymphodepletion_dose():
    last_dose = datetime.date(2024, 2, 27)  # day −3
    assert earliest_infusion_date(last_lymphodepletion_date=last_dose) == datetime.date(2024, 2, 29)
    assert not infusion_too_early(infusion_date=datetime.date(2024, 3, 1), last_lymphodepletion_date=last_dose)
    assert not infusion_too_early(infusion_date=datetime.date(2024, 2, 29), last_lymphodepletion_date=last_dose)


def test_infusion_the_day_after_the_last_lymphodepletion_dose_is_too_early():
    last_dose = datetime.date(2024, 2, 27)
    assert infusion_too_early(infusion_date=datetime.date(2024, 2, 28), last_lymphodepletion_date=last_dose)
    assert infusion_too_early(infusion_date=last_dose, last_lymphodepletion_date=last_dose)


# --- split dosing ------------------------------------------------------------------------------


def test_split_dose_of_10_30_60_percent_totals_all_fractions_and_starts_on_first_day():
    fractions = [
        InfusionFraction(datetime.date(2024, 3, 3), 300_000_000),
        InfusionFraction(datetime.date(2024, 3, 1), 50_000_000),
        InfusionFraction(datetime.date(2024, 3, 2), 150_000_000),
    ]
    assert total_cells(fractions) == 500_000_000
    assert first_fraction_date(fractions) == datetime.date(2024, 3, 1)


def test_split_dose_accepts_any_object_with_date_and_cells():
    Row = namedtuple("Row", "infusion_date cart_cells_infused")
    rows = (Row(datetime.date(2024, 3, 2), 7), Row(datetime.date(2024, 3, 1), 3))
    assert total_cells(fractions=iter(rows)) == 10
    assert first_fraction_date(fractions=iter(rows)) == datetime.date(2024, 3, 1)


def test_split_dose_without_fractions_is_refused():
    with pytest.raises(ValueError):
        total_cells([])
    with pytest.raises(ValueError):
        first_fraction_date([])
