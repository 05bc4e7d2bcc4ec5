"""The CRS CRF: the saved grade is the ASTCT grade of the inputs, shown before saving."""
import pytest
from django.urls import reverse

from safety.models import CrsAssessment

pytestmark = pytest.mark.django_db

GRADE_3_INPUTS = {
    "assessment_date": "2026-02-03", "max_temperature_c": "39.4", "hypotension": "one_vasopressor",
    "hypoxia": "low_flow", "tocilizumab_dose_mg": "560", "tocilizumab_given_on": "2026-02-03",
}


def _url(patient):
    return reverse("safety:crs_assessment_new", args=[patient.study_id])


def test_first_post_shows_grade_3_for_one_vasopressor_and_saves_nothing(client, coordinator, infused_patient):
    client.force_login(coordinator)
    response = client.post(_url(infused_patient), {**GRADE_3_INPUTS, "action": "check"})
    assert response.status_code == 200
    assert response.context["preview"].grade == 3
    assert response.context["preview"].driver == "hypotension"
    assert 'data-testid="computed-grade">CRS grade 3<' in response.content.decode()
    assert "Confirm grade 3 and save" in response.content.decode()
    assert CrsAssessment.objects.count() == 0


def test_confirming_saves_the_computed_grade_and_ignores_a_typed_grade(client, coordinator, infused_patient):
    client.force_login(coordinator)
    response = client.post(_url(infused_patient),
                           {**GRADE_3_INPUTS, "action": "save", "previewed_grade": "3", "grade": "1"})
    assert response.status_code == 302
    saved = CrsAssessment.objects.get()
    assert (saved.grade, saved.grading_driver) == (3, "hypotension")
    assert saved.tocilizumab_dose_mg == 560
    assert saved.created_by == coordinator
    assert saved.history.first().history_change_reason == "Initial entry"


def test_inputs_changed_after_the_check_are_shown_again_not_saved(client, coordinator, infused_patient):
    client.force_login(coordinator)
    inputs = {**GRADE_3_INPUTS, "hypotension": "multiple_vasopressors"}
    response = client.post(_url(infused_patient), {**inputs, "action": "save", "previewed_grade": "3"})
    assert response.status_code == 200
    assert response.context["preview"].grade == 4
    assert CrsAssessment.objects.count() == 0


def test_hypotension_without_fever_is_not_crs(client, coordinator, infused_patient):
    client.force_login(coordinator)
    inputs = {**GRADE_3_INPUTS, "max_temperature_c": "37.1", "tocilizumab_dose_mg": "", "tocilizumab_given_on": ""}
    client.post(_url(infused_patient), {**inputs, "action": "save", "previewed_grade": "0"})
    assert CrsAssessment.objects.get().grade == 0


def test_masked_fever_with_low_flow_oxygen_within_an_episode_is_grade_2(client, coordinator, infused_patient):
    from decimal import Decimal

    from safety.services import crs_assessment_save

    crs_assessment_save(assessment=CrsAssessment(
        patient=infused_patient, protocol=infused_patient.protocol, assessment_date="2026-02-02",
        max_temperature_c=Decimal("38.8")), by=coordinator)
    client.force_login(coordinator)
    inputs = {**GRADE_3_INPUTS, "max_temperature_c": "37.0", "fever_masked": "on", "hypotension": "none"}
    response = client.post(_url(infused_patient), {**inputs, "action": "check"})
    assert response.context["preview"].grade == 2


def test_masked_fever_on_a_first_assessment_is_not_crs(client, coordinator, infused_patient):
    client.force_login(coordinator)
    inputs = {**GRADE_3_INPUTS, "max_temperature_c": "37.0", "fever_masked": "on", "hypotension": "none"}
    response = client.post(_url(infused_patient), {**inputs, "action": "check"})
    assert response.context["preview"].grade == 0


@pytest.mark.parametrize("field, value, message", [
    ("assessment_date", "2026-01-30", "before the infusion"),
    ("assessment_date", "2025-12-30", "before informed consent"),
    ("max_temperature_c", "47.0", "impossible"),
    ("tocilizumab_given_on", "", "Give both the tocilizumab dose"),
])
def test_hard_checks_refuse_on_the_field(client, coordinator, infused_patient, field, value, message):
    client.force_login(coordinator)
    response = client.post(_url(infused_patient), {**GRADE_3_INPUTS, field: value, "action": "check"})
    assert response.status_code == 200
    assert response.context["preview"] is None
    assert message in " ".join(response.context["form"].errors.get(field, []))
    assert CrsAssessment.objects.count() == 0


def test_tocilizumab_above_800_mg_needs_acknowledged_deviation(client, coordinator, infused_patient):
    client.force_login(coordinator)
    inputs = {**GRADE_3_INPUTS, "tocilizumab_dose_mg": "900", "action": "save", "previewed_grade": "3"}
    response = client.post(_url(infused_patient), inputs)
    assert "800 mg maximum" in " ".join(response.context["form"].errors["acknowledge_deviation"])
    assert CrsAssessment.objects.count() == 0
    response = client.post(_url(infused_patient), {**inputs, "acknowledge_deviation": "on",
                                                   "deviation_reason": "Weight 120 kg, investigator's decision"})
    assert response.status_code == 302
    deviation = infused_patient.deviations.get()
    assert (deviation.rule, deviation.value) == ("tocilizumab_max_dose", "900")


def test_editing_a_submitted_assessment_needs_a_reason_and_regrades(client, coordinator, infused_patient):
    client.force_login(coordinator)
    client.post(_url(infused_patient), {**GRADE_3_INPUTS, "action": "save", "previewed_grade": "3"})
    saved = CrsAssessment.objects.get()
    edit = reverse("safety:crs_assessment_edit", args=[infused_patient.study_id, saved.pk])
    inputs = {**GRADE_3_INPUTS, "hypotension": "fluids", "action": "save", "previewed_grade": "2"}
    response = client.post(edit, inputs)
    assert "reason" in response.context["form"].errors
    client.post(edit, {**inputs, "reason": "Vasopressor was not started: source corrected"})
    saved.refresh_from_db()
    assert saved.grade == 2
    assert saved.history.first().history_change_reason == "Vasopressor was not started: source corrected"


def test_monitor_cannot_enter_and_other_site_is_404(client, monitor, coordinator_wx, infused_patient):
    client.force_login(monitor)
    assert client.get(_url(infused_patient)).status_code == 200
    assert client.post(_url(infused_patient), {**GRADE_3_INPUTS, "action": "check"}).status_code == 403
    client.force_login(coordinator_wx)
    assert client.get(_url(infused_patient)).status_code == 404


def test_entry_from_a_visit_links_the_visit(client, coordinator, infused_patient):
    from patients.models import Visit
    from trial.models import VisitDefinition

    definition = VisitDefinition.objects.get(protocol=infused_patient.protocol, code="D4")
    visit = Visit.objects.create(patient=infused_patient, definition=definition, target_date="2026-02-05",
                                 window_start="2026-02-04", window_end="2026-02-06")
    client.force_login(coordinator)
    url = _url(infused_patient) + f"?visit={visit.pk}"
    assert f'name="visit" value="{visit.pk}"' in client.get(url).content.decode()
    response = client.post(url, {**GRADE_3_INPUTS, "assessment_date": "2026-02-05", "tocilizumab_given_on":
                                 "2026-02-05", "action": "save", "previewed_grade": "3"})
    assert response.status_code == 302
    assert CrsAssessment.objects.get().visit == visit
