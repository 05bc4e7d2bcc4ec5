"""laboratory.rules for CAR-T kinetics (non-compartmental), B-cell aplasia and ICAHT, with real series.

A changed trapezoid, a below-LLOQ value counted as measured, a recovery read from one count instead of two,
or an ICAHT bound moved by a day fails here. ICAHT bounds: Rejeski et al., Blood 2023;142(10):865-877,
Table 2 (early: ANC ≤ 500/µL < 7 / 7–13 / ≥ 14 days / never above 500; ANC ≤ 100/µL ≥ 7 / ≥ 14 days;
late: ANC ≤ 1500 / 1000 / 500 / 100 on two or more counts after day 30). Each expected grade is counted by hand
from the table and the readings docs/clinical-rules.md ("ICAHT") cites."""
import datetime
from decimal import Decimal as D

import pytest

from laboratory.rules import (
    BCellAplasia,
    IcahtGrades,
    Kinetics,
    Sample,
    b_cell_aplasia,
    icaht_early_grade,
    icaht_grades,
    icaht_late_grade,
    icaht_stop_day,
    kinetics,
    neutropenic_days,
)


def series(*pairs):
    return [Sample(day, D(str(value))) for day, value in pairs]


def test_kinetics_of_an_expanding_and_persisting_series():
    """qPCR copies/µg, LLOQ 50. Day 0 not sampled → (0, 0). Trapezoids: 0–1 (0+100)/2·1 = 50; 1–4 (100+2000)/2·3
    = 3150; 4–7 (2000+30000)/2·3 = 48000; 7–10 (30000+12000)/2·3 = 63000; 10–14 (12000+4000)/2·4 = 32000;
    14–21 (4000+800)/2·7 = 16800; 21–28 (800+200)/2·7 = 3500 → 166,500. Day 91 is 60: above LLOQ."""
    samples = series((1, 100), (4, 2000), (7, 30000), (10, 12000), (14, 4000), (21, 800), (28, 200), (61, 90),
                     (91, 60))
    assert kinetics(samples, lloq=D(50)) == Kinetics(cmax=D(30000), tmax_days=7, auc_0_28=D(166500), tlast_days=91,
                                                     persistent=True)


def test_below_lloq_counts_zero_and_ends_persistence():
    """Day 4 below LLOQ (30 < 50) is 0 in the AUC; day 28 was not sampled: the AUC stops at day 21,
    not extrapolated: 0–1 (0+60)/2 = 30; 1–4 (60+0)/2·3 = 90; 4–7 (0+500)/2·3 = 750; 7–21 (500+100)/2·14 = 4200
    → 5070. The latest count (day 183) is below LLOQ: not persistent; Tlast is day 91."""
    samples = series((1, 60), (4, 30), (7, 500), (21, 100), (91, 70), (183, 0))
    assert kinetics(samples, lloq=D(50)) == Kinetics(cmax=D(500), tmax_days=7, auc_0_28=D(5070), tlast_days=91,
                                                     persistent=False)


def test_kinetics_without_quantifiable_values_or_samples():
    assert kinetics(series((7, 10), (14, 0)), lloq=D(50)) == Kinetics(None, None, D(0), None, False)
    assert kinetics([], lloq=D(50)) == Kinetics(None, None, None, None, False)
    assert kinetics(series((0, 0)), lloq=D(50)).auc_0_28 is None  # one point: no area
    assert kinetics(series((7, 900), (7, 1200)), lloq=D(50)).cmax == D(1200)  # two on one day: the higher


def test_tmax_is_the_first_day_at_cmax():
    assert kinetics(series((7, 900), (10, 900)), lloq=D(50)).tmax_days == 7


def test_b_cell_aplasia_needs_two_consecutive_counts_at_the_threshold():
    """Threshold 3/µL: day 91 reaches it alone (day 183 falls back), then days 274 and 365 both do → 274 days."""
    counts = series((-6, 250), (28, 0), (91, 3), (183, 1), (274, 3), (365, 40))
    assert b_cell_aplasia(counts, recovery_per_ul=D(3)) == BCellAplasia(days=274, recovered=True)
    assert b_cell_aplasia(series((28, 0), (91, 5)), recovery_per_ul=D(3)) == BCellAplasia(91, recovered=False)
    assert b_cell_aplasia(series((28, 2.9), (91, 2.99)), recovery_per_ul=D(3)) == BCellAplasia(91, recovered=False)
    assert b_cell_aplasia(series((-6, 250)), recovery_per_ul=D(3)) is None  # nothing after the infusion


def test_neutropenic_days_carry_each_count_forward_and_bridge_unstable_recovery():
    """ANC ≤ 500 on day 0 (400) to day 5, above on days 6–7 (2 days: unstable), ≤ 500 from day 8 to day 11, then
    above from day 12 to day 30: days 0–11 = 12 days."""
    anc = series((0, 400), (6, 800), (8, 300), (12, 1500))
    assert neutropenic_days(anc, threshold=D(500)) == 12
    # Three days above (6–8) is a recovery: 6 + 3 (days 9–11) = 9.
    assert neutropenic_days(series((0, 400), (6, 800), (9, 300), (12, 1500)), threshold=D(500)) == 9
    assert neutropenic_days(series((5, 500), (7, 501)), threshold=D(500)) == 2  # ≤ 500 includes 500; day 5 on
    assert neutropenic_days([], threshold=D(500)) == 0


@pytest.mark.parametrize(("anc", "grade"), [
    (((0, 2000),), 0),  # never ≤ 500
    (((0, 2000), (5, 500), (6, 2000)), 1),  # 1 day ≤ 500
    (((0, 2000), (5, 400), (11, 2000)), 1),  # 6 days: < 7
    (((0, 2000), (5, 400), (12, 2000)), 2),  # 7 days
    (((0, 2000), (5, 400), (18, 2000)), 2),  # 13 days
    (((0, 2000), (5, 400), (19, 2000)), 3),  # 14 days
    (((0, 2000), (5, 400), (30, 600)), 3),  # 25 days, above 500 on day 0 and 30
    (((0, 400), (30, 450)), 4),  # never above 500 in days 0–30
    # Exactly on the bounds: ≤ 500 and ≤ 100 include the bound; 7 and 14 days are the higher grade.
    (((0, 2000), (5, 500), (12, 2000)), 2),  # 500 on days 5–11: 7 days
    (((0, 2000), (5, 501), (12, 2000)), 0),  # 501 is above
    (((0, 2000), (5, 100), (12, 2000)), 3),  # 100 on days 5–11: ≤ 100 for 7 days → 3 (≤ 500 alone: 2)
    (((0, 2000), (5, 101), (12, 2000)), 2),  # 101: ≤ 500 for 7 days only
    # Days are counted over every spell: 4 (days 3–6) + 4 (days 12–15) = 8 → 2, though neither spell reaches 7.
    (((0, 2000), (3, 400), (7, 2000), (12, 400), (16, 2000)), 2),
    (((0, 2000), (10, 600), (10, 450), (11, 2000)), 1),  # two counts on day 10: the lower (450) → 1 day
    # "Never above 500/µL" is no recovery from an onset on day 0–3 through day 30:
    (((28, 400),), 1),  # a first count on day 28 is 3 days (28–30), not "never above 500"
    (((0, 2000), (2, 300)), 4),  # day 0 before the nadir, then ≤ 500 from day 2 through day 30
    (((0, 2000), (4, 300)), 3),  # onset on day 4: 27 days → 3
    (((1, 300), (29, 600)), 3),  # above 500 on days 29–30: days 1–28 = 28 days → 3
    (((1, 300), (10, 600), (12, 300)), 4),  # 2 days above (10–11): an unstable recovery, never recovered
    (((1, 300), (10, 600), (13, 300)), 3),  # 3 days above (10–12): recovered; 9 + 18 (13–30) = 27 days → 3
    (((0, 2000), (5, 90), (11, 2000)), 1),  # ≤ 100 for 6 days: only grade 1 by ≤ 500 (6 days)
    (((0, 2000), (5, 90), (12, 2000)), 3),  # ≤ 100 for 7 days → 3
    (((0, 2000), (5, 90), (18, 2000)), 3),  # 13 days
    (((0, 2000), (5, 90), (19, 2000)), 4),  # ≤ 100 for 14 days → 4
])
def test_icaht_early_grade_at_every_bound(anc, grade):
    assert icaht_early_grade(series(*anc)) == grade


@pytest.mark.parametrize(("anc", "grade"), [
    (((31, 1600), (60, 1501)), 0),
    (((31, 1500), (60, 1400)), 1),  # two ≤ 1500
    (((31, 1500), (60, 900)), 1),  # only one ≤ 1000
    (((31, 1000), (60, 900)), 2),
    (((31, 500), (60, 450), (91, 2000)), 3),
    (((31, 100), (60, 50)), 4),
    (((30, 50), (60, 50)), 0),  # day 30 is early: one late count only
    (((31, 900), (31, 1600), (60, 950)), 2),  # two counts on day 31: the lower (900); with 950 two ≤ 1000
    (((31, 80), (31, 2000), (60, 3000)), 0),  # two tests on one day are one count: only day 31 is low
])
def test_icaht_late_grade_at_every_bound(anc, grade):
    assert icaht_late_grade(series(*anc)) == grade


# Grading stops at the first of relapse, allogeneic HSCT and death (`stop_day`, day 0 the infusion): a count on
# the stop day is graded, later ones are not, the last count holds to the stop day (not day 30).
@pytest.mark.parametrize(("anc", "stop_day", "grades"), [
    # Relapse on day 20. ≤ 500 on days 1–9, above on days 10–21 (recovered), ≤ 500 again from day 22:
    # unstopped 9 + 9 (22–30) = 18 days → 3, late 300 and 400 → 3; stopped, days 1–9 = 9 → 2 and no late count.
    (((1, 300), (10, 2000), (22, 200), (27, 400), (35, 300), (60, 400)), None, IcahtGrades(3, 3)),
    (((1, 300), (10, 2000), (22, 200), (27, 400), (35, 300), (60, 400)), 20, IcahtGrades(2, None)),
    # Death on day 15. ≤ 500 from day 5: to day 30 26 days → 3; to day 15 11 days → 2.
    (((0, 3000), (5, 400), (12, 300)), None, IcahtGrades(3, None)),
    (((0, 3000), (5, 400), (12, 300)), 15, IcahtGrades(2, None)),
    # ≤ 100 from day 5: 26 days → 4; to a death on day 15, 11 days → 3.
    (((0, 2000), (5, 90)), None, IcahtGrades(4, None)),
    (((0, 2000), (5, 90)), 15, IcahtGrades(3, None)),
    # "Never above 500/µL" in a window cut short: ≤ 500 from an onset on day 0–3 through the stop day → 4 (Liang:
    # a patient who dies early without count recovery), 14 days only (days 2–15) by the count of days.
    (((0, 2000), (2, 300)), 15, IcahtGrades(4, None)),
    # Above 500 on the last observed days (14–15) ends it, as above 500 on days 29–30 does: days 1–13 → 2.
    (((1, 300), (14, 2000)), 15, IcahtGrades(2, None)),
    (((1, 300), (14, 2000), (16, 300)), 15, IcahtGrades(2, None)),  # day 16, after the death, is not graded
    # A count on the stop day is graded: 2 days (19–20) → 1.
    (((0, 2000), (19, 400)), 20, IcahtGrades(1, None)),
    # Late ICAHT stops too: HSCT on day 60; 50/µL on days 61 and 90 are not graded (unstopped: 4).
    (((31, 400), (60, 450), (61, 50), (90, 50)), None, IcahtGrades(None, 4)),
    (((31, 400), (60, 450), (61, 50), (90, 50)), 60, IcahtGrades(None, 3)),
    (((31, 400), (60, 450)), 45, IcahtGrades(None, 0)),  # one late count before the stop: not two tests
    (((0, 300),), -1, IcahtGrades(None, None)),  # an event before the infusion: nothing graded
])
def test_icaht_grades_stop_at_the_stop_day(anc, stop_day, grades):
    assert icaht_grades(series(*anc), stop_day=stop_day) == grades


def test_icaht_stop_day_is_the_first_of_relapse_hsct_and_death():
    day_0 = datetime.date(2026, 2, 6)

    def on(day):
        return day_0 + datetime.timedelta(days=day)

    assert icaht_stop_day(day_0, relapse_date=None, hsct_date=None, death_date=None) is None
    assert icaht_stop_day(day_0, relapse_date=on(20), hsct_date=None, death_date=on(90)) == 20
    assert icaht_stop_day(day_0, relapse_date=on(120), hsct_date=on(75), death_date=None) == 75
    assert icaht_stop_day(day_0, relapse_date=None, hsct_date=None, death_date=on(15)) == 15
