"""A monitor queries a value, the coordinator corrects it, the investigator signs — in the browser."""
import datetime
from decimal import Decimal

import pytest

from crf.services import crf_save
from tests.conftest import screenshot
from tests.crfapp.models import SampleForm
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_query_correct_and_sign_in_the_browser(page, login, patient_sz, protocol, monitor, coordinator, investigator):
    form = crf_save(crf=SampleForm(patient=patient_sz, protocol=protocol, assessment_date=datetime.date(2026, 2, 1),
                                   weight_kg=Decimal("62.5"), performance_status="1"), by=coordinator)
    url = f"/monitoring/crf/crfapp.sampleform/{form.pk}/"

    login(monitor.username)
    page.goto(url)
    page.select_option("select[name=field]", "weight_kg")
    page.fill("textarea[name=text]", "Nursing chart says 65.2 kg")
    page.click("text=Raise query")
    assert "Query raised." in page.inner_text("main")
    screenshot(page, "monitoring-crf-detail-monitor")
    page.click("text=Log out")

    login(coordinator.username)
    page.goto(url)
    page.click("[data-testid=crf-values] a")
    page.fill("textarea[name=text]", "Transcription error")
    page.check("input[name=correct_value]")
    page.fill("input[name=new_value]", "65.2")
    page.fill("input[name=reason]", "Corrected from nursing chart")
    page.click("text=Send answer")
    assert "Answered and corrected the value" in page.inner_text("main")
    screenshot(page, "monitoring-query-answered")
    page.click("text=Log out")

    login(investigator.username)
    page.goto(url)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign')")
    signatures = page.get_by_test_id("signatures").inner_text()
    assert "Reviewed and approved" in signatures
    screenshot(page, "monitoring-crf-signed")
    assert SampleForm.objects.get(pk=form.pk).weight_kg == Decimal("65.2")
