"""The trial's endpoints, computed from plain per-patient records.

No Django models and no database here: a selector turns patients into
``PatientCourse`` records, and the endpoint view, the ``analysis.csv`` export
and the figures all read the numbers from these functions.

Conventions (the API contract's):

* time is in days from the infusion date (study day 0), except for the
  duration of remission, which counts from the first CR/CRi; a month is
  ``MONTH_DAYS`` = 365.25 / 12 days;
* a censoring time is the last contact date, or the data cut-off when the
  patient was seen after it (``at_cutoff``);
* an estimate at time t counts every event on or before t (the estimators are
  right-continuous step functions);
* ``at_risk`` at t is the number of patients whose time is >= t, i.e. still
  under observation just before t.

Estimators come from lifelines (Kaplan-Meier with its default exponential
Greenwood confidence interval, Aalen-Johansen for the cumulative incidence of
relapse with death as competing event); exact binomial (Clopper-Pearson)
intervals from scipy.
"""

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum

import numpy as np
import pandas as pd
from lifelines import AalenJohansenFitter, KaplanMeierFitter
from lifelines.utils import median_survival_times
from scipy.stats import binomtest

from outcomes.rules import Response, is_complete_remission

MONTH_DAYS = 365.25 / 12
LANDMARK_MONTHS = (12, 24, 36)
CONFIDENCE_LEVEL = 0.95
# The endpoints payload is rounded once, here, to the contract's 3 decimals: a
# reader who rounds 0.61549 reported as 0.6155 gets 0.616 (or 61.6 %) instead
# of 0.615. The summary functions themselves return full precision.
REPORTED_DECIMALS = 3


class Endpoint(StrEnum):
    """The time-to-event endpoints, in the order the tables, figures and analysis.csv list them."""

    OVERALL_SURVIVAL = "overall_survival"
    EVENT_FREE_SURVIVAL = "event_free_survival"
    LEUKEMIA_FREE_SURVIVAL = "leukemia_free_survival"
    CUMULATIVE_INCIDENCE_OF_RELAPSE = "cumulative_incidence_of_relapse"
    DURATION_OF_REMISSION = "duration_of_remission"


class Population(StrEnum):
    """Who an endpoint is computed over."""

    ALL_INFUSED = "all_infused"  # intention to treat
    RESPONDERS = "responders"  # in CR/CRi at the 1-month assessment


class TimeOrigin(StrEnum):
    INFUSION = "infusion"
    FIRST_COMPLETE_REMISSION = "first_complete_remission"


ENDPOINT_POPULATION = {
    Endpoint.OVERALL_SURVIVAL: Population.ALL_INFUSED,
    Endpoint.EVENT_FREE_SURVIVAL: Population.ALL_INFUSED,
    Endpoint.LEUKEMIA_FREE_SURVIVAL: Population.RESPONDERS,
    Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE: Population.RESPONDERS,
    Endpoint.DURATION_OF_REMISSION: Population.RESPONDERS,
}

ENDPOINT_TIME_ORIGIN = {
    endpoint: TimeOrigin.FIRST_COMPLETE_REMISSION
    if endpoint is Endpoint.DURATION_OF_REMISSION else TimeOrigin.INFUSION
    for endpoint in Endpoint
}


class EventCode(IntEnum):
    """Event codes as lifelines' competing-risks estimator expects them.

    For the cumulative incidence of relapse the event is relapse and the
    competing event death without relapse.
    """

    CENSORED = 0
    EVENT = 1
    COMPETING_EVENT = 2


@dataclass(frozen=True)
class PatientCourse:
    """What the endpoints need to know about one infused patient.

    ``response_1_month`` is a ``Response`` value, or None when the patient had
    no 1-month assessment; ``mrd_negative_1_month`` is None when MRD was not
    evaluable or not done. ``primary_assessment_date`` is the date of that
    assessment, ``first_remission_date`` the date of the first assessment in
    CR/CRi (the start of the duration of remission) and
    ``primary_window_end_date`` the last day of the 1-month assessment's
    visit window. ``data_cutoff`` is the cut-off the course is known as of
    (set by ``at_cutoff``; None: everything recorded, every window closed).
    """

    subject_id: str
    infusion_date: date
    last_contact_date: date
    relapse_date: date | None = None
    death_date: date | None = None
    hsct_date: date | None = None
    response_1_month: str | None = None
    mrd_negative_1_month: bool | None = None
    lost_to_follow_up: bool = False
    primary_assessment_date: date | None = None
    first_remission_date: date | None = None
    primary_window_end_date: date | None = None
    data_cutoff: date | None = None

    def __post_init__(self) -> None:
        """Refuse impossible courses rather than compute a wrong time from them."""
        for name in ("last_contact_date", "relapse_date", "death_date", "hsct_date",
                     "primary_assessment_date", "first_remission_date"):
            value = getattr(self, name)
            if value is not None and value < self.infusion_date:
                raise ValueError(
                    f"{self.subject_id}: {name} {value} is before the infusion "
                    f"date {self.infusion_date}."
                )
        if self.death_date is None:
            return
        for name in ("relapse_date", "hsct_date"):
            value = getattr(self, name)
            if value is not None and value > self.death_date:
                raise ValueError(
                    f"{self.subject_id}: {name} {value} is after the death date {self.death_date}."
                )

    @property
    def follow_up_end_date(self) -> date:
        """Return the last date the patient is known to have been observed.

        A relapse, death or transplant dated after the recorded last contact
        was itself a contact, so the latest of them wins.
        """
        dates = (self.last_contact_date, self.relapse_date, self.death_date, self.hsct_date)
        return max(d for d in dates if d is not None)

    def study_day(self, when: date) -> int:
        return (when - self.infusion_date).days

    @property
    def responder(self) -> bool:
        """In CR or CRi at the 1-month assessment: the population of LFS, CIR and DoR."""
        return is_complete_remission(self.response_1_month)

    @property
    def pending(self) -> bool:
        """The 1-month response is not known yet and may still come.

        Alive, not yet assessed inside the primary-assessment window, and the
        window closes after the data cut-off. Such a patient is neither a
        responder nor a failure: the response rates leave them out of the
        denominator and event-free survival does not count a treatment
        failure. An assessment already done inside the open window is the
        1-month response (a later marrow in the window is rare), and a patient
        who died before the window closed is a failure, not pending.
        """
        return (
            self.data_cutoff is not None
            and self.response_1_month is None
            and self.death_date is None
            and self.primary_window_end_date is not None
            and self.primary_window_end_date > self.data_cutoff
        )

    @property
    def treatment_failure(self) -> bool:
        """No CR/CRi at the 1-month assessment, once that assessment is due (EFS's day-0 event)."""
        return not self.responder and not self.pending


# Data cut-off --------------------------------------------------------------


def at_cutoff(courses: Iterable[PatientCourse], cutoff: date) -> list[PatientCourse]:
    """Return the courses as the data stood on ``cutoff`` (an interim analysis).

    Patients infused after the cut-off are left out. A relapse, death,
    transplant, assessment or remission dated after it is ignored, and a
    patient last seen after it is censored at the cut-off: alive and
    event-free on that day is all the data say about it. A patient last seen
    before it is censored at that last contact, as without a cut-off.
    Because every date a course holds is the first of its kind, dropping those
    after the cut-off gives what the records dated on or before it give.
    """

    def known(value: date | None) -> date | None:
        return value if value is not None and value <= cutoff else None

    result = []
    for course in courses:
        if course.infusion_date > cutoff:
            continue
        assessed = known(course.primary_assessment_date) is not None or (
            course.primary_assessment_date is None and course.response_1_month is not None
        )
        result.append(dataclasses.replace(
            course,
            last_contact_date=min(course.last_contact_date, cutoff),
            relapse_date=known(course.relapse_date),
            death_date=known(course.death_date),
            hsct_date=known(course.hsct_date),
            response_1_month=course.response_1_month if assessed else None,
            mrd_negative_1_month=course.mrd_negative_1_month if assessed else None,
            primary_assessment_date=known(course.primary_assessment_date),
            first_remission_date=known(course.first_remission_date),
            lost_to_follow_up=course.lost_to_follow_up and course.last_contact_date <= cutoff,
            data_cutoff=cutoff,
        ))
    return result


# Response rates ------------------------------------------------------------


def proportion_with_ci(responders: int, n: int) -> dict:
    """Return the proportion with its exact (Clopper-Pearson) 95 % interval.

    With no patients there is no proportion: estimate and interval are None.
    """
    if not 0 <= responders <= n:
        raise ValueError(f"responders must be between 0 and n ({n}), got {responders}.")
    if n == 0:
        return {"responders": 0, "n": 0, "estimate": None, "ci_low": None, "ci_high": None}
    ci = binomtest(responders, n).proportion_ci(
        confidence_level=CONFIDENCE_LEVEL, method="exact"
    )
    return {
        "responders": responders,
        "n": n,
        "estimate": responders / n,
        "ci_low": float(ci.low),
        "ci_high": float(ci.high),
    }


def _response_evaluable(course: PatientCourse) -> bool:
    return course.response_1_month not in (None, Response.NOT_EVALUABLE)


def _with_pending(courses: list[PatientCourse]) -> tuple[list[PatientCourse], int]:
    """Split off the pending patients: outside every denominator, but counted."""
    due = [c for c in courses if not c.pending]
    return due, len(courses) - len(due)


def cr_rate(courses: Iterable[PatientCourse], *, evaluable_only: bool = False) -> dict:
    """Return the CR rate (CR or CRi at the 1-month assessment), with ``pending``.

    By default over every infused patient whose 1-month assessment is due
    (intention to treat): a patient with no assessment, or a not-evaluable
    one, counts as a failure. With ``evaluable_only`` those patients leave the
    denominator instead. Pending patients (``PatientCourse.pending``) are in
    neither denominator; ``pending`` says how many there are.
    """
    courses, pending = _with_pending(list(courses))
    courses = [c for c in courses if not evaluable_only or _response_evaluable(c)]
    responders = sum(is_complete_remission(c.response_1_month) for c in courses)
    return {**proportion_with_ci(responders, len(courses)), "pending": pending}


def mrd_negative_cr_rate(
    courses: Iterable[PatientCourse], *, evaluable_only: bool = False
) -> dict:
    """Return the rate of MRD-negative CR (CR or CRi, and MRD-negative) at 1 month.

    Intention to treat by default, pending patients apart, as ``cr_rate``. With ``evaluable_only`` a
    patient is evaluable when the response is, and, for a patient in CR/CRi,
    when MRD is too; a patient without remission is an evaluable failure
    whatever the MRD.
    """

    def evaluable(course: PatientCourse) -> bool:
        if not _response_evaluable(course):
            return False
        return not is_complete_remission(course.response_1_month) or (
            course.mrd_negative_1_month is not None
        )

    courses, pending = _with_pending(list(courses))
    courses = [c for c in courses if not evaluable_only or evaluable(c)]
    responders = sum(
        is_complete_remission(c.response_1_month) and c.mrd_negative_1_month is True
        for c in courses
    )
    return {**proportion_with_ci(responders, len(courses)), "pending": pending}


# Time to event -------------------------------------------------------------


def in_population(course: PatientCourse, endpoint: str) -> bool:
    """Return whether the patient counts in the endpoint's population (``ENDPOINT_POPULATION``)."""
    if ENDPOINT_POPULATION[Endpoint(endpoint)] is Population.RESPONDERS:
        return course.responder
    return True


def remission_start(course: PatientCourse) -> date:
    """Return the first CR/CRi date of a responder: the duration of remission's day 0."""
    start = course.first_remission_date or course.primary_assessment_date
    if start is None:
        raise ValueError(f"{course.subject_id}: a responder needs the date of the first CR/CRi.")
    return start


def time_to_event(
    course: PatientCourse, endpoint: str, *, censor_at_hsct: bool = False
) -> tuple[int, int, int]:
    """Return ``(time_days, event, competing_event)`` for one patient and endpoint.

    * overall survival: the event is death;
    * event-free survival: no CR/CRi at the 1-month assessment (a treatment
      failure, an event on day 0, unless the response is still pending),
      relapse or death, whichever comes first;
    * leukemia-free survival: relapse or death (in remission), whichever comes
      first;
    * cumulative incidence of relapse: the event is relapse; death without a
      prior relapse is the competing event (a relapse and death on the same
      day count as relapse);
    * duration of remission: relapse or death, counted in days from the first
      CR/CRi instead of from the infusion.

    Times are from the infusion day except for the duration of remission.
    Who is counted is ``in_population``'s business, not this function's.
    Without an event the patient is censored at the end of follow-up (the last
    contact, or a later recorded relapse, death or transplant). With
    ``censor_at_hsct`` a patient transplanted strictly before this endpoint's
    event (or without one) is censored at the transplant date: the sensitivity
    analysis that stops counting once allogeneic HSCT takes over.
    """
    endpoint = Endpoint(endpoint)
    if endpoint is Endpoint.DURATION_OF_REMISSION:
        time_days, event, competing = time_to_event(
            course, Endpoint.LEUKEMIA_FREE_SURVIVAL, censor_at_hsct=censor_at_hsct
        )
        # A relapse or transplant recorded before the remission it ends is a data
        # error the queries raise; it counts on the remission day, never negative.
        return max(0, time_days - course.study_day(remission_start(course))), event, competing
    if endpoint is Endpoint.EVENT_FREE_SURVIVAL and course.treatment_failure:
        return 0, 1, 0  # nothing happens before day 0, a transplant included

    relapse, death = course.relapse_date, course.death_date
    competing_date = None
    if endpoint is Endpoint.OVERALL_SURVIVAL:
        event_date = death
    elif endpoint is Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE:
        event_date = relapse
        if relapse is None:
            competing_date = death
    else:  # event-free and leukemia-free survival
        event_date = relapse or death  # a relapse cannot follow death

    end_date = event_date or competing_date
    if censor_at_hsct and course.hsct_date is not None and (end_date is None or course.hsct_date < end_date):
        return course.study_day(course.hsct_date), 0, 0
    if end_date is None:
        return course.study_day(course.follow_up_end_date), 0, 0
    return course.study_day(end_date), int(event_date is not None), int(competing_date is not None)


#: analysis.csv's columns; ``population`` came last so that readers by position keep working.
ANALYSIS_COLUMNS = ["subject_id", "endpoint", "time_days", "event", "competing_event", "population"]


def analysis_rows(
    courses: Iterable[PatientCourse], *, censor_at_hsct: bool = False
) -> list[dict]:
    """Return the ``analysis.csv`` rows: one per patient per time-to-event endpoint of
    whose population the patient is (responders only for LFS, CIR and DoR)."""
    rows = []
    for course in courses:
        for endpoint in Endpoint:
            if not in_population(course, endpoint):
                continue
            time_days, event, competing_event = time_to_event(
                course, endpoint, censor_at_hsct=censor_at_hsct
            )
            rows.append(
                {
                    "subject_id": course.subject_id,
                    "endpoint": endpoint.value,
                    "time_days": time_days,
                    "event": event,
                    "competing_event": competing_event,
                    "population": ENDPOINT_POPULATION[endpoint].value,
                }
            )
    return rows


def event_data(
    courses: Iterable[PatientCourse], endpoint: str, *, censor_at_hsct: bool = False
) -> tuple[list[int], list[int]]:
    """Return ``(times_days, event_codes)`` over the endpoint's population, ready for the estimators.

    Codes are ``EventCode`` values: 1 for the event, 2 for the competing event
    (cumulative incidence of relapse only), 0 when censored; for a survival
    endpoint they double as the 0/1 event indicator.
    """
    times, codes = [], []
    for course in courses:
        if not in_population(course, endpoint):
            continue
        time_days, event, competing = time_to_event(
            course, endpoint, censor_at_hsct=censor_at_hsct
        )
        times.append(time_days)
        if event:
            codes.append(EventCode.EVENT.value)
        elif competing:
            codes.append(EventCode.COMPETING_EVENT.value)
        else:
            codes.append(EventCode.CENSORED.value)
    return times, codes


# Estimators ----------------------------------------------------------------


class _TiedTimesAalenJohansenFitter(AalenJohansenFitter):
    """lifelines' Aalen-Johansen estimator, without its random tie-breaking.

    When events of different kinds share a time, lifelines reseeds numpy's
    global random generator and jitters every event time by up to 1e-4. The
    estimator does not need it: its event table counts all d events at a time
    and adds d_relapse / n * S(t-) to the incidence, which is the Aalen-Johansen
    estimate for tied data. The jitter is harmless when events only tie with
    events (the increments add up to the same value in any order), but it
    moves an event past a patient censored on the same day, or past a
    landmark, and then changes the estimate with the seed (for example 0.143
    or 0.171 for one data set in the tests). Reporting must not depend on a
    random draw, so ties are kept as ties; the tests compare with hand-computed
    values to catch a lifelines release that renames this hook.
    """

    @staticmethod
    def _check_for_duplicates(durations, events) -> bool:
        return False


def kaplan_meier_fitter(times: Sequence[float], events: Sequence[bool]) -> KaplanMeierFitter:
    """Return lifelines' Kaplan-Meier fit (default exponential Greenwood CI)."""
    return KaplanMeierFitter(alpha=1 - CONFIDENCE_LEVEL).fit(
        np.asarray(times, dtype=float), event_observed=np.asarray(events, dtype=bool)
    )


def aalen_johansen_fitter(
    times: Sequence[float],
    event_codes: Sequence[int],
    *,
    event_of_interest: int = EventCode.EVENT,
) -> AalenJohansenFitter:
    """Return lifelines' Aalen-Johansen fit of the cumulative incidence of one event kind."""
    codes = np.asarray(event_codes, dtype=int)
    if not set(codes.tolist()) <= set(EventCode):
        raise ValueError(f"event codes must be among {[int(c) for c in EventCode]}.")
    # lifelines sets the incidence in the first row of its event table to 0,
    # taking that row for the time origin; with an event on day 0 (death on
    # the infusion day) the row holds that event, which would vanish. Patients
    # are on study from lymphodepletion, so entering them on day -1 is true and
    # gives the table an empty origin row without changing anyone's risk set.
    entry = np.full(len(codes), -1.0)
    # The CI formula divides by zero where nobody is left at risk and takes
    # log(0) where the incidence is still 0; those intervals come out as NaN.
    with np.errstate(divide="ignore", invalid="ignore"):
        return _TiedTimesAalenJohansenFitter(alpha=1 - CONFIDENCE_LEVEL).fit(
            np.asarray(times, dtype=float),
            codes,
            event_of_interest=int(event_of_interest),
            entry=entry,
        )


def number_at_risk(times: Sequence[float], at_days: float) -> int:
    """Return how many patients are still under observation just before ``at_days``."""
    return int(np.count_nonzero(np.asarray(times, dtype=float) >= at_days))


def kaplan_meier_summary(times: Sequence[float], events: Sequence[bool]) -> dict:
    """Return Kaplan-Meier estimates at the landmarks and the median, in months.

    Shape: ``{"at_months": {"12": {"estimate", "ci_low", "ci_high", "at_risk"},
    "24": ..., "36": ...}, "median_months", "median_ci_months": [low, high],
    "n", "events"}``. A median or bound that is not reached is None.

    A landmark after the last follow-up time has estimate None: the curve is
    not extrapolated past the data. The exception is a curve that has already
    reached 0 (the longest-followed patients all had the event), which stays
    at 0 by definition.
    """
    times = np.asarray(times, dtype=float)
    events = np.asarray(events, dtype=bool)
    summary = {
        "at_months": _empty_landmarks(),
        "median_months": None,
        "median_ci_months": [None, None],
        "n": len(times),
        "events": int(events.sum()),
    }
    if len(times) == 0:
        return summary
    fitter = kaplan_meier_fitter(times, events)
    summary["at_months"] = _landmarks(
        fitter.survival_function_.iloc[:, 0], fitter.confidence_interval_, times, events
    )
    summary["median_months"] = _finite(fitter.median_survival_time_ / MONTH_DAYS)
    ci = median_survival_times(fitter.confidence_interval_).iloc[0]
    summary["median_ci_months"] = [_finite(t / MONTH_DAYS) for t in sorted(ci)]
    return summary


def cumulative_incidence_summary(times: Sequence[float], event_codes: Sequence[int]) -> dict:
    """Return the Aalen-Johansen cumulative incidence of the event at the landmarks.

    ``event_codes``: 1 the event (relapse), 2 the competing event (death
    without relapse), 0 censored. Shape: ``{"at_months": ... as in
    ``kaplan_meier_summary``, "n", "events", "competing_events"}``. The
    interval is lifelines' (delta method on log(-log F)), None where it is
    undefined (an incidence of 0, or nobody left at risk).
    """
    times = np.asarray(times, dtype=float)
    codes = np.asarray(event_codes, dtype=int)
    summary = {
        "at_months": _empty_landmarks(),
        "n": len(times),
        "events": int(np.count_nonzero(codes == EventCode.EVENT)),
        "competing_events": int(np.count_nonzero(codes == EventCode.COMPETING_EVENT)),
    }
    if len(times) == 0:
        return summary
    fitter = aalen_johansen_fitter(times, codes)
    summary["at_months"] = _landmarks(
        fitter.cumulative_density_.iloc[:, 0], fitter.confidence_interval_, times, codes != 0
    )
    return summary


def endpoints(
    courses: Iterable[PatientCourse], *, censor_at_hsct: bool = False, cutoff: date | None = None
) -> dict:
    """Return the trial's endpoints over the given infused patients (the API's shape).

    With ``cutoff`` the courses are first taken as they stood on that day
    (``at_cutoff``); without, everything recorded counts and nobody is
    pending. Rates are given both over all infused patients whose 1-month
    assessment is due (the contract's ``cr_rate`` and
    ``mrd_negative_cr_rate``) and over evaluable patients (``*_evaluable``);
    each time-to-event block names its population and time origin. Floats are
    rounded to ``REPORTED_DECIMALS``.
    """
    courses = list(courses) if cutoff is None else at_cutoff(courses, cutoff)
    answer = {
        "cutoff": cutoff.isoformat() if cutoff is not None else None,
        "n_infused": len(courses),
        "n_responders": sum(c.responder for c in courses),
        "censor_at_hsct": censor_at_hsct,
        "cr_rate": cr_rate(courses),
        "cr_rate_evaluable": cr_rate(courses, evaluable_only=True),
        "mrd_negative_cr_rate": mrd_negative_cr_rate(courses),
        "mrd_negative_cr_rate_evaluable": mrd_negative_cr_rate(courses, evaluable_only=True),
    }
    for endpoint in Endpoint:
        times, codes = event_data(courses, endpoint, censor_at_hsct=censor_at_hsct)
        if endpoint is Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE:
            summary = cumulative_incidence_summary(times, codes)
        else:
            summary = kaplan_meier_summary(times, codes)
        answer[endpoint.value] = {
            "population": ENDPOINT_POPULATION[endpoint].value,
            "time_origin": ENDPOINT_TIME_ORIGIN[endpoint].value,
            **summary,
        }
    return _rounded(answer)


# Helpers -------------------------------------------------------------------


def _finite(value: float | None) -> float | None:
    """Return ``value`` as a plain float; None for a missing, NaN or infinite one."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _rounded(value):
    """Return ``value`` (a float, or dicts and lists of them) rounded for reporting."""
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    if isinstance(value, float):
        return round(value, REPORTED_DECIMALS)
    return value


def _empty_landmarks() -> dict:
    return {
        str(month): {"estimate": None, "ci_low": None, "ci_high": None, "at_risk": 0}
        for month in LANDMARK_MONTHS
    }


def _landmarks(
    estimate: pd.Series, ci: pd.DataFrame, times: np.ndarray, any_event: np.ndarray
) -> dict:
    """Read a fitted step function and its interval at each landmark.

    The value at t is the one at the last jump on or before t. lifelines'
    ``asof`` would skip rows with a NaN bound, so the row is looked up by
    position. The bounds are sorted because lifelines labels the
    Aalen-Johansen interval columns upper-then-lower but fills them the other
    way round.
    """
    last_time = times.max()
    curve_final = bool(any_event[times == last_time].all())
    result = {}
    for month in LANDMARK_MONTHS:
        at_days = month * MONTH_DAYS
        row = {"estimate": None, "ci_low": None, "ci_high": None,
               "at_risk": number_at_risk(times, at_days)}
        if at_days <= last_time or curve_final:
            position = estimate.index.searchsorted(at_days, side="right") - 1
            bounds = ci.iloc[position].to_numpy(dtype=float)
            low, high = (None, None) if np.isnan(bounds).any() else sorted(bounds)
            row.update(
                estimate=_finite(estimate.iloc[position]),
                ci_low=_finite(low),
                ci_high=_finite(high),
            )
        result[str(month)] = row
    return result
