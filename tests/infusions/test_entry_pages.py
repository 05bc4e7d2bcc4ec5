"""The lymphodepletion and infusion pages ask for as little typing as they can and say nothing misleading."""
import re
from decimal import Decimal

import pytest

from infusions.models import Lymphodepletion
from patients.models import BaselineCRF

pytestmark = pytest.mark.django_db

PLAN = {"start_date": "2026-02-01", "weight_kg": "63.4", "height_cm": "170"}  # 1.73 m²: 52 mg and 519 mg


def _cell_texts(html: str, name: str) -> str:
    """The text of the table cell that holds the input `name`."""
    return re.search(rf'name="{name}".*?</td>', html, re.S).group(0)


def test_a_new_course_starts_from_the_baseline_weight_and_height(client, coordinator, patient_sz):
    baseline = BaselineCRF.objects.get(patient=patient_sz)  # as stored (70.0 kg), not as the factory typed it
    client.force_login(coordinator)
    html = client.get(f"/patients/{patient_sz.subject_id}/lymphodepletion/new/").content.decode()
    assert re.search(rf'name="weight_kg"[^>]*value="{baseline.weight_kg}"', html)
    assert re.search(rf'name="height_cm"[^>]*value="{baseline.height_cm}"', html)


def test_calculating_the_plan_does_not_call_empty_doses_missed(client, coordinator, patient_sz):
    client.force_login(coordinator)
    html = client.post(f"/patients/{patient_sz.subject_id}/lymphodepletion/new/",
                       dict(PLAN, calculate="1")).content.decode()
    assert "52 mg" in html and "519 mg" in html
    assert "Missed" not in html
    # No deviation yet, so no acknowledgement box.
    assert 'name="acknowledge_deviation"' not in html


def test_given_as_planned_fills_one_day_or_every_day_without_saving(client, coordinator, patient_sz):
    client.force_login(coordinator)
    url = f"/patients/{patient_sz.subject_id}/lymphodepletion/new/"
    one_day = client.post(url, dict(PLAN, as_planned="-4")).content.decode()
    assert 'value="52"' in _cell_texts(one_day, "fludarabine_day_m4_mg")
    assert 'value="519"' in _cell_texts(one_day, "cyclophosphamide_day_m4_mg")
    assert 'value=' not in _cell_texts(one_day, "fludarabine_day_m5_mg").split(">")[0]
    every_day = client.post(url, dict(PLAN, as_planned="all")).content.decode()
    for day in (5, 4, 3):
        assert 'value="52"' in _cell_texts(every_day, f"fludarabine_day_m{day}_mg")
        assert "Within tolerance" in _cell_texts(every_day, f"cyclophosphamide_day_m{day}_mg")
    assert not Lymphodepletion.objects.exists()


# --- The infusion page takes cell counts in ×10⁶ cells ------------------------------------------------------

INFUSION_PAGE = {"product_lot": "SZ-CART-0042", "manufacture_date": "2026-01-20",
                 "total_viable_cells_million": "2000", "viability_percent": "92.5", "car_positive_percent": "50",
                 "weight_kg": "60", "fraction_1_date": "2026-02-06", "fraction_1_cells_million": "300.5"}


def _dose_shown(html: str) -> str:
    from lxml import html as lxml_html

    return " ".join(lxml_html.fromstring(html).get_element_by_id("dose-per-kg").text_content().split())


def test_cells_typed_in_millions_are_stored_as_whole_cells(client, coordinator, lymphodepleted):
    """300.5 typed is 300 500 000 cells stored (and 2000 is a lot of 2 000 000 000); 300.5 / 60 kg =
    5.0083 → 5.01 ×10⁶/kg. Storing the typed number (240.5 cells), or multiplying twice, shows here."""
    from infusions.models import Infusion

    client.force_login(coordinator)
    response = client.post(f"/patients/{lymphodepleted.subject_id}/infusion/new/", {**INFUSION_PAGE, "save": "1"})
    assert response.status_code == 302, response.content.decode()[:2000]
    infusion = Infusion.objects.get(patient=lymphodepleted)
    assert (infusion.total_viable_cells, infusion.cart_cells_infused) == (2_000_000_000, 300_500_000)
    assert [f.cart_cells_infused for f in infusion.fractions.all()] == [300_500_000]
    assert str(infusion.dose_cells_per_kg.quantize(Decimal("1"))) == "5008333"  # 300 500 000 / 60
    # Opened again, the form shows the stored counts in ×10⁶ and the stored dose beside them.
    html = client.get(f"/patients/{lymphodepleted.subject_id}/infusion/new/").content.decode()
    assert re.search(r'name="total_viable_cells_million"[^>]*value="2000"', html)
    assert re.search(r'name="fraction_1_cells_million"[^>]*value="300.5"', html)
    assert _dose_shown(html) == "5.01 ×10⁶ cells/kg"


def test_calculate_the_dose_shows_the_dose_per_kg_without_javascript_and_saves_nothing(client, coordinator,
                                                                                     lymphodepleted):
    """The page's answer without JavaScript: 299.4 ×10⁶ cells over 60 kg is 4.99 ×10⁶/kg (below the
    protocol's 5.00); nothing is saved and no deviation is asked for yet."""
    from infusions.models import Infusion

    client.force_login(coordinator)
    html = client.post(f"/patients/{lymphodepleted.subject_id}/infusion/new/", {
        **INFUSION_PAGE, "weight_kg": "60", "fraction_1_cells_million": "299.4", "calculate": "1"}).content.decode()
    assert _dose_shown(html) == "4.99 ×10⁶ cells/kg"
    assert "(299.4 ×10⁶ CAR⁺ cells; Below range)" in " ".join(html.split())
    assert 'name="acknowledge_deviation"' not in html
    assert not Infusion.objects.exists()


def test_cell_counts_refuse_what_is_not_a_count(client, coordinator, lymphodepleted):
    """More than six decimals of ×10⁶ would be a fraction of a cell; a negative count is refused on its field."""
    from infusions.models import Infusion

    client.force_login(coordinator)
    url = f"/patients/{lymphodepleted.subject_id}/infusion/new/"
    for value, message in (("240.0000001", "no more than 6 decimal places"),
                           ("-1", "greater than or equal to 0")):
        html = client.post(url, {**INFUSION_PAGE, "fraction_1_cells_million": value, "save": "1"}).content.decode()
        field = re.search(r'name="fraction_1_cells_million".*?</div>\s*</div>', html, re.S).group(0)
        assert message in field, value
    assert not Infusion.objects.exists()


def test_a_service_error_on_the_lot_shows_on_the_field_typed_in_millions(client, coordinator, lymphodepleted):
    """The service names `total_viable_cells`; the form's field is `total_viable_cells_million`."""
    client.force_login(coordinator)
    html = client.post(f"/patients/{lymphodepleted.subject_id}/infusion/new/",
                       {**INFUSION_PAGE, "total_viable_cells_million": "0", "save": "1"}).content.decode()
    field = re.search(r'name="total_viable_cells_million".*?</div>\s*</div>', html, re.S).group(0)
    assert "The lot must hold a positive number of viable cells." in field
