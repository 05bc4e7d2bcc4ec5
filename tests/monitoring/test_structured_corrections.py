"""Eligibility answers, seriousness criteria and CAPD items (lists and tables) are corrected by a query answer
through the form's own service, like every other value: the page offers the field's own widget, the API takes
the structured value, and a value the form refuses is a 400 with the form's message, nothing changed."""
import datetime

import pytest
from django.urls import reverse
from lxml import html
from rest_framework.test import APIClient

from crf.models import crf_models
from monitoring import services
from monitoring.models import QueryMessage
from patients.models import PatientStatus
from patients.services import patient_screen
from safety.models import AdverseEvent, IcansAssessment
from safety.services import adverse_event_save, icans_assessment_save
from trial.protocol_seed import ELIGIBILITY_V1

pytestmark = pytest.mark.django_db

CONSENT = datetime.date(2026, 3, 2)
ALL_PASS = {code: kind == "inclusion" for code, kind, _text in ELIGIBILITY_V1}
DAY_0 = datetime.date(2026, 2, 1)


@pytest.fixture(autouse=True)
def _eager_tasks(celery_eager):
    """Infusing the fixtures' patients schedules their visits in-process."""


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _answer(user, query, new_value, **extra):
    return _api(user).post(f"/api/v1/queries/{query.pk}/answer/", {
        "text": "Checked against the source", "new_value": new_value, "reason": "Source document", **extra},
        format="json")


def test_every_list_or_table_field_a_query_may_correct_names_its_widget():
    """A JSON field made correctable without its structured field would be typed as text: it fails here."""
    from django.db.models import JSONField
    from django.utils.module_loading import import_string

    structured = set()
    for model in crf_models():
        for name in model.correctable_fields:
            if isinstance(model._meta.get_field(name), JSONField):
                assert name in model.structured_fields, f"{model.__name__}.{name} names no structured field"
        for name, path in model.structured_fields.items():
            assert name in model.correctable_fields and callable(import_string(path))
            structured.add(f"{model._meta.label_lower}.{name}")
    assert {"patients.screeningcrf.eligibility", "safety.adverseevent.seriousness_criteria",
            "safety.icansassessment.capd_items"} <= structured


# --- eligibility -------------------------------------------------------------------------------------------


@pytest.fixture
def in_screening(protocol, site_sz, coordinator):
    """CNS-3 disease not yet assessed: the patient is in screening, the form a draft."""
    return patient_screen(site=site_sz, consent_date=CONSENT, screening_date=CONSENT,
                          eligibility={**ALL_PASS, "cns3_disease": None}, by=coordinator)


def test_the_answer_page_offers_one_labelled_choice_per_criterion(in_screening, coordinator, monitor, client):
    query = services.query_raise(crf=in_screening.screening, field="eligibility", text="CNS-3 assessed?",
                                 by=monitor)
    client.force_login(coordinator)
    page = html.fromstring(client.get(reverse("monitoring:query_detail", args=[query.pk])).content)
    legends = [" ".join(legend.text_content().split()) for legend in page.xpath("//form//fieldset/legend")]
    for number, (code, kind, text) in enumerate(ELIGIBILITY_V1):
        assert f"{kind.capitalize()}: {' '.join(text.split())}" in legends
        answers = page.xpath(f'//input[@type="radio" and @name="new_value_{number}"]')
        assert [radio.get("value") for radio in answers] == (
            ["true", "false", ""] if kind == "inclusion" else ["false", "true", ""])
        checked = [radio.get("value") for radio in answers if radio.get("checked") is not None]
        assert checked == ["" if code == "cns3_disease" else ("true" if ALL_PASS[code] else "false")]


def test_answering_the_open_criterion_on_the_page_enrolls_through_the_screening_service(
        in_screening, coordinator, monitor, client):
    """The correction runs the screening service: the completed answers decide, and the patient is enrolled
    with a subject ID (a bare save of the JSON would leave the patient in screening)."""
    query = services.query_raise(crf=in_screening.screening, field="eligibility", text="CNS-3 assessed?",
                                 by=monitor)
    codes = [code for code, _kind, _text in ELIGIBILITY_V1]
    answers = {f"new_value_{i}": ("true" if ALL_PASS[code] else "false") for i, code in enumerate(codes)}
    client.force_login(coordinator)
    page = client.post(reverse("monitoring:query_detail", args=[query.pk]), {
        "action": "answer", "text": "Lumbar puncture: CNS-1", "correct_value": "on", "reason": "LP report",
        **answers})
    assert page.status_code == 302
    in_screening.refresh_from_db()
    assert in_screening.status == PatientStatus.ENROLLED and in_screening.subject_id
    assert in_screening.screening.eligibility == ALL_PASS
    message = QueryMessage.objects.get(query=query, action=QueryMessage.Action.CORRECT)
    assert '"cns3_disease": null' in message.old_value and '"cns3_disease": false' in message.new_value  # JSON


def test_an_eligibility_answer_that_would_turn_the_verdict_is_a_400_with_the_forms_message(
        protocol, site_sz, coordinator, monitor):
    patient = patient_screen(site=site_sz, consent_date=CONSENT, screening_date=CONSENT, eligibility=ALL_PASS,
                             by=coordinator)
    query = services.query_raise(crf=patient.screening, field="eligibility", text="Age?", by=monitor)
    first_inclusion = next(code for code, kind, _text in ELIGIBILITY_V1 if kind == "inclusion")
    answer = _answer(coordinator, query, {**ALL_PASS, first_inclusion: False})
    assert answer.status_code == 400
    assert "would change the eligibility verdict" in answer.json()["new_value"][0]
    patient.screening.refresh_from_db()
    assert patient.screening.eligibility == ALL_PASS and patient.screening.version == 1


@pytest.mark.parametrize("new_value, message", [
    ({"no_such_criterion": True}, "Unknown eligibility criteria: no_such_criterion."),
    ({"cns3_disease": "absent"}, "Answer each criterion with true, false or null"),
    ("cns3_disease=false", "Enter a list of values."),
])
def test_a_malformed_eligibility_object_is_a_400(in_screening, coordinator, monitor, new_value, message):
    query = services.query_raise(crf=in_screening.screening, field="eligibility", text="?", by=monitor)
    answer = _answer(coordinator, query, new_value)
    assert answer.status_code == 400 and message in answer.json()["new_value"][0]


# --- seriousness criteria ---------------------------------------------------------------------------------


@pytest.fixture
def infused(patient_sz, coordinator):
    from tests.factories import infuse

    return infuse(patient_sz, by=coordinator, day_0=DAY_0)


@pytest.fixture
def serious_event(infused, coordinator):
    event = AdverseEvent(
        patient=infused, protocol=infused.protocol, term="Febrile neutropenia", grade=3, onset_date=DAY_0,
        serious=True, seriousness_criteria=["hospitalisation"], aware_at=datetime.datetime(
            2026, 2, 1, 12, tzinfo=datetime.UTC), relatedness_cart="possible", relatedness_lymphodepletion="possible",
        outcome="recovering")
    return adverse_event_save(event=event, by=coordinator)


def test_seriousness_criteria_are_corrected_as_a_list_through_the_adverse_event_service(
        serious_event, coordinator, monitor):
    query = services.query_raise(crf=serious_event, field="seriousness_criteria", text="Life-threatening?",
                                 by=monitor)
    answer = _answer(coordinator, query, ["life_threatening", "hospitalisation"])
    assert answer.status_code == 200, answer.json()
    serious_event.refresh_from_db()
    assert serious_event.seriousness_criteria == ["hospitalisation", "life_threatening"]  # sorted by the service
    assert serious_event.history.first().history_change_reason == "Source document"


def test_removing_every_criterion_of_a_serious_event_is_refused_with_the_forms_message(
        serious_event, coordinator, monitor):
    query = services.query_raise(crf=serious_event, field="seriousness_criteria", text="?", by=monitor)
    answer = _answer(coordinator, query, [])
    assert answer.status_code == 400
    assert answer.json()["new_value"] == ["A serious adverse event meets at least one seriousness criterion."]
    answer = _answer(coordinator, query, ["bad_luck"])
    assert answer.status_code == 400 and "bad_luck is not one of the available choices" in answer.json()[
        "new_value"][0]
    serious_event.refresh_from_db()
    assert serious_event.seriousness_criteria == ["hospitalisation"] and serious_event.version == 1


def test_the_answer_page_offers_the_criteria_as_ticks(serious_event, coordinator, monitor, client):
    query = services.query_raise(crf=serious_event, field="seriousness_criteria", text="?", by=monitor)
    client.force_login(coordinator)
    page = html.fromstring(client.get(reverse("monitoring:query_detail", args=[query.pk])).content)
    ticks = page.xpath('//input[@type="checkbox" and @name="new_value"]')
    assert [tick.get("value") for tick in ticks] == ["death", "life_threatening", "hospitalisation", "disability",
                                                      "congenital_anomaly", "important_medical_event"]
    assert [tick.get("value") for tick in ticks if tick.get("checked") is not None] == ["hospitalisation"]


# --- CAPD items --------------------------------------------------------------------------------------------


@pytest.fixture
def child_icans(protocol, site_sz, coordinator):
    """A child of 9 on 5 February 2026, CAPD 4 (grade 1)."""
    from tests.factories import PatientFactory, infuse

    child = infuse(PatientFactory(site=site_sz, protocol=protocol, birth_date=datetime.date(2016, 6, 1),
                                  subject_id="SZ-900", screening_number="SCR-0900"), by=coordinator, day_0=DAY_0)
    assessment = IcansAssessment(patient=child, protocol=child.protocol, assessment_date=datetime.date(2026, 2, 5),
                                 consciousness="normal", seizure="none", cerebral_edema="none",
                                 capd_items=[1, 1, 0, 0, 1, 0, 0, 1])
    return icans_assessment_save(assessment=assessment, by=coordinator)


def test_corrected_capd_items_rescore_and_regrade_through_the_icans_service(child_icans, coordinator, monitor):
    """CAPD 4 (grade 1) corrected to items totalling 10: delirium, grade 3 — the score and grade are the
    service's, never the answer's."""
    assert (child_icans.capd_score, child_icans.grade) == (4, 1)
    query = services.query_raise(crf=child_icans, field="capd_items", text="Item 1?", by=monitor)
    answer = _answer(coordinator, query, [2, 2, 2, 1, 1, 1, 0, 1])
    assert answer.status_code == 200, answer.json()
    child_icans.refresh_from_db()
    assert (child_icans.capd_items, child_icans.capd_score, child_icans.grade) == ([2, 2, 2, 1, 1, 1, 0, 1], 10, 3)


@pytest.mark.parametrize("new_value, message", [
    ([1, 1, 0], "CAPD has 8 items: give a score for each (3 given)."),
    ([1, 1, 0, 0, 1, 0, 0, 5], "Select a valid choice. 5 is not one of the available choices."),
    ([1, 1, 0, 0, 1, 0, 0, None], "Score every CAPD item (0–4)."),
])
def test_bad_capd_items_are_a_400_and_nothing_changes(child_icans, coordinator, monitor, new_value, message):
    query = services.query_raise(crf=child_icans, field="capd_items", text="?", by=monitor)
    answer = _answer(coordinator, query, new_value)
    assert answer.status_code == 400 and answer.json()["new_value"] == [message]
    child_icans.refresh_from_db()
    assert (child_icans.capd_score, child_icans.version) == (4, 1)


def test_the_answer_page_offers_one_labelled_score_per_capd_item(child_icans, coordinator, monitor, client):
    query = services.query_raise(crf=child_icans, field="capd_items", text="?", by=monitor)
    client.force_login(coordinator)
    page = html.fromstring(client.get(reverse("monitoring:query_detail", args=[query.pk])).content)
    legends = [" ".join(legend.text_content().split()) for legend in page.xpath("//form//fieldset/legend")]
    assert "1. Does the child make eye contact with the caregiver?" in legends
    first, last = (page.xpath(f'//select[@name="new_value_{n}"]')[0] for n in (0, 7))
    assert first.xpath("option[@selected]/@value") == ["1"] and last.xpath("option[@selected]/@value") == ["1"]
    assert [o.text for o in first.xpath("option")][1:] == ["Never (4)", "Rarely (3)", "Sometimes (2)", "Often (1)",
                                                           "Always (0)"]  # items 1–4 scored in reverse
    assert [o.text for o in last.xpath("option")][-1] == "Always (4)"


# --- one-value fields stay text -----------------------------------------------------------------------------


def test_a_list_for_a_one_value_field_is_a_400_not_an_error_page(serious_event, coordinator, monitor):
    query = services.query_raise(crf=serious_event, field="onset_date", text="?", by=monitor)
    answer = _answer(coordinator, query, {"date": "2026-02-02"})
    assert answer.status_code == 400
    assert answer.json()["new_value"] == ["Give the new value as text (dates as YYYY-MM-DD, coded values by code)."]
    assert _answer(coordinator, query, 3).status_code == 400  # a number typed as text: not a date
