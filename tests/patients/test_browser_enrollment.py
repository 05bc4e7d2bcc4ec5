"""A coordinator takes a patient from screening to enrollment and baseline in
the browser, then reads the patient's timeline."""
import pytest

from patients.models import BaselineCRF, Patient
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def answer_all_eligible(page, protocol):
    for criterion in protocol.eligibility_criteria.all():
        value = "true" if criterion.kind == "inclusion" else "false"
        page.check(f"input[name=criterion_{criterion.code}][value={value}]")


def test_coordinator_screens_enrolls_and_enters_baseline(login, protocol, site_sz, coordinator):
    page = login(coordinator.username)
    page.goto("/patients/")
    page.click("text=Screen a new patient")
    page.fill("input[name=screening_date]", "2026-03-04")
    page.fill("input[name=consent_date]", "2026-03-02")
    answer_all_eligible(page, protocol)
    screenshot(page, "screening-form")
    page.click("button:has-text('Save screening')")
    assert "Eligible: enrolled as SZ-001" in page.inner_text("main")
    assert page.url.endswith("/patients/SZ-001/baseline/new/")

    # An impossible weight is refused on the field; nothing is saved.
    page.select_option("select[name=sex]", "F")
    page.fill("input[name=birth_date]", "1996-11-20")
    page.fill("input[name=weight_kg]", "400")
    page.fill("input[name=height_cm]", "158")
    page.fill("input[name=bone_marrow_blasts_percent]", "62")
    page.select_option("select[name=ph_status]", "positive")
    page.fill("input[name=prior_lines_of_therapy]", "2")
    for name, value in (("prior_hsct", "false"), ("prior_blinatumomab", "true"), ("prior_inotuzumab", "false")):
        page.select_option(f"select[name={name}]", value)
    page.click("button:has-text('Save baseline')")
    assert "A weight of 400 kg is impossible" in page.get_by_test_id("baseline-form").inner_text()
    screenshot(page, "baseline-refused")
    assert not BaselineCRF.objects.exists()

    page.fill("input[name=weight_kg]", "52")
    page.click("button:has-text('Save baseline')")
    # sqrt(158 × 52 / 3600) = sqrt(2.28222) = 1.51070 → 1.51
    assert "body-surface area 1.51 m²" in page.inner_text("main")
    assert page.get_by_test_id("bsa").inner_text() == "1.51 m²"
    table = page.get_by_test_id("timeline-table").inner_text()
    assert "Informed consent signed" in table and "Enrolled as SZ-001" in table and "Baseline" in table
    screenshot(page, "timeline-enrolled")
    patient = Patient.objects.get(subject_id="SZ-001")
    assert (patient.status, patient.baseline.age_years) == ("enrolled", 29)


def test_coordinator_records_a_screen_failure_with_its_reason(login, protocol, site_sz, coordinator):
    page = login(coordinator.username)
    page.goto("/patients/screening/new/")
    page.fill("input[name=screening_date]", "2026-03-04")
    page.fill("input[name=consent_date]", "2026-03-02")
    answer_all_eligible(page, protocol)
    page.check("input[name=criterion_uncontrolled_infection][value=true]")
    page.click("button:has-text('Save screening')")
    summary = page.get_by_test_id("patient-summary").inner_text()
    assert "SCR-SZ-001" in summary and "not enrolled" in summary
    assert "Exclusion criterion present: Active uncontrolled bacterial, fungal or viral infection" in summary
    screenshot(page, "timeline-screen-failure")


def test_demo_patient_timeline_and_list(login):
    import datetime

    from django.core.management import call_command

    call_command("load_demo", as_of=datetime.date(2026, 11, 24))
    page = login("investigator", "demo-cart-2026")
    page.goto("/patients/?status=follow_up&sort=-day0")
    rows = page.get_by_test_id("patient-list").locator("tbody tr")
    assert rows.count() == 10  # SZ patients in follow-up in the demo trial
    screenshot(page, "patient-list")
    page.goto("/patients/SZ-010/")
    assert page.get_by_test_id("timeline-axis").locator("circle").count() >= 4
    screenshot(page, "timeline-demo")
    page.emulate_media(media="print")
    screenshot(page, "timeline-demo-print")
