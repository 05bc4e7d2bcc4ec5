"""How the selector reads a patient's course from the CRFs: which assessment is the 1-month
response, the first relapse, the last contact and loss to follow-up."""
import datetime

import pytest

from outcomes.rules import primary_assessment_index
from outcomes.selectors import patient_courses
from outcomes.services import follow_up_save, response_assessment_save
from patients.models import Patient

from .conftest import day

pytestmark = pytest.mark.django_db

CLEAR = {"bone_marrow_blasts_percent": 1, "circulating_blasts": False, "extramedullary_disease": False,
         "anc_per_ul": 1500, "platelets_per_ul": 150_000}
DISEASE = {**CLEAR, "bone_marrow_blasts_percent": 60}


@pytest.mark.parametrize("study_days, expected", [
    ([25, 30], 1),  # day 30 is 2 days from 28, day 25 is 3
    ([26, 30], 0),  # equally close: the earlier, the one the protocol asked for
    ([23, 33], None),  # both outside the ±4 window
    ([24, 32, 28], 2),
])
def test_primary_assessment_is_the_closest_to_day_28_inside_the_window(study_days, expected):
    assert primary_assessment_index(study_days, target_day=28, window_before_days=4, window_after_days=4) == expected


def course_of(patient):
    (course,) = patient_courses(Patient.objects.filter(pk=patient.pk))
    return course


def test_one_month_response_comes_from_the_day_28_window_not_a_later_marrow(infused, coordinator):
    response_assessment_save(patient=infused, by=coordinator, values={"assessment_date": day(21), **DISEASE})
    response_assessment_save(patient=infused, by=coordinator, values={"assessment_date": day(30), **CLEAR})
    response_assessment_save(patient=infused, by=coordinator, values={"assessment_date": day(90), **DISEASE})
    course = course_of(infused)
    assert course.response_1_month == "CR"
    assert course.relapse_date == day(90)  # the day-90 marrow after a CR derives a relapse
    assert course.last_contact_date == day(90)


def test_no_assessment_in_the_window_means_no_one_month_response(infused, coordinator):
    response_assessment_save(patient=infused, by=coordinator, values={"assessment_date": day(40), **CLEAR})
    assert course_of(infused).response_1_month is None


def test_first_relapse_last_contact_and_loss_to_follow_up_from_the_follow_up_forms(infused, coordinator):
    response_assessment_save(patient=infused, by=coordinator, values={"assessment_date": day(28), **CLEAR})
    follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(120), "follow_up_status": "relapsed", "relapse_date": day(110)})
    follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(200), "follow_up_status": "relapsed", "relapse_date": day(110), "hsct_date": day(180)})
    follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(260), "follow_up_status": "lost_to_follow_up"})
    course = course_of(infused)
    assert (course.relapse_date, course.hsct_date, course.death_date) == (day(110), day(180), None)
    assert course.last_contact_date == day(260)
    assert course.lost_to_follow_up is True


def test_removed_forms_do_not_count(infused, coordinator):
    assessment = response_assessment_save(patient=infused, by=coordinator,
                                          values={"assessment_date": day(28), **CLEAR})
    assessment.removed, assessment.removal_reason = True, "Entered for the wrong patient"
    assessment.save()
    course = course_of(infused)
    assert course.response_1_month is None
    assert course.last_contact_date == infused.infusion_date


def test_patients_never_infused_are_not_in_the_analysis(patient_sz, infused):
    courses = patient_courses(Patient.objects.all())
    assert [c.subject_id for c in courses] == [infused.subject_id]
    assert isinstance(courses[0].infusion_date, datetime.date)
