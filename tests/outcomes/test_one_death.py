"""One death, wherever it is recorded: a grade-5 adverse event, a follow-up or an end of study is the patient's
death — off study, in OS — and sources that disagree on the date raise an automatic query."""
import datetime

import pytest
from django.utils import timezone

from monitoring.models import DataQuery
from outcomes.selectors import patient_courses, patient_death, patient_deaths
from outcomes.services import follow_up_save
from patients.models import Patient, PatientStatus
from safety.models import AdverseEvent
from safety.services import adverse_event_save
from tests.outcomes.conftest import day

pytestmark = pytest.mark.django_db


def fatal_event(patient, by, *, death_on, term="Cytokine release syndrome"):
    onset = death_on - datetime.timedelta(days=2)
    event = AdverseEvent(
        patient=patient, protocol=patient.protocol, term=term, grade=5, onset_date=onset, death_date=death_on,
        outcome="fatal", serious=True, seriousness_criteria=["death"],
        aware_at=timezone.make_aware(datetime.datetime.combine(onset, datetime.time(9))),
        relatedness_cart="probable", relatedness_lymphodepletion="not_related", action_taken="treatment")
    return adverse_event_save(event=event, by=by)


def test_death_recorded_only_on_a_grade_5_adverse_event_takes_the_patient_off_study_and_counts_in_os(
        infused, coordinator):
    """Before: the patient stayed "infused", was censored in OS and the visits went on being missed."""
    fatal_event(infused, coordinator, death_on=day(9))
    infused.refresh_from_db()
    assert (infused.status, infused.off_study_date, infused.off_study_reason) == (
        PatientStatus.OFF_STUDY, day(9), "Death")
    assert infused.history.first().history_change_reason == (
        "Death on 2026-01-29 recorded on the adverse events form")
    death = patient_death(infused)
    assert (death.death_date, death.cause) == (day(9), "Cytokine release syndrome (grade 5 adverse event)")
    (course,) = patient_courses(Patient.objects.filter(pk=infused.pk))
    assert course.death_date == day(9)


def test_death_dates_that_disagree_raise_an_automatic_query_on_each_source(infused, coordinator):
    event = fatal_event(infused, coordinator, death_on=day(9))
    follow_up = follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(12), "follow_up_status": "dead", "death_date": day(11), "death_cause": "CRS"})
    death = patient_death(infused)
    assert death.death_date == day(9) and not death.dates_agree
    assert death.dates_text == "Adverse events 2026-01-29; Follow-up 2026-01-31"
    queries = DataQuery.objects.filter(automatic=True, field="death_date").order_by("object_id")
    assert {(q.object_id, q.content_type.model) for q in queries} == {
        (event.pk, "adverseevent"), (follow_up.pk, "followup")}
    assert all("The death dates recorded for this patient disagree" in q.text for q in queries)
    assert death.cause == "CRS"  # the follow-up's stated cause comes first


def test_death_dates_that_agree_raise_no_query(infused, coordinator):
    fatal_event(infused, coordinator, death_on=day(9))
    follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(12), "follow_up_status": "dead", "death_date": day(9)})
    assert patient_death(infused).dates_agree
    assert not DataQuery.objects.filter(automatic=True).exists()


def test_patient_deaths_reads_every_patient_at_once(infused, coordinator, django_assert_max_num_queries):
    fatal_event(infused, coordinator, death_on=day(9))
    with django_assert_max_num_queries(3):
        deaths = patient_deaths(Patient.objects.all())
    assert list(deaths) == [infused.pk]
    assert patient_deaths([]) == {}
