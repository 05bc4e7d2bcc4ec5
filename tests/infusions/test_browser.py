import pytest

from monitoring.models import ProtocolDeviation
from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_coordinator_is_stopped_by_an_out_of_range_cart_dose_gives_a_reason_and_sees_the_deviation(
        lymphodepleted, coordinator, login):
    page = login(coordinator.username)
    study_id = lymphodepleted.subject_id
    page.goto(f"/patients/{study_id}/infusion/new/")
    page.fill("input[name=product_lot]", "SZ-CART-0042")
    page.fill("input[name=manufacture_date]", "2026-01-20")
    page.fill("input[name=total_viable_cells_million]", "2000")  # ×10⁶: 2 000 000 000 viable cells
    page.fill("input[name=viability_percent]", "92.5")
    page.fill("input[name=car_positive_percent]", "50")
    page.fill("input[name=fraction_1_date]", "2026-02-06")
    # The dose per kg follows the typing (static/infusions/dose-per-kg.js), before anything is sent.
    dose_live = page.locator("#dose-per-kg")
    assert "— ×10⁶ cells/kg" in dose_live.inner_text()
    page.fill("input[name=fraction_1_cells_million]", "299.4")
    page.fill("input[name=weight_kg]", "58")  # 299.4 / 58 = 5.1620…
    assert dose_live.inner_text() == "5.16 ×10⁶ cells/kg — within range (protocol 5.00–10.00)"
    page.fill("input[name=weight_kg]", "60")  # 299.4 / 60 = 4.99
    assert dose_live.inner_text() == "4.99 ×10⁶ cells/kg — below range (protocol 5.00–10.00)"
    page.click("button[name=save]")
    warning = page.get_by_test_id("soft-checks")
    assert "CAR-T dose 4.99 ×10⁶ cells/kg is below the protocol's 5.00–10.00 ×10⁶ cells/kg" in warning.inner_text()
    assert "4.99 ×10⁶ cells/kg" in page.get_by_test_id("dose").inner_text()
    screenshot(page, "infusion_soft_check")
    assert not ProtocolDeviation.objects.exists()
    assert page.input_value("input[name=fraction_1_cells_million]") == "299.4"  # as typed, in ×10⁶

    page.check("input[name=acknowledge_deviation]")
    page.fill("textarea[name=deviation_reason]", "Manufacturing yield allowed only this dose")
    page.click("button[name=save]")
    assert "4.99 ×10⁶ cells/kg" in page.get_by_test_id("dose").inner_text()
    assert "Below range" in page.get_by_test_id("dose").inner_text()
    screenshot(page, "infusion_detail")

    page.goto("/deviations/")
    row = page.get_by_test_id("deviations").locator("tbody tr").first
    text = row.inner_text()
    assert study_id in text and "cart_dose_range" in text and "4.99 ×10⁶/kg" in text
    assert "Manufacturing yield allowed only this dose" in text and "CAR-T product and infusion" in text
    screenshot(page, "deviation_list")

    # The infusion scheduled the follow-up visits (tasks run in-process here).
    page.goto(f"/patients/{study_id}/visits/")
    schedule = page.get_by_test_id("visit-schedule").inner_text()
    assert "Day 1" in schedule and "2026-02-07 (day 1)" in schedule and "Month 36" in schedule
    page.click("text=Day 7")
    expected = page.get_by_test_id("expected-forms").inner_text()
    assert "CRS assessment" in expected and "ICANS assessment" in expected and "Adverse events" in expected
    screenshot(page, "visit_detail")
    # The monitor's visit report is one click from the visit page.
    report = page.request.get(page.get_by_test_id("visit-report").get_attribute("href"))
    assert report.headers["content-type"] == "application/pdf"
    from io import BytesIO

    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(BytesIO(report.body())).pages)
    assert study_id in text and "Day 7" in text
