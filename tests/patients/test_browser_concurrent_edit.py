"""Two coordinators of one site edit the same Baseline CRF at once, in two
browser sessions against the live server on PostgreSQL: the second save is
refused with what the first changed, and the first's value stays."""
from decimal import Decimal

import pytest
from django.conf import settings

from patients.models import BaselineCRF
from tests.conftest import screenshot
from tests.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
                       reason="needs PostgreSQL: the conflict check reads the stored row under SELECT … FOR UPDATE"),
]


def _session(browser, live_server, username):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return context, page


def test_second_coordinator_saving_a_stale_baseline_is_refused_and_sees_the_change(
        browser, live_server, patient_sz, coordinator, site_sz):
    other = UserFactory(username="coord_sz_2")
    MembershipFactory(user=other, site=site_sz, role="coordinator")
    url = f"/patients/{patient_sz.study_id}/baseline/"
    first_context, first = _session(browser, live_server, "coord_sz")
    second_context, second = _session(browser, live_server, "coord_sz_2")
    try:
        first.goto(url)
        second.goto(url)  # both have the form open on version 1

        first.fill("input[name=weight_kg]", "72")
        first.fill("textarea[name=reason]", "Weighed again")
        first.click("form[data-testid=baseline-form] button[type=submit]")
        first.wait_for_load_state()

        second.fill("input[name=weight_kg]", "75")
        second.fill("textarea[name=reason]", "Transcribed from the chart")
        second.click("form[data-testid=baseline-form] button[type=submit]")
        second.wait_for_load_state()

        body = second.locator("body").inner_text()
        assert "Not saved:" in body and "(coord_sz) saved this Baseline" in body
        assert "Weight (kg): 70.0 → 72.0" in body
        assert second.input_value("input[name=weight_kg]") == "75"
        screenshot(second, "baseline_conflict")
    finally:
        first_context.close()
        second_context.close()
    baseline = BaselineCRF.objects.get(patient=patient_sz)
    assert (baseline.weight_kg, baseline.version) == (Decimal("72.0"), 2)
    assert list(baseline.history.filter(history_type="~").values_list("history_change_reason", flat=True)) == [
        "Weighed again"]
