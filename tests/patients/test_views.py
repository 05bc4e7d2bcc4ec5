"""Screening, baseline and the patient list in the web pages (Django test client)."""
import datetime

import pytest
from django.utils.html import escape

from patients.models import BaselineCRF, Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def screening_post(protocol, site, **answers):
    data = {"site": site.pk, "screening_date": "2026-03-04", "consent_date": "2026-03-02"}
    for criterion in protocol.eligibility_criteria.all():
        data[f"criterion_{criterion.code}"] = "true" if criterion.kind == "inclusion" else "false"
    data.update({f"criterion_{code}": value for code, value in answers.items()})
    return data


BASELINE = {
    "assessment_date": "2026-03-05", "sex": "M", "birth_date": "1988-09-30", "weight_kg": "64.5", "height_cm": "171",
    "bone_marrow_blasts_percent": "37",
    "mrd_percent": "", "extramedullary_sites": "", "ph_status": "negative", "prior_lines_of_therapy": "3",
    "prior_hsct": "false", "prior_blinatumomab": "true", "prior_inotuzumab": "false",
}


def test_screening_form_lists_the_protocols_criteria_from_the_data(client, protocol, coordinator):
    client.force_login(coordinator)
    html = client.get("/patients/screening/new/").content.decode()
    for criterion in protocol.eligibility_criteria.all():
        assert f'name="criterion_{criterion.code}"' in html
        assert escape(criterion.text) in html


def test_eligible_patient_is_enrolled_then_baseline_computes_bsa(client, protocol, site_sz, coordinator):
    client.force_login(coordinator)
    response = client.post("/patients/screening/new/", screening_post(protocol, site_sz))
    assert response.status_code == 302 and response.url == "/patients/SZ-001/baseline/new/"
    response = client.post("/patients/SZ-001/baseline/new/", BASELINE, follow=True)
    # sqrt(171 × 64.5 / 3600) = sqrt(3.06375) = 1.75036 → 1.75
    assert "body-surface area 1.75 m²" in response.content.decode()
    baseline = BaselineCRF.objects.get(patient__subject_id="SZ-001")
    assert (baseline.status, baseline.age_years, baseline.prior_blinatumomab) == ("submitted", 37, True)


def test_screen_failure_shows_the_reason_and_gets_no_subject_id(client, protocol, site_sz, coordinator):
    client.force_login(coordinator)
    response = client.post("/patients/screening/new/", screening_post(protocol, site_sz, cns3_disease="true"),
                           follow=True)
    html = response.content.decode()
    assert "Screen failure recorded for SCR-SZ-001" in html
    assert "Exclusion criterion present: Active CNS-3 disease" in html
    assert Patient.objects.get().subject_id is None


def test_impossible_weight_is_refused_on_the_field_and_saves_nothing(client, protocol, site_sz, coordinator):
    patient = PatientFactory(site=site_sz, with_baseline=False)
    client.force_login(coordinator)
    response = client.post(f"/patients/{patient.subject_id}/baseline/new/",
                           {**BASELINE, "weight_kg": "400", "bone_marrow_blasts_percent": "130"})
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["weight_kg"] == ["A weight of 400 kg is impossible: it must be between 2 and 250 kg."]
    assert form.errors["bone_marrow_blasts_percent"] == [
        "A blast percentage of 130 % is impossible: it must be between 0 and 100 %."]
    assert not BaselineCRF.objects.exists()


def test_birth_date_after_consent_is_refused_on_the_field(client, protocol, site_sz, coordinator):
    patient = PatientFactory(site=site_sz, with_baseline=False, consent_date=datetime.date(2026, 1, 5))
    client.force_login(coordinator)
    response = client.post(f"/patients/{patient.subject_id}/baseline/new/", {**BASELINE, "birth_date": "2026-02-01"})
    assert response.context["form"].errors["birth_date"] == [
        "The date of birth is after the consent date (2026-01-05)."]


def test_editing_a_submitted_baseline_asks_for_a_reason(client, protocol, site_sz, coordinator):
    patient = PatientFactory(site=site_sz)
    client.force_login(coordinator)
    url = f"/patients/{patient.subject_id}/baseline/"
    response = client.post(url, {**BASELINE, "weight_kg": "66"})
    assert "reason" in response.context["form"].errors
    response = client.post(url, {**BASELINE, "weight_kg": "66", "reason": "Weighed on admission"})
    assert response.status_code == 302
    baseline = BaselineCRF.objects.get()
    assert baseline.history.first().history_change_reason == "Weighed on admission"


def test_monitor_may_read_but_not_screen_or_enter_baseline(client, protocol, site_sz, monitor):
    patient = PatientFactory(site=site_sz)
    client.force_login(monitor)
    assert client.get("/patients/screening/new/").status_code == 403
    assert client.get(f"/patients/{patient.subject_id}/baseline/").status_code == 403
    assert client.get(f"/patients/{patient.subject_id}/").status_code == 200


def test_other_sites_forms_are_404(client, protocol, coordinator, patient_wx):
    client.force_login(coordinator)
    assert client.get(f"/patients/{patient_wx.subject_id}/baseline/").status_code == 404
    assert client.get(f"/patients/{patient_wx.subject_id}/screening/").status_code == 404


# --- the patient list ------------------------------------------------------------------

@pytest.fixture
def many_patients(protocol, site_sz, site_wx):
    statuses = ["enrolled", "infused", "follow_up", "screen_failed"]
    for number in range(1, 61):
        site = site_sz if number % 3 else site_wx
        status = statuses[number % 4]
        if status == "screen_failed":
            PatientFactory(site=site, eligible=False, screening_number=f"SCR-{site.code}-{number:03d}")
        else:  # enrolled, then (for the list's filter) the row's later status
            PatientFactory(site=site, screening_number=f"SCR-{site.code}-{number:03d}",
                           subject_id=f"{site.code}-{number:03d}",
                           **({} if status == "enrolled" else {"status": status}))


def listed(response) -> list[str]:
    return [patient.study_id for patient in response.context["page"]]


def test_list_searches_by_subject_id_and_screening_number(client, data_manager, many_patients):
    client.force_login(data_manager)
    # SZ holds numbers not divisible by 3; 55 and 59 are screen failures (no subject ID), listed last.
    assert listed(client.get("/patients/?q=SZ-05")) == [
        "SZ-050", "SZ-052", "SZ-053", "SZ-056", "SZ-058", "SCR-SZ-055", "SCR-SZ-059"]
    assert listed(client.get("/patients/?q=wx-060")) == ["WX-060"]


def test_list_filters_by_site_and_status(client, data_manager, many_patients):
    client.force_login(data_manager)
    found = listed(client.get("/patients/?site=WX&status=infused"))
    # WX holds numbers divisible by 3; infused is number % 4 == 1 → 9, 21, 33, 45, 57.
    assert found == ["WX-009", "WX-021", "WX-033", "WX-045", "WX-057"]


def test_list_sorts_both_ways_and_paginates(client, data_manager, many_patients):
    client.force_login(data_manager)
    first_page = client.get("/patients/?sort=-subject&per_page=25")
    assert first_page.context["page"].paginator.num_pages == 3
    assert listed(first_page)[:2] == ["WX-060", "WX-057"]
    last_page = client.get("/patients/?sort=-subject&per_page=25&page=3")
    assert len(listed(last_page)) == 10


def test_each_row_links_to_the_patients_own_page(client, data_manager, many_patients):
    import re

    from patients.models import Patient

    client.force_login(data_manager)
    links = re.findall(r'<td><a href="([^"]+)">([^<]+)</a></td>', client.get("/patients/").content.decode())
    assert len(links) == 50
    for href, study_id in links:
        assert href == Patient.objects.by_study_id(study_id).get().get_absolute_url()


def test_coordinator_lists_only_own_site(client, coordinator, many_patients):
    client.force_login(coordinator)
    response = client.get("/patients/?per_page=100")
    assert response.context["page"].paginator.count == 40
    assert {patient.site.code for patient in response.context["page"]} == {"SZ"}


@pytest.mark.parametrize("per_page", [25, 100])
def test_list_query_count_does_not_grow_with_the_page(client, coordinator, many_patients,
                                                      django_assert_max_num_queries, per_page):
    client.force_login(coordinator)
    # 10, and 3 more whatever the page: the progress strip's forms and visits (two queries) and the
    # menu's open-queries badge (one).
    with django_assert_max_num_queries(13):
        response = client.get(f"/patients/?per_page={per_page}&sort=consent")
    assert len(listed(response)) == min(per_page, 40)
