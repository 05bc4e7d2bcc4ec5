"""A record follows its inputs: when the only death or end of study that took a patient off study is corrected
away or removed, the patient is back on study (the status the record gives: `patients.rules.status_on_study`)
and the visits it had made "not expected" are re-opened by their windows; when one of two sources goes, the
off-study date follows the other. Each change is audited with what was corrected or removed."""
import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError

from monitoring.services.queries import query_answer, query_raise
from outcomes.models import EndOfStudy
from outcomes.services import (
    end_of_study_correct,
    end_of_study_remove,
    end_of_study_save,
    follow_up_remove,
    follow_up_save,
)
from patients.models import PatientStatus
from safety.services import adverse_event_remove, adverse_event_save
from tests.outcomes.conftest import day
from tests.outcomes.test_one_death import fatal_event
from trial.rules import VisitStatus
from visits.services import visits_schedule

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def on_day_100():
    """The clock on day 100 (2026-04-30): D28 (window closed) is missed, M3 (day 90) overdue or due, M6 ahead."""
    with time_machine.travel(datetime.datetime.combine(day(100), datetime.time(9), tzinfo=SHANGHAI), tick=False):
        yield


@pytest.fixture
def scheduled(on_day_100, infused):
    visits_schedule(patient=infused, today=day(100))
    return infused


def statuses(patient) -> dict[str, str]:
    return {visit.definition.code: visit.status for visit in patient.visits.select_related("definition")}


#: What the visits are on day 100 when the patient never left the study.
ON_STUDY_VISITS = {"D28": VisitStatus.MISSED, "M3": VisitStatus.OVERDUE, "M6": VisitStatus.SCHEDULED}


def dead_on_follow_up(patient, by, *, death_on):
    return follow_up_save(patient=patient, by=by, values={
        "contact_date": death_on + datetime.timedelta(days=1), "follow_up_status": "dead", "death_date": death_on,
        "death_cause": "Sepsis"})


def test_the_visits_of_a_patient_on_study_on_day_100(scheduled):
    """The baseline the other tests return to: without it, a re-opened status could be anything."""
    assert {code: status for code, status in statuses(scheduled).items() if code in ("D28", "M3", "M6")} == (
        ON_STUDY_VISITS)


def test_follow_up_death_corrected_to_alive_in_remission_takes_the_patient_back_on_study(scheduled, coordinator):
    """Before: the patient stayed off study for a death no form held, and M3 and M6 stayed "not expected"."""
    follow_up = dead_on_follow_up(scheduled, coordinator, death_on=day(20))
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.off_study_date) == (PatientStatus.OFF_STUDY, day(20))
    assert {statuses(scheduled)[code] for code in ("D28", "M3", "M6")} == {VisitStatus.NOT_EXPECTED}

    follow_up_save(patient=scheduled, by=coordinator, follow_up=follow_up, reason="Query 4: wrong patient's death",
                   values={"follow_up_status": "alive_in_remission", "death_date": None, "death_cause": ""})
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.off_study_date, scheduled.off_study_reason) == (
        PatientStatus.INFUSED, None, "")
    assert scheduled.history.first().history_change_reason == (
        "Back on study: death of 2026-02-09 on the follow-up of 2026-02-10 corrected: Query 4: wrong patient's death")
    assert {code: status for code, status in statuses(scheduled).items() if code in ("D28", "M3", "M6")} == (
        ON_STUDY_VISITS)
    m3 = scheduled.visits.get(definition__code="M3")
    assert m3.history.first().history_change_reason.startswith("Re-opened: death of 2026-02-09 on the follow-up")
    assert "Patient off study" not in m3.status_reason


def test_grade_5_adverse_event_corrected_to_grade_4_takes_the_patient_back_on_study(scheduled, coordinator):
    event = fatal_event(scheduled, coordinator, death_on=day(40), term="Sepsis")
    assert statuses(scheduled)["M3"] == VisitStatus.NOT_EXPECTED
    event.grade, event.outcome, event.death_date = 4, "recovered", None
    event.resolution_date = day(45)
    adverse_event_save(event=event, by=coordinator, reason="Source: the patient recovered")
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.off_study_date) == (PatientStatus.INFUSED, None)
    assert scheduled.history.first().history_change_reason == (
        "Back on study: death of 2026-03-01 on the adverse event Sepsis (grade 5) corrected to grade 4: "
        "Source: the patient recovered")
    assert {code: status for code, status in statuses(scheduled).items() if code in ("D28", "M3", "M6")} == (
        ON_STUDY_VISITS)


def test_end_of_study_removed_takes_the_patient_back_on_study(scheduled, coordinator):
    end = end_of_study_save(patient=scheduled, by=coordinator, values={"end_date": day(40),
                                                                       "end_reason": "consent_withdrawn"})
    assert statuses(scheduled)["M6"] == VisitStatus.NOT_EXPECTED
    end_of_study_remove(crf=end, by=coordinator, reason="Entered for the wrong patient")
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.off_study_date, scheduled.off_study_reason) == (
        PatientStatus.INFUSED, None, "")
    assert scheduled.history.first().history_change_reason == (
        "Back on study: end of study of 2026-03-01 (Consent withdrawn) removed: Entered for the wrong patient")
    assert {code: status for code, status in statuses(scheduled).items() if code in ("D28", "M3", "M6")} == (
        ON_STUDY_VISITS)
    # A new end of study may be recorded once the removed one is gone.
    end_of_study_save(patient=scheduled, by=coordinator,
                      values={"end_date": day(95), "end_reason": "lost_to_follow_up"})
    assert statuses(scheduled)["M6"] == VisitStatus.NOT_EXPECTED


def test_end_of_study_date_corrected_later_reopens_the_visits_before_it_and_a_new_reason_follows(
        scheduled, coordinator):
    end = end_of_study_save(patient=scheduled, by=coordinator, values={"end_date": day(40),
                                                                       "end_reason": "consent_withdrawn"})
    end = end_of_study_correct(crf=end, field="end_date", value=day(99), by=coordinator, reason="Date of the letter")
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.off_study_date) == (PatientStatus.OFF_STUDY, day(99))
    assert scheduled.history.first().history_change_reason == (
        "End of study on 2026-04-29 (Consent withdrawn) recorded on the end-of-study form (end of study of "
        "2026-03-01 (Consent withdrawn) corrected to 2026-04-29 (Consent withdrawn): Date of the letter)")
    now = statuses(scheduled)
    # M3's window (day 90, closes before day 99) is expected again; M6 is after the end of study.
    assert (now["D28"], now["M3"], now["M6"]) == (VisitStatus.MISSED, VisitStatus.OVERDUE, VisitStatus.NOT_EXPECTED)

    end_of_study_correct(crf=end, field="end_reason", value="lost_to_follow_up", by=coordinator,
                         reason="Withdrawal letter not found")
    m6 = scheduled.visits.get(definition__code="M6")
    assert (m6.status, m6.status_reason) == (VisitStatus.NOT_EXPECTED, "Patient off study: Lost to follow-up")
    assert m6.history.first().history_change_reason.startswith("Not expected: end of study of 2026-04-29")


def test_two_deaths_one_removed_keeps_the_patient_off_study_on_the_other_date(scheduled, coordinator):
    """The earlier of two sources removed: the off-study date moves to the other's, and D28 (window closed on
    day 32, before the new date of day 35) is expected again — missed."""
    event = fatal_event(scheduled, coordinator, death_on=day(30), term="Sepsis")
    dead_on_follow_up(scheduled, coordinator, death_on=day(35))
    scheduled.refresh_from_db()
    assert (scheduled.off_study_date, statuses(scheduled)["D28"]) == (day(30), VisitStatus.NOT_EXPECTED)

    adverse_event_remove(crf=event, by=coordinator, reason="Duplicate of the follow-up's death")
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.off_study_date, scheduled.off_study_reason) == (
        PatientStatus.OFF_STUDY, day(35), "Death")
    assert scheduled.history.first().history_change_reason == (
        "Death on 2026-02-24 recorded on the follow-up form (death of 2026-02-19 on the adverse event Sepsis "
        "removed: Duplicate of the follow-up's death)")
    now = statuses(scheduled)
    assert (now["D28"], now["M3"]) == (VisitStatus.MISSED, VisitStatus.NOT_EXPECTED)


def test_follow_up_removed_leaves_the_adverse_event_death(scheduled, coordinator):
    fatal_event(scheduled, coordinator, death_on=day(35), term="Sepsis")
    follow_up = dead_on_follow_up(scheduled, coordinator, death_on=day(30))
    follow_up_remove(crf=follow_up, by=coordinator, reason="Wrong date")
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.off_study_date) == (PatientStatus.OFF_STUDY, day(35))


def test_end_of_study_for_death_that_is_the_only_record_of_the_death_is_not_removed(scheduled, coordinator):
    end = end_of_study_save(patient=scheduled, by=coordinator, values={"end_date": day(40), "end_reason": "death"})
    with pytest.raises(ValidationError) as refused:
        end_of_study_remove(crf=end, by=coordinator, reason="Mistake")
    assert "only record of the patient's death (2026-03-01)" in refused.value.message_dict["reason"][0]
    end.refresh_from_db()
    scheduled.refresh_from_db()
    assert (end.removed, scheduled.status) == (False, PatientStatus.OFF_STUDY)
    assert EndOfStudy.objects.filter(removed=False).count() == 1


def test_end_of_study_date_corrected_through_a_query_answer_reopens_the_visits_before_it(
        scheduled, coordinator, monitor):
    """A query answer corrects through the form's service, so the end of study follows there too."""
    end = end_of_study_save(patient=scheduled, by=coordinator, values={"end_date": day(40),
                                                                       "end_reason": "lost_to_follow_up"})
    query = query_raise(crf=end, field="end_date", text="The letter is dated day 99?", by=monitor)
    query_answer(query=query, by=coordinator, text="Yes: 2026-04-29", new_value=day(99).isoformat(),
                 reason="Source: the letter")
    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.off_study_date, scheduled.off_study_reason) == (
        PatientStatus.OFF_STUDY, day(99), "Lost to follow-up")
    now = statuses(scheduled)
    assert (now["M3"], now["M6"]) == (VisitStatus.OVERDUE, VisitStatus.NOT_EXPECTED)
    assert scheduled.visits.get(definition__code="M3").history.first().history_change_reason == (
        "Re-opened: end of study of 2026-03-01 (Lost to follow-up) corrected to 2026-04-29 (Lost to follow-up): "
        "Source: the letter")
