"""The infusion form's hard checks, one rule each (`infusions.rules`), and how the service joins them: the
entries themselves first (`product_errors`, `fraction_errors`), then, once they hold, what they contradict
(`lot_errors`, the lymphodepletion gap)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from infusions import services
from infusions.rules import InfusionFraction, fraction_errors, lot_errors, product_errors

from .conftest import DAY_0, PRODUCT, single

TODAY = datetime.date(2026, 3, 1)
LOT = {"lot": "CD19-2602-01", "total_viable_cells": 1_000_000_000, "viability_percent": Decimal("92.5"),
       "car_positive_percent": Decimal("40")}  # 400 ×10⁶ CAR⁺ viable cells


def fraction(day: int, cells: int = 100_000_000) -> InfusionFraction:
    return InfusionFraction(DAY_0 + datetime.timedelta(days=day), cells)


def test_a_complete_lot_passes():
    assert product_errors(**LOT) == {}


def test_a_lot_without_a_name_or_cells_is_refused():
    assert product_errors(**{**LOT, "lot": "  ", "total_viable_cells": 0}) == {
        "product_lot": ["Enter the product lot."],
        "total_viable_cells": ["The lot must hold a positive number of viable cells."],
    }


@pytest.mark.parametrize("value", [Decimal("100.1"), Decimal("-1"), Decimal("NaN")])
def test_percentages_outside_0_to_100_are_refused(value):
    assert product_errors(**{**LOT, "viability_percent": value, "car_positive_percent": value}) == {
        "viability_percent": ["A percentage must be between 0 and 100."],
        "car_positive_percent": ["A percentage must be between 0 and 100."],
    }


def test_an_infusion_needs_a_fraction():
    assert fraction_errors(fractions=[], today=TODAY) == {
        "fractions": ["Enter at least one infusion date and its cells."]}


def test_each_fraction_in_the_future_is_named():
    """Two future fractions give two messages on the date (one message per field would hide the second)."""
    late = [fraction(0), fraction(30), fraction(31)]
    assert fraction_errors(fractions=late, today=TODAY) == {"infusion_date": [
        "The infusion date 2026-03-08 is in the future: record an infusion once it is given.",
        "The infusion date 2026-03-09 is in the future: record an infusion once it is given.",
    ]}


def test_a_fraction_without_cells_and_two_on_one_day_are_refused():
    assert fraction_errors(fractions=[fraction(0), fraction(0, cells=0)], today=TODAY) == {
        "cart_cells_infused": ["The number of CAR⁺ cells infused must be positive."],
        "fractions": ["Two fractions on the same day: enter one fraction per day with its total cells."],
    }


def test_a_lot_made_after_its_first_infusion_is_refused():
    assert lot_errors(manufacture_date=DAY_0 + datetime.timedelta(days=1), total_viable_cells=1_000_000_000,
                      car_positive_percent=Decimal("40"), fractions=[fraction(0), fraction(2)]) == {
        "manufacture_date": ["The product cannot be manufactured after it was infused."]}


def test_more_car_positive_cells_than_the_lot_holds_are_refused_over_all_fractions():
    """200 + 201 ×10⁶ cells from a lot of 400 ×10⁶ CAR⁺ cells: only the sum over the fractions exceeds it."""
    over = [fraction(0, 200_000_000), fraction(1, 201_000_000)]
    assert lot_errors(manufacture_date=DAY_0, total_viable_cells=1_000_000_000, car_positive_percent=Decimal("40"),
                      fractions=over) == {
        "cart_cells_infused": [
            "More CAR⁺ cells infused than the lot holds (400 ×10⁶ = 400,000,000 CAR⁺ viable cells)."]}
    assert lot_errors(manufacture_date=DAY_0, total_viable_cells=1_000_000_000, car_positive_percent=Decimal("40"),
                      fractions=[fraction(0, 200_000_000), fraction(1, 200_000_000)]) == {}


def test_a_lot_with_no_car_positive_cells_cannot_be_infused():
    assert lot_errors(manufacture_date=DAY_0, total_viable_cells=1_000_000_000, car_positive_percent=Decimal("0"),
                      fractions=[fraction(0)]) == {
        "car_positive_percent": ["A lot with no CAR⁺ cells cannot be infused."]}


def test_the_service_checks_the_lot_and_lymphodepletion_only_once_the_entries_hold(lymphodepleted, coordinator):
    """A weight of 0 kg with an infusion a day after the last dose: only the weight is named, as the gap is
    judged on entries that hold. Corrected weight: then the gap is named, with the earliest allowed date."""
    with pytest.raises(ValidationError) as refused:
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("0"), product=PRODUCT,
                                 fractions=single(300_000_000, on=datetime.date(2026, 2, 4)))
    assert refused.value.message_dict == {"weight_kg": ["Weight must be between 2 and 250 kg."]}
    with pytest.raises(ValidationError) as refused:
        services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                                 fractions=single(300_000_000, on=datetime.date(2026, 2, 4)))
    assert refused.value.message_dict == {"infusion_date": [
        "The infusion must be at least 2 days after the last lymphodepletion dose (2026-02-03): 2026-02-05 at "
        "the earliest."]}
