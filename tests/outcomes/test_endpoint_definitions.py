"""The endpoints as a statistician defines them: populations, treatment failure, pending patients,
duration of remission, censoring at HSCT and the data cut-off (pure functions, no database).

Every estimate is checked against lifelines' own estimators fitted on durations written out by hand
here (not by outcomes.statistics), or against a product worked out in the comment.
"""
from datetime import date, timedelta

import pytest
from lifelines import AalenJohansenFitter, KaplanMeierFitter

from outcomes.statistics import (
    MONTH_DAYS,
    Endpoint,
    PatientCourse,
    analysis_rows,
    at_cutoff,
    cr_rate,
    endpoints,
    kaplan_meier_summary,
    mrd_negative_cr_rate,
    time_to_event,
)

INFUSION = date(2024, 1, 1)
TWELVE_MONTHS = 12 * MONTH_DAYS


def day(n, infusion=INFUSION):
    return None if n is None else infusion + timedelta(days=n)


def patient(subject_id, *, last, response=None, remission=None, relapse=None, death=None, hsct=None,
            mrd=None, assessed=28, infusion=INFUSION, lost=False):
    """A course in study days; the 1-month window (D28 +/- 4) closes on day 32."""
    return PatientCourse(
        subject_id=subject_id, infusion_date=infusion, last_contact_date=day(last, infusion),
        relapse_date=day(relapse, infusion), death_date=day(death, infusion), hsct_date=day(hsct, infusion),
        response_1_month=response, mrd_negative_1_month=mrd, lost_to_follow_up=lost,
        primary_assessment_date=day(assessed, infusion) if response else None,
        first_remission_date=day(remission if remission is not None else (28 if response in ("CR", "CRi") else None),
                                 infusion),
        primary_window_end_date=day(32, infusion),
    )


def lifelines_km(durations, events, at=TWELVE_MONTHS):
    return float(KaplanMeierFitter().fit(durations, events).survival_function_at_times(at).iloc[0])


def lifelines_cif(durations, codes, at=TWELVE_MONTHS):
    fitter = AalenJohansenFitter(calculate_variance=False).fit(durations, codes, event_of_interest=1)
    return float(fitter.cumulative_density_.asof(at).iloc[0])


# The example: seven responders and one refractory survivor ----------------------------------

def eight_patients():
    return [
        patient("R1", last=100, response="CR", remission=14, relapse=100),
        patient("R2", last=150, response="CRi", death=150),  # death in remission
        patient("R3", last=200, response="CR", relapse=200),
        patient("R4", last=250, response="CR", relapse=250),
        patient("R5", last=300, response="CR", death=300),  # death in remission
        patient("R6", last=500, response="CR"),
        patient("R7", last=600, response="CRi"),
        patient("X", last=500, response="no_response"),  # refractory, alive
    ]


def test_one_refractory_survivor_among_eight_is_an_event_free_survival_failure():
    result = endpoints(eight_patients())
    efs = result["event_free_survival"]
    # X fails on day 0 (7/8), then 5 events with 7, 6, 5, 4, 3 at risk: 7/8 x 6/7 x 5/6 x 4/5 x 3/4 x 2/3.
    assert efs["at_months"]["12"]["estimate"] == 0.25
    assert efs["at_months"]["12"]["estimate"] == pytest.approx(
        lifelines_km([0, 100, 150, 200, 250, 300, 500, 600], [1, 1, 1, 1, 1, 1, 0, 0]), abs=5e-4)
    assert (efs["population"], efs["n"], efs["events"]) == ("all_infused", 8, 6)
    # The old definition (all infused, the refractory survivor censored at day 500) said 0.375.
    old = kaplan_meier_summary([100, 150, 200, 250, 300, 500, 600, 500], [1, 1, 1, 1, 1, 0, 0, 0])
    assert old["at_months"]["12"]["estimate"] == pytest.approx(0.375)


def test_leukemia_free_survival_and_relapse_are_among_the_seven_responders():
    result = endpoints(eight_patients())
    lfs = result["leukemia_free_survival"]
    assert (lfs["population"], lfs["n"], lfs["events"]) == ("responders", 7, 5)
    assert lfs["at_months"]["12"]["estimate"] == pytest.approx(2 / 7, abs=5e-4)
    assert lfs["at_months"]["12"]["estimate"] == pytest.approx(
        lifelines_km([100, 150, 200, 250, 300, 500, 600], [1] * 5 + [0, 0]), abs=5e-4)
    assert lfs["at_months"]["12"]["at_risk"] == 2
    cir = result["cumulative_incidence_of_relapse"]
    # Relapses on days 100, 200, 250 with deaths in remission on 150 and 300 competing:
    # 1/7 + (5/7)(1/5) + (4/7)(1/4) = 3/7.
    assert (cir["n"], cir["events"], cir["competing_events"]) == (7, 3, 2)
    assert cir["at_months"]["12"]["estimate"] == pytest.approx(3 / 7, abs=5e-4)
    assert cir["at_months"]["12"]["estimate"] == pytest.approx(
        lifelines_cif([100, 150, 200, 250, 300, 500, 600], [1, 2, 1, 1, 2, 0, 0]), abs=5e-4)
    # Overall survival, all eight: R2 dies with 7 at risk (R1 censored at 100), R5 with 4 (R5, R6, R7, X).
    assert result["overall_survival"]["at_months"]["12"]["estimate"] == pytest.approx(6 / 7 * 3 / 4, abs=5e-4)
    assert result["n_responders"] == 7


def test_duration_of_remission_counts_from_the_first_cr():
    dor = endpoints(eight_patients())["duration_of_remission"]
    assert (dor["population"], dor["time_origin"], dor["n"], dor["events"]) == (
        "responders", "first_complete_remission", 7, 5)
    # R1 was in CR from day 14 (86 days), the others from day 28.
    durations = [86, 122, 172, 222, 272, 472, 572]
    events = [1, 1, 1, 1, 1, 0, 0]
    fitter = KaplanMeierFitter().fit(durations, events)
    assert dor["at_months"]["12"]["estimate"] == pytest.approx(
        float(fitter.survival_function_at_times(TWELVE_MONTHS).iloc[0]), abs=5e-4)
    assert dor["median_months"] == pytest.approx(fitter.median_survival_time_ / MONTH_DAYS, abs=5e-4)
    assert dor["median_months"] == pytest.approx(222 / MONTH_DAYS, abs=5e-4)  # 3/7 after the 4th event
    rows = {(r["subject_id"], r["endpoint"]): r for r in analysis_rows(eight_patients())}
    assert rows[("R1", "duration_of_remission")]["time_days"] == 86
    assert ("X", "duration_of_remission") not in rows and ("X", "leukemia_free_survival") not in rows
    assert rows[("X", "event_free_survival")] | {} == {
        "subject_id": "X", "endpoint": "event_free_survival", "time_days": 0, "event": 1, "competing_event": 0,
        "population": "all_infused"}


# Censoring at HSCT, every endpoint --------------------------------------------------------------------

def test_a_responder_transplanted_before_relapse_is_censored_at_the_transplant_in_every_endpoint():
    transplanted = patient("T", last=400, response="CR", hsct=60, relapse=200, death=400)
    assert {e.value: time_to_event(transplanted, e, censor_at_hsct=True) for e in Endpoint} == {
        "overall_survival": (60, 0, 0), "event_free_survival": (60, 0, 0), "leukemia_free_survival": (60, 0, 0),
        "cumulative_incidence_of_relapse": (60, 0, 0), "duration_of_remission": (32, 0, 0),
    }
    assert {e.value: time_to_event(transplanted, e) for e in Endpoint} == {
        "overall_survival": (400, 1, 0), "event_free_survival": (200, 1, 0), "leukemia_free_survival": (200, 1, 0),
        "cumulative_incidence_of_relapse": (200, 1, 0), "duration_of_remission": (172, 1, 0),
    }


def test_a_refractory_patient_transplanted_later_has_failed_on_day_zero_even_censored_at_hsct():
    refractory = patient("X", last=300, response="no_response", hsct=50)
    assert time_to_event(refractory, Endpoint.EVENT_FREE_SURVIVAL, censor_at_hsct=True) == (0, 1, 0)
    assert time_to_event(refractory, Endpoint.OVERALL_SURVIVAL, censor_at_hsct=True) == (50, 0, 0)


def test_endpoints_censored_at_hsct_by_hand():
    courses = [*eight_patients(), patient("T", last=400, response="CR", hsct=60, relapse=200)]
    censored = endpoints(courses, censor_at_hsct=True)["leukemia_free_survival"]
    uncensored = endpoints(courses)["leukemia_free_survival"]
    # T relapses on day 200 (an event) unless censored on day 60.
    assert uncensored["events"] == 6 and censored["events"] == 5
    assert censored["at_months"]["12"]["estimate"] == pytest.approx(
        lifelines_km([100, 150, 200, 250, 300, 500, 600, 60], [1] * 5 + [0, 0, 0]), abs=5e-4)


# Pending patients -------------------------------------------------------------------------------------

CUTOFF = date(2024, 6, 30)


def pending_cohort():
    def infused(days_before_cutoff):
        return CUTOFF - timedelta(days=days_before_cutoff)

    return [
        patient("P1", last=10, infusion=infused(10)),  # window open, not assessed: pending
        patient("P2", last=40, infusion=infused(40)),  # window closed on day 32, never assessed: failure
        patient("P3", last=15, death=15, infusion=infused(20)),  # died inside the open window: failure
        patient("P4", last=26, response="CR", assessed=26, mrd=True, infusion=infused(30)),  # assessed early
        patient("P5", last=60, response="CRi", mrd=False, infusion=infused(100)),
        patient("P6", last=40, response="no_response", infusion=infused(45)),
    ]


def test_a_patient_whose_window_is_still_open_is_pending_outside_the_denominator():
    courses = at_cutoff(pending_cohort(), CUTOFF)
    assert [c.pending for c in courses] == [True, False, False, False, False, False]
    assert cr_rate(courses) | {} == {**cr_rate(courses), "responders": 2, "n": 5, "pending": 1}
    assert cr_rate(courses)["estimate"] == pytest.approx(2 / 5)
    assert (mrd_negative_cr_rate(courses)["responders"], mrd_negative_cr_rate(courses)["n"]) == (1, 5)
    assert cr_rate(courses, evaluable_only=True)["pending"] == 1


def test_a_pending_patient_has_not_failed_treatment_in_event_free_survival():
    courses = {c.subject_id: c for c in at_cutoff(pending_cohort(), CUTOFF)}
    assert time_to_event(courses["P1"], Endpoint.EVENT_FREE_SURVIVAL) == (10, 0, 0)  # censored at last contact
    assert time_to_event(courses["P2"], Endpoint.EVENT_FREE_SURVIVAL) == (0, 1, 0)
    assert time_to_event(courses["P3"], Endpoint.EVENT_FREE_SURVIVAL) == (0, 1, 0)
    assert time_to_event(courses["P6"], Endpoint.EVENT_FREE_SURVIVAL) == (0, 1, 0)
    result = endpoints(pending_cohort(), cutoff=CUTOFF)
    assert result["cutoff"] == "2024-06-30"
    assert result["cr_rate"]["pending"] == result["mrd_negative_cr_rate"]["pending"] == 1
    assert result["event_free_survival"]["events"] == 3


def test_without_a_cut_off_nobody_is_pending():
    assert cr_rate(pending_cohort())["pending"] == 0
    assert cr_rate(pending_cohort())["n"] == 6


# The data cut-off -------------------------------------------------------------------------------------

def test_data_after_the_cut_off_are_ignored_and_follow_up_is_censored_at_it():
    cutoff = day(180)
    courses = {c.subject_id: c for c in at_cutoff([
        patient("A", last=500, response="CR", relapse=250, death=400),  # both after the cut-off
        patient("B", last=120, response="CR", relapse=100),  # before it: kept
        patient("C", last=300, response="CR", hsct=200),  # HSCT after it: not known yet
        patient("D", last=10, infusion=day(170)),  # infused 10 days before: pending
        patient("E", last=30, infusion=day(190)),  # infused after it: not in the analysis
        patient("F", last=400, response="CR", infusion=day(160), lost=True),  # assessed on day 188
    ], cutoff)}
    assert set(courses) == {"A", "B", "C", "D", "F"}
    assert (courses["A"].relapse_date, courses["A"].death_date, courses["A"].last_contact_date) == (
        None, None, cutoff)
    assert time_to_event(courses["A"], Endpoint.OVERALL_SURVIVAL) == (180, 0, 0)
    assert time_to_event(courses["B"], Endpoint.LEUKEMIA_FREE_SURVIVAL) == (100, 1, 0)
    assert time_to_event(courses["C"], Endpoint.LEUKEMIA_FREE_SURVIVAL, censor_at_hsct=True) == (180, 0, 0)
    assert courses["D"].pending
    assert courses["F"].response_1_month is None and courses["F"].pending  # day 20 of F: window open
    assert not courses["F"].lost_to_follow_up  # lost after the cut-off


def test_endpoints_at_a_cut_off_by_hand():
    courses = eight_patients()
    result = endpoints(courses, cutoff=day(180))
    # On day 180: R1 relapsed (100), R2 died (150); everyone else is censored at 180.
    efs = result["event_free_survival"]
    assert efs["events"] == 3  # X's failure, R1, R2
    assert efs["at_months"]["12"]["estimate"] is None  # no follow-up past day 180
    lfs = kaplan_meier_summary([100, 150, 180, 180, 180, 180, 180], [1, 1, 0, 0, 0, 0, 0])
    assert result["leukemia_free_survival"]["median_months"] == lfs["median_months"]
    assert result["leukemia_free_survival"]["events"] == 2
    assert result["cumulative_incidence_of_relapse"]["events"] == 1
    assert result["cumulative_incidence_of_relapse"]["competing_events"] == 1
    assert result["cutoff"] == day(180).isoformat()


def test_a_cut_off_before_every_infusion_leaves_nobody():
    result = endpoints(eight_patients(), cutoff=date(2000, 1, 1))
    assert result["n_infused"] == 0 and result["cr_rate"]["estimate"] is None
    assert result["duration_of_remission"]["n"] == 0
