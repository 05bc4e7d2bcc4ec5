"""POST /api/v1/patients/: screening, enrollment and baseline through the API
(api.md), with the same checks and messages as the forms."""
import pytest

from patients.models import Patient

pytestmark = pytest.mark.django_db


def body(protocol, **changes):
    eligibility = {c.code: c.kind == "inclusion" for c in protocol.eligibility_criteria.all()}
    data = {
        "site": "SZ", "sex": "F", "birth_date": "1994-07-01", "consent_date": "2026-02-10",
        "screening_date": "2026-02-11", "weight_kg": "70", "height_cm": "170", "eligibility": eligibility,
    }
    for key, value in changes.items():
        if key == "eligibility":
            data["eligibility"] = {**eligibility, **value}
        else:
            data[key] = value
    return data


def test_eligible_patient_is_enrolled_and_answers_subject_id_and_bsa(api_client, protocol, coordinator):
    api_client.force_authenticate(coordinator)
    response = api_client.post("/api/v1/patients/", body(protocol), format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    # sqrt(170 × 70 / 3600) = 1.818 → 1.82
    assert (answer["subject_id"], answer["status"], answer["bsa_m2"]) == ("SZ-001", "enrolled", "1.82")
    assert (answer["sex"], answer["birth_date"], answer["consent_date"]) == ("F", "1994-07-01", "2026-02-10")
    assert api_client.get("/api/v1/patients/SZ-001/").json()["bsa_m2"] == "1.82"


def test_screen_failure_answers_its_screening_number(api_client, protocol, coordinator):
    api_client.force_authenticate(coordinator)
    response = api_client.post(
        "/api/v1/patients/", body(protocol, eligibility={"rr_cd19_ball": False}), format="json")
    answer = response.json()
    assert (response.status_code, answer["subject_id"], answer["status"]) == (201, "SCR-SZ-001", "screen_failed")
    assert answer["screen_failure_reason"].startswith("Inclusion criterion not met: Relapsed or refractory")
    assert api_client.get("/api/v1/patients/SCR-SZ-001/").json()["status"] == "screen_failed"


@pytest.mark.parametrize(
    "changes, field, fragment",
    [
        ({"weight_kg": "0"}, "weight_kg", "A weight of 0 kg is impossible"),
        ({"weight_kg": "400"}, "weight_kg", "A weight of 400 kg is impossible"),
        ({"bone_marrow_blasts_percent": "130"}, "bone_marrow_blasts_percent", "130 % is impossible"),
        ({"birth_date": "2026-03-01"}, "birth_date", "after the consent date (2026-02-10)"),
        ({"consent_date": "2099-01-01", "screening_date": "2099-01-02"}, "consent_date", "in the future"),
        ({"eligibility": {"hiv": False}}, "eligibility", "Unknown eligibility criteria: hiv"),
        ({"site": "XX"}, "site", "No site"),
        ({"sex": "X"}, "sex", "not a valid choice"),
    ],
)
def test_impossible_input_is_400_with_the_field_named_and_creates_nothing(api_client, protocol, coordinator,
                                                                          site_wx, changes, field, fragment):
    api_client.force_authenticate(coordinator)
    response = api_client.post("/api/v1/patients/", body(protocol, **changes), format="json")
    assert response.status_code == 400
    assert any(fragment in message for message in response.json()[field]), response.json()
    assert not Patient.objects.exists()


def test_full_enrollment_is_a_400_with_the_reason(api_client, protocol, coordinator):
    protocol.planned_enrollment = 1
    protocol.save()
    api_client.force_authenticate(coordinator)
    assert api_client.post("/api/v1/patients/", body(protocol), format="json").status_code == 201
    response = api_client.post("/api/v1/patients/", body(protocol), format="json")
    assert response.status_code == 400
    assert response.json()["eligibility"] == [
        "Enrollment is closed: the protocol plans 1 patients and 1 are already enrolled."]
    assert Patient.objects.count() == 1


def test_monitor_may_not_screen(api_client, protocol, monitor):
    api_client.force_authenticate(monitor)
    assert api_client.post("/api/v1/patients/", body(protocol), format="json").status_code == 403
    assert not Patient.objects.exists()


def test_coordinator_may_not_screen_at_another_site(api_client, protocol, coordinator, site_wx):
    api_client.force_authenticate(coordinator)
    response = api_client.post("/api/v1/patients/", body(protocol, site="WX"), format="json")
    assert response.status_code == 400 and "site" in response.json()
    assert not Patient.objects.exists()
