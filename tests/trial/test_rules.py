import dataclasses
import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trial.rules import (
    DEFAULT_VISIT_SCHEDULE,
    Crf,
    VisitStatus,
    date_in_window,
    study_day_for_month,
    visit_status,
    visit_window,
)

INFUSION = datetime.date(2024, 3, 1)
DAY = datetime.timedelta(days=1)


def _date(study_day: int) -> datetime.date:
    return INFUSION + study_day * DAY


# --- windows --------------------------------------------------------------------


def test_day_28_primary_visit_window_is_day_24_to_32():
    window = visit_window(infusion_date=INFUSION, target_day=28, window_before_days=4, window_after_days=4)
    assert window == (_date(28), _date(24), _date(32))
    assert window.target_date == datetime.date(2024, 3, 29)


def test_day_1_window_opens_on_infusion_day():
    target, start, end = visit_window(infusion_date=INFUSION, target_day=1, window_before_days=1, window_after_days=1)
    assert (target, start, end) == (_date(1), INFUSION, _date(2))


def test_asymmetric_window():
    window = visit_window(infusion_date=INFUSION, target_day=10, window_before_days=0, window_after_days=3)
    assert window == (_date(10), _date(10), _date(13))


def test_negative_window_width_is_refused():
    with pytest.raises(ValueError):
        visit_window(infusion_date=INFUSION, target_day=7, window_before_days=-1, window_after_days=2)


@pytest.mark.parametrize(("study_day", "inside"), [(23, False), (24, True), (28, True), (32, True), (33, False)])
def test_day_28_visit_date_inside_window_includes_both_ends(study_day, inside):
    assert date_in_window(visit_date=_date(study_day), window_start=_date(24), window_end=_date(32)) is inside


# --- status boundaries -------------------------------------------------------------

START, END, GRACE = _date(24), _date(32), 14


def _status(today, **kwargs):
    arguments = {"window_start": START, "window_end": END, "done": False, "grace_days": GRACE} | kwargs
    return visit_status(today=today, **arguments)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (START - DAY, VisitStatus.SCHEDULED),  # day before the window opens
        (START, VisitStatus.DUE),  # window_start is due
        (END, VisitStatus.DUE),  # window_end is still due
        (END + DAY, VisitStatus.OVERDUE),  # first day after the window
        (END + GRACE * DAY, VisitStatus.OVERDUE),  # last day of grace
        (END + (GRACE + 1) * DAY, VisitStatus.MISSED),  # first day beyond grace
    ],
)
def test_visit_without_data_moves_scheduled_due_overdue_missed(today, expected):
    assert _status(today) == expected


@pytest.mark.parametrize("today", [START - DAY, START, END + DAY, END + 100 * DAY])
def test_visit_with_data_entered_is_done_whenever_looked_at(today):
    assert _status(today, done=True) == "done"


def test_visit_after_death_or_withdrawal_is_not_expected_rather_than_missed():
    assert _status(END + 100 * DAY, not_expected=True) == "not_expected"
    assert _status(START - DAY, not_expected=True) == "not_expected"


def test_visit_done_before_the_patient_died_stays_done():
    assert _status(END + 100 * DAY, done=True, not_expected=True) == "done"


def test_zero_grace_means_missed_the_day_after_the_window():
    assert _status(END, grace_days=0) == "due"
    assert _status(END + DAY, grace_days=0) == "missed"


def test_one_day_window_is_due_only_on_that_day():
    day = _date(7)
    kwargs = {"window_start": day, "window_end": day, "done": False, "grace_days": 0}
    assert [visit_status(today=day + offset * DAY, **kwargs) for offset in (-1, 0, 1)] == [
        "scheduled",
        "due",
        "missed",
    ]


def test_inverted_window_or_negative_grace_is_refused():
    with pytest.raises(ValueError):
        _status(START, window_start=END, window_end=START)
    with pytest.raises(ValueError):
        _status(START, grace_days=-1)


@given(offset=st.integers(min_value=-400, max_value=400), grace=st.integers(min_value=0, max_value=60))
def test_status_never_goes_backwards_as_days_pass(offset, grace):
    order = ["scheduled", "due", "overdue", "missed"]
    today = START + offset * DAY
    assert order.index(_status(today, grace_days=grace)) <= order.index(_status(today + DAY, grace_days=grace))


@pytest.mark.django_db
def test_under_the_seeded_protocol_a_visit_is_overdue_for_two_weeks_then_missed(protocol):
    """A seed with another grace (or a status that ignores the protocol's) moves the day it turns missed."""
    grace = protocol.visit_overdue_grace_days
    assert _status(END + 14 * DAY, grace_days=grace) == VisitStatus.OVERDUE
    assert _status(END + 15 * DAY, grace_days=grace) == VisitStatus.MISSED


# --- default schedule ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("months", "study_day"),
    # 2 × 30.4375 = 60.875; 91.3125; 182.625; 273.9375; 365.25; 547.875; 730.5 (tie → even); 913.125; 1095.75
    [(2, 61), (3, 91), (6, 183), (9, 274), (12, 365), (18, 548), (24, 730), (30, 913), (36, 1096)],
)
def test_month_visit_target_day_is_months_times_365_25_over_12(months, study_day):
    assert study_day_for_month(months) == study_day


def _visit(code):
    return next(visit for visit in DEFAULT_VISIT_SCHEDULE if visit.code == code)


def test_schedule_codes_target_days_and_windows():
    rows = [(v.code, v.target_day, v.window_before_days, v.window_after_days) for v in DEFAULT_VISIT_SCHEDULE]
    assert rows == [
        ("D1", 1, 1, 1),
        ("D4", 4, 1, 1),
        ("D7", 7, 2, 2),
        ("D10", 10, 2, 2),
        ("D14", 14, 2, 2),
        ("D21", 21, 2, 2),
        ("D28", 28, 4, 4),
        ("M2", 61, 7, 7),
        ("M3", 91, 7, 7),
        ("M6", 183, 14, 14),
        ("M9", 274, 14, 14),
        ("M12", 365, 14, 14),
        ("M18", 548, 30, 30),
        ("M24", 730, 30, 30),
        ("M30", 913, 30, 30),
        ("M36", 1096, 30, 30),
    ]


def test_day_28_is_the_only_primary_assessment():
    assert [v.code for v in DEFAULT_VISIT_SCHEDULE if v.primary_assessment] == ["D28"]


def test_schedule_targets_increase_and_no_window_reaches_back_before_infusion():
    targets = [v.target_day for v in DEFAULT_VISIT_SCHEDULE]
    assert targets == sorted(set(targets))
    assert min(v.target_day - v.window_before_days for v in DEFAULT_VISIT_SCHEDULE) == 0


def test_only_the_early_weekly_windows_overlap():
    # The briefed windows share study days 5 (D4/D7), 8–9 (D7/D10) and 12 (D10/D14);
    # from D14 on, consecutive windows are disjoint. Pinned so a change is deliberate.
    def days(visit):
        return set(range(visit.target_day - visit.window_before_days, visit.target_day + visit.window_after_days + 1))

    shared = {
        (a.code, b.code): sorted(days(a) & days(b))
        for a, b in zip(DEFAULT_VISIT_SCHEDULE, DEFAULT_VISIT_SCHEDULE[1:], strict=False)
        if days(a) & days(b)
    }
    assert shared == {("D4", "D7"): [5], ("D7", "D10"): [8, 9], ("D10", "D14"): [12]}


def test_follow_up_reaches_three_years():
    assert DEFAULT_VISIT_SCHEDULE[-1].target_day >= 3 * 365


def test_early_visits_expect_crs_icans_and_adverse_events():
    for code in ("D1", "D4", "D7", "D10", "D14", "D21"):
        assert set(_visit(code).forms) == {"crs_assessment", "icans_assessment", "adverse_events"}


def test_day_28_expects_response_adverse_events_and_follow_up():
    assert set(_visit("D28").forms) == {"response_assessment", "adverse_events", "follow_up"}


@pytest.mark.parametrize(
    ("code", "has_response"),
    [("M2", False), ("M3", True), ("M6", True), ("M9", False), ("M12", True), ("M18", False), ("M36", False)],
)
def test_month_visits_expect_follow_up_and_adverse_events_with_response_at_3_6_12(code, has_response):
    forms = set(_visit(code).forms)
    assert {"follow_up", "adverse_events"} <= forms
    assert ("response_assessment" in forms) is has_response


def test_schedule_forms_come_from_the_crf_vocabulary_and_codes_are_unique():
    assert all(set(v.forms) <= set(Crf.values) for v in DEFAULT_VISIT_SCHEDULE)
    assert len({v.code for v in DEFAULT_VISIT_SCHEDULE}) == len(DEFAULT_VISIT_SCHEDULE)


def test_schedule_definitions_are_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        _visit("D28").target_day = 30
