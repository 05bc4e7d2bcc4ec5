from decimal import Decimal

import pytest
from django.db import IntegrityError

from trial.models import Protocol
from trial.services import protocol_seed

pytestmark = pytest.mark.django_db


def test_protocol_holds_every_number_of_the_registry_record(protocol):
    assert protocol.planned_enrollment == 196
    assert protocol.fludarabine_mg_per_m2 == Decimal("30")
    assert protocol.cyclophosphamide_mg_per_m2 == Decimal("300")
    assert protocol.lymphodepletion_study_days == (-5, -4, -3)
    assert (protocol.cart_dose_min_cells_per_kg, protocol.cart_dose_max_cells_per_kg) == (5_000_000, 10_000_000)
    assert protocol.primary_assessment_day == 28
    assert protocol.follow_up_months == 36
    assert protocol.sponsor_site_name == "The First Affiliated Hospital of Soochow University"
    assert protocol.sponsor_site_location == "Suzhou, Jiangsu, China"


def test_protocol_seed_is_idempotent_and_carries_criteria_and_schedule(protocol):
    assert protocol_seed().pk == protocol.pk
    assert Protocol.objects.count() == 1
    kinds = set(protocol.eligibility_criteria.values_list("kind", flat=True))
    assert kinds == {"inclusion", "exclusion"}
    codes = list(protocol.visit_definitions.values_list("code", flat=True))
    assert codes[0] == "D1" and codes[-1] == "M36"
    assert protocol.visit_definitions.get(is_primary_assessment=True).target_day == 28


def test_amendment_is_a_new_version_and_becomes_current(protocol):
    amendment = Protocol.objects.get(pk=protocol.pk)
    amendment.pk = None
    amendment.version = "2.0"
    amendment.effective_date = protocol.effective_date.replace(year=protocol.effective_date.year + 1)
    amendment.save()
    assert Protocol.objects.current().version == "2.0"
    assert Protocol.objects.count() == 2


def test_dose_range_must_be_ordered(protocol):
    protocol.cart_dose_min_cells_per_kg = 20_000_000
    with pytest.raises(IntegrityError):
        protocol.save()


def test_protocol_api_lists_parameters_and_criteria(protocol, coordinator, api_client):
    api_client.force_authenticate(coordinator)
    body = api_client.get("/api/v1/protocol/").json()
    assert body["planned_enrollment"] == 196
    assert body["cart_dose_min_million_per_kg"] == "5.00"
    assert {"code": "pregnancy", "kind": "exclusion"}.items() <= {
        k: v for k, v in next(c for c in body["eligibility_criteria"] if c["code"] == "pregnancy").items()
    }.items()
    assert [v["code"] for v in body["visit_schedule"]][:3] == ["D1", "D4", "D7"]


def test_api_needs_a_token(protocol, coordinator, api_client):
    assert api_client.get("/api/v1/protocol/").status_code == 401
    token = api_client.post("/api/v1/auth/token/", {"username": coordinator.username,
                                                    "password": "correct-horse-battery"}).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/protocol/").json()["version"] == "1.0"


def test_openapi_schema_describes_the_protocol_endpoint(coordinator, client):
    client.force_login(coordinator)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/v1/protocol/" in schema["paths"]
    assert "/api/v1/patients/{study_id}/" in schema["paths"]
