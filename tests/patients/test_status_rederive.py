"""Statuses stored before "in follow-up" was derived (every infused patient stayed "infused"):
`manage.py patients_status_rederive` (and migration patients/0009, the same service) derives each patient's
status from the record once, audited; an off-study patient stays off study; a second run changes nothing."""
import io

import pytest
from django.core.management import call_command

from outcomes.services import end_of_study_save, response_assessment_save
from patients.models import Patient, PatientStatus
from tests.factories import PatientFactory, infuse
from tests.outcomes.conftest import INFUSION_DATE, day

pytestmark = pytest.mark.django_db

REMISSION = {"bone_marrow_blasts_percent": "1.50", "circulating_blasts": False, "extramedullary_disease": False,
             "anc_per_ul": 1500, "platelets_per_ul": 120000}


def stored_as_before_the_rule(patient, status=PatientStatus.INFUSED) -> None:
    """The row as the old code left it (a raw write stands for it, as a migration would)."""
    Patient.objects.filter(pk=patient.pk).update(status=status)


def run(*args) -> str:
    out = io.StringIO()
    call_command("patients_status_rederive", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def infused(protocol, site_sz, coordinator):
    return infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=INFUSION_DATE)


@pytest.fixture
def assessed(infused, coordinator):
    response_assessment_save(patient=infused, by=coordinator, values={"assessment_date": day(28), **REMISSION})
    stored_as_before_the_rule(infused)
    return infused


def test_an_assessed_patient_stored_as_infused_is_derived_in_follow_up_audited(assessed, protocol, site_sz,
                                                                               coordinator):
    not_yet = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=INFUSION_DATE)
    output = run()
    assessed.refresh_from_db()
    assert assessed.status == PatientStatus.FOLLOW_UP
    assert assessed.history.first().history_change_reason == (
        "Status derived from the record (Infused → In follow-up): derived under the status rule (in follow-up "
        "from the 1-month assessment)")
    assert assessed.history.first().history_user is None
    not_yet.refresh_from_db()
    assert not_yet.status == PatientStatus.INFUSED
    assert output.splitlines() == [f"{assessed.study_id}: infused → follow_up", "Statuses derived again: 1 changed."]
    assert run().splitlines() == ["Statuses derived again: 0 changed."]  # idempotent


def test_a_dry_run_saves_nothing(assessed):
    assert run("--dry-run").splitlines()[-1] == "Dry run: nothing was saved."
    assessed.refresh_from_db()
    assert assessed.status == PatientStatus.INFUSED


def test_an_off_study_patient_stays_off_study(infused, coordinator):
    end_of_study_save(patient=infused, by=coordinator, values={"end_date": day(40), "end_reason": "consent_withdrawn"})
    response_assessment_save(patient=infused, by=coordinator, values={"assessment_date": day(28), **REMISSION})
    run()
    infused.refresh_from_db()
    assert (infused.status, infused.off_study_date) == (PatientStatus.OFF_STUDY, day(40))
