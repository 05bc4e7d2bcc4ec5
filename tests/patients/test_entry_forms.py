"""Screening and baseline pages build on the CRF entry base (`crf.forms.CrfEntryForm`) like every CRF: the
loaded version, the reason for change once the form is submitted, and the acknowledgement of a failed soft
check, shown only when one failed and handed to the form's service."""

import pytest
from django.urls import reverse

from crf.checks import SoftCheck, SoftChecksNotAcknowledged
from crf.forms import CrfEntryForm
from patients import services as patient_services
from patients.models import BaselineCRF
from tests.factories import PatientFactory
from tests.pages import submit
from tests.test_hostile_input import CASES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("crf_code", sorted(CASES))
def test_every_crf_entry_form_builds_on_the_entry_base(crf_code, protocol, site_sz):
    """Screening and baseline included: a form that keeps its own version or reason field fails here."""
    patient = PatientFactory(site=site_sz, protocol=protocol)
    form = CASES[crf_code].form({}, patient, protocol, site_sz)
    assert isinstance(form, CrfEntryForm)
    assert {"version", "acknowledge_deviation", "deviation_reason"} <= set(form.fields)
    assert not form.show_deviation  # nothing failed yet


def test_the_reason_is_asked_once_the_screening_or_baseline_is_submitted(client, protocol, site_sz, coordinator):
    """A submitted form needs its reason (the service's rule, on the page's field); a new baseline has none."""
    patient = PatientFactory(site=site_sz, protocol=protocol)
    client.force_login(coordinator)
    for name in ("patients:screening_edit", "patients:baseline_edit"):
        form = client.get(reverse(name, args=[patient.study_id])).context["form"]
        assert form.fields["reason"].required, name
    fresh = PatientFactory(site=site_sz, protocol=protocol, with_baseline=False)
    form = client.get(reverse("patients:baseline_new", args=[fresh.study_id])).context["form"]
    assert "reason" not in form.fields


def test_a_failed_soft_check_on_the_baseline_shows_the_acknowledgement_and_hands_it_to_the_service(
        client, protocol, site_sz, coordinator, monkeypatch):
    """The baseline has no soft check of its own today; one is stood in for (a weight far from screening) to
    show the page's part: no acknowledgement before a check fails, the check's message on it after, and the
    ticked acknowledgement with its reason reaching `baseline_save`, which then saves."""
    patient = PatientFactory(site=site_sz, protocol=protocol)
    real_save = patient_services.baseline_save
    received = []

    def with_a_soft_check(**kwargs):
        received.append((kwargs["acknowledge_deviation"], kwargs["deviation_reason"]))
        if not (kwargs["acknowledge_deviation"] and kwargs["deviation_reason"]):
            raise SoftChecksNotAcknowledged([SoftCheck(rule="weight_change", field="weight_kg", value="80 kg",
                                                       message="Weight 80 kg is 14 % above the last weight.")])
        return real_save(**kwargs)

    monkeypatch.setattr("patients.views.baseline_save", with_a_soft_check)
    client.force_login(coordinator)
    url = reverse("patients:baseline_edit", args=[patient.study_id])
    assert b'data-testid="deviation"' not in client.get(url).content
    refused = submit(client, url, button="Save baseline", weight_kg="80", reason="Weighed again")
    assert refused.status_code == 200
    page = refused.content.decode()
    assert 'data-testid="deviation"' in page and "Weight 80 kg is 14 % above the last weight." in page
    saved = client.post(url, {**refused.context["form"].data.dict(), "acknowledge_deviation": "on",
                              "deviation_reason": "Fluid overload, weighed twice"})
    assert saved.status_code == 302
    assert received == [(False, ""), (True, "Fluid overload, weighed twice")]
    assert str(BaselineCRF.objects.get(patient=patient).weight_kg) == "80.0"
