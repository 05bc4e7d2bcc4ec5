"""A coordinator records a grade 3 CRS and sees the computed grade before saving."""
import pytest

from safety.models import CrsAssessment
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_checks_then_saves_a_grade_3_crs(login, coordinator, infused_patient):
    page = login(coordinator.username)
    page.goto(f"/safety/{infused_patient.study_id}/crs/new/")
    page.fill("input[name=assessment_date]", "2026-02-03")
    page.fill("input[name=max_temperature_c]", "39.4")
    page.check("input[name=hypotension][value=one_vasopressor]")
    page.check("input[name=hypoxia][value=low_flow]")
    page.fill("input[name=tocilizumab_dose_mg]", "560")
    page.fill("input[name=tocilizumab_given_on]", "2026-02-03")
    page.click("button[value=check]")
    page.wait_for_load_state()
    assert page.get_by_test_id("computed-grade").inner_text() == "CRS grade 3"
    assert "hypotension" in page.get_by_test_id("grade-preview").inner_text()
    assert CrsAssessment.objects.count() == 0  # shown, not yet saved
    screenshot(page, "safety-crs-grade-preview")
    page.get_by_test_id("confirm-save").click()
    page.wait_for_load_state()
    assert "CRS assessment saved: ASTCT grade 3." in page.inner_text("main")
    assert CrsAssessment.objects.get().grade == 3
    assert "Worst grade 3 (day 2)" in page.get_by_test_id("patient-worst-grades").inner_text()
    screenshot(page, "safety-patient-page")
    page.goto("/safety/")
    assert "1/1 (100.0 %)" in page.get_by_test_id("incidence-table").inner_text()
    screenshot(page, "safety-summary")


def test_coordinator_records_a_serious_ae_and_sees_its_reporting_clock(login, coordinator, infused_patient):
    page = login(coordinator.username)
    page.goto(f"/safety/{infused_patient.study_id}/adverse-events/new/")
    page.fill("input[name=term]", "Cytokine release syndrome")
    page.select_option("select[name=grade]", "3")
    page.fill("input[name=onset_date]", "2026-02-03")
    page.check("input[name=serious]")
    page.check("input[name=seriousness_criteria][value=hospitalisation]")
    page.fill("input[name=aware_at]", "2026-02-03T22:15")
    page.select_option("select[name=relatedness_cart]", "definite")
    page.select_option("select[name=relatedness_lymphodepletion]", "not_related")
    page.select_option("select[name=action_taken]", "treatment")
    page.select_option("select[name=outcome]", "recovering")
    page.click("text=Save adverse event")
    page.wait_for_load_state()
    clock = page.get_by_test_id("sae-clock").inner_text()
    assert "initial report due 2026-02-04 22:15" in clock
    assert "Onset study day 2." in page.get_by_test_id("ae-study-days").inner_text()
    screenshot(page, "safety-ae-sae-clock")


def test_child_icans_form_offers_capd(login, coordinator, infused_child):
    page = login(coordinator.username)
    page.goto(f"/safety/{infused_child.study_id}/icans/new/")
    assert page.locator("select[name=capd_item_8]").count() == 1
    assert page.locator("input[name=ice_orientation]").count() == 0
    screenshot(page, "safety-icans-capd")


def test_changing_an_input_after_the_check_withdraws_the_confirm_button(login, coordinator, infused_patient):
    page = login(coordinator.username)
    page.goto(f"/safety/{infused_patient.study_id}/crs/new/")
    page.fill("input[name=assessment_date]", "2026-02-03")
    page.fill("input[name=max_temperature_c]", "38.4")
    page.click("button[value=check]")
    page.wait_for_load_state()
    assert page.get_by_test_id("computed-grade").inner_text() == "CRS grade 1"
    page.check("input[name=hypoxia][value=high_flow]")
    assert page.get_by_test_id("confirm-save").is_hidden()
    assert "check the grade again" in page.get_by_test_id("grade-preview").inner_text()
    page.click("button[value=check]")
    page.wait_for_load_state()
    assert page.get_by_test_id("computed-grade").inner_text() == "CRS grade 3"
