"""The demo trial's outcomes, written through the services, and the patient timeline."""
import datetime

import pytest
from django.core.management import call_command

from outcomes.models import FollowUp, ResponseAssessment
from outcomes.rules import Response
from outcomes.selectors import patient_courses
from outcomes.timeline import timeline_events
from patients.models import Patient, PatientStatus
from trial.demo import demo_plans

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 24)


def test_demo_outcomes_follow_each_plan(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo", as_of=AS_OF, stdout=None)
    plans = {plan.screening_number: plan for plan in demo_plans(as_of=AS_OF)}
    courses = {c.subject_id: c for c in patient_courses(Patient.objects.all())}
    patients = Patient.objects.filter(infusion_date__isnull=False)
    assert len(courses) == patients.count() > 0
    for patient in patients:
        plan, course = plans[patient.screening_number], courses[patient.subject_id]
        assert course.response_1_month == plan.response
        if plan.response in ("CR", "CRi"):
            assert course.mrd_negative_1_month is plan.mrd_negative
        assert course.relapse_date == plan.date_of(plan.relapse_day)
        assert course.death_date == plan.date_of(plan.death_day)
        assert course.hsct_date == plan.date_of(plan.hsct_day)
        assert course.last_contact_date == plan.date_of(plan.last_contact_day)
        if plan.death_day is not None:
            assert patient.status == PatientStatus.OFF_STUDY
        else:  # derived, never set by the loader: assessed stages in follow-up, the recently infused not yet
            assert patient.status == (PatientStatus.FOLLOW_UP if plan.stage in {"assessed", "relapsed",
                                                                                "long_follow_up"}
                                      else PatientStatus.INFUSED), (plan.stage, patient.status)
    relapsed = FollowUp.objects.exclude(relapse_date=None).values_list("relapse_cd19", flat=True)
    assert set(relapsed) <= {"positive", "negative"} and relapsed
    # Loading again changes nothing.
    counts = (ResponseAssessment.objects.count(), FollowUp.objects.count())
    call_command("load_demo", as_of=AS_OF, stdout=None)
    assert (ResponseAssessment.objects.count(), FollowUp.objects.count()) == counts


def test_timeline_shows_response_relapse_hsct_death_and_contacts(infused, coordinator):
    from outcomes.services import follow_up_save, response_assessment_save

    from .conftest import day

    response_assessment_save(patient=infused, by=coordinator, values={
        "assessment_date": day(28), "bone_marrow_blasts_percent": 0.5, "circulating_blasts": False,
        "extramedullary_disease": False, "anc_per_ul": 700, "platelets_per_ul": 90_000,
        "mrd_flow_percent": 0, "mrd_assay_sensitivity_percent": 0.001})
    follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(70), "follow_up_status": "alive_in_remission", "hsct_date": day(65)})
    follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(150), "follow_up_status": "relapsed", "relapse_date": day(140),
        "relapse_cd19": "negative", "hsct_date": day(65)})
    follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(210), "follow_up_status": "dead", "death_date": day(205), "death_cause": "Leukemia"})
    # patients.timeline.patient_events gathers every app's; outcomes' own are checked here.
    ours = sorted(timeline_events(infused), key=lambda event: (event.date, event.kind))
    events = [(e.kind, e.study_day(infused)) for e in ours]
    assert events == [("response", 28), ("hsct", 65), ("follow_up", 70), ("relapse", 140),
                      ("follow_up", 150), ("death", 205), ("follow_up", 210)]
    response = next(e for e in ours if e.kind == "response")
    assert response.label == f"Response: {Response.CRI}"
    assert "MRD-negative" in response.detail
    relapse = next(e for e in ours if e.kind == "relapse")
    assert relapse.detail == "CD19-negative"
