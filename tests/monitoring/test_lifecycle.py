from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crf.models import CrfStatus
from crf.services import crf_save
from monitoring.models import (
    DataQuery,
    QueryMessage,
    QueryStatus,
    Signature,
    SourceVerification,
)
from monitoring.selectors import open_queries
from monitoring.services import (
    crf_sign,
    crf_verify,
    query_answer,
    query_close,
    query_raise,
    query_raise_automatic,
    query_reopen,
    signature_is_intact,
)
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_query_lifecycle_monitor_raises_coordinator_corrects_monitor_closes_and_reopens(
    sample_form, monitor, coordinator
):
    query = query_raise(crf=sample_form, field="weight_kg", text="Source says 65.2 kg", by=monitor)
    assert (query.status, query.field_label, query.crf_label) == ("open", "weight (kg)", "Sample form")
    assert [q.pk for q in open_queries(monitor)] == [query.pk]

    query_answer(query=query, by=coordinator, text="Transcription error", new_value="65.2",
                 reason="Corrected from source")
    sample_form.refresh_from_db()
    assert sample_form.weight_kg == Decimal("65.2")
    assert sample_form.history.first().history_change_reason == "Corrected from source"
    correction = query.messages.get(action=QueryMessage.Action.CORRECT)
    assert (correction.old_value, correction.new_value) == ("62.5", "65.2")
    assert query.status == QueryStatus.ANSWERED
    assert [q.pk for q in open_queries(monitor)] == [query.pk]  # answered is not yet closed

    query_close(query=query, by=monitor, text="Matches source")
    assert list(open_queries(monitor)) == []
    with pytest.raises(ValidationError):
        query_answer(query=query, by=coordinator, text="again")
    query_reopen(query=query, by=monitor, text="Weight on day 1 differs too")
    assert DataQuery.objects.get(pk=query.pk).status == QueryStatus.OPEN
    assert list(query.messages.values_list("action", flat=True)) == ["raise", "correct", "close", "reopen"]


def test_coordinator_cannot_raise_and_monitor_cannot_answer(sample_form, monitor, coordinator):
    with pytest.raises(PermissionDenied):
        query_raise(crf=sample_form, field="weight_kg", text="?", by=coordinator)
    query = query_raise(crf=sample_form, field="weight_kg", text="Check", by=monitor)
    with pytest.raises(PermissionDenied):
        query_answer(query=query, by=monitor, text="fine")


def test_invalid_correction_is_refused_and_changes_nothing(sample_form, monitor, coordinator):
    query = query_raise(crf=sample_form, field="performance_status", text="ECOG?", by=monitor)
    with pytest.raises(ValidationError) as refused:
        query_answer(query=query, by=coordinator, text="ECOG 5", new_value="5", reason="x")
    assert "new_value" in refused.value.message_dict
    sample_form.refresh_from_db()
    assert sample_form.performance_status == "1"
    assert DataQuery.objects.get(pk=query.pk).status == QueryStatus.OPEN


def test_automatic_query_is_raised_once(sample_form):
    first = query_raise_automatic(crf=sample_form, field="weight_kg", text="Weight fell by 12 %.")
    again = query_raise_automatic(crf=sample_form, field="weight_kg", text="Weight fell by 12 %.")
    assert first.pk == again.pk and first.automatic and first.raised_by is None
    assert query_raise_automatic(crf=sample_form, field="not_a_field", text="x") is None


def test_protocol_deviation_raises_an_automatic_query(sample_form, coordinator):
    from crf.checks import SoftCheck
    from monitoring.services import deviations_record

    check = SoftCheck(rule="weight_drop", field="weight_kg", message="Weight 12 % below screening.", value="62.5")
    deviations_record(crf=sample_form, checks=[check], reason="Confirmed weight loss", by=coordinator)
    query = DataQuery.objects.get()
    assert query.automatic and query.field == "weight_kg"
    assert "Weight 12 % below screening." in query.text


def test_edit_of_a_verified_value_clears_its_sdv_mark_but_not_others(sample_form, monitor, coordinator):
    crf_verify(crf=sample_form, by=monitor)  # whole form
    crf_verify(crf=sample_form, by=monitor, fields=["performance_status", "weight_kg"])
    sample_form.refresh_from_db()
    assert sample_form.status == CrfStatus.VERIFIED

    sample_form.weight_kg = Decimal("63.0")
    crf_save(crf=sample_form, by=coordinator, reason="Re-weighed")
    active = set(SourceVerification.objects.filter(cleared_at__isnull=True).values_list("field", flat=True))
    assert active == {"performance_status"}
    cleared = SourceVerification.objects.get(field="weight_kg")
    assert cleared.cleared_reason == "Value changed: Re-weighed"
    assert sample_form.status == CrfStatus.SUBMITTED


def test_save_without_a_change_keeps_verification(sample_form, monitor, coordinator):
    crf_verify(crf=sample_form, by=monitor)
    sample_form.refresh_from_db()
    crf_save(crf=sample_form, by=coordinator, reason="Opened and saved")
    assert sample_form.status == CrfStatus.VERIFIED
    assert SourceVerification.objects.get().is_active


def test_investigator_signs_with_password_and_an_edit_voids_the_signature(sample_form, investigator, coordinator):
    investigator.first_name, investigator.last_name = "Li", "Wei"
    investigator.save()
    with pytest.raises(ValidationError) as wrong:
        crf_sign(crf=sample_form, by=investigator, password="wrong")
    assert "password" in wrong.value.message_dict
    signature = crf_sign(crf=sample_form, by=investigator, password=PASSWORD)
    sample_form.refresh_from_db()
    assert sample_form.status == CrfStatus.SIGNED
    assert (signature.signer_full_name, signature.meaning) == ("Li Wei", "Reviewed and approved")
    assert signature_is_intact(signature)

    sample_form.performance_status = "2"
    crf_save(crf=sample_form, by=coordinator, reason="Patient now ECOG 2 per notes")
    signature.refresh_from_db()
    assert signature.voided_at is not None
    assert signature.void_reason == "Form changed after signing: Patient now ECOG 2 per notes"
    assert sample_form.status == CrfStatus.SUBMITTED
    assert not signature_is_intact(signature)  # the signed values are no longer those of the form


def test_only_an_investigator_of_the_patients_site_may_sign(sample_form, coordinator, site_wx):
    from tests.factories import MembershipFactory, UserFactory

    other = UserFactory(username="inv_wx")
    MembershipFactory(user=other, site=site_wx, role="investigator")
    for user in (coordinator, other):
        with pytest.raises(PermissionDenied):
            crf_sign(crf=sample_form, by=user, password=PASSWORD)
    assert not Signature.objects.exists()


def test_tampering_bypassing_crf_save_is_detected(sample_form, investigator):
    from tests.crfapp.models import SampleForm

    signature = crf_sign(crf=sample_form, by=investigator, password=PASSWORD)
    SampleForm.objects.filter(pk=sample_form.pk).update(weight_kg=Decimal("80.0"))  # a forger's raw write
    signature.refresh_from_db()
    assert signature.is_valid and not signature_is_intact(signature)
