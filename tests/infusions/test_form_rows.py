"""A signature and SDV cover the whole form, its child rows (doses, fractions) included, and a child
row is never deleted: a removed dose or fraction is marked removed with a reason."""
import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from rest_framework.test import APIClient

from crf.models import CaseReportForm, CrfChildRow, crf_children, crf_model, crf_models
from infusions import services
from infusions.models import Infusion, InfusionFraction, Lymphodepletion, LymphodepletionDose
from monitoring.models import SourceVerification
from monitoring.services import crf_sign, crf_verify, signature_is_intact
from tests.factories import PASSWORD

from .conftest import DAY_0, PLAN_173, PRODUCT, single


def _signed(crf, *, monitor, investigator):
    crf_verify(crf=crf, by=monitor)
    crf.refresh_from_db()
    signature = crf_sign(crf=crf, by=investigator, password=PASSWORD)
    crf.refresh_from_db()
    assert crf.status == "signed" and signature_is_intact(signature)
    return signature


@pytest.fixture
def infusion(lymphodepleted, coordinator):
    return services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"),
                                    product=PRODUCT, fractions=single(300_000_000))


def test_every_model_with_a_key_to_a_crf_is_a_child_row_or_a_record_about_the_form():
    """A new model pointing at a CRF must be classified here: part of the form (signed with it, never
    deleted) or a record about the form that a signature does not cover."""
    about_the_form = {
        # A report sent to the sponsor after the event was entered (often after it was signed): a
        # transmission record with its own audit trail, not a value of the form.
        "safety.saereport",
        # The daily job's idempotency key for its e-mail, not clinical data.
        "safety.saeoverduenotice",
    }
    crf_labels = {model._meta.label_lower for model in crf_models()}
    for model in apps.get_models():
        if issubclass(model, CaseReportForm) or model.__name__.startswith("Historical"):
            continue
        keys = [f for f in model._meta.concrete_fields
                if f.is_relation and f.related_model is not None and f.related_model._meta.label_lower in crf_labels]
        if keys:
            label = model._meta.label_lower
            assert issubclass(model, CrfChildRow) or label in about_the_form, (
                f"{label} has a key to a CRF: make it a CrfChildRow or list it as a record about the form")
    assert [m for m, _fk in crf_children(Lymphodepletion, form_rows_only=True)] == [LymphodepletionDose]
    assert [m for m, _fk in crf_children(Infusion, form_rows_only=True)] == [InfusionFraction]
    # One function finds every child record: the form's rows and the records about the form.
    adverse_event = crf_model("adverse_events")
    children = crf_children(adverse_event)
    assert [(c.model._meta.label_lower, c.fk.name, c.is_form_row) for c in children] == [
        ("safety.saereport", "adverse_event", False)]
    assert crf_children(adverse_event, form_rows_only=True) == []
    assert [(c.model, c.is_form_row) for c in crf_children(Lymphodepletion)] == [(LymphodepletionDose, True)]


def test_the_signed_hash_covers_the_fractions(infusion, monitor, investigator):
    signature = _signed(infusion, monitor=monitor, investigator=investigator)
    # A raw database write to a fraction, past every service: the signature no longer matches.
    InfusionFraction.objects.filter(infusion=infusion).update(cart_cells_infused=310_000_000)
    assert not signature_is_intact(signature)


def test_changing_a_fraction_voids_the_signature_and_clears_sdv(infusion, coordinator, monitor, investigator):
    signature = _signed(infusion, monitor=monitor, investigator=investigator)
    # Two fractions on the same total and weight: the form's own values (day 0, cells, dose) are the same.
    services.infusion_record(
        patient=infusion.patient, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
        reason="Second bag on day 1",
        fractions=[rules_fraction(DAY_0, 150_000_000), rules_fraction(DAY_0 + datetime.timedelta(days=1),
                                                                      150_000_000)])
    infusion.refresh_from_db()
    signature.refresh_from_db()
    assert infusion.cart_cells_infused == 300_000_000 and infusion.infusion_date == DAY_0
    assert infusion.status == "submitted"
    assert signature.voided_at is not None and "Second bag on day 1" in signature.void_reason
    assert not SourceVerification.objects.filter(object_id=infusion.pk, cleared_at__isnull=True,
                                                 content_type__model="infusion").exists()


def rules_fraction(on, cells):
    from infusions.rules import InfusionFraction as Fraction

    return Fraction(on, cells)


def test_changing_a_lymphodepletion_dose_by_put_voids_the_signature_and_clears_sdv(
        lymphodepleted, coordinator, monitor, investigator):
    course = Lymphodepletion.objects.get(patient=lymphodepleted)
    signature = _signed(course, monitor=monitor, investigator=investigator)
    client = APIClient()
    client.force_authenticate(coordinator)
    doses = [{"study_day": d, "agent": agent, "administered_mg": str(mg)}
             for d in (-5, -4, -3) for agent, mg in PLAN_173.items()]
    doses[0]["administered_mg"] = "50"  # fludarabine day −5: 50 mg instead of 52 (within 10 %)
    answer = client.put(f"/api/v1/patients/{lymphodepleted.study_id}/lymphodepletion/", {
        "version": course.version, "start_date": "2026-02-01", "weight_kg": "63.4", "height_cm": "170",
        "doses": doses, "reason": "Pharmacy record: 50 mg"}, format="json")
    assert answer.status_code == 200, answer.content
    course.refresh_from_db()
    signature.refresh_from_db()
    assert course.status == "submitted"
    assert signature.voided_at is not None
    assert not SourceVerification.objects.filter(object_id=course.pk, cleared_at__isnull=True,
                                                 content_type__model="lymphodepletion").exists()
    dose = course.doses.get(study_day=-5, agent="fludarabine")
    assert dose.administered_mg == Decimal("50")
    assert dose.history.first().history_change_reason == "Pharmacy record: 50 mg"


def test_two_fractions_to_one_marks_the_second_removed_with_the_reason(lymphodepleted, coordinator, client):
    second_day = DAY_0 + datetime.timedelta(days=1)
    services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                             fractions=[rules_fraction(DAY_0, 150_000_000), rules_fraction(second_day, 150_000_000)])
    services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                             fractions=single(300_000_000), reason="Given as one bag")
    infusion = Infusion.objects.get(patient=lymphodepleted)
    assert [(f.infusion_date, f.cart_cells_infused) for f in infusion.fractions.all()] == [(DAY_0, 300_000_000)]
    removed = InfusionFraction.all_rows.get(infusion=infusion, removed=True)
    assert (removed.infusion_date, removed.cart_cells_infused) == (second_day, 150_000_000)
    assert removed.removal_reason == "Removed: Given as one bag"
    assert [row.removed for row in removed.history.order_by("history_date")] == [False, True]
    with pytest.raises(PermissionDenied), transaction.atomic():
        removed.delete()
    client.force_login(coordinator)
    page = client.get(reverse("infusions:cart_infusion_detail", args=[lymphodepleted.study_id])).content.decode()
    assert 'data-testid="removed-fractions"' in page and "Removed: Given as one bag" in page
    history = client.get(reverse("monitoring:history", args=["infusions.infusionfraction", removed.pk]))
    assert history.status_code == 200


def test_a_dose_row_is_never_deleted(lymphodepleted):
    dose = LymphodepletionDose.objects.filter(course__patient=lymphodepleted).first()
    with pytest.raises(PermissionDenied), transaction.atomic():
        dose.delete()
    with pytest.raises(PermissionDenied), transaction.atomic():
        LymphodepletionDose.objects.filter(pk=dose.pk).delete()
    assert LymphodepletionDose.all_rows.filter(pk=dose.pk).exists()


def test_api_answers_name_the_forms(lymphodepleted, coordinator):
    services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                             fractions=single(300_000_000))
    client = APIClient()
    client.force_authenticate(coordinator)
    base = f"/api/v1/patients/{lymphodepleted.study_id}"
    course = client.get(f"{base}/lymphodepletion/").json()
    infusion = client.get(f"{base}/infusion/").json()
    assert (course["id"], course["crf_code"], course["version"]) == (
        Lymphodepletion.objects.get().pk, "lymphodepletion", 1)
    assert (infusion["id"], infusion["crf_code"], infusion["version"]) == (Infusion.objects.get().pk,
                                                                          "cart_infusion", 1)
