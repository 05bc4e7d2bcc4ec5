"""The ICANS CRF: ICE items for adults, CAPD for children under 12 at infusion;
the saved grade is the worst ASTCT domain, shown before saving."""
import pytest
from django.urls import reverse

from safety.models import IcansAssessment

pytestmark = pytest.mark.django_db

NORMAL = {"assessment_date": "2026-02-05", "consciousness": "normal", "seizure": "none", "cerebral_edema": "none"}
ICE_5 = {"ice_orientation": "2", "ice_naming": "2", "ice_following_commands": "1", "ice_writing": "0",
         "ice_attention": "0"}


def _url(patient):
    return reverse("safety:icans_assessment_new", args=[patient.study_id])


def test_adult_ice_items_sum_to_5_and_grade_2_before_saving(client, coordinator, infused_patient):
    client.force_login(coordinator)
    response = client.post(_url(infused_patient), {**NORMAL, **ICE_5, "action": "check"})
    assert response.context["preview"].grade == 2
    assert response.context["preview"].driver == "ICE score"
    assert "capd_item_1" not in response.context["form"].fields
    assert IcansAssessment.objects.count() == 0
    client.post(_url(infused_patient), {**NORMAL, **ICE_5, "action": "save", "previewed_grade": "2", "grade": "0"})
    saved = IcansAssessment.objects.get()
    assert (saved.ice_score, saved.grade, saved.age_years_at_assessment) == (5, 2, 35)


def test_seizure_outranks_a_perfect_ice_score(client, coordinator, infused_patient):
    client.force_login(coordinator)
    inputs = {**NORMAL, **ICE_5, "ice_orientation": "4", "ice_naming": "3", "ice_writing": "1",
              "ice_attention": "1", "seizure": "rapidly_resolving"}
    response = client.post(_url(infused_patient), {**inputs, "action": "save", "previewed_grade": "3"})
    assert response.status_code == 302
    saved = IcansAssessment.objects.get()
    assert (saved.ice_score, saved.grade, saved.grading_driver) == (10, 3, "seizure")


def test_unarousable_patient_unable_to_do_ice_is_grade_4(client, coordinator, infused_patient):
    client.force_login(coordinator)
    inputs = {**NORMAL, "unable_to_assess": "on", "consciousness": "unarousable"}
    client.post(_url(infused_patient), {**inputs, "action": "save", "previewed_grade": "4"})
    saved = IcansAssessment.objects.get()
    assert (saved.ice_score, saved.grade) == (None, 4)


def test_partly_scored_ice_is_refused_on_the_missing_items(client, coordinator, infused_patient):
    client.force_login(coordinator)
    response = client.post(_url(infused_patient), {**NORMAL, **ICE_5, "ice_writing": "", "action": "check"})
    assert "Score every ICE item" in response.context["form"].errors["ice_writing"][0]
    assert response.context["preview"] is None


def test_child_under_12_is_offered_capd_and_graded_by_it(client, coordinator, infused_child):
    client.force_login(coordinator)
    page = client.get(_url(infused_child))
    form = page.context["form"]
    assert [f"capd_item_{n}" in form.fields for n in range(1, 9)] == [True] * 8
    assert "ice_orientation" not in form.fields
    assert "Cornell Assessment of Pediatric Delirium" in page.content.decode()
    # CAPD 10 (delirium) is grade 3.
    items = {f"capd_item_{n}": str(score) for n, score in enumerate([2, 2, 2, 1, 1, 1, 0, 1], start=1)}
    response = client.post(_url(infused_child), {**NORMAL, **items, "action": "check"})
    assert response.context["preview"].grade == 3
    client.post(_url(infused_child), {**NORMAL, **items, "action": "save", "previewed_grade": "3"})
    saved = IcansAssessment.objects.get()
    assert (saved.capd_score, saved.ice_score, saved.grade, saved.age_years_at_assessment) == (10, None, 3, 9)
    assert saved.capd_items == [2, 2, 2, 1, 1, 1, 0, 1]
