import pytest

from infusions.models import Lymphodepletion
from monitoring.models import ProtocolDeviation

pytestmark = pytest.mark.django_db

COURSE = {
    "start_date": "2026-02-01", "weight_kg": "63.4", "height_cm": "170",
    **{f"{agent}_day_m{day}_mg": mg for day in (5, 4, 3)
       for agent, mg in (("fludarabine", "52"), ("cyclophosphamide", "519"))},
}


def test_calculate_shows_bsa_and_planned_mg_without_saving(client, coordinator, patient_sz):
    client.force_login(coordinator)
    page = client.post(f"/patients/{patient_sz.subject_id}/lymphodepletion/new/",
                       {"start_date": "2026-02-01", "weight_kg": "84", "height_cm": "180", "calculate": "1"})
    html = page.content.decode()
    assert "2.05 m²" in html  # sqrt(180 × 84 / 3600) = 2.049
    assert "62 mg" in html and "615 mg" in html  # 30 × 2.05 = 61.5 → 62; 300 × 2.05 = 615
    assert "rounded half up to the nearest whole mg" in html
    assert not Lymphodepletion.objects.exists()


def test_missed_day_stops_the_form_until_acknowledged_with_a_reason(client, coordinator, patient_sz):
    client.force_login(coordinator)
    url = f"/patients/{patient_sz.subject_id}/lymphodepletion/new/"
    data = dict(COURSE, cyclophosphamide_day_m3_mg="", save="1")
    html = client.post(url, data).content.decode()
    assert "Day −3 cyclophosphamide: no dose recorded (plan 519 mg)." in html
    assert not Lymphodepletion.objects.exists()
    response = client.post(url, dict(data, acknowledge_deviation="on", deviation_reason="Patient vomiting, held"))
    assert response.status_code == 302
    assert ProtocolDeviation.objects.get().rule == "lymphodepletion_dose_missed"
    detail = client.get(response.url).content.decode()
    assert "1.73 m²" in detail and "Missed" in detail and "Patient vomiting, held" in detail


def test_monitor_cannot_open_the_entry_form(client, monitor, patient_sz):
    client.force_login(monitor)
    assert client.get(f"/patients/{patient_sz.subject_id}/lymphodepletion/new/").status_code == 403
    assert client.get(f"/patients/{patient_sz.subject_id}/lymphodepletion/").status_code == 200


def test_deviation_list_is_scoped_to_visible_sites_and_filterable(client, coordinator, coordinator_wx, monitor,
                                                                  patient_sz, patient_wx):
    for patient, user in ((patient_sz, coordinator), (patient_wx, coordinator_wx)):
        client.force_login(user)
        client.post(f"/patients/{patient.subject_id}/lymphodepletion/new/",
                    dict(COURSE, fludarabine_day_m5_mg="40", save="1", acknowledge_deviation="on",
                         deviation_reason=f"Reason at {patient.site.code}"))
    assert ProtocolDeviation.objects.count() == 2
    client.force_login(monitor)  # monitors SZ only
    html = client.get("/deviations/").content.decode()
    assert "Reason at SZ" in html and "Reason at WX" not in html
    assert "40 mg given, plan 52 mg" in html and "lymphodepletion_dose_tolerance" in html
    assert "No protocol deviations" in client.get("/deviations/?patient=SZ-999").content.decode()
