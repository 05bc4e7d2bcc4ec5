"""Lost updates: two users editing the same CRF. The second save, based on the
version the first one replaced, is refused with what changed; nothing the
first saved is lost (optimistic concurrency, `crf_save`)."""
import re
from decimal import Decimal

import pytest
from django.test import Client

from crf.checks import CrfConflict
from crf.models import CrfStatus
from crf.services import crf_save
from monitoring.services import crf_verify
from patients.models import BaselineCRF
from patients.services import baseline_save
from tests.crfapp.models import SampleForm
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator_two(site_sz):
    user = UserFactory(username="coord_sz_2", first_name="Li", last_name="Na")
    MembershipFactory(user=user, site=site_sz, role="coordinator")
    return user


def test_a_stale_edit_is_refused_with_the_other_users_change_and_the_first_save_is_kept(
        sample_form, coordinator, coordinator_two):
    first = SampleForm.objects.get(pk=sample_form.pk)
    second = SampleForm.objects.get(pk=sample_form.pk)
    assert first.version == second.version == 1

    first.weight_kg = Decimal("64.0")
    crf_save(crf=first, by=coordinator, reason="Weighed again")
    second.weight_kg = Decimal("66.0")
    second.performance_status = "2"
    with pytest.raises(CrfConflict) as refused:
        crf_save(crf=second, by=coordinator_two, reason="Transcription")

    conflict = refused.value
    assert (conflict.expected_version, conflict.current_version) == (1, 2)
    who = f"{coordinator.get_full_name()} (coord_sz)"
    assert [(c.field, c.old, c.new, c.by, c.reason) for c in conflict.changes] == [
        ("weight_kg", "62.5", "64.0", who, "Weighed again")]
    assert f"{who} saved this Sample form after you opened it" in conflict.messages[0]
    assert conflict.messages[1].startswith(f"Changed — Weight (kg): 62.5 → 64.0 ({who}, ")
    stored = SampleForm.objects.get(pk=sample_form.pk)
    assert (stored.weight_kg, stored.performance_status, stored.version) == (Decimal("64.0"), "1", 2)
    assert list(stored.history.values_list("history_type", "history_change_reason")) == [
        ("~", "Weighed again"), ("+", "Initial entry")]


def test_saving_again_on_the_current_version_after_the_conflict_goes_through(sample_form, coordinator,
                                                                              coordinator_two):
    first, second = SampleForm.objects.get(pk=sample_form.pk), SampleForm.objects.get(pk=sample_form.pk)
    first.weight_kg = Decimal("64.0")
    crf_save(crf=first, by=coordinator, reason="Weighed again")
    second.weight_kg = Decimal("66.0")
    with pytest.raises(CrfConflict):
        crf_save(crf=second, by=coordinator_two, reason="Transcription")
    crf_save(crf=second, by=coordinator_two, reason="Transcription", expected_version=2)
    stored = SampleForm.objects.get(pk=sample_form.pk)
    assert (stored.weight_kg, stored.version) == (Decimal("66.0"), 3)


def test_verifying_does_not_raise_the_version_and_an_edit_after_it_clears_the_verification(
        sample_form, coordinator, monitor):
    loaded = SampleForm.objects.get(pk=sample_form.pk)
    crf_verify(crf=SampleForm.objects.get(pk=sample_form.pk), by=monitor)
    verified = SampleForm.objects.get(pk=sample_form.pk)
    assert (verified.status, verified.version) == (CrfStatus.VERIFIED, 1)
    # The coordinator's edit (loaded before the verification) is not a conflict: no value moved.
    loaded.weight_kg = Decimal("63.0")
    crf_save(crf=loaded, by=coordinator, reason="Scale recalibrated")
    stored = SampleForm.objects.get(pk=sample_form.pk)
    assert (stored.status, stored.version, stored.weight_kg) == (CrfStatus.SUBMITTED, 2, Decimal("63.0"))


def test_a_new_entry_page_refuses_when_the_form_was_created_meanwhile(patient_sz, coordinator):
    assert BaselineCRF.objects.get(patient=patient_sz).version == 1
    with pytest.raises(CrfConflict) as refused:
        baseline_save(patient=patient_sz, by=coordinator, reason="x", version=0, weight_kg=Decimal("71"))
    assert refused.value.current_version == 1
    assert BaselineCRF.objects.get(patient=patient_sz).weight_kg == Decimal("70.0")


def _hidden_version(response) -> str:
    return re.search(rb'name="version" value="(\d+)"', response.content).group(1).decode()


def _baseline_post(version: str, weight: str) -> dict:
    return {
        "version": version, "assessment_date": "2026-01-05", "sex": "F", "birth_date": "1990-05-17",
        "weight_kg": weight, "height_cm": "170", "bone_marrow_blasts_percent": "42", "mrd_percent": "",
        "extramedullary_sites": "", "ph_status": "negative", "prior_lines_of_therapy": "2", "prior_hsct": "false",
        "prior_blinatumomab": "false", "prior_inotuzumab": "false", "reason": "Weighed again",
    }


def test_two_coordinators_on_the_baseline_page_the_second_sees_what_changed_and_keeps_their_entry(
        patient_sz, coordinator, coordinator_two):
    url = f"/patients/{patient_sz.study_id}/baseline/"
    one, two = Client(), Client()
    one.force_login(coordinator)
    two.force_login(coordinator_two)
    version_one, version_two = _hidden_version(one.get(url)), _hidden_version(two.get(url))
    assert version_one == version_two == "1"

    assert one.post(url, _baseline_post(version_one, "72")).status_code == 302
    refused = two.post(url, _baseline_post(version_two, "75"))

    assert refused.status_code == 200
    text = refused.content.decode()
    who = f"{coordinator.get_full_name()} (coord_sz)"
    assert f"Not saved: {who} saved this Baseline" in text
    assert f"Weight (kg): 70.0 → 72.0 ({who}," in text
    assert 'name="weight_kg" value="75"' in text  # their own entry is still in the form
    assert _hidden_version(refused) == "2"  # saving again now is a deliberate overwrite
    baseline = BaselineCRF.objects.get(patient=patient_sz)
    assert (baseline.weight_kg, baseline.version) == (Decimal("72.0"), 2)
    assert baseline.history.filter(history_type="~").count() == 1


def test_api_put_needs_the_version_and_a_stale_one_is_a_409_listing_the_changes(api_client, coordinator,
                                                                                  patient_sz):
    from tests.infusions.test_api import COURSE, url

    api_client.force_authenticate(coordinator)
    created = api_client.post(url(patient_sz, "lymphodepletion"), COURSE, format="json")
    assert created.status_code == 201 and created.json()["version"] == 1
    missing = api_client.put(url(patient_sz, "lymphodepletion"), dict(COURSE, weight_kg="64", reason="r"),
                             format="json")
    assert missing.status_code == 400 and "version" in missing.json()
    saved = api_client.put(url(patient_sz, "lymphodepletion"),
                           dict(COURSE, weight_kg="64", reason="Weighed again", version=1), format="json")
    assert saved.status_code == 200 and saved.json()["version"] == 2

    stale = api_client.put(url(patient_sz, "lymphodepletion"),
                           dict(COURSE, weight_kg="65", reason="Lab feed", version=1), format="json")

    assert stale.status_code == 409
    body = stale.json()
    assert (body["version"], body["current_version"]) == (1, 2)
    assert [(c["field"], c["old"], c["new"], c["by"]) for c in body["changes"]] == [
        ("weight_kg", "63.4", "64.0", f"{coordinator.get_full_name()} (coord_sz)"),
        ("bsa_m2", "1.73", "1.74", f"{coordinator.get_full_name()} (coord_sz)")]
    assert api_client.get(url(patient_sz, "lymphodepletion")).json()["weight_kg"] == "64.0"
