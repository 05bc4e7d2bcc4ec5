"""Signatures given on a lymphodepletion or infusion form before its child rows were part of the signed hash
(they hash the form's own values): infusions migration 0007 marks them with that scope, and
`signature_is_intact` judges them by it — the form's own values against their hash, the rows against what their
audit trail says they held when the signature was given. Nothing is re-signed."""
import datetime
import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from crf.services import crf_values_sha256
from infusions import services
from infusions.models import InfusionFraction, LymphodepletionDose
from infusions.rules import InfusionFraction as Fraction
from monitoring.models import Signature
from monitoring.services import crf_sign, crf_verify, signature_is_intact
from tests.factories import PASSWORD
from tests.infusions.conftest import DAY_0, PRODUCT, single

pytestmark = pytest.mark.django_db

migration = importlib.import_module("infusions.migrations.0007_signatures_given_before_rows_were_hashed")


@pytest.fixture(autouse=True)
def _tasks_in_process(celery_eager):
    """Recording an infusion queues the visit schedule: in-process here."""


@pytest.fixture
def infusion(lymphodepleted, coordinator):
    return services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"),
                                    product=PRODUCT, fractions=single(300_000_000))


@pytest.fixture
def lymphodepleted(patient_sz, coordinator):
    from tests.infusions.conftest import PLAN_173, START, full_course

    services.lymphodepletion_record(patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"),
                                    height_cm=Decimal("170"), doses=full_course(PLAN_173))
    patient_sz.refresh_from_db()
    return patient_sz


def _signed_before_rows_were_hashed(crf, *, monitor, investigator) -> Signature:
    """A signature as the code before child rows were hashed wrote it: the form-only hash, scope not yet known
    (the column's default), as the migration finds it."""
    crf_verify(crf=crf, by=monitor)
    crf.refresh_from_db()
    signature = crf_sign(crf=crf, by=investigator, password=PASSWORD)
    Signature.objects.filter(pk=signature.pk).update(values_sha256=crf_values_sha256(crf, with_rows=False))
    signature.refresh_from_db()
    return signature


def test_an_old_signature_reads_intact_once_marked_and_a_changed_fraction_voids_it(
        infusion, coordinator, monitor, investigator):
    """Without the migration's mark the old signature reads "not intact" although nothing changed; with it, it
    reads intact with its old hash untouched. Splitting the dose into two fractions (the form's own values
    unchanged) then voids it, and it no longer reads intact."""
    signature = _signed_before_rows_were_hashed(infusion, monitor=monitor, investigator=investigator)
    old_hash = signature.values_sha256
    assert not signature_is_intact(signature)

    migration.mark_form_value_signatures(apps, None)
    signature.refresh_from_db()
    assert signature.hash_scope == Signature.HashScope.FORM_VALUES and signature.values_sha256 == old_hash
    assert signature.history.first().hash_scope == Signature.HashScope.FORM_VALUES
    assert signature_is_intact(signature) and signature.is_valid

    services.infusion_record(
        patient=infusion.patient, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT, version=infusion.version,
        reason="Second bag on day 1",
        fractions=[Fraction(DAY_0, 150_000_000), Fraction(DAY_0 + datetime.timedelta(days=1), 150_000_000)])
    infusion.refresh_from_db()
    signature.refresh_from_db()
    assert (infusion.cart_cells_infused, infusion.infusion_date) == (300_000_000, DAY_0)  # form values as signed
    assert not signature.is_valid and "Second bag on day 1" in signature.void_reason
    assert not signature_is_intact(signature)


def test_an_old_signature_detects_a_row_changed_around_the_services(infusion, monitor, investigator):
    """A fraction rewritten in the database, past every service and its history: the form's own values still
    match the old hash, but the row no longer holds what its audit trail says it held at signing."""
    signature = _signed_before_rows_were_hashed(infusion, monitor=monitor, investigator=investigator)
    migration.mark_form_value_signatures(apps, None)
    signature.refresh_from_db()
    assert signature_is_intact(signature)
    InfusionFraction.objects.filter(infusion=infusion).update(cart_cells_infused=310_000_000)
    assert not signature_is_intact(signature)


def test_an_old_lymphodepletion_signature_is_judged_by_its_doses_history(lymphodepleted, monitor, investigator):
    course = lymphodepleted.lymphodepletions.get()
    signature = _signed_before_rows_were_hashed(course, monitor=monitor, investigator=investigator)
    migration.mark_form_value_signatures(apps, None)
    signature.refresh_from_db()
    assert signature.hash_scope == Signature.HashScope.FORM_VALUES and signature_is_intact(signature)
    LymphodepletionDose.objects.filter(course=course, study_day=-4, agent="fludarabine").update(
        administered_mg=Decimal("40"))
    assert not signature_is_intact(signature)


def test_the_migration_leaves_todays_signatures_and_changed_forms_alone(infusion, coordinator, monitor,
                                                                         investigator):
    """A signature given with today's hash keeps its scope (marking it would let a row change pass unseen); an
    old-style signature whose form changed since matches no hash and keeps reading "not intact"."""
    crf_verify(crf=infusion, by=monitor)
    infusion.refresh_from_db()
    today = crf_sign(crf=infusion, by=investigator, password=PASSWORD)
    stale = Signature.objects.get(pk=today.pk)
    stale.pk = None
    stale.values_sha256 = "0" * 64  # the form-only hash of values the form no longer holds
    stale.save()
    migration.mark_form_value_signatures(apps, None)
    today.refresh_from_db()
    stale.refresh_from_db()
    assert today.hash_scope == stale.hash_scope == Signature.HashScope.FORM_AND_ROWS
    assert signature_is_intact(today) and not signature_is_intact(stale)
