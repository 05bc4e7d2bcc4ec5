"""Screening against the protocol's eligibility criteria, enrollment and the
subject and screening numbers."""
import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from crf.models import CrfStatus
from patients.models import Patient, PatientStatus
from patients.rules import EligibilityVerdict, eligibility_verdict
from patients.services import patient_screen, screening_update
from trial.protocol_seed import ELIGIBILITY_V1

pytestmark = pytest.mark.django_db

CONSENT = datetime.date(2026, 3, 2)
SCREENING = datetime.date(2026, 3, 4)
CRITERIA = [(code, kind, text) for code, kind, text in ELIGIBILITY_V1]


def all_pass() -> dict[str, bool]:
    return {code: kind == "inclusion" for code, kind, _text in CRITERIA}


def screen(site, by, **changes):
    eligibility = {**all_pass(), **changes}
    return patient_screen(site=site, consent_date=CONSENT, screening_date=SCREENING, eligibility=eligibility, by=by)


# --- the rule, one criterion at a time -------------------------------------------

@pytest.mark.parametrize("code, kind, text", CRITERIA)
def test_each_criterion_failing_alone_makes_the_patient_ineligible(code, kind, text):
    answers = {**all_pass(), code: kind == "exclusion"}  # inclusion not met / exclusion present
    assert eligibility_verdict(criteria=CRITERIA, answers=answers) == EligibilityVerdict.INELIGIBLE


@pytest.mark.parametrize("code, kind, text", CRITERIA)
def test_each_criterion_unanswered_leaves_screening_pending(code, kind, text):
    answers = {**all_pass(), code: None}
    assert eligibility_verdict(criteria=CRITERIA, answers=answers) == EligibilityVerdict.PENDING


def test_all_inclusion_met_and_no_exclusion_present_is_eligible():
    assert eligibility_verdict(criteria=CRITERIA, answers=all_pass()) == EligibilityVerdict.ELIGIBLE


def test_one_failure_decides_even_with_other_criteria_open():
    answers = {code: None for code, _kind, _text in CRITERIA} | {"pregnancy": True}
    assert eligibility_verdict(criteria=CRITERIA, answers=answers) == EligibilityVerdict.INELIGIBLE


# --- the service --------------------------------------------------------------------

@pytest.mark.parametrize("code, kind, text", CRITERIA)
def test_failing_criterion_records_screen_failure_with_its_reason(protocol, site_sz, coordinator, code, kind, text):
    patient = screen(site_sz, coordinator, **{code: kind == "exclusion"})
    patient.refresh_from_db()
    assert patient.status == PatientStatus.SCREEN_FAILED
    assert patient.subject_id is None
    assert patient.screening_number == "SCR-SZ-001"
    prefix = "Inclusion criterion not met" if kind == "inclusion" else "Exclusion criterion present"
    assert patient.screen_failure_reason == f"{prefix}: {text}"
    assert patient.screening.status == CrfStatus.SUBMITTED
    assert patient.screening.eligibility[code] is (kind == "exclusion")


def test_eligible_patient_is_enrolled_with_site_prefixed_subject_id(protocol, site_sz, coordinator):
    patient = screen(site_sz, coordinator)
    assert (patient.status, patient.subject_id, patient.enrollment_date) == ("enrolled", "SZ-001", SCREENING)
    assert patient.consent_date == CONSENT
    assert Patient.objects.by_study_id("SZ-001").get() == patient
    history = patient.history.first()
    assert (history.history_user, history.history_change_reason) == (coordinator, "Enrolled as SZ-001")


def test_subject_ids_count_per_site_and_skip_screen_failures(protocol, site_sz, site_wx, coordinator):
    first = screen(site_sz, coordinator)
    failed = screen(site_sz, coordinator, pregnancy=True)
    second = screen(site_sz, coordinator)
    other_site = screen(site_wx, coordinator)
    assert [first.subject_id, failed.subject_id, second.subject_id, other_site.subject_id] == [
        "SZ-001", None, "SZ-002", "WX-001"]
    assert [p.screening_number for p in (first, failed, second, other_site)] == [
        "SCR-SZ-001", "SCR-SZ-002", "SCR-SZ-003", "SCR-WX-001"]


def test_screening_number_skips_numbers_already_taken_by_an_import(protocol, site_sz, coordinator):
    patient_screen(site=site_sz, consent_date=CONSENT, screening_date=SCREENING, eligibility=all_pass(),
                   by=coordinator, screening_number="SCR-SZ-002")
    assert screen(site_sz, coordinator).screening_number == "SCR-SZ-003"


def test_open_criterion_keeps_patient_in_screening_with_a_draft_form(protocol, site_sz, coordinator):
    patient = screen(site_sz, coordinator, cns3_disease=None)
    assert (patient.status, patient.subject_id, patient.screening.status) == ("screening", None, CrfStatus.DRAFT)


def test_completing_a_draft_screening_enrolls(protocol, site_sz, coordinator):
    patient = screen(site_sz, coordinator, cns3_disease=None)
    screening_update(patient=patient, consent_date=CONSENT, screening_date=SCREENING, eligibility=all_pass(),
                     by=coordinator)
    patient.refresh_from_db()
    assert (patient.status, patient.subject_id, patient.screening.status) == ("enrolled", "SZ-001", "submitted")


def test_correcting_a_submitted_screening_needs_a_reason(protocol, site_sz, coordinator):
    patient = screen(site_sz, coordinator)
    with pytest.raises(ValidationError) as refused:
        screening_update(patient=patient, consent_date=datetime.date(2026, 3, 1), screening_date=SCREENING,
                         eligibility=all_pass(), by=coordinator)
    assert "reason" in refused.value.message_dict
    screening_update(patient=patient, consent_date=datetime.date(2026, 3, 1), screening_date=SCREENING,
                     eligibility=all_pass(), by=coordinator, reason="Consent date misread from the paper form")
    patient.screening.refresh_from_db()
    assert patient.screening.consent_date == datetime.date(2026, 3, 1)
    assert patient.screening.history.first().history_change_reason == "Consent date misread from the paper form"


def test_correction_may_not_turn_an_enrollment_into_a_screen_failure(protocol, site_sz, coordinator):
    patient = screen(site_sz, coordinator)
    with pytest.raises(ValidationError) as refused:
        screening_update(patient=patient, consent_date=CONSENT, screening_date=SCREENING,
                         eligibility={**all_pass(), "pregnancy": True}, by=coordinator, reason="late lab")
    assert "protocol deviation" in refused.value.message_dict["eligibility"][0]
    patient.refresh_from_db()
    assert patient.status == "enrolled"


def test_unknown_criterion_code_is_refused_and_creates_nothing(protocol, site_sz, coordinator):
    with pytest.raises(ValidationError) as refused:
        screen(site_sz, coordinator, hiv_positive=False)
    assert "hiv_positive" in refused.value.message_dict["eligibility"][0]
    assert not Patient.objects.exists()


def test_consent_in_the_future_is_refused_on_the_field(protocol, site_sz, coordinator):
    tomorrow = datetime.date.today() + datetime.timedelta(days=2)
    with pytest.raises(ValidationError) as refused:
        patient_screen(site=site_sz, consent_date=tomorrow, screening_date=datetime.date.today(),
                       eligibility=all_pass(), by=coordinator)
    assert refused.value.message_dict["consent_date"]
    assert not Patient.objects.exists()


# --- the enrollment cap -------------------------------------------------------------

def test_enrollment_past_the_planned_total_is_refused_with_a_clear_message(protocol, site_sz, coordinator):
    protocol.planned_enrollment = 2
    protocol.save()
    screen(site_sz, coordinator)
    screen(site_sz, coordinator)
    with pytest.raises(ValidationError) as refused:
        screen(site_sz, coordinator)
    assert refused.value.message_dict["eligibility"] == [
        "Enrollment is closed: the protocol plans 2 patients and 2 are already enrolled."]
    assert Patient.objects.filter(subject_id__isnull=False).count() == 2
    # A screen failure is not an enrollment: still recorded when the trial is full.
    assert screen(site_sz, coordinator, pregnancy=True).status == "screen_failed"



# --- any combination of answers -------------------------------------------------------


@given(st.fixed_dictionaries({code: st.sampled_from([True, False, None]) for code, _k, _t in CRITERIA}))
def test_verdict_for_any_answers_follows_the_definition(answers):
    failing = [code for code, kind, _text in CRITERIA
               if answers[code] is not None and answers[code] == (kind == "exclusion")]
    verdict = eligibility_verdict(criteria=CRITERIA, answers=answers)
    if failing:
        assert verdict == EligibilityVerdict.INELIGIBLE
    elif None in answers.values():
        assert verdict == EligibilityVerdict.PENDING
    else:
        assert verdict == EligibilityVerdict.ELIGIBLE
