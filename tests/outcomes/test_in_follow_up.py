""""In follow-up" is derived from the record, by one rule (`patients.rules.status_on_study` with
`in_follow_up`) on the way forward and on the way back: an infused patient is in follow-up once a response
assessment or a follow-up contact in force is dated from the day the 1-month (D28) window opens (day 24);
the status follows every input — the assessment or contact entered, its date corrected, removed, day 0
corrected, a death or end of study corrected away — each change audited with its cause. Before: no service set
it (only the demo loader), so every patient stayed "infused" and came back on study "infused"."""

import pytest

from infusions.services import infusion_correct
from outcomes.services import (
    end_of_study_remove,
    end_of_study_save,
    follow_up_remove,
    follow_up_save,
    response_assessment_correct,
    response_assessment_remove,
    response_assessment_save,
)
from patients.models import PatientStatus
from patients.services import patient_record_status
from tests.outcomes.conftest import day

pytestmark = pytest.mark.django_db

REMISSION = {"bone_marrow_blasts_percent": "1.50", "circulating_blasts": False, "extramedullary_disease": False,
             "anc_per_ul": 1500, "platelets_per_ul": 120000}


def assess(patient, by, on_day: int):
    return response_assessment_save(patient=patient, by=by, values={"assessment_date": day(on_day), **REMISSION})


def contact(patient, by, on_day: int, **values):
    return follow_up_save(patient=patient, by=by, values={
        "contact_date": day(on_day), "follow_up_status": "alive_in_remission", **values})


def status_and_reason(patient) -> tuple[str, str]:
    patient.refresh_from_db()
    return patient.status, patient.history.first().history_change_reason


def test_the_one_month_assessment_puts_the_patient_in_follow_up_with_the_cause(infused, coordinator):
    assess(infused, coordinator, 28)
    assert status_and_reason(infused) == (PatientStatus.FOLLOW_UP, (
        "Status derived from the record (Infused → In follow-up): the assessment of 2026-02-17 was entered"))
    assert [row.status for row in infused.history.order_by("history_date", "history_id")][-2:] == [
        PatientStatus.INFUSED, PatientStatus.FOLLOW_UP]


@pytest.mark.parametrize(("on_day", "status"), [(7, PatientStatus.INFUSED), (23, PatientStatus.INFUSED),
                                                (24, PatientStatus.FOLLOW_UP), (200, PatientStatus.FOLLOW_UP)])
def test_a_follow_up_contact_counts_from_the_day_the_one_month_window_opens(infused, coordinator, on_day, status):
    contact(infused, coordinator, on_day)
    infused.refresh_from_db()
    assert infused.status == status


def test_an_early_marrow_is_the_treatment_period_and_its_date_corrected_into_the_window_moves_the_patient_on(
        infused, coordinator):
    assessment = assess(infused, coordinator, 14)
    infused.refresh_from_db()
    assert infused.status == PatientStatus.INFUSED
    response_assessment_correct(crf=assessment, field="assessment_date", value=day(29), by=coordinator,
                                reason="Transcription: the aspirate of 18 February")
    assert status_and_reason(infused) == (PatientStatus.FOLLOW_UP, (
        "Status derived from the record (Infused → In follow-up): the assessment of 2026-02-18 was corrected "
        "(Transcription: the aspirate of 18 February)"))
    response_assessment_correct(crf=assessment, field="assessment_date", value=day(14), by=coordinator,
                                reason="The first correction was wrong")
    assert status_and_reason(infused)[0] == PatientStatus.INFUSED


def test_the_only_assessment_removed_takes_the_patient_back_to_infused(infused, coordinator):
    assessment = assess(infused, coordinator, 28)
    response_assessment_remove(crf=assessment, by=coordinator, reason="Entered for the wrong patient")
    assert status_and_reason(infused) == (PatientStatus.INFUSED, (
        "Status derived from the record (In follow-up → Infused): the assessment of 2026-02-17 was removed "
        "(Entered for the wrong patient)"))


def test_one_of_two_sources_removed_keeps_the_patient_in_follow_up(infused, coordinator):
    assessment = assess(infused, coordinator, 28)
    visit = contact(infused, coordinator, 90)
    response_assessment_remove(crf=assessment, by=coordinator, reason="Duplicate")
    infused.refresh_from_db()
    assert infused.status == PatientStatus.FOLLOW_UP
    follow_up_remove(crf=visit, by=coordinator, reason="Duplicate")
    assert status_and_reason(infused) == (PatientStatus.INFUSED, (
        "Status derived from the record (In follow-up → Infused): the follow-up contact of 2026-04-20 was removed "
        "(Duplicate)"))


def test_day_0_corrected_later_puts_the_assessment_before_the_window_and_the_patient_back_to_infused(
        infused, coordinator):
    assess(infused, coordinator, 25)
    infused.refresh_from_db()
    assert infused.status == PatientStatus.FOLLOW_UP
    infusion_correct(crf=infused.infusions.get(),
                     field="infusion_date", value=day(2), by=coordinator, reason="Bag hung two days later",
                     acknowledge_deviation=True, deviation_reason="Infusion delayed by fever")
    status, reason = status_and_reason(infused)
    assert (status, infused.infusion_date) == (PatientStatus.INFUSED, day(2))  # the assessment is now day 23
    assert reason.startswith("Infusion date corrected from 2026-01-20: Bag hung two days later")


def test_a_death_corrected_away_brings_the_patient_back_in_follow_up_not_infused(infused, coordinator):
    """The gap this closes: back on study, the patient returned "infused" whatever the record held."""
    assess(infused, coordinator, 28)
    death = follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(61), "follow_up_status": "dead", "death_date": day(60), "death_cause": "Sepsis"})
    infused.refresh_from_db()
    assert (infused.status, infused.off_study_date) == (PatientStatus.OFF_STUDY, day(60))
    follow_up_save(patient=infused, by=coordinator, follow_up=death, reason="Query 7: another patient's death",
                   values={"follow_up_status": "alive_in_remission", "death_date": None, "death_cause": ""})
    assert status_and_reason(infused) == (PatientStatus.FOLLOW_UP, (
        "Back on study: death of 2026-03-21 on the follow-up of 2026-03-22 corrected: Query 7: another patient's "
        "death"))
    assert (infused.off_study_date, infused.off_study_reason) == (None, "")


def test_an_end_of_study_removed_brings_the_patient_back_in_follow_up(infused, coordinator):
    contact(infused, coordinator, 30)
    end = end_of_study_save(patient=infused, by=coordinator, values={"end_date": day(40),
                                                                     "end_reason": "consent_withdrawn"})
    infused.refresh_from_db()
    assert infused.status == PatientStatus.OFF_STUDY
    end_of_study_remove(crf=end, by=coordinator, reason="Entered for the wrong patient")
    assert status_and_reason(infused)[0] == PatientStatus.FOLLOW_UP


def test_an_off_study_patient_stays_off_study_whatever_is_entered(infused, coordinator):
    end_of_study_save(patient=infused, by=coordinator, values={"end_date": day(40), "end_reason": "consent_withdrawn"})
    assess(infused, coordinator, 28)
    infused.refresh_from_db()
    assert (infused.status, patient_record_status(infused)) == (PatientStatus.OFF_STUDY, PatientStatus.OFF_STUDY)
