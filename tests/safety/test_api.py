"""/api/v1/patients/{subject_id}/adverse-events/: the same grades and checks as the forms."""
import pytest

from safety.models import AdverseEvent, CrsAssessment, IcansAssessment

pytestmark = pytest.mark.django_db


def _url(patient):
    return f"/api/v1/patients/{patient.study_id}/adverse-events/"


@pytest.fixture
def coordinator_api(api_client, coordinator):
    api_client.force_authenticate(coordinator)
    return api_client


def test_crs_post_answers_the_computed_grade_and_ignores_a_typed_one(coordinator_api, infused_patient):
    body = {"kind": "crs", "assessment_date": "2026-02-02", "max_temperature_c": 39.1, "fever_masked": False,
            "hypotension": "none", "hypoxia": "high_flow", "grade": 1}
    response = coordinator_api.post(_url(infused_patient), body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["grade"] == 3
    assert response.json()["study_day"] == 1
    assert CrsAssessment.objects.get().grade == 3


def test_icans_post_with_ice_score_and_null_ice_for_unarousable(coordinator_api, infused_patient):
    base = {"kind": "icans", "assessment_date": "2026-02-05", "consciousness": "normal", "seizure": "none",
            "motor_weakness": False, "cerebral_edema": "none"}
    response = coordinator_api.post(_url(infused_patient), {**base, "ice_score": 8}, format="json")
    assert (response.status_code, response.json()["grade"]) == (201, 1)
    response = coordinator_api.post(_url(infused_patient), {**base, "ice_score": None,
                                                            "consciousness": "unarousable"}, format="json")
    assert (response.status_code, response.json()["grade"], response.json()["unable_to_assess"]) == (201, 4, True)
    assert list(IcansAssessment.objects.order_by("pk").values_list("grade", flat=True)) == [1, 4]


def test_child_icans_by_capd_items(coordinator_api, infused_child):
    body = {"kind": "icans", "assessment_date": "2026-02-05", "consciousness": "normal", "seizure": "none",
            "motor_weakness": False, "cerebral_edema": "none", "capd_items": [1, 1, 0, 0, 1, 0, 0, 1]}
    response = coordinator_api.post(_url(infused_child), body, format="json")
    assert response.status_code == 201, response.json()
    assert (response.json()["capd_score"], response.json()["grade"]) == (4, 1)


def test_bad_input_is_a_400_naming_each_field(coordinator_api, infused_patient):
    response = coordinator_api.post(_url(infused_patient), {"kind": "crs", "assessment_date": "2026-01-20",
                                                            "hypotension": "lots", "hypoxia": "none"}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"hypotension"}
    response = coordinator_api.post(_url(infused_patient), {"kind": "crs", "assessment_date": "2026-01-20",
                                                            "hypotension": "none", "hypoxia": "none"}, format="json")
    assert response.status_code == 400
    assert "before the infusion" in response.json()["assessment_date"][0]
    assert coordinator_api.post(_url(infused_patient), {"kind": "xyz"}, format="json").json() == {
        "kind": ["Give `kind`: `ae`, `crs` or `icans`."]}
    assert CrsAssessment.objects.count() == 0


def test_ae_post_and_get_lists_every_kind_by_date(coordinator_api, infused_patient):
    body = {"kind": "ae", "term": "Hypotension", "grade": 3, "onset_date": "2026-02-02", "serious": True,
            "seriousness_criteria": ["hospitalisation"], "aware_at": "2026-02-02T09:00:00+08:00",
            "relatedness_cart": "probable", "relatedness_lymphodepletion": "unlikely", "action_taken": "treatment",
            "outcome": "recovering"}
    response = coordinator_api.post(_url(infused_patient), body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["system_organ_class"] == "Vascular disorders"
    assert AdverseEvent.objects.get().seriousness_criteria == ["hospitalisation"]
    coordinator_api.post(_url(infused_patient), {"kind": "crs", "assessment_date": "2026-02-01",
                                                 "max_temperature_c": 38.2, "hypotension": "none",
                                                 "hypoxia": "none"}, format="json")
    listed = coordinator_api.get(_url(infused_patient)).json()
    assert [(entry["kind"], entry.get("grade")) for entry in listed] == [("crs", 1), ("ae", 3)]
    only_crs = coordinator_api.get(_url(infused_patient), {"kind": "crs"}).json()
    assert [entry["kind"] for entry in only_crs] == ["crs"]


def test_ae_hard_check_is_a_400_on_the_field(coordinator_api, infused_patient):
    body = {"kind": "ae", "term": "Sepsis", "grade": 5, "onset_date": "2026-02-02", "serious": False,
            "relatedness_cart": "possible", "relatedness_lymphodepletion": "possible", "outcome": "fatal"}
    response = coordinator_api.post(_url(infused_patient), body, format="json")
    assert response.status_code == 400
    assert {"death_date", "seriousness_criteria"} <= set(response.json())


def test_monitor_reads_but_may_not_post_and_other_sites_are_404(api_client, monitor, coordinator_wx,
                                                                infused_patient):
    api_client.force_authenticate(monitor)
    assert api_client.get(_url(infused_patient)).status_code == 200
    assert api_client.post(_url(infused_patient), {"kind": "crs"}, format="json").status_code == 403
    api_client.force_authenticate(coordinator_wx)
    assert api_client.get(_url(infused_patient)).status_code == 404
