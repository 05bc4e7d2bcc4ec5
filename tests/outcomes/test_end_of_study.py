"""The End-of-study CRF: one per patient, its date and reason take the patient off study and the visits after
it become "not expected"; an end for death is the patient's one death with the other sources."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from monitoring.models import DataQuery
from outcomes.models import EndOfStudy
from outcomes.selectors import patient_courses, patient_death
from outcomes.services import end_of_study_save
from patients.models import Patient, PatientStatus
from tests.outcomes.conftest import day
from tests.outcomes.test_one_death import fatal_event
from trial.rules import VisitStatus
from visits.services import visits_schedule, visits_update_status

pytestmark = pytest.mark.django_db


def test_consent_withdrawn_takes_the_patient_off_study_and_later_visits_are_not_expected(infused, coordinator):
    visits_schedule(patient=infused, today=day(40))
    end_of_study_save(patient=infused, by=coordinator, values={"end_date": day(40),
                                                               "end_reason": "consent_withdrawn"})
    infused.refresh_from_db()
    assert (infused.status, infused.off_study_date, infused.off_study_reason) == (
        PatientStatus.OFF_STUDY, day(40), "Consent withdrawn")
    assert infused.history.first().history_change_reason == (
        "End of study on 2026-03-01 (Consent withdrawn) recorded on the end-of-study form")
    visits_update_status(today=day(100))
    statuses = {visit.definition.code: visit.status for visit in infused.visits.select_related("definition")}
    assert statuses["M3"] == VisitStatus.NOT_EXPECTED  # day 90: after the end of study
    assert statuses["D28"] != VisitStatus.NOT_EXPECTED  # its window closed before the end of study
    assert patient_death(infused) is None


def test_end_of_study_for_death_is_the_patients_death_and_a_different_date_on_the_adverse_event_is_queried(
        infused, coordinator):
    event = fatal_event(infused, coordinator, death_on=day(9))
    end = end_of_study_save(patient=infused, by=coordinator, values={"end_date": day(10), "end_reason": "death"})
    death = patient_death(infused)
    assert [(s.crf_code, s.death_date) for s in death.sources] == [("adverse_events", day(9)),
                                                                   ("end_of_study", day(10))]
    (course,) = patient_courses(Patient.objects.filter(pk=infused.pk))
    assert course.death_date == day(9)
    assert set(DataQuery.objects.filter(automatic=True).values_list("object_id", "field")) == {
        (event.pk, "death_date"), (end.pk, "end_date")}


def test_a_reason_other_than_death_is_refused_when_a_death_is_recorded(infused, coordinator):
    fatal_event(infused, coordinator, death_on=day(9))
    with pytest.raises(ValidationError) as refused:
        end_of_study_save(patient=infused, by=coordinator, values={"end_date": day(30),
                                                                   "end_reason": "lost_to_follow_up"})
    assert "the end-of-study reason is death" in refused.value.message_dict["end_reason"][0]
    assert not EndOfStudy.objects.exists()


def test_a_second_end_of_study_and_other_without_a_reason_are_refused_on_the_field(api_client, infused, coordinator):
    api_client.force_authenticate(coordinator)
    url = f"/api/v1/patients/{infused.study_id}/end-of-study/"
    answer = api_client.post(url, {"end_date": day(50).isoformat(), "end_reason": "other"}, format="json")
    assert answer.status_code == 400 and "Say why" in answer.json()["end_reason_other"][0]
    answer = api_client.post(url, {"end_date": day(50).isoformat(), "end_reason": "investigator_decision"},
                             format="json")
    assert answer.status_code == 201, answer.json()
    assert (answer.json()["end_reason"], answer.json()["crf_code"]) == ("investigator_decision", "end_of_study")
    answer = api_client.post(url, {"end_date": day(60).isoformat(), "end_reason": "consent_withdrawn"},
                             format="json")
    assert answer.status_code == 400
    assert "already recorded for this patient (2026-03-11, Investigator decision)" in answer.json()["end_date"][0]


def test_end_of_study_page_records_it_and_a_second_visit_opens_the_recorded_form(client, infused, coordinator):
    client.force_login(coordinator)
    url = reverse("outcomes:end_of_study_new", args=[infused.study_id])
    response = client.post(url, {"end_date": day(200).isoformat(), "end_reason": "completed", "save": "1"})
    end = EndOfStudy.objects.get()
    assert response.status_code == 302 and response.url == end.get_absolute_url()
    assert client.get(url).url == end.get_absolute_url()
    page = client.get(end.get_absolute_url()).content.decode()
    assert "Completed the 3-year follow-up" in page and "Off study since" in page
