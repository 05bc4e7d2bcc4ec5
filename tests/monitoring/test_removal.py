"""Removing a form or a row recorded in error (page and API): through the form's own service, with a
mandatory reason, by those who may edit the form, never past a lock; the record stays, marked removed and
struck through, and what follows from it is derived again."""
import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from lxml import html
from rest_framework.test import APIClient

from crf.models import CaseReportForm, CrfChildRow, crf_models
from infusions import services as infusion_services
from infusions.models import Infusion, InfusionFraction, Lymphodepletion, LymphodepletionDose
from infusions.rules import InfusionFraction as Fraction
from monitoring.models import ProtocolDeviation, Signature
from monitoring.services import crf_lock, crf_sign, crf_verify
from outcomes.models import FollowUp, ResponseAssessment
from outcomes.services import follow_up_save, response_assessment_save
from safety.models import AdverseEvent, CrsAssessment
from safety.services import adverse_event_save, crs_assessment_save
from tests.factories import PASSWORD, infuse
from tests.infusions.conftest import PRODUCT

pytestmark = pytest.mark.django_db

DAY_0 = datetime.date(2026, 2, 1)
CR_MARROW = {"bone_marrow_blasts_percent": 1, "circulating_blasts": False, "extramedullary_disease": False,
             "anc_per_ul": 1500, "platelets_per_ul": 150_000}
NEVER_REMOVED = {"screening", "baseline", "lymphodepletion", "cart_infusion"}


def day(n: int) -> datetime.date:
    return DAY_0 + datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def _eager_tasks(celery_eager):
    """A removed fraction moves day 0: the visits are re-targeted in-process."""


@pytest.fixture
def infused(patient_sz, coordinator):
    return infuse(patient_sz, by=coordinator, day_0=DAY_0)


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_every_form_names_how_it_is_removed_or_is_one_that_is_corrected_only():
    """A new CRF fails here until it names its removal service (or joins the forms that carry enrollment or
    day 0); every kind of row names the form's service that removes it."""
    from django.apps import apps
    from django.utils.module_loading import import_string

    for model in crf_models():
        if model.crf_code in NEVER_REMOVED:
            assert not model.removal_service, model.crf_code
        else:
            assert callable(import_string(model.removal_service)), model.crf_code
    rows = [m for m in apps.get_models() if issubclass(m, CrfChildRow)]
    assert {m._meta.label_lower for m in rows} >= {"infusions.lymphodepletiondose", "infusions.infusionfraction"}
    for model in rows:
        assert callable(import_string(model.removal_service)), model._meta.label_lower
    assert issubclass(ResponseAssessment, CaseReportForm)


# --- a form -----------------------------------------------------------------------------------------------


@pytest.fixture
def relapse_after_cr(infused, coordinator):
    """Day 28 CR, day 90 marrow with 20 % blasts: derived as a relapse."""
    day_28 = response_assessment_save(patient=infused, by=coordinator,
                                      values={"assessment_date": day(28), **CR_MARROW})
    day_90 = response_assessment_save(patient=infused, by=coordinator, values={
        "assessment_date": day(90), **CR_MARROW, "bone_marrow_blasts_percent": 20})
    assert day_90.response == "relapse"
    return day_28, day_90


def test_removing_an_assessment_on_its_page_rederives_the_later_response_and_keeps_the_form(
        client, coordinator, relapse_after_cr):
    """The page asks a reason; the day-28 CR is marked removed (struck through on its page, removed in its CSV)
    and the day-90 relapse, which rested on it, is derived again as no response."""
    day_28, day_90 = relapse_after_cr
    client.force_login(coordinator)
    detail = reverse("monitoring:crf_detail", args=["outcomes.responseassessment", day_28.pk])
    assert 'data-testid="remove-form"' in client.get(detail).content.decode()
    url = reverse("monitoring:crf_remove", args=["outcomes.responseassessment", day_28.pk])
    refused = client.post(url, {"reason": "  "})
    assert refused.status_code == 200 and refused.context["form"].errors["reason"]
    day_28.refresh_from_db()
    assert not day_28.removed

    answer = client.post(url, {"reason": "Marrow of another patient"})
    assert answer.status_code == 302 and answer.url == detail
    day_28.refresh_from_db()
    day_90.refresh_from_db()
    assert (day_28.removed, day_28.removal_reason) == (True, "Marrow of another patient")
    assert day_28.history.first().history_change_reason == "Removed: Marrow of another patient"
    assert day_90.response == "no_response"
    assert "was removed (Marrow of another patient)" in day_90.history.first().history_change_reason
    page = html.fromstring(client.get(detail).content)
    assert "text-decoration-line-through" in page.xpath('//table[@data-testid="crf-values"]/@class')[0]
    assert not page.xpath('//*[@data-testid="remove-form"]')  # removed once
    assert page.xpath('//*[@data-testid="crf-removed"]')[0].text_content() == "Removed: Marrow of another patient"


def test_removed_forms_stay_in_the_form_csv_and_the_odm_file_marked_removed(
        client, api_client, coordinator, data_manager, relapse_after_cr):
    import csv
    import io

    day_28, _day_90 = relapse_after_cr
    _api(coordinator).post(f"/api/v1/crfs/response_assessment/{day_28.pk}/remove/",
                           {"reason": "Duplicate entry"}, format="json")
    client.force_login(data_manager)
    content = b"".join(client.get("/monitoring/exports/forms/response_assessment.csv").streaming_content).decode()
    removed = [row for row in csv.DictReader(io.StringIO(content)) if row["removed"] == "1"]
    assert [row["removal_reason"] for row in removed] == ["Duplicate entry"]
    api_client.force_authenticate(data_manager)
    odm = b"".join(api_client.get("/api/v1/export/odm/").streaming_content).decode()
    assert f'FormRepeatKey="{day_28.pk}" TransactionType="Remove"' in odm


def test_the_api_removes_with_a_reason_and_refuses_without_one_or_for_a_monitor(
        coordinator, monitor, relapse_after_cr):
    day_28, _ = relapse_after_cr
    url = f"/api/v1/crfs/response_assessment/{day_28.pk}/remove/"
    assert _api(monitor).post(url, {"reason": "x"}, format="json").status_code == 403
    missing = _api(coordinator).post(url, {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    answer = _api(coordinator).post(url, {"reason": "Entered twice"}, format="json")
    assert answer.status_code == 200
    assert answer.json() == {"id": day_28.pk, "crf_code": "response_assessment", "version": 2, "removed": True,
                             "removal_reason": "Entered twice"}
    again = _api(coordinator).post(url, {"reason": "Entered twice"}, format="json")
    assert again.status_code == 400 and "already removed" in str(again.json())


def test_a_monitor_gets_403_on_the_removal_page(client, monitor, relapse_after_cr):
    day_28, _ = relapse_after_cr
    client.force_login(monitor)
    url = reverse("monitoring:crf_remove", args=["outcomes.responseassessment", day_28.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "x"}).status_code == 403
    day_28.refresh_from_db()
    assert not day_28.removed


def test_a_locked_form_is_not_removed(client, coordinator, data_manager, relapse_after_cr):
    day_28, _ = relapse_after_cr
    crf_lock(crf=day_28, by=data_manager, reason="Interim analysis")
    answer = _api(coordinator).post(f"/api/v1/crfs/response_assessment/{day_28.pk}/remove/",
                                    {"reason": "Entered twice"}, format="json")
    assert answer.status_code == 400 and "locked" in str(answer.json()).lower()
    client.force_login(coordinator)
    page = client.get(reverse("monitoring:crf_remove", args=["outcomes.responseassessment", day_28.pk]))
    assert b'data-testid="locked"' in page.content and b'data-testid="removal-form"' not in page.content
    day_28.refresh_from_db()
    assert not day_28.removed


def test_forms_that_carry_enrollment_or_day_0_are_corrected_not_removed(coordinator, infused):
    infusion = Infusion.objects.get(patient=infused)
    answer = _api(coordinator).post(f"/api/v1/crfs/cart_infusion/{infusion.pk}/remove/", {"reason": "x"},
                                    format="json")
    assert answer.status_code == 400
    assert "corrected, never removed" in answer.json()["reason"][0]


def test_removing_a_signed_form_voids_its_signature(coordinator, monitor, investigator, relapse_after_cr):
    day_28, _ = relapse_after_cr
    crf_verify(crf=day_28, by=monitor)
    day_28.refresh_from_db()
    signature = crf_sign(crf=day_28, by=investigator, password=PASSWORD)
    _api(coordinator).post(f"/api/v1/crfs/response_assessment/{day_28.pk}/remove/", {"reason": "Wrong patient"},
                           format="json")
    signature.refresh_from_db()
    assert not signature.is_valid


def test_removing_the_febrile_crs_assessment_regrades_the_later_one(coordinator, infused):
    fever = crs_assessment_save(assessment=CrsAssessment(
        patient=infused, protocol=infused.protocol, assessment_date=day(2), max_temperature_c=Decimal("38.5"),
        fever_masked=True), by=coordinator)
    later = crs_assessment_save(assessment=CrsAssessment(
        patient=infused, protocol=infused.protocol, assessment_date=day(3), max_temperature_c=Decimal("36.9"),
        hypoxia="low_flow"), by=coordinator)
    assert later.grade == 2
    answer = _api(coordinator).post(f"/api/v1/crfs/crs_assessment/{fever.pk}/remove/",
                                    {"reason": "Temperature of another patient"}, format="json")
    assert answer.status_code == 200
    later.refresh_from_db()
    assert later.grade == 0
    assert later.history.first().history_change_reason == (
        f"CRS grade re-derived (2 → 0) because the assessment of {day(2):%Y-%m-%d} was removed "
        f"(Temperature of another patient)")


def test_the_only_record_of_a_death_is_not_removed_and_a_second_one_is(coordinator, infused):
    """Removing the follow-up that took the patient off study for death would leave a death no form holds:
    refused. With the death also on a grade 5 adverse event, the follow-up goes and the patient stays off
    study on that date."""
    follow_up = follow_up_save(patient=infused, by=coordinator, values={
        "contact_date": day(100), "follow_up_status": "dead", "death_date": day(99), "death_cause": "Sepsis"})
    url = f"/api/v1/crfs/follow_up/{follow_up.pk}/remove/"
    refused = _api(coordinator).post(url, {"reason": "Entered twice"}, format="json")
    assert refused.status_code == 400 and "only record of the patient's death" in refused.json()["reason"][0]
    adverse_event_save(event=AdverseEvent(
        patient=infused, protocol=infused.protocol, term="Sepsis", grade=5, onset_date=day(95), death_date=day(99),
        outcome="fatal", serious=True, seriousness_criteria=["death"],
        aware_at=datetime.datetime(2026, 5, 10, 9, tzinfo=datetime.UTC), relatedness_cart="unlikely",
        relatedness_lymphodepletion="unlikely"), by=coordinator)
    assert _api(coordinator).post(url, {"reason": "Entered twice"}, format="json").status_code == 200
    infused.refresh_from_db()
    assert FollowUp.objects.get(pk=follow_up.pk).removed
    assert infused.off_study_date == day(99)


# --- a row --------------------------------------------------------------------------------------------------


@pytest.fixture
def split_infusion(infused, coordinator):
    """180 + 180 million CAR⁺ cells on days 0 and 1 at 60 kg: 6.00 ×10⁶/kg."""
    infusion = Infusion.objects.get(patient=infused)
    return infusion_services.infusion_record(
        patient=infused, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT, version=infusion.version,
        fractions=[Fraction(DAY_0, 180_000_000), Fraction(day(1), 180_000_000)], reason="Given in two bags")


def test_removing_a_fraction_records_the_infusion_again_and_marks_that_row_removed(
        coordinator, monitor, investigator, split_infusion):
    """The day-0 bag was recorded in error: day 0 moves to the other bag's day, the dose falls to 3.00 ×10⁶/kg
    (below the range: the acknowledgement is asked first), the signature is void, and the day-0 row — not the
    other — is marked removed with the reason and kept."""
    infusion = split_infusion
    crf_verify(crf=infusion, by=monitor)
    infusion.refresh_from_db()
    signature = crf_sign(crf=infusion, by=investigator, password=PASSWORD)
    first, second = InfusionFraction.objects.filter(infusion=infusion).order_by("infusion_date")
    url = f"/api/v1/crfs/cart_infusion/{infusion.pk}/rows/{first.pk}/remove/"
    refused = _api(coordinator).post(url, {"reason": "Bag not given"}, format="json")
    assert refused.status_code == 400 and "below the protocol" in str(refused.json()["acknowledge_deviation"])
    answer = _api(coordinator).post(url, {"reason": "Bag not given", "acknowledge_deviation": True}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["row"] == {"id": first.pk, "removed": True, "removal_reason": "Removed: Bag not given"}
    infusion.refresh_from_db()
    first = InfusionFraction.all_rows.get(pk=first.pk)
    second.refresh_from_db()
    assert (first.removed, first.infusion_date, second.removed) == (True, DAY_0, False)
    assert (infusion.infusion_date, infusion.cart_cells_infused, infusion.dose_cells_per_kg) == (
        day(1), 180_000_000, Decimal("3000000.00"))
    assert infusion.patient.__class__.objects.get(pk=infusion.patient_id).infusion_date == day(1)
    assert ProtocolDeviation.objects.filter(patient_id=infusion.patient_id, reason="Bag not given").exists()
    assert not Signature.objects.get(pk=signature.pk).is_valid


def test_the_last_fraction_is_corrected_not_removed(coordinator, infused):
    infusion = Infusion.objects.get(patient=infused)
    only = infusion.fractions.get()
    answer = _api(coordinator).post(f"/api/v1/crfs/cart_infusion/{infusion.pk}/rows/{only.pk}/remove/",
                                    {"reason": "x", "acknowledge_deviation": True}, format="json")
    assert answer.status_code == 400 and "only fraction" in answer.json()["reason"][0]
    assert not InfusionFraction.all_rows.get(pk=only.pk).removed


def test_removing_a_dose_on_the_page_asks_the_acknowledgement_then_strikes_the_row(client, coordinator, infused):
    """Day −4 fludarabine recorded in error: that day's dose is then missed (a soft check: the page shows the
    acknowledgement), the row is marked removed, listed struck through, and stays removed when the course is
    corrected later."""
    course = Lymphodepletion.objects.get(patient=infused)
    dose = LymphodepletionDose.objects.get(course=course, study_day=-4, agent="fludarabine")
    client.force_login(coordinator)
    detail = reverse("monitoring:crf_detail", args=["infusions.lymphodepletion", course.pk])
    links = html.fromstring(client.get(detail).content).xpath('//a[@data-testid="remove-row"]/@href')
    url = reverse("monitoring:crf_row_remove", args=["infusions.lymphodepletiondose", dose.pk])
    assert url in links and len(links) == 6
    course_page = client.get(reverse("infusions:lymphodepletion_detail", args=[infused.study_id]))
    assert url in html.fromstring(course_page.content).xpath('//a[@data-testid="remove-row"]/@href')
    asked = client.post(url, {"reason": "Recorded on the wrong day"})
    assert asked.status_code == 200 and b'data-testid="deviation"' in asked.content
    assert "no dose recorded" in asked.content.decode()
    done = client.post(url, {"reason": "Recorded on the wrong day", "acknowledge_deviation": "on"})
    assert done.status_code == 302
    dose = LymphodepletionDose.all_rows.get(pk=dose.pk)
    assert dose.removed and dose.removal_reason == "Removed: Recorded on the wrong day"
    assert dose.administered_mg == Decimal("52")  # the values as recorded, kept struck through
    page = html.fromstring(client.get(detail).content)
    struck = page.xpath('//table[@data-testid="crf-children"]//tr[contains(@class, "line-through")]')
    assert len(struck) == 1 and "Recorded on the wrong day" in struck[0].text_content()

    course.refresh_from_db()
    infusion_services.lymphodepletion_correct(crf=course, field="weight_kg", value=Decimal("64.0"), by=coordinator,
                                              reason="Weighed again", acknowledge_deviation=True,
                                              deviation_reason="Dose not given")
    assert LymphodepletionDose.all_rows.get(pk=dose.pk).removed
    assert course.doses.count() == 5
