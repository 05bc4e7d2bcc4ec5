"""PUT /api/v1/patients/{subject_id}/labs/{id}/: a draw corrected through laboratory_record (the service the
page uses), with its version and reason; flags, grades and the audit trail follow. The fixture patient is female,
born 1990-05-17, consented 2026-01-05."""
from decimal import Decimal

import pytest

from laboratory.models import Laboratory, LabResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def draw(api_client, patient_sz, coordinator):
    """ANC 0.3 ×10⁹/L = 300/µL (L, grade 4: < 500) and CRP 3 mg/L (within 0–5)."""
    api_client.force_authenticate(coordinator)
    created = api_client.post(f"/api/v1/patients/{patient_sz.study_id}/labs/", {
        "collection_date": "2026-03-10", "results": [{"analyte": "anc", "value": "0.3", "unit": "×10⁹/L"},
                                                     {"analyte": "crp", "value": "3", "unit": "mg/L"}]},
        format="json")
    assert created.status_code == 201, created.json()
    return created.json()


def test_put_corrects_a_value_with_its_reason(api_client, patient_sz, draw):
    """ANC corrected to 1.2 ×10⁹/L = 1,200/µL: L (< 1,800), grade 2 (1,000 ≤ 1,200 < 1,500); CRP left out: removed
    with the reason, never deleted."""
    url = f"/api/v1/patients/{patient_sz.study_id}/labs/{draw['id']}/"
    answer = api_client.put(url, {"collection_date": "2026-03-10", "version": draw["version"],
                                  "reason": "Transcription error: 1.2, not 0.3",
                                  "results": [{"analyte": "anc", "value": "1.2", "unit": "×10⁹/L"}]}, format="json")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (body["version"], body["status"]) == (draw["version"] + 1, "submitted")
    assert [(r["analyte"], r["canonical_value"], r["flag"], r["ctcae_grade"]) for r in body["results"]] == [
        ("anc", "1200.000", "L", 2)]
    assert body["adverse_event_suggestions"] == []  # grade 2: nothing to suggest
    anc = LabResult.objects.get(laboratory_id=draw["id"], analyte="anc")
    assert anc.history.order_by("-history_id").first().history_change_reason == "Transcription error: 1.2, not 0.3"
    crp = LabResult.all_rows.get(laboratory_id=draw["id"], analyte="crp")
    assert (crp.removed, crp.removal_reason) == (True, "Removed: Transcription error: 1.2, not 0.3")
    assert api_client.get(url).json()["results"] == body["results"]


def test_put_needs_the_version_and_a_reason_and_refuses_a_stale_one(api_client, patient_sz, draw):
    url = f"/api/v1/patients/{patient_sz.study_id}/labs/{draw['id']}/"
    results = [{"analyte": "anc", "value": "1.2", "unit": "×10⁹/L"}]
    no_version = api_client.put(url, {"collection_date": "2026-03-10", "reason": "Typo", "results": results},
                                format="json")
    assert no_version.status_code == 400 and list(no_version.json()) == ["version"]
    no_reason = api_client.put(url, {"collection_date": "2026-03-10", "version": draw["version"],
                                     "results": results}, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json()["reason"] == ["Give a reason for changing a submitted form."]
    first = api_client.put(url, {"collection_date": "2026-03-10", "version": draw["version"], "reason": "Typo",
                                 "results": results}, format="json")
    assert first.status_code == 200
    stale = api_client.put(url, {"collection_date": "2026-03-10", "version": draw["version"], "reason": "Again",
                                 "results": [{"analyte": "anc", "value": "2", "unit": "×10⁹/L"}]}, format="json")
    assert stale.status_code == 409
    assert Laboratory.objects.get(pk=draw["id"]).version == draw["version"] + 1
    assert LabResult.objects.get(laboratory_id=draw["id"], analyte="anc").value == Decimal("1.2")


def test_put_is_for_those_who_enter_data_at_the_site_and_for_this_patients_draws(api_client, patient_sz,
                                                                                  patient_wx, draw, monitor):
    body = {"collection_date": "2026-03-10", "version": draw["version"], "reason": "Typo",
            "results": [{"analyte": "anc", "value": "1.2", "unit": "×10⁹/L"}]}
    other = api_client.put(f"/api/v1/patients/{patient_wx.study_id}/labs/{draw['id']}/", body, format="json")
    assert other.status_code == 404  # coordinator of SZ: patient WX is not visible
    api_client.force_authenticate(monitor)
    refused = api_client.put(f"/api/v1/patients/{patient_sz.study_id}/labs/{draw['id']}/", body, format="json")
    assert refused.status_code == 403
    assert LabResult.objects.get(laboratory_id=draw["id"], analyte="anc").value == Decimal("0.3")
