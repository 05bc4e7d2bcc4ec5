"""The adverse-event CRF: CTCAE term from the list, hard checks, grade 5 and SAEs."""
import datetime

import pytest
from django.urls import reverse

from safety.models import AdverseEvent

pytestmark = pytest.mark.django_db

AE = {
    "term": "febrile neutropenia", "grade": "3", "onset_date": "2026-02-03", "resolution_date": "2026-02-06",
    "relatedness_cart": "possible", "relatedness_lymphodepletion": "probable", "action_taken": "treatment",
    "outcome": "recovered",
}


def _url(patient):
    return reverse("safety:adverse_events_new", args=[patient.study_id])


def test_ae_saved_with_canonical_term_and_study_days_shown(client, coordinator, infused_patient):
    client.force_login(coordinator)
    response = client.post(_url(infused_patient), AE, follow=True)
    event = AdverseEvent.objects.get()
    assert (event.term, event.grade, event.serious) == ("Febrile neutropenia", 3, False)
    assert "Onset study day 2, resolved study day 5." in response.content.decode()


def test_term_list_is_a_datalist_of_the_ctcae_terms(client, coordinator, infused_patient):
    client.force_login(coordinator)
    page = client.get(_url(infused_patient)).content.decode()
    assert 'list="ctcae-terms"' in page
    assert '<option value="Cytokine release syndrome">Immune system disorders</option>' in page


@pytest.mark.parametrize("changes, field, message", [
    ({"term": "Broken heart"}, "term", "not a CTCAE v5 term"),
    ({"resolution_date": "2026-02-02"}, "resolution_date", "before the onset"),
    ({"onset_date": "2025-12-31", "resolution_date": ""}, "onset_date", "before informed consent"),
    ({"serious": "on"}, "seriousness_criteria", "at least one seriousness criterion"),
    ({"grade": "5", "outcome": "fatal", "resolution_date": ""}, "death_date", "give the death date"),
    ({"outcome": "fatal", "resolution_date": ""}, "grade", "grade 5"),
    ({"action_taken": "other"}, "action_taken_other", "Say what other action"),
])
def test_impossible_events_are_refused_on_the_field(client, coordinator, infused_patient, changes, field, message):
    client.force_login(coordinator)
    response = client.post(_url(infused_patient), {**AE, **changes})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert AdverseEvent.objects.count() == 0


def test_grade_5_stores_the_death_date_and_says_where_it_will_link(client, coordinator, infused_patient):
    client.force_login(coordinator)
    inputs = {**AE, "term": "Sepsis", "grade": "5", "outcome": "fatal", "resolution_date": "",
              "death_date": "2026-02-10", "serious": "on", "seriousness_criteria": ["death"],
              "aware_at": "2026-02-10T08:30"}
    response = client.post(_url(infused_patient), inputs, follow=True)
    event = AdverseEvent.objects.get()
    assert event.death_date == datetime.date(2026, 2, 10)
    assert event.seriousness_criteria == ["death"]
    assert "No follow-up death record yet" in response.content.decode()


def test_serious_event_needs_awareness_time_and_shows_its_clock(client, coordinator, infused_patient):
    client.force_login(coordinator)
    inputs = {**AE, "serious": "on", "seriousness_criteria": ["hospitalisation"]}
    response = client.post(_url(infused_patient), inputs)
    assert "24-hour clock" in response.context["form"].errors["aware_at"][0]
    response = client.post(_url(infused_patient), {**inputs, "aware_at": "2026-02-03T22:15"}, follow=True)
    page = response.content.decode()
    assert "initial report due <strong>2026-02-04 22:15</strong>" in page
    assert "The initial report is overdue." in page
