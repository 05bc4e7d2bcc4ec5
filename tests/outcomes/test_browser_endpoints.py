"""An investigator opens the endpoints page and sees the CR rate and the figures."""
import datetime

import pytest

from outcomes.services import follow_up_save, response_assessment_save
from tests.conftest import screenshot
from tests.factories import PatientFactory, infuse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLEAR = {"bone_marrow_blasts_percent": 1, "circulating_blasts": False, "extramedullary_disease": False,
         "anc_per_ul": 1500, "platelets_per_ul": 150_000}


def test_investigator_sees_the_cr_rate_and_the_survival_figure(login, page, protocol, site_sz, investigator,
                                                               celery_eager):
    infusion = datetime.date(2025, 3, 1)
    for number, blasts in enumerate([1, 2, 3, 40], start=1):  # three CRs, one non-responder
        patient = infuse(PatientFactory(site=site_sz, protocol=protocol, consent_date=datetime.date(2025, 2, 1)),
                         by=investigator, day_0=infusion)
        response_assessment_save(patient=patient, by=investigator, values={
            "assessment_date": infusion + datetime.timedelta(days=28), **CLEAR,
            "bone_marrow_blasts_percent": blasts})
        follow_up_save(patient=patient, by=investigator, values={
            "contact_date": infusion + datetime.timedelta(days=100 * number),
            "follow_up_status": "dead" if number == 4 else "alive_in_remission",
            **({"death_date": infusion + datetime.timedelta(days=400)} if number == 4 else {})})

    login(investigator.username)
    page.click("nav >> text=Endpoints")
    assert page.locator("h1").inner_text().startswith("Endpoints")
    cr_row = page.get_by_test_id("cr-rate").inner_text()
    assert "3 / 4" in cr_row and "75.0 %" in cr_row
    figure = page.get_by_test_id("figure-survival")
    figure.scroll_into_view_if_needed()
    page.wait_for_function(
        "document.querySelector('[data-testid=figure-survival]').complete", timeout=30_000)
    assert figure.evaluate("img => img.naturalWidth") > 500  # the PNG loaded (an error page gives 0)
    screenshot(page, "outcomes-endpoints")
    page.check("text=Censor at allogeneic HSCT")
    page.click("text=Compute")
    assert "Censored at allogeneic HSCT" in page.inner_text("main")
    # Let the figures finish before the live server's database is flushed (SQLite locks otherwise).
    page.wait_for_load_state("networkidle", timeout=60_000)  # four figures, on a busy machine


def test_coordinator_sees_the_derived_response_before_and_after_saving(login, page, protocol, site_sz, coordinator,
                                                                      celery_eager):
    patient = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator,
                     day_0=datetime.date(2026, 1, 20))
    login(coordinator.username)
    page.goto(f"/outcomes/patients/{patient.subject_id}/response-assessments/new/")
    page.fill("input[name=assessment_date]", "2026-02-17")
    page.fill("input[name=bone_marrow_blasts_percent]", "3")
    page.select_option("select[name=circulating_blasts]", "false")
    page.select_option("select[name=extramedullary_disease]", "false")
    page.fill("input[name=anc_per_ul]", "600")
    page.fill("input[name=platelets_per_ul]", "120000")
    page.click("button[name=preview]")
    assert "(CRi)" in page.get_by_test_id("derived-response").inner_text()
    screenshot(page, "outcomes-response-preview")
    page.click("button[name=save]")
    assert "(CRi)" in page.get_by_test_id("stored-response").inner_text()
    screenshot(page, "outcomes-response-saved")
