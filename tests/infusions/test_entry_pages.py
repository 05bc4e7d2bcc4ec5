"""The lymphodepletion page asks for as little typing as it can and says nothing misleading."""
import re

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
