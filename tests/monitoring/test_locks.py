import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crf.models import CrfStatus
from crf.services import crf_save
from monitoring.models import DataLock, LockScope
from monitoring.services import (
    crf_lock,
    crf_sign,
    crf_unlock,
    data_lock_create,
    data_lock_release,
    query_raise,
)
from tests.crfapp.models import SampleForm
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def _edit(form, by, weight="70.0"):
    form.weight_kg = Decimal(weight)
    return crf_save(crf=form, by=by, reason="Late correction")


def test_locked_form_refuses_edits_and_unlock_needs_a_reason(sample_form, data_manager, coordinator, investigator):
    crf_sign(crf=sample_form, by=investigator, password=PASSWORD)
    crf_lock(crf=sample_form, by=data_manager, reason="Ready for analysis")
    sample_form.refresh_from_db()
    assert sample_form.status == CrfStatus.LOCKED
    with pytest.raises(ValidationError, match="locked"):
        _edit(sample_form, coordinator)
    with pytest.raises(ValidationError):
        crf_unlock(crf=sample_form, by=data_manager, reason="  ")
    crf_unlock(crf=sample_form, by=data_manager, reason="Lab value re-issued")
    sample_form.refresh_from_db()
    assert sample_form.status == CrfStatus.SIGNED  # back where it was
    _edit(sample_form, coordinator)
    assert SampleForm.objects.get(pk=sample_form.pk).weight_kg == Decimal("70.0")


def test_only_data_managers_lock(sample_form, monitor, coordinator):
    for user in (monitor, coordinator):
        with pytest.raises(PermissionDenied):
            crf_lock(crf=sample_form, by=user)


def test_open_query_blocks_the_lock(sample_form, monitor, data_manager):
    query_raise(crf=sample_form, field="weight_kg", text="Check", by=monitor)
    with pytest.raises(ValidationError, match="1 open query"):
        crf_lock(crf=sample_form, by=data_manager)


@pytest.mark.parametrize("scope", ["patient", "trial"])
def test_patient_and_trial_locks_refuse_edits_and_new_forms(scope, sample_form, data_manager, coordinator,
                                                             protocol):
    lock = data_lock_create(scope=scope, patient=sample_form.patient if scope == "patient" else None,
                            by=data_manager, reason="Database lock")
    with pytest.raises(ValidationError, match="locked"):
        _edit(sample_form, coordinator)
    new = SampleForm(patient=sample_form.patient, protocol=protocol, assessment_date=datetime.date(2026, 3, 1),
                     weight_kg=Decimal("60"), performance_status="0")
    with pytest.raises(ValidationError, match="locked"):
        crf_save(crf=new, by=coordinator)
    data_lock_release(lock=lock, by=data_manager, reason="Query from statistician")
    _edit(SampleForm.objects.get(pk=sample_form.pk), coordinator)


def test_visit_lock_refuses_forms_of_that_visit(sample_form, data_manager, coordinator, visit):
    sample_form.visit = visit
    crf_save(crf=sample_form, by=coordinator, reason="Linked to D28")
    data_lock_create(scope=LockScope.VISIT, visit=visit, by=data_manager)
    with pytest.raises(ValidationError, match="visit is locked"):
        _edit(SampleForm.objects.get(pk=sample_form.pk), coordinator)
    assert DataLock.objects.get().history.first().history_change_reason == "Locked: Visit"


def test_lock_refused_in_the_page_form(client, sample_form, data_manager, monitor, coordinator):
    data_lock_create(scope="trial", by=data_manager, reason="DB lock")
    query = query_raise(crf=sample_form, field="weight_kg", text="Check", by=monitor)
    client.force_login(coordinator)
    response = client.post(f"/monitoring/queries/{query.pk}/", {
        "action": "answer", "text": "Corrected", "correct_value": "on", "new_value": "71.0", "reason": "Typo"})
    assert response.status_code == 200
    assert "The trial database is locked" in response.content.decode()
    assert SampleForm.objects.get(pk=sample_form.pk).weight_kg == Decimal("62.5")


def test_lock_refused_in_the_api(api_client, sample_form, data_manager, monitor, coordinator):
    data_lock_create(scope="patient", patient=sample_form.patient, by=data_manager)
    query = query_raise(crf=sample_form, field="weight_kg", text="Check", by=monitor)
    api_client.force_authenticate(coordinator)
    response = api_client.post(f"/api/v1/queries/{query.pk}/answer/",
                               {"text": "Corrected", "new_value": "71.0", "reason": "Typo"}, format="json")
    assert response.status_code == 400
    assert "locked" in str(response.json())
    assert SampleForm.objects.get(pk=sample_form.pk).weight_kg == Decimal("62.5")


def test_lock_refused_in_the_admin(client, sample_form, data_manager, superuser):
    crf_lock(crf=sample_form, by=data_manager)
    client.force_login(superuser)
    url = f"/admin/crfapp/sampleform/{sample_form.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="weight_kg"' not in page.content.decode()  # read-only view
    response = client.post(url, {"patient": sample_form.patient_id, "protocol": sample_form.protocol_id,
                                 "assessment_date": "2026-02-01", "weight_kg": "99.0", "performance_status": "1",
                                 "reason_for_change": "admin edit"})
    assert response.status_code == 403
    assert SampleForm.objects.get(pk=sample_form.pk).weight_kg == Decimal("62.5")


def test_admin_never_edits_a_crf_even_unlocked(client, sample_form, superuser):
    """Corrections go through the CRF pages and API (checks, derived values, reason); the admin only shows."""
    client.force_login(superuser)
    url = f"/admin/crfapp/sampleform/{sample_form.pk}/change/"
    assert "62.5" in client.get(url).content.decode()
    response = client.post(url, {
        "patient": sample_form.patient_id, "protocol": sample_form.protocol_id, "assessment_date": "2026-02-01",
        "weight_kg": "64.0", "performance_status": "1", "removal_reason": ""})
    assert response.status_code == 403
    assert client.get("/admin/crfapp/sampleform/add/").status_code == 403
    assert SampleForm.objects.get(pk=sample_form.pk).weight_kg == Decimal("62.5")


def test_signature_is_read_only_in_the_admin(client, sample_form, investigator, superuser):
    signature = crf_sign(crf=sample_form, by=investigator, password=PASSWORD)
    client.force_login(superuser)
    assert client.get("/admin/monitoring/signature/add/").status_code == 403
    response = client.post(f"/admin/monitoring/signature/{signature.pk}/change/",
                           {"signer_full_name": "Someone Else"})
    assert response.status_code == 403
    signature.refresh_from_db()
    assert signature.signer_full_name == investigator.get_full_name()
