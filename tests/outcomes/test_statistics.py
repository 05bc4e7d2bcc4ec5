import json
import math
import warnings
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import AalenJohansenFitter
from scipy.stats import norm

from outcomes.statistics import (
    LANDMARK_MONTHS,
    MONTH_DAYS,
    Endpoint,
    PatientCourse,
    aalen_johansen_fitter,
    analysis_rows,
    cr_rate,
    cumulative_incidence_summary,
    endpoints,
    kaplan_meier_fitter,
    kaplan_meier_summary,
    mrd_negative_cr_rate,
    proportion_with_ci,
    time_to_event,
)

INFUSION = date(2023, 3, 1)
TWELVE_MONTHS_DAYS = 12 * MONTH_DAYS
Z = norm.ppf(0.975)


def day(n):
    return None if n is None else INFUSION + timedelta(days=n)


def course(*, last, relapse=None, death=None, hsct=None, response=None, mrd=None,
           lost=False, subject_id="SZ-001", remission=None, assessed=None, window_end=None):
    """A patient course written in study days, which is how a clinician reads a case
    (``remission``: first CR/CRi day, ``assessed``: 1-month assessment day, ``window_end``:
    the last day of its window)."""
    return PatientCourse(
        subject_id=subject_id,
        infusion_date=INFUSION,
        last_contact_date=day(last),
        relapse_date=day(relapse),
        death_date=day(death),
        hsct_date=day(hsct),
        response_1_month=response,
        mrd_negative_1_month=mrd,
        lost_to_follow_up=lost,
        first_remission_date=day(remission),
        primary_assessment_date=day(assessed),
        primary_window_end_date=day(window_end),
    )


def hand_aalen_johansen(times, codes, at):
    """Aalen-Johansen with tied times kept tied: F += S(t-) * d_relapse / n."""
    survival, incidence = 1.0, 0.0
    for t in sorted({t for t, c in zip(times, codes, strict=True) if c}):
        if t > at:
            break
        n = sum(u >= t for u in times)
        d = sum(u == t and c != 0 for u, c in zip(times, codes, strict=True))
        d_relapse = sum(u == t and c == 1 for u, c in zip(times, codes, strict=True))
        incidence += survival * d_relapse / n
        survival *= 1 - d / n
    return incidence


# Proportions ---------------------------------------------------------------


def test_clopper_pearson_matches_the_api_example():
    result = proportion_with_ci(31, 40)
    assert result["responders"] == 31 and result["n"] == 40
    assert result["estimate"] == 0.775
    assert (round(result["ci_low"], 3), round(result["ci_high"], 3)) == (0.615, 0.892)


def test_clopper_pearson_with_no_responders_starts_at_zero():
    result = proportion_with_ci(0, 10)
    assert result["estimate"] == 0 and result["ci_low"] == 0
    assert result["ci_high"] == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-4)


def test_clopper_pearson_with_all_responders_ends_at_one():
    result = proportion_with_ci(10, 10)
    assert result["estimate"] == 1 and result["ci_high"] == 1
    assert result["ci_low"] == pytest.approx(0.025 ** (1 / 10), abs=1e-4)


def test_proportion_of_no_patients_is_undefined_not_an_error():
    assert proportion_with_ci(0, 0) == {
        "responders": 0, "n": 0, "estimate": None, "ci_low": None, "ci_high": None,
    }


def test_more_responders_than_patients_is_refused():
    with pytest.raises(ValueError):
        proportion_with_ci(5, 4)


def one_month_cohort():
    cases = [("CR", True), ("CRi", True), ("CR", None), ("CRi", False),
             ("no_response", None), ("not_evaluable", None), (None, None)]
    return [course(last=60, response=r, mrd=m, subject_id=f"SZ-{i}")
            for i, (r, m) in enumerate(cases)]


def test_cr_rate_counts_cr_and_cri_over_all_infused():
    # No assessment and not-evaluable count as failures (intention to treat).
    assert cr_rate(one_month_cohort())["responders"] == 4
    assert cr_rate(one_month_cohort())["n"] == 7


def test_cr_rate_evaluable_only_drops_unassessed_patients():
    result = cr_rate(one_month_cohort(), evaluable_only=True)
    assert (result["responders"], result["n"]) == (4, 5)


def test_mrd_negative_cr_rate_needs_both_remission_and_negative_mrd():
    result = mrd_negative_cr_rate(one_month_cohort())
    assert (result["responders"], result["n"]) == (2, 7)


def test_mrd_negative_cr_rate_evaluable_keeps_non_responders_drops_unknown_mrd_in_cr():
    result = mrd_negative_cr_rate(one_month_cohort(), evaluable_only=True)
    # Out: CR with MRD not done, not evaluable, no assessment. In: no_response.
    assert (result["responders"], result["n"]) == (2, 4)


# Time to event -------------------------------------------------------------

OS, LFS, CIR = (Endpoint.OVERALL_SURVIVAL, Endpoint.LEUKEMIA_FREE_SURVIVAL,
                Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE)
CENSORED = 0, 0


@pytest.mark.parametrize(
    ("case", "censor_at_hsct", "expected"),
    [
        pytest.param(dict(last=400), False,
                     {OS: (400, *CENSORED), LFS: (400, *CENSORED), CIR: (400, *CENSORED)},
                     id="alive-in-remission"),
        pytest.param(dict(last=400, relapse=100), False,
                     {OS: (400, *CENSORED), LFS: (100, 1, 0), CIR: (100, 1, 0)},
                     id="relapse-alive"),
        pytest.param(dict(last=150, death=150), False,
                     {OS: (150, 1, 0), LFS: (150, 1, 0), CIR: (150, 0, 1)},
                     id="death-without-relapse-is-competing"),
        pytest.param(dict(last=300, relapse=100, death=300), False,
                     {OS: (300, 1, 0), LFS: (100, 1, 0), CIR: (100, 1, 0)},
                     id="relapse-then-death"),
        pytest.param(dict(last=200, relapse=200, death=200), False,
                     {OS: (200, 1, 0), LFS: (200, 1, 0), CIR: (200, 1, 0)},
                     id="relapse-and-death-same-day-counts-as-relapse"),
        pytest.param(dict(last=500, hsct=60), False,
                     {OS: (500, *CENSORED), LFS: (500, *CENSORED), CIR: (500, *CENSORED)},
                     id="hsct-not-censored-by-default"),
        pytest.param(dict(last=500, hsct=60), True,
                     {OS: (60, *CENSORED), LFS: (60, *CENSORED), CIR: (60, *CENSORED)},
                     id="hsct-censored"),
        pytest.param(dict(last=300, hsct=60, relapse=200, death=300), False,
                     {OS: (300, 1, 0), LFS: (200, 1, 0), CIR: (200, 1, 0)},
                     id="hsct-then-relapse-then-death"),
        pytest.param(dict(last=300, hsct=60, relapse=200, death=300), True,
                     {OS: (60, *CENSORED), LFS: (60, *CENSORED), CIR: (60, *CENSORED)},
                     id="hsct-then-relapse-then-death-censored-at-hsct"),
        pytest.param(dict(last=300, relapse=100, hsct=150, death=300), True,
                     {OS: (150, *CENSORED), LFS: (100, 1, 0), CIR: (100, 1, 0)},
                     id="relapse-before-hsct-still-counts"),
        pytest.param(dict(last=200, hsct=60, death=200), True,
                     {OS: (60, *CENSORED), LFS: (60, *CENSORED), CIR: (60, *CENSORED)},
                     id="transplant-related-death-censored-at-hsct"),
        pytest.param(dict(last=200, hsct=60, death=200), False,
                     {OS: (200, 1, 0), LFS: (200, 1, 0), CIR: (200, 0, 1)},
                     id="transplant-related-death-is-competing"),
        pytest.param(dict(last=300, hsct=120, relapse=120), True,
                     {OS: (120, *CENSORED), LFS: (120, 1, 0), CIR: (120, 1, 0)},
                     id="hsct-same-day-as-relapse-keeps-relapse"),
        pytest.param(dict(last=90, lost=True), False,
                     {OS: (90, *CENSORED), LFS: (90, *CENSORED), CIR: (90, *CENSORED)},
                     id="lost-to-follow-up-censored-at-last-contact"),
        pytest.param(dict(last=90, relapse=50, lost=True), True,
                     {OS: (90, *CENSORED), LFS: (50, 1, 0), CIR: (50, 1, 0)},
                     id="lost-after-relapse"),
        pytest.param(dict(last=100, death=130), False,
                     {OS: (130, 1, 0), LFS: (130, 1, 0), CIR: (130, 0, 1)},
                     id="death-after-recorded-last-contact"),
        pytest.param(dict(last=100, relapse=120), False,
                     {OS: (120, *CENSORED), LFS: (120, 1, 0), CIR: (120, 1, 0)},
                     id="relapse-after-recorded-last-contact-extends-follow-up"),
        pytest.param(dict(last=0, death=0), False,
                     {OS: (0, 1, 0), LFS: (0, 1, 0), CIR: (0, 0, 1)},
                     id="death-on-infusion-day"),
    ],
)
def test_analysis_rows(case, censor_at_hsct, expected):
    # A responder (in remission from day 0, so that the duration of remission equals LFS): every
    # endpoint has a row; event-free survival is leukemia-free survival for a responder.
    responder = course(**case, response="CR", remission=0)
    expected = {**expected, "event_free_survival": expected[LFS], "duration_of_remission": expected[LFS]}
    rows = analysis_rows([responder], censor_at_hsct=censor_at_hsct)
    assert [row["endpoint"] for row in rows] == [
        "overall_survival", "event_free_survival", "leukemia_free_survival",
        "cumulative_incidence_of_relapse", "duration_of_remission",
    ]
    for row in rows:
        assert set(row) == {"subject_id", "endpoint", "time_days", "event", "competing_event", "population"}
        assert row["subject_id"] == "SZ-001"
        assert (row["time_days"], row["event"], row["competing_event"]) == expected[row["endpoint"]]
        assert time_to_event(responder, row["endpoint"], censor_at_hsct=censor_at_hsct) == (
            expected[row["endpoint"]]
        )


def test_dates_before_infusion_are_refused():
    with pytest.raises(ValueError, match="before the infusion"):
        course(last=30, relapse=-2)


@pytest.mark.parametrize("after_death", [dict(relapse=60), dict(hsct=60)])
def test_relapse_or_transplant_after_death_is_refused(after_death):
    with pytest.raises(ValueError, match="after the death"):
        course(last=50, death=50, **after_death)


def test_unknown_endpoint_is_refused():
    with pytest.raises(ValueError):
        time_to_event(course(last=30), "progression_free_survival")


# Kaplan-Meier --------------------------------------------------------------

# Six patients: deaths on days 100 and 250, censored on days 50, 200, 400, 500.
KM_TIMES = [50, 100, 200, 250, 400, 500]
KM_EVENTS = [0, 1, 0, 1, 0, 0]


def test_kaplan_meier_at_12_months_is_the_product_limit():
    # Day 100: 5 at risk, 1 death. Day 250: 3 at risk, 1 death.
    expected = (1 - 1 / 5) * (1 - 1 / 3)
    summary = kaplan_meier_summary(KM_TIMES, KM_EVENTS)
    twelve = summary["at_months"]["12"]
    assert twelve["estimate"] == pytest.approx(expected, abs=1e-9)
    assert twelve["at_risk"] == 2
    assert (summary["n"], summary["events"]) == (6, 2)
    assert summary["median_months"] is None  # the curve never falls to 0.5


def test_kaplan_meier_interval_is_exponential_greenwood():
    survival = (1 - 1 / 5) * (1 - 1 / 3)
    greenwood = 1 / (5 * 4) + 1 / (3 * 2)
    log_log = math.log(-math.log(survival))
    se = math.sqrt(greenwood) / abs(math.log(survival))
    low, high = math.exp(-math.exp(log_log + Z * se)), math.exp(-math.exp(log_log - Z * se))
    twelve = kaplan_meier_summary(KM_TIMES, KM_EVENTS)["at_months"]["12"]
    assert twelve["ci_low"] == pytest.approx(low, abs=1e-9)
    assert twelve["ci_high"] == pytest.approx(high, abs=1e-9)


def test_kaplan_meier_is_not_extrapolated_past_the_last_follow_up():
    twenty_four = kaplan_meier_summary(KM_TIMES, KM_EVENTS)["at_months"]["24"]
    assert twenty_four == {"estimate": None, "ci_low": None, "ci_high": None, "at_risk": 0}


def test_kaplan_meier_event_exactly_at_the_landmark_counts():
    times = [100, TWELVE_MONTHS_DAYS, TWELVE_MONTHS_DAYS, 500, 600, 700]
    events = [1, 1, 0, 0, 0, 0]
    twelve = kaplan_meier_summary(times, events)["at_months"]["12"]
    # Day 100: 1 of 6; 12 months: 1 of 5 (the patient censored on that day is still at risk).
    assert twelve["estimate"] == pytest.approx(5 / 6 * 4 / 5, abs=1e-9)
    assert twelve["at_risk"] == 5


def test_kaplan_meier_median_and_a_curve_that_reached_zero():
    summary = kaplan_meier_summary([100, 200, 300, 400], [1, 1, 1, 1])
    # The median is the first time the curve is at or below 50 % (docs/statistics.md): S = 0.5 from day 200 to
    # day 300 gives 200 days. R's survfit takes the middle of such a flat stretch and would give 250 days.
    assert summary["median_months"] == pytest.approx(200 / MONTH_DAYS)
    assert summary["at_months"]["12"]["estimate"] == pytest.approx(0.25)
    # Everybody has died: 0 at 24 months is a fact, not an extrapolation.
    assert summary["at_months"]["24"]["estimate"] == 0


def greenwood_log_log_band(times, events):
    """Independent of lifelines: the product-limit estimate and its 95 % log-log (exponential Greenwood) band at
    each distinct time, as R's survfit(conf.type = "log-log") computes it: [(day, S, low, high)]."""
    rows, survival, greenwood = [], 1.0, 0.0
    for t in sorted(set(times)):
        at_risk = sum(1 for u in times if u >= t)
        deaths = sum(1 for u, e in zip(times, events, strict=True) if u == t and e)
        if deaths:
            survival *= 1 - deaths / at_risk
            greenwood += deaths / (at_risk * (at_risk - deaths)) if at_risk > deaths else math.inf
        if 0 < survival < 1 and math.isfinite(greenwood):
            spread = Z * math.sqrt(greenwood) / abs(math.log(survival))
            low, high = survival ** math.exp(spread), survival ** math.exp(-spread)
        else:
            low = high = survival
        rows.append((t, survival, low, high))
    return rows


# Twenty patients, deaths every 20 days from day 20, censored on days 50, 110, 230 and 330.
MEDIAN_TIMES = [20, 40, 50, 60, 80, 100, 110, 120, 140, 160, 180, 200, 220, 230, 240, 260, 280, 300, 320, 330]
MEDIAN_EVENTS = [1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0]


def test_kaplan_meier_median_and_its_confidence_interval_by_hand():
    """The median's 95 % CI is where the log-log band's bounds first reach 50 % (Brookmeyer-Crowley style, as
    R's survfit reports it): a band of another kind (plain Greenwood), or reading the bounds the wrong way
    round, moves the limits off the hand computation to three decimals."""
    band = greenwood_log_log_band(MEDIAN_TIMES, MEDIAN_EVENTS)
    median = next(t for t, s, _, _ in band if s <= 0.5)
    ci_low = next(t for t, _, low, _ in band if low <= 0.5)
    ci_high = next(t for t, _, _, high in band if high <= 0.5)
    # S is 0.513 on day 180 and 0.456 on day 200: the median is day 200 (no flat stretch at exactly 50 %, so R's
    # convention agrees). The band's lower bound first reaches 50 % on day 100 (0.485), its upper on day 260 (0.486).
    assert (median, ci_low, ci_high) == (200, 100, 260)
    summary = endpoints([course(last=t, death=t if e else None)
                         for t, e in zip(MEDIAN_TIMES, MEDIAN_EVENTS, strict=True)])
    overall = summary["overall_survival"]
    assert overall["median_months"] == round(median / MONTH_DAYS, 3)
    assert overall["median_ci_months"] == [round(ci_low / MONTH_DAYS, 3), round(ci_high / MONTH_DAYS, 3)]


def test_kaplan_meier_of_nobody():
    summary = kaplan_meier_summary([], [])
    assert summary["n"] == 0 and summary["median_months"] is None
    assert all(row["estimate"] is None for row in summary["at_months"].values())


# Aalen-Johansen --------------------------------------------------------------

# Relapse day 100, death day 150, relapse day 200, censored day 300, relapse day 400.
CIR_TIMES = [100, 150, 200, 300, 400]
CIR_CODES = [1, 2, 1, 0, 1]


def aalen_johansen_band_by_hand(times, codes, *, at):
    """Independent of lifelines: the Aalen-Johansen incidence of relapse (code 1, death code 2) at ``at`` and its
    95 % interval, with the delta-method variance of Collett (Modelling Survival Data in Medical Research, 3rd ed.,
    p. 411; SAS PROC LIFETEST's CIF variance) on the log(-log F) scale:
    Var F(t) = sum over event times t_j <= t of (F(t) - F(t_j))^2 d_j / (n_j (n_j - d_j))
               + S(t_j-)^2 d1_j (n_j - d1_j) / n_j^3 - 2 (F(t) - F(t_j)) S(t_j-) d1_j / n_j^2."""
    rows, survival, incidence = [], 1.0, 0.0
    for t in sorted(set(times)):
        if t > at:
            break
        at_risk = sum(1 for u in times if u >= t)
        relapses = sum(1 for u, c in zip(times, codes, strict=True) if u == t and c == 1)
        events = sum(1 for u, c in zip(times, codes, strict=True) if u == t and c != 0)
        before = survival
        incidence += before * relapses / at_risk
        survival *= 1 - events / at_risk
        rows.append((at_risk, events, relapses, before, incidence))
    variance = sum(
        (incidence - f) ** 2 * d / (n * (n - d)) + s ** 2 * d1 * (n - d1) / n ** 3
        - 2 * (incidence - f) * s * d1 / n ** 2
        for n, d, d1, s, f in rows if d
    )
    spread = Z * math.sqrt(variance) / (incidence * abs(math.log(incidence)))
    log_log = math.log(-math.log(incidence))
    return sorted((math.exp(-math.exp(log_log + spread)), math.exp(-math.exp(log_log - spread))))


def test_cumulative_incidence_of_relapse_by_hand():
    # Day 100: S(t-)=1, 1 of 5 relapses -> 0.2; day 150 death: S = 0.8 * 3/4 = 0.6;
    # day 200: 0.6 * 1/3 -> 0.4.
    summary = cumulative_incidence_summary(CIR_TIMES, CIR_CODES)
    twelve = summary["at_months"]["12"]
    assert twelve["estimate"] == pytest.approx(0.4, abs=1e-6)
    assert twelve["at_risk"] == 1
    low, high = aalen_johansen_band_by_hand(CIR_TIMES, CIR_CODES, at=TWELVE_MONTHS_DAYS)
    assert (round(twelve["ci_low"], 3), round(twelve["ci_high"], 3)) == (round(low, 3), round(high, 3))
    assert (round(low, 3), round(high, 3)) == (0.052, 0.753)  # the hand computation's figures, written down
    assert (summary["events"], summary["competing_events"]) == (3, 1)


def test_cumulative_incidence_is_not_one_minus_kaplan_meier_with_competing_deaths():
    twelve_cir = cumulative_incidence_summary(CIR_TIMES, CIR_CODES)["at_months"]["12"]["estimate"]
    relapse_only = [int(code == 1) for code in CIR_CODES]  # death treated as censoring
    twelve_km = kaplan_meier_summary(CIR_TIMES, relapse_only)["at_months"]["12"]["estimate"]
    assert 1 - twelve_km == pytest.approx(1 - (4 / 5) * (2 / 3))
    assert twelve_cir != pytest.approx(1 - twelve_km, abs=1e-3)
    assert twelve_cir < 1 - twelve_km


# Relapse, death and censoring on the same day, then a landmark tie.
TIED_TIMES = [100, 100, 100, 150, 200, 300, 400]
TIED_CODES = [1, 2, 0, 2, 1, 0, 1]
LANDMARK_TIED_TIMES = [100, TWELVE_MONTHS_DAYS, TWELVE_MONTHS_DAYS, TWELVE_MONTHS_DAYS, 500, 600]
LANDMARK_TIED_CODES = [1, 1, 2, 0, 0, 1]


@pytest.mark.parametrize(
    ("times", "codes"),
    [(TIED_TIMES, TIED_CODES), (LANDMARK_TIED_TIMES, LANDMARK_TIED_CODES)],
    ids=["relapse-death-censoring-same-day", "ties-at-the-landmark"],
)
def test_tied_times_give_the_hand_computed_aalen_johansen(times, codes):
    state = np.random.get_state()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitter = aalen_johansen_fitter(times, codes)
    assert not caught  # no "tied event times ... jittered" warning
    assert np.array_equal(np.random.get_state()[1], state[1])  # global RNG left alone
    for at in (120, TWELVE_MONTHS_DAYS, 2 * TWELVE_MONTHS_DAYS):
        value = fitter.cumulative_density_.iloc[:, 0].asof(at)
        assert value == pytest.approx(hand_aalen_johansen(times, codes, at), abs=1e-9)
    twelve = cumulative_incidence_summary(times, codes)["at_months"]["12"]["estimate"]
    assert twelve == pytest.approx(hand_aalen_johansen(times, codes, TWELVE_MONTHS_DAYS), abs=1e-6)


def test_hand_values_of_the_tied_data_sets():
    # Pin the helper itself to arithmetic done on paper.
    assert hand_aalen_johansen(TIED_TIMES, TIED_CODES, 365) == pytest.approx(1 / 7 + 5 / 28)
    assert hand_aalen_johansen(LANDMARK_TIED_TIMES, LANDMARK_TIED_CODES, TWELVE_MONTHS_DAYS) == (
        pytest.approx(1 / 6 + 5 / 6 * 1 / 5)
    )


def test_stock_lifelines_jitter_would_move_the_estimate():
    """Why outcomes.statistics keeps ties: the stock fitter's answer depends on the seed.

    If a lifelines release stops jittering ties, this test fails and the
    workaround in ``_TiedTimesAalenJohansenFitter`` can go.
    """
    values = set()
    for seed in range(10):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitter = AalenJohansenFitter(seed=seed).fit(TIED_TIMES, TIED_CODES, event_of_interest=1)
        values.add(round(float(fitter.cumulative_density_.iloc[:, 0].asof(120)), 6))
    assert len(values) > 1
    assert round(hand_aalen_johansen(TIED_TIMES, TIED_CODES, 120), 6) in values


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=12), st.sampled_from([0, 1, 2])),
        min_size=1,
        max_size=25,
    )
)
def test_relapse_death_and_event_free_probabilities_add_up_to_one(data):
    """With heavy ties, CIF(relapse) + CIF(death) + KM(event-free) = 1 at every time."""
    times = [10.0 * t for t, _ in data]
    codes = [c for _, c in data]
    relapse = aalen_johansen_fitter(times, codes, event_of_interest=1).cumulative_density_
    death = aalen_johansen_fitter(times, codes, event_of_interest=2).cumulative_density_
    event_free = kaplan_meier_fitter(times, [c != 0 for c in codes]).survival_function_
    for at in range(0, 130, 5):
        total = (relapse.iloc[:, 0].asof(at) + death.iloc[:, 0].asof(at)
                 + event_free.iloc[:, 0].asof(at))
        assert total == pytest.approx(1, abs=1e-9)
    assert relapse.iloc[:, 0].asof(130) == pytest.approx(hand_aalen_johansen(times, codes, 130))


def test_events_on_the_infusion_day_are_counted():
    # lifelines zeroes the first row of its table; day 0 must not be that row.
    summary = cumulative_incidence_summary([0, 0], [1, 2])
    assert summary["at_months"]["12"]["estimate"] == pytest.approx(0.5)


def test_cumulative_incidence_of_nobody():
    summary = cumulative_incidence_summary([], [])
    assert summary["n"] == 0
    assert all(row["estimate"] is None for row in summary["at_months"].values())


def test_unknown_event_codes_are_refused():
    with pytest.raises(ValueError):
        cumulative_incidence_summary([10, 20], [1, 3])


# Endpoints -------------------------------------------------------------------


def cohort():
    return [
        course(subject_id="SZ-001", last=1100, response="CR", mrd=True, remission=28),
        course(subject_id="SZ-002", last=800, relapse=200, response="CRi", mrd=False, remission=28),
        course(subject_id="SZ-003", last=150, death=150, response="no_response"),
        course(subject_id="SZ-004", last=900, hsct=90, death=500, response="CR", mrd=True, remission=28),
        course(subject_id="SZ-005", last=60, lost=True),
    ]


def test_endpoints_have_the_api_shape():
    result = endpoints(cohort())
    assert set(result) == {
        "cutoff", "n_infused", "n_responders", "censor_at_hsct", "cr_rate", "cr_rate_evaluable",
        "mrd_negative_cr_rate", "mrd_negative_cr_rate_evaluable",
        "overall_survival", "event_free_survival", "leukemia_free_survival",
        "cumulative_incidence_of_relapse", "duration_of_remission",
    }
    assert result["n_infused"] == 5 and result["censor_at_hsct"] is False
    assert result["cutoff"] is None and result["n_responders"] == 3
    assert result["cr_rate"] == {  # 3 of 5, rounded to the contract's 3 decimals
        "responders": 3, "n": 5, "estimate": 0.6, "ci_low": 0.147, "ci_high": 0.947, "pending": 0,
    }
    for name, population in (("overall_survival", "all_infused"), ("event_free_survival", "all_infused"),
                             ("leukemia_free_survival", "responders"),
                             ("cumulative_incidence_of_relapse", "responders"),
                             ("duration_of_remission", "responders")):
        assert result[name]["population"] == population
        assert result[name]["n"] == (5 if population == "all_infused" else 3)
        assert list(result[name]["at_months"]) == [str(m) for m in LANDMARK_MONTHS]
        for row in result[name]["at_months"].values():
            assert set(row) == {"estimate", "ci_low", "ci_high", "at_risk"}
    assert "median_months" in result["overall_survival"]
    assert "median_months" in result["leukemia_free_survival"]
    json.dumps(result)  # plain Python types only


def test_endpoints_censor_at_hsct_changes_overall_survival():
    with_hsct = endpoints(cohort(), censor_at_hsct=True)
    assert with_hsct["censor_at_hsct"] is True
    assert with_hsct["overall_survival"]["events"] == 1
    assert endpoints(cohort())["overall_survival"]["events"] == 2


def test_endpoints_of_no_patients():
    result = endpoints([])
    assert result["n_infused"] == 0
    assert result["cr_rate"]["estimate"] is None
    assert result["overall_survival"]["at_months"]["12"]["estimate"] is None
    json.dumps(result)
