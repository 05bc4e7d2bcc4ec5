"""A normal range recorded or changed judges again the stored results it covers (laboratory.services.
normal_range_save, also what the admin calls): flags and CTCAE grades follow, each changed draw saved through
its form with a reason naming the cause; results at other sites or of other analytes are left alone; a locked
form stops the change.

The SZ fixture patient is female, born 1990-05-17. Her draw of 2026-03-10: creatinine 88.4 µmol/L = 1.000 mg/dL
(default female range 0.59–1.04: normal, no grade) and ALT 100 U/L (default 7–56: H; 100 > 1 × 56, grade 1).
"""
import datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from crf.models import CrfStatus
from laboratory.models import LabResult, NormalRange
from laboratory.services import ResultEntry, laboratory_record, normal_range_save
from monitoring.services.locks import crf_lock
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
DRAW = datetime.date(2026, 3, 10)


def _draw(patient, by):
    return laboratory_record(patient=patient, by=by, collection_date=DRAW, results=[
        ResultEntry("creatinine", D("88.4"), "µmol/L"), ResultEntry("alt", D("100"), "U/L")])


def _judged(draw, analyte):
    row = draw.results.get(analyte=analyte)
    return row.flag, row.ctcae_grade


def test_a_site_range_re_grades_its_patients_results_with_the_cause(patient_sz, patient_wx, coordinator,
                                                                   coordinator_wx, data_manager):
    draw, other_site = _draw(patient_sz, coordinator), _draw(patient_wx, coordinator_wx)
    assert _judged(draw, "creatinine") == ("", None) and _judged(draw, "alt") == ("H", 1)
    version = draw.version

    # SZ records its own female creatinine range 0.5–0.9 mg/dL: 1.000 > 0.9 → H; 1.000 > 1 × 0.9 → grade 1.
    own = NormalRange(site=patient_sz.site, analyte="creatinine", sex="F", lower=D("0.5"), upper=D("0.9"))
    changed = normal_range_save(normal_range=own, by=data_manager, reason="SZ laboratory reference intervals 2026")
    assert [(row.laboratory_id, row.analyte) for row in changed] == [(draw.pk, "creatinine")]
    assert _judged(draw, "creatinine") == ("H", 1)
    assert _judged(draw, "alt") == ("H", 1)  # another analyte: untouched
    assert _judged(other_site, "creatinine") == ("", None)  # another site: untouched
    why = ("Flags and grades re-derived (creatinine flag normal → H, CTCAE grade none → 1) because the creatinine "
           "normal range at SZ was recorded (0.500–0.900): SZ laboratory reference intervals 2026")
    row = draw.results.get(analyte="creatinine")
    latest = row.history.order_by("-history_id").first()
    assert (latest.history_change_reason, latest.history_user, latest.flag, latest.ctcae_grade) == (
        why, data_manager, "H", 1)
    draw.refresh_from_db()
    assert draw.version == version + 1
    assert draw.history.order_by("-history_id").first().history_change_reason == why
    assert LabResult.history.filter(laboratory_id=draw.pk, analyte="alt").count() == 1  # no new row for ALT
    assert own.history.get().history_change_reason == "SZ laboratory reference intervals 2026"

    # The site widens it to 0.5–1.2: 1.000 is within range again, no grade.
    own.upper = D("1.2")
    normal_range_save(normal_range=own, by=data_manager, reason="Transcription error in the upper limit")
    assert _judged(draw, "creatinine") == ("", None)
    assert draw.results.get(analyte="creatinine").history.order_by("-history_id").first().history_change_reason == (
        "Flags and grades re-derived (creatinine flag H → normal, CTCAE grade 1 → none) because the creatinine "
        "normal range at SZ was changed (0.500–0.900 → 0.500–1.200): Transcription error in the upper limit")


def test_a_default_range_re_grades_every_site_without_its_own(patient_sz, patient_wx, coordinator, coordinator_wx,
                                                              data_manager):
    """The default ALT ULN lowered from 56 to 30 U/L: 100 > 3 × 30 = 90, grade 2 at both sites; to 40 (100 is
    between 1 and 3 × 40): grade 1 again."""
    draws = [_draw(patient_sz, coordinator), _draw(patient_wx, coordinator_wx)]
    default = NormalRange.objects.get(site=None, analyte="alt")
    default.upper = D("30")
    changed = normal_range_save(normal_range=default, by=data_manager, reason="Reference update")
    assert sorted(row.laboratory_id for row in changed) == sorted(draw.pk for draw in draws)
    assert [_judged(draw, "alt") for draw in draws] == [("H", 2), ("H", 2)]
    default.upper = D("40")
    normal_range_save(normal_range=default, by=data_manager, reason="Reference update, corrected")
    assert [_judged(draw, "alt") for draw in draws] == [("H", 1), ("H", 1)]
    # Nothing changes: no form saved again.
    default.lower = D("8")
    assert normal_range_save(normal_range=default, by=data_manager, reason="Lower limit") == []


def test_a_lock_on_a_covered_form_stops_the_change(patient_sz, coordinator,
                                                                           data_manager):
    draw = _draw(patient_sz, coordinator)
    crf_lock(crf=draw, by=data_manager, reason="Interim analysis")
    own = NormalRange(site=patient_sz.site, analyte="creatinine", sex="F", lower=D("0.5"), upper=D("0.9"))
    with pytest.raises(ValidationError):
        normal_range_save(normal_range=own, by=data_manager, reason="SZ reference intervals")
    assert not NormalRange.objects.filter(site=patient_sz.site).exists()  # nothing saved
    draw.refresh_from_db()
    assert draw.status == CrfStatus.LOCKED and _judged(draw, "creatinine") == ("", None)


def test_the_admin_re_grades_through_the_service_and_refuses_a_change_that_touches_a_locked_form(
        client, patient_sz, coordinator, data_manager):
    draw = _draw(patient_sz, coordinator)
    client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    creatinine = NormalRange.objects.get(site=None, analyte="creatinine", sex="F")
    url = f"/admin/laboratory/normalrange/{creatinine.pk}/change/"
    form = {"analyte": "creatinine", "site": "", "sex": "F", "age_from_years": "0", "age_to_years": "",
            "lower": "0.59", "upper": "0.95", "reason": "Default female ULN corrected"}
    answer = client.post(url, form, follow=True)
    assert "1 stored result re-graded against the new range." in answer.content.decode()
    assert _judged(draw, "creatinine") == ("H", 1)  # 1.000 > 0.95

    crf_lock(crf=draw, by=data_manager, reason="Interim analysis")
    answer = client.post(url, {**form, "upper": "1.04", "reason": "Back to the default"})
    assert answer.status_code == 200  # the form again, with the error
    assert "This change would re-grade results of locked forms:" in answer.content.decode()
    creatinine.refresh_from_db()
    assert creatinine.upper == D("0.950") and _judged(draw, "creatinine") == ("H", 1)
    assert client.get(f"/admin/laboratory/normalrange/{creatinine.pk}/delete/").status_code == 403
