from decimal import Decimal

import pytest

from infusions.models import Infusion, Lymphodepletion
from monitoring.models import ProtocolDeviation
from patients.models import Visit

from .conftest import PLAN_173

pytestmark = pytest.mark.django_db

COURSE = {
    "start_date": "2026-02-01", "weight_kg": "63.4", "height_cm": "170",
    "doses": [{"study_day": day, "agent": agent, "administered_mg": str(mg)}
              for day in (-5, -4, -3) for agent, mg in PLAN_173.items()],
}
INFUSION = {
    "infusion_date": "2026-02-06", "weight_kg": "60", "cart_cells_infused": 299_400_000,  # 4.99 ×10⁶/kg
    "product": {"lot": "SZ-CART-0001", "manufacture_date": "2026-01-20", "total_viable_cells": 2_000_000_000,
                "viability_percent": "92.5", "car_positive_percent": "50"},
}


@pytest.fixture
def client_coordinator(api_client, coordinator):
    api_client.force_authenticate(coordinator)
    return api_client


def url(patient, thing):
    return f"/api/v1/patients/{patient.subject_id}/{thing}/"


def test_lymphodepletion_post_answers_bsa_planned_mg_and_verdicts(client_coordinator, patient_sz):
    body = dict(COURSE, doses=[dict(d) for d in COURSE["doses"]])
    body["doses"][0]["administered_mg"] = "46.7"  # day −5 fludarabine, −10.2 % of 52
    refused = client_coordinator.post(url(patient_sz, "lymphodepletion"), body, format="json")
    assert refused.status_code == 400
    assert "46.7 mg given, plan 52 mg" in refused.json()["acknowledge_deviation"][0]
    assert refused.json()["soft_checks"][0]["rule"] == "lymphodepletion_dose_tolerance"
    assert not Lymphodepletion.objects.exists()
    body.update(acknowledge_deviation=True, reason="Vial shortage")
    saved = client_coordinator.post(url(patient_sz, "lymphodepletion"), body, format="json")
    assert saved.status_code == 201, saved.json()
    answer = saved.json()
    assert answer["bsa_m2"] == "1.73"
    first = answer["doses"][0]
    assert (first["study_day"], first["agent"], first["planned_mg"], first["administered_mg"], first["verdict"]) == (
        -5, "cyclophosphamide", "519", "519.0", "within_tolerance")
    flu = next(d for d in answer["doses"] if d["study_day"] == -5 and d["agent"] == "fludarabine")
    assert (flu["planned_mg"], flu["verdict"]) == ("52", "outside_tolerance")
    assert answer["deviations"][0]["reason"] == "Vial shortage"
    got = client_coordinator.get(url(patient_sz, "lymphodepletion")).json()
    assert got["bsa_m2"] == "1.73" and len(got["doses"]) == 6


def test_put_of_a_submitted_course_needs_a_reason(client_coordinator, patient_sz):
    assert client_coordinator.post(url(patient_sz, "lymphodepletion"), COURSE, format="json").status_code == 201
    refused = client_coordinator.put(url(patient_sz, "lymphodepletion"), dict(COURSE, weight_kg="64", version=1),
                                     format="json")
    assert refused.status_code == 400 and "reason" in refused.json()
    changed = client_coordinator.put(url(patient_sz, "lymphodepletion"),
                                     dict(COURSE, weight_kg="64", reason="Weighed again", version=1), format="json")
    assert changed.status_code == 200 and changed.json()["weight_kg"] == "64.0"


def test_infusion_out_of_range_needs_acknowledgement_then_answers_dose_and_verdict(
        client_coordinator, patient_sz, django_capture_on_commit_callbacks):
    client_coordinator.post(url(patient_sz, "lymphodepletion"), COURSE, format="json")
    refused = client_coordinator.post(url(patient_sz, "infusion"), INFUSION, format="json")
    assert refused.status_code == 400
    assert "4.99 ×10⁶ cells/kg is below" in refused.json()["acknowledge_deviation"][0]
    no_reason = client_coordinator.post(url(patient_sz, "infusion"), dict(INFUSION, acknowledge_deviation=True),
                                        format="json")
    assert no_reason.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        saved = client_coordinator.post(
            url(patient_sz, "infusion"), dict(INFUSION, acknowledge_deviation=True, reason="Low yield"), format="json")
    assert saved.status_code == 201, saved.json()
    answer = saved.json()
    assert (answer["dose_cells_per_kg"], answer["dose_million_cells_per_kg"], answer["dose_verdict"]) == (
        "4990000.00", "4.99", "below_range")
    assert answer["product"]["lot"] == "SZ-CART-0001" and answer["infusion_date"] == "2026-02-06"
    assert ProtocolDeviation.objects.filter(rule="cart_dose_range", reason="Low yield").count() == 1
    visits = client_coordinator.get(url(patient_sz, "visits")).json()
    assert [v["code"] for v in visits][:3] == ["D1", "D4", "D7"]
    assert visits[0]["target_date"] == "2026-02-07"
    assert Visit.objects.filter(patient=patient_sz).count() == 16


def test_split_dosing_through_fractions(client_coordinator, patient_sz):
    client_coordinator.post(url(patient_sz, "lymphodepletion"), COURSE, format="json")
    body = {key: value for key, value in INFUSION.items() if key not in ("infusion_date", "cart_cells_infused")}
    body["fractions"] = [{"infusion_date": "2026-02-07", "cart_cells_infused": 240_000_000},
                         {"infusion_date": "2026-02-06", "cart_cells_infused": 180_000_000}]
    saved = client_coordinator.post(url(patient_sz, "infusion"), body, format="json")
    assert saved.status_code == 201, saved.json()
    assert (saved.json()["infusion_date"], saved.json()["cart_cells_infused"],
            saved.json()["dose_million_cells_per_kg"]) == ("2026-02-06", 420_000_000, "7.00")  # 420 ×10⁶ / 60 kg


@pytest.mark.parametrize("change, field", [
    ({"cart_cells_infused": 1_000_000_001}, "cart_cells_infused"),  # more than the lot's 10⁹ CAR⁺ cells
    ({"weight_kg": "0"}, "weight_kg"),
    ({"infusion_date": "2026-02-04"}, "infusion_date"),  # one day after the last dose
])
def test_impossible_infusion_is_always_400_even_acknowledged(client_coordinator, patient_sz, change, field):
    client_coordinator.post(url(patient_sz, "lymphodepletion"), COURSE, format="json")
    body = dict(INFUSION, acknowledge_deviation=True, reason="Because", **change)
    refused = client_coordinator.post(url(patient_sz, "infusion"), body, format="json")
    assert refused.status_code == 400 and field in refused.json()
    assert not Infusion.objects.exists()


def test_garbage_is_400_not_500(client_coordinator, patient_sz):
    for body in ({}, {"doses": "x"}, dict(COURSE, weight_kg="abc"), dict(COURSE, start_date="2026-13-01")):
        assert client_coordinator.post(url(patient_sz, "lymphodepletion"), body, format="json").status_code == 400
    assert client_coordinator.post(url(patient_sz, "infusion"), {"product": 3}, format="json").status_code == 400


def test_monitor_reads_but_cannot_write_and_other_site_is_404(api_client, monitor, coordinator_wx, patient_sz):
    api_client.force_authenticate(monitor)
    assert api_client.post(url(patient_sz, "lymphodepletion"), COURSE, format="json").status_code == 403
    api_client.force_authenticate(coordinator_wx)
    assert api_client.get(url(patient_sz, "lymphodepletion")).status_code == 404
    assert api_client.post(url(patient_sz, "lymphodepletion"), COURSE, format="json").status_code == 404


def test_a_stale_infusion_put_answers_409_and_saves_nothing(api_client, coordinator, patient_sz):
    """Two users read the infusion record (version 1); the first corrects the weight, the second sends a dose
    based on version 1. Without the version check the second PUT would silently overwrite the first user's weight
    (a 200 here); with it the answer is 409 with what changed, and the stored record keeps the first correction."""
    from tests.factories import MembershipFactory, UserFactory

    second = UserFactory(username="coord_sz_2")
    MembershipFactory(user=second, site=patient_sz.site, role="coordinator")
    api_client.force_authenticate(coordinator)
    assert api_client.post(url(patient_sz, "lymphodepletion"), COURSE, format="json").status_code == 201
    within_range = dict(INFUSION, cart_cells_infused=300_000_000)  # 5.00 ×10⁶/kg at 60 kg
    assert api_client.post(url(patient_sz, "infusion"), within_range, format="json").status_code == 201
    version = api_client.get(url(patient_sz, "infusion")).json()["version"]

    first = api_client.put(url(patient_sz, "infusion"),
                           dict(within_range, weight_kg="58", reason="Weighed again", version=version), format="json")
    assert first.status_code == 200, first.json()
    api_client.force_authenticate(second)
    stale = api_client.put(url(patient_sz, "infusion"),
                           dict(within_range, cart_cells_infused=350_000_000, reason="Cell count corrected",
                                version=version), format="json")
    assert stale.status_code == 409, stale.json()
    body = stale.json()
    assert (body["version"], body["current_version"]) == (version, first.json()["version"])
    assert any(change["field"] == "weight_kg" for change in body["changes"])
    stored = Infusion.objects.get(patient=patient_sz)
    assert (stored.weight_kg, stored.cart_cells_infused) == (Decimal("58"), 300_000_000)
