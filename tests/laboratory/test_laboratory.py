"""The laboratory form through its service, page and API: derived values stored, hard checks refused with
nothing saved, a correction with its reason and audit trail, and the adverse-event suggestion for a grade ≥ 3
result that no event covers. The fixture patient is female, born 1990-05-17, consented 2026-01-05."""
import datetime
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from laboratory.models import Laboratory, LabResult, NormalRange
from laboratory.selectors import ae_suggestions
from laboratory.services import ResultEntry, laboratory_record
from safety.models import AdverseEvent
from safety.services import adverse_event_save

pytestmark = pytest.mark.django_db
DRAW = datetime.date(2026, 3, 10)


def _record(patient, by, **overrides):
    values = {"collection_date": DRAW, "results": [
        ResultEntry("anc", D("0.3"), "×10⁹/L"), ResultEntry("hemoglobin", D("95"), "g/L"),
        ResultEntry("creatinine", D("88.4"), "µmol/L")]} | overrides
    return laboratory_record(patient=patient, by=by, **values)


def test_results_are_stored_with_canonical_value_flag_and_grade(patient_sz, coordinator):
    """ANC 0.3 ×10⁹/L = 300/µL, L, grade 4; hemoglobin 95 g/L = 9.5 g/dL, L (female LLN 12.0), grade 2;
    creatinine 88.4 µmol/L = 1.000 mg/dL, within the female range (0.59–1.04), no grade."""
    draw = _record(patient_sz, coordinator)
    rows = {row.analyte: (row.canonical_value, row.flag, row.ctcae_grade) for row in draw.results.all()}
    assert rows == {"anc": (D("300.000"), "L", 4), "hemoglobin": (D("9.500"), "L", 2),
                    "creatinine": (D("1.000"), "", None)}
    assert draw.history.count() == 1 and LabResult.history.filter(laboratory_id=draw.pk).count() == 3


def test_a_site_range_overrides_the_default(patient_sz, coordinator):
    """The site's own creatinine ULN 0.9 mg/dL for women: 1.000 mg/dL is now H and grade 1."""
    NormalRange.objects.create(site=patient_sz.site, analyte="creatinine", sex="F", lower=D("0.5"), upper=D("0.9"))
    draw = _record(patient_sz, coordinator)
    row = draw.results.get(analyte="creatinine")
    assert (row.flag, row.ctcae_grade) == ("H", 1)


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"collection_date": datetime.date(2026, 1, 4)}, "collection_date",
     "The collection date is before consent (2026-01-05)."),
    ({"collection_date": datetime.date(2099, 1, 1)}, "collection_date",
     "The collection date 2099-01-01 is in the future."),
    ({"results": [ResultEntry("hemoglobin", D("95"), "g/dL")]}, "hemoglobin",
     "Hemoglobin 95 g/dL is not possible (between 0 and 25 g/dL)."),
    ({"results": [ResultEntry("anc", D("1"), "/µL"), ResultEntry("anc", D("2"), "/µL")]}, "anc",
     "This analyte is given twice."),
    ({"results": []}, "results", "Give at least one result."),
])
def test_hard_checks_refuse_and_save_nothing(patient_sz, coordinator, overrides, field, message):
    with pytest.raises(ValidationError) as refused:
        _record(patient_sz, coordinator, **overrides)
    assert message in refused.value.message_dict[field]
    assert not Laboratory.objects.exists() and not LabResult.all_rows.exists()


def test_correction_needs_a_reason_and_removes_an_analyte_left_out(patient_sz, coordinator):
    draw = _record(patient_sz, coordinator)
    entries = [ResultEntry("anc", D("0.6"), "×10⁹/L")]
    with pytest.raises(ValidationError) as refused:
        laboratory_record(patient=patient_sz, by=coordinator, collection_date=DRAW, results=entries, laboratory=draw)
    assert "reason" in refused.value.message_dict
    draw.refresh_from_db()
    laboratory_record(patient=patient_sz, by=coordinator, collection_date=DRAW, results=entries, laboratory=draw,
                      reason="Lab re-issued the report", version=draw.version)
    assert [(r.analyte, r.canonical_value, r.ctcae_grade) for r in draw.results.all()] == [("anc", D("600.000"), 3)]
    removed = LabResult.all_rows.filter(laboratory=draw, removed=True).order_by("analyte")
    assert [(r.analyte, r.removal_reason) for r in removed] == [
        ("creatinine", "Removed: Lab re-issued the report"), ("hemoglobin", "Removed: Lab re-issued the report")]


def test_severe_result_suggests_an_adverse_event_until_one_is_recorded(patient_sz, coordinator):
    """ANC 300/µL (grade 4) with no AE: one suggestion, linking to the AE form prefilled; once a grade 4
    "Neutrophil count decreased" ongoing on the date is recorded, none."""
    draw = _record(patient_sz, coordinator)
    [suggestion] = ae_suggestions(draw)
    assert suggestion.term == "Neutrophil count decreased"
    assert suggestion.url == (reverse("safety:adverse_events_new", args=[patient_sz.study_id])
                              + "?term=Neutrophil+count+decreased&grade=4&onset_date=2026-03-10")
    assert not AdverseEvent.objects.exists()  # nothing created silently
    adverse_event_save(event=AdverseEvent(
        patient=patient_sz, term="Neutrophil count decreased", grade=4, onset_date=DRAW - datetime.timedelta(days=2),
        relatedness_cart="probable", relatedness_lymphodepletion="probable", outcome="recovering"), by=coordinator)
    assert ae_suggestions(draw) == []


def test_page_records_a_draw_and_shows_the_suggestion(client, patient_sz, coordinator):
    client.force_login(coordinator)
    url = reverse("laboratory:laboratory_new", args=[patient_sz.study_id])
    response = client.post(url, {"collection_date": "2026-03-10", "version": "0", "anc_value": "0.3",
                                 "anc_unit": "×10⁹/L", "platelets_value": "", "platelets_unit": "/µL"}
                           | {f"{a}_unit": u for a, u in (("wbc", "/µL"), ("alc", "/µL"), ("hemoglobin", "g/dL"),
                                                          ("creatinine", "mg/dL"), ("alt", "U/L"), ("ast", "U/L"),
                                                          ("bilirubin", "mg/dL"), ("ldh", "U/L"),
                                                          ("fibrinogen", "g/L"), ("d_dimer", "mg/L FEU"),
                                                          ("crp", "mg/L"), ("ferritin", "ng/mL"), ("il6", "pg/mL"),
                                                          ("igg", "g/L"))})
    draw = Laboratory.objects.get()
    assert response.status_code == 302 and response["Location"] == draw.get_absolute_url()
    page = client.get(draw.get_absolute_url()).content.decode()
    assert 'data-testid="ae-suggestion"' in page and "Neutrophil count decreased" in page
    refused = client.post(url, {"collection_date": "2026-03-10", "version": "0", "hemoglobin_value": "95",
                                "hemoglobin_unit": "g/dL"} | {f"{a}_unit": "" for a in ("wbc",)})
    assert refused.status_code == 200 and Laboratory.objects.count() == 1


def test_api_post_and_get(api_client, patient_sz, coordinator, monitor):
    api_client.force_authenticate(coordinator)
    url = f"/api/v1/patients/{patient_sz.study_id}/labs/"
    created = api_client.post(url, {"collection_date": "2026-03-10", "results": [
        {"analyte": "platelets", "value": "23", "unit": "×10⁹/L"},
        {"analyte": "bilirubin", "value": "51.3", "unit": "µmol/L"}]}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert [(r["analyte"], r["canonical_value"], r["canonical_unit"], r["flag"], r["ctcae_grade"])
            for r in body["results"]] == [("platelets", "23000.000", "/µL", "L", 4),
                                          ("bilirubin", "3.000", "mg/dL", "H", 2)]
    assert [s["term"] for s in body["adverse_event_suggestions"]] == ["Platelet count decreased"]
    assert [d["id"] for d in api_client.get(url).json()] == [body["id"]]
    bad = api_client.post(url, {"collection_date": "2026-03-10", "results": [
        {"analyte": "hemoglobin", "value": "95", "unit": "g/dL"}]}, format="json")
    assert bad.status_code == 400 and bad.json() == {
        "hemoglobin": ["Hemoglobin 95 g/dL is not possible (between 0 and 25 g/dL)."]}
    api_client.force_authenticate(monitor)
    assert api_client.post(url, {"collection_date": "2026-03-10", "results": [
        {"analyte": "crp", "value": "3", "unit": "mg/L"}]}, format="json").status_code == 403
    assert Laboratory.objects.count() == 1


def test_the_suggestion_link_prefills_the_adverse_event_form(client, patient_sz, coordinator):
    """The link opens the AE form with the term, grade and onset date filled in; nothing is saved."""
    draw = _record(patient_sz, coordinator)
    client.force_login(coordinator)
    page = client.get(ae_suggestions(draw)[0].url).content.decode()
    assert 'value="2026-03-10"' in page and 'value="Neutrophil count decreased"' in page
    assert not AdverseEvent.objects.exists()


def test_every_box_of_the_form_is_named_for_a_screen_reader(client, patient_sz, coordinator):
    """Each value and each unit select has its label (the unit's is visually hidden: the column says "Unit"),
    so that a screen reader says "WBC unit", not "combo box"."""
    import lxml.html

    client.force_login(coordinator)
    page = lxml.html.fromstring(client.get(reverse("laboratory:laboratory_new", args=[patient_sz.study_id])).content)
    labelled = {label.get("for"): label.text_content().strip() for label in page.xpath("//form//label[@for]")}
    boxes = page.xpath("//form//select/@id | //form//input[not(@type='hidden')]/@id")
    assert len(boxes) > 20
    assert [box for box in boxes if not labelled.get(box)] == []
    assert labelled["id_wbc_unit"] == "White blood cells unit"
