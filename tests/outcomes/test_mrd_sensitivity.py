"""MRD-negative needs a sensitive assay: recorded and 0.01 % or finer; otherwise not evaluable, with the reason."""
from decimal import Decimal

import pytest

from outcomes.models import ResponseAssessment
from outcomes.rules import mrd_verdict
from outcomes.services import response_assessment_save
from tests.outcomes.conftest import day

CR_MARROW = {"assessment_date": day(28), "bone_marrow_blasts_percent": 1, "circulating_blasts": False,
             "extramedullary_disease": False, "anc_per_ul": 1500, "platelets_per_ul": 150_000, "mrd_flow_percent": 0}


def test_undetectable_mrd_without_a_recorded_assay_sensitivity_is_not_evaluable():
    """Before: 0 % by flow with no sensitivity recorded counted as MRD-negative."""
    verdict = mrd_verdict(mrd_flow_percent=0, genetic_aberration_detected=None)
    assert verdict.negative is None
    assert verdict.reason.startswith("Assay sensitivity not recorded")


@pytest.mark.parametrize("sensitivity, negative", [(Decimal("0.01"), True), (Decimal("0.001"), True),
                                                   (Decimal("0.05"), None)])
def test_undetectable_mrd_is_negative_only_on_an_assay_of_0_01_percent_or_finer(sensitivity, negative):
    assert mrd_verdict(mrd_flow_percent=0, genetic_aberration_detected=None,
                       mrd_assay_sensitivity_percent=sensitivity).negative is negative


def test_detectable_mrd_is_positive_whatever_the_sensitivity():
    assert mrd_verdict(mrd_flow_percent=Decimal("0.02"), genetic_aberration_detected=None).negative is False


@pytest.mark.django_db
def test_the_form_stores_not_evaluable_with_its_reason_and_the_mrd_negative_rate_does_not_count_it(
        api_client, infused, coordinator):
    from outcomes.selectors import patient_courses
    from patients.models import Patient

    saved = response_assessment_save(patient=infused, by=coordinator, values=CR_MARROW)
    assert (saved.response, saved.mrd_negative) == ("CR", None)
    assert "Assay sensitivity not recorded" in saved.mrd_reason
    (course,) = patient_courses(Patient.objects.filter(pk=infused.pk))
    assert course.mrd_negative_1_month is None
    api_client.force_authenticate(coordinator)
    answer = api_client.get(f"/api/v1/patients/{infused.study_id}/response-assessments/").json()
    assert (answer[0]["mrd_negative"], answer[0]["mrd_reason"][:31]) == (None, "Assay sensitivity not recorded:")
    corrected = response_assessment_save(patient=infused, by=coordinator, assessment=saved,
                                         values={"mrd_assay_sensitivity_percent": Decimal("0.01")},
                                         reason="Lab report: sensitivity 10^-4")
    assert (corrected.mrd_negative, corrected.mrd_reason) == (True, "")
    assert ResponseAssessment.objects.get().mrd_negative is True
