import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from patients.rules import (
    HEIGHT_CM_LIMITS,
    PERCENT_LIMITS,
    WEIGHT_KG_LIMITS,
    PatientStatus,
    age_years,
    body_surface_area_m2,
    in_follow_up,
    status_on_study,
    study_day,
    within_limits,
)

D = Decimal


# --- body-surface area (Mosteller) --------------------------------------------


@pytest.mark.parametrize(
    ("height_cm", "weight_kg", "expected"),
    [
        # 170 × 70 = 11900; / 3600 = 3.30556; sqrt = 1.81811 → 1.82
        (D("170"), D("70"), D("1.82")),
        # 120 × 25 = 3000; / 3600 = 0.83333; sqrt = 0.91287 → 0.91
        (D("120"), D("25"), D("0.91")),
        # 180 × 90 = 16200; / 3600 = 4.5; sqrt = 2.12132 → 2.12
        (D("180"), D("90"), D("2.12")),
        # 160 × 57.6 = 9216; / 3600 = 2.56; sqrt = 1.6 exactly → 1.60
        (D("160"), D("57.6"), D("1.60")),
    ],
)
def test_mosteller_bsa_matches_hand_computed_value(height_cm, weight_kg, expected):
    assert body_surface_area_m2(height_cm=height_cm, weight_kg=weight_kg) == expected


def test_bsa_rounds_an_exact_half_up():
    # 180 × 74.1125 = 13340.25; / 3600 = 3.705625; sqrt = 1.925 exactly → 1.93 (half up)
    assert body_surface_area_m2(height_cm=D("180"), weight_kg=D("74.1125")) == D("1.93")


def test_bsa_accepts_floats_without_binary_noise():
    assert body_surface_area_m2(height_cm=170.0, weight_kg=70.0) == D("1.82")
    assert body_surface_area_m2(height_cm=180, weight_kg=74.1125) == D("1.93")


def test_bsa_is_two_decimal_places():
    assert body_surface_area_m2(height_cm=D("160"), weight_kg=D("57.6")).as_tuple().exponent == -2


@pytest.mark.parametrize(("height_cm", "weight_kg"), [(0, 70), (170, 0), (-170, 70), (170, -1), (170, float("nan"))])
def test_bsa_refuses_non_positive_or_non_finite_measurements(height_cm, weight_kg):
    with pytest.raises(ValueError):
        body_surface_area_m2(height_cm=height_cm, weight_kg=weight_kg)


@given(
    height=st.decimals(min_value=40, max_value=230, places=1),
    weight=st.decimals(min_value=2, max_value=250, places=1),
)
def test_bsa_within_half_a_hundredth_of_the_float_formula(height, weight):
    exact = (float(height) * float(weight) / 3600) ** 0.5
    assert abs(float(body_surface_area_m2(height_cm=height, weight_kg=weight)) - exact) <= 0.005 + 1e-9


# --- hard-check limits ----------------------------------------------------------


@pytest.mark.parametrize("weight_kg", [0, D("-1"), D("1.9"), D("250.1"), 400])
def test_impossible_weight_is_refused(weight_kg):
    assert not within_limits(value=weight_kg, limits=WEIGHT_KG_LIMITS)


@pytest.mark.parametrize("weight_kg", [2, D("3.2"), D("70"), 250])
def test_physiological_weight_including_limits_is_accepted(weight_kg):
    assert within_limits(value=weight_kg, limits=WEIGHT_KG_LIMITS)


@pytest.mark.parametrize(("height_cm", "accepted"), [(39, False), (40, True), (230, True), (231, False)])
def test_height_limits_are_inclusive(height_cm, accepted):
    assert within_limits(value=height_cm, limits=HEIGHT_CM_LIMITS) is accepted


@pytest.mark.parametrize(
    ("percent", "accepted"), [(D("-0.01"), False), (0, True), (100, True), (D("100.01"), False), (float("nan"), False)]
)
def test_blasts_above_100_percent_are_refused(percent, accepted):
    assert within_limits(value=percent, limits=PERCENT_LIMITS) is accepted


# --- age ------------------------------------------------------------------------


def test_age_counts_completed_years_only():
    born = datetime.date(2000, 6, 15)
    assert age_years(birth_date=born, on_date=datetime.date(2018, 6, 14)) == 17
    assert age_years(birth_date=born, on_date=datetime.date(2018, 6, 15)) == 18


def test_age_of_patient_born_on_29_february_in_common_year():
    born = datetime.date(2004, 2, 29)
    assert age_years(birth_date=born, on_date=datetime.date(2022, 2, 28)) == 17
    assert age_years(birth_date=born, on_date=datetime.date(2022, 3, 1)) == 18
    assert age_years(birth_date=born, on_date=datetime.date(2024, 2, 29)) == 20


def test_age_on_birth_date_is_zero_and_before_birth_is_refused():
    born = datetime.date(2020, 1, 1)
    assert age_years(birth_date=born, on_date=born) == 0
    with pytest.raises(ValueError):
        age_years(birth_date=born, on_date=datetime.date(2019, 12, 31))


# --- study day --------------------------------------------------------------------

INFUSION = datetime.date(2024, 3, 1)  # a leap year: 29 Feb 2024 is day −1


def test_infusion_day_is_study_day_0():
    assert study_day(on_date=INFUSION, infusion_date=INFUSION) == 0


def test_day_before_infusion_is_minus_1_with_no_minus_0():
    assert study_day(on_date=datetime.date(2024, 2, 29), infusion_date=INFUSION) == -1
    assert study_day(on_date=datetime.date(2024, 3, 2), infusion_date=INFUSION) == 1


def test_lymphodepletion_start_is_study_day_minus_5():
    assert study_day(on_date=datetime.date(2024, 2, 25), infusion_date=INFUSION) == -5


@given(offset=st.integers(min_value=-400, max_value=1200))
def test_study_day_round_trips_with_date_arithmetic(offset):
    on = INFUSION + datetime.timedelta(days=offset)
    assert study_day(on_date=on, infusion_date=INFUSION) == offset


@pytest.mark.parametrize(("enrolled", "screen_failed", "lymphodepleted", "infused", "followed_up", "status"), [
    (True, False, True, True, True, PatientStatus.FOLLOW_UP),  # a death after the 1-month assessment corrected away
    (True, False, True, True, False, PatientStatus.INFUSED),  # a death before it corrected away
    (True, False, True, False, False, PatientStatus.LYMPHODEPLETION),  # withdrawal during lymphodepletion removed
    (True, False, False, False, False, PatientStatus.ENROLLED),  # an end of study before any treatment removed
    (True, False, True, False, True, PatientStatus.LYMPHODEPLETION),  # no day 0: never in follow-up
    (False, True, False, False, False, PatientStatus.SCREEN_FAILED),
    (False, False, False, False, False, PatientStatus.SCREENING),
])
def test_status_is_the_furthest_step_the_record_holds(enrolled, screen_failed, lymphodepleted, infused,
                                                      followed_up, status):
    """Breaking the precedence (an infused patient "enrolled", a followed-up one "infused") shows here; never
    "off study" (the end of study is outcomes' to reconcile)."""
    assert status_on_study(enrolled=enrolled, screen_failed=screen_failed, lymphodepleted=lymphodepleted,
                           infused=infused, followed_up=followed_up) == status


D24 = INFUSION + datetime.timedelta(days=24)


@pytest.mark.parametrize(("contacts", "followed_up"), [
    ([], False),
    ([INFUSION + datetime.timedelta(days=7), INFUSION + datetime.timedelta(days=14)], False),  # treatment period
    ([D24 - datetime.timedelta(days=1)], False),  # day 23: before the D28 window opens
    ([D24], True),  # day 24: the first day of the D28 window (28 − 4)
    ([INFUSION + datetime.timedelta(days=7), INFUSION + datetime.timedelta(days=90)], True),  # a late contact
])
def test_in_follow_up_from_the_day_the_one_month_window_opens(contacts, followed_up):
    assert in_follow_up(infusion_date=INFUSION, follow_up_opens_day=24, contact_dates=contacts) is followed_up


def test_never_in_follow_up_without_day_0():
    assert in_follow_up(infusion_date=None, follow_up_opens_day=24, contact_dates=[D24]) is False
