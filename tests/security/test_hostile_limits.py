"""Input at the limits is a 400 or a message on the field, never a 500: JSON nested a thousand
levels deep, and dates-and-times at the ends of the calendar, where time-zone arithmetic overflows."""
import datetime

import pytest
from django.urls import reverse

from safety.models import AdverseEvent

pytestmark = pytest.mark.django_db

DEEP_JSON = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


@pytest.fixture
def infused_patient(patient_sz, coordinator):
    """Infused on 1 February 2026 through the services."""
    from tests.factories import infuse

    return infuse(patient_sz, by=coordinator, day_0=datetime.date(2026, 2, 1))


@pytest.mark.parametrize("body", [DEEP_JSON, DEEP_OBJECT])
def test_json_nested_a_thousand_levels_is_a_400_on_the_unauthenticated_token_endpoint(client, body):
    response = client.post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than 32 levels" in response.json()["detail"]


def test_json_nested_a_thousand_levels_is_a_400_on_a_clinical_endpoint(api_client, coordinator, infused_patient):
    api_client.force_authenticate(coordinator)
    response = api_client.post(f"/api/v1/patients/{infused_patient.study_id}/adverse-events/", DEEP_OBJECT,
                               content_type="application/json")
    assert response.status_code == 400
    assert AdverseEvent.objects.count() == 0


def test_json_nested_within_the_limit_still_parses():
    from config.parsers import json_depth_exceeds

    assert json_depth_exceeds([[[]]], 3) is False
    assert json_depth_exceeds([[[[]]]], 3) is True
    assert json_depth_exceeds({"doses": [{"study_day": -5}]}, 3) is False


SAE = {
    "term": "Hypotension", "grade": "3", "onset_date": "2026-02-03", "resolution_date": "",
    "relatedness_cart": "possible", "relatedness_lymphodepletion": "unlikely", "action_taken": "treatment",
    "outcome": "recovering", "serious": "on", "seriousness_criteria": ["hospitalisation"],
}


@pytest.mark.parametrize("aware_at", ["9999-12-31T23:59", "9999-12-31 23:59", "0001-01-01T00:00"])
def test_awareness_at_the_ends_of_the_calendar_is_a_message_on_the_field(client, coordinator, infused_patient,
                                                                          aware_at):
    client.force_login(coordinator)
    response = client.post(reverse("safety:adverse_events_new", args=[infused_patient.study_id]),
                           {**SAE, "aware_at": aware_at})
    assert response.status_code == 200
    assert "between the years 1900 and 2200" in " ".join(response.context["form"].errors["aware_at"])
    assert AdverseEvent.objects.count() == 0


@pytest.mark.parametrize("aware_at", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "0001-01-01T00:00:00+14:00"])
def test_awareness_at_the_ends_of_the_calendar_is_a_400_in_the_api(api_client, coordinator, infused_patient,
                                                                   aware_at):
    api_client.force_authenticate(coordinator)
    body = {"kind": "ae", "term": "Hypotension", "grade": 3, "onset_date": "2026-02-02", "serious": True,
            "seriousness_criteria": ["hospitalisation"], "aware_at": aware_at, "relatedness_cart": "probable",
            "relatedness_lymphodepletion": "unlikely", "action_taken": "treatment", "outcome": "recovering"}
    response = api_client.post(f"/api/v1/patients/{infused_patient.study_id}/adverse-events/", body, format="json")
    assert response.status_code == 400
    assert "between the years 1900 and 2200" in " ".join(response.json()["aware_at"])
    assert AdverseEvent.objects.count() == 0


def test_an_ordinary_awareness_time_still_saves(api_client, coordinator, infused_patient):
    api_client.force_authenticate(coordinator)
    body = {"kind": "ae", "term": "Hypotension", "grade": 3, "onset_date": "2026-02-02", "serious": True,
            "seriousness_criteria": ["hospitalisation"], "aware_at": "2026-02-02T09:00:00+08:00",
            "relatedness_cart": "probable", "relatedness_lymphodepletion": "unlikely", "action_taken": "treatment",
            "outcome": "recovering"}
    response = api_client.post(f"/api/v1/patients/{infused_patient.study_id}/adverse-events/", body, format="json")
    assert response.status_code == 201, response.json()
    assert AdverseEvent.objects.get().aware_at == datetime.datetime(2026, 2, 2, 1, 0, tzinfo=datetime.UTC)
