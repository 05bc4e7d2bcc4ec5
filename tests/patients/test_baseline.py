"""The Baseline CRF: body-surface area by Mosteller, age, and the hard checks
that refuse impossible values on the field."""
import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from crf.models import CrfStatus
from patients.models import BaselineCRF
from patients.services import baseline_save

pytestmark = pytest.mark.django_db

D = Decimal
DISEASE = dict(bone_marrow_blasts_percent=D("42"), mrd_percent=None, extramedullary_sites="", ph_status="negative",
               prior_lines_of_therapy=2, prior_hsct=False, prior_blinatumomab=True, prior_inotuzumab=False)


@pytest.fixture
def screened(protocol, site_sz):
    from tests.factories import PatientFactory

    return PatientFactory(site=site_sz, protocol=protocol, with_baseline=False, consent_date=datetime.date(2026, 1, 5))


def save(patient, by, **values):
    base = dict(sex="M", birth_date=datetime.date(1990, 5, 17), weight_kg=D("70"), height_cm=D("170"), **DISEASE)
    return baseline_save(patient=patient, by=by, **{**base, **values})


@pytest.mark.parametrize(
    "height_cm, weight_kg, expected_m2",
    [
        # sqrt(170 × 70 / 3600) = sqrt(3.30556) = 1.81811 → 1.82
        (D("170"), D("70"), D("1.82")),
        # sqrt(120 × 25 / 3600) = sqrt(0.83333) = 0.91287 → 0.91 (a child)
        (D("120"), D("25"), D("0.91")),
        # sqrt(152 × 48 / 3600) = sqrt(2.02667) = 1.42361 → 1.42
        (D("152"), D("48"), D("1.42")),
        # sqrt(182 × 85 / 3600) = sqrt(4.29722) = 2.07298 → 2.07
        (D("182"), D("85"), D("2.07")),
        # sqrt(165.5 × 62.3 / 3600) = sqrt(2.86404) = 1.69235 → 1.69
        (D("165.5"), D("62.3"), D("1.69")),
    ],
)
def test_bsa_on_the_baseline_form_matches_hand_computed_mosteller(screened, coordinator, height_cm, weight_kg,
                                                                   expected_m2):
    baseline = save(screened, coordinator, height_cm=height_cm, weight_kg=weight_kg)
    baseline.refresh_from_db()
    assert baseline.bsa_m2 == expected_m2


def test_age_is_derived_from_birth_date_at_consent(screened, coordinator):
    # Born 1990-05-17, consent 2026-01-05: the 2026 birthday has not come yet → 35.
    assert save(screened, coordinator).age_years == 35
    assert save(screened, coordinator, birth_date=datetime.date(1990, 1, 5), reason="DOB corrected").age_years == 36


def test_complete_disease_status_submits_and_incomplete_stays_draft(screened, coordinator):
    draft = save(screened, coordinator, prior_hsct=None)
    assert draft.status == CrfStatus.DRAFT
    submitted = save(screened, coordinator, prior_hsct=True)  # a draft is edited without a reason
    assert submitted.status == CrfStatus.SUBMITTED


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("weight_kg", D("0"), "A weight of 0 kg is impossible"),
        ("weight_kg", D("400"), "A weight of 400 kg is impossible"),
        ("height_cm", D("20"), "A height of 20 cm is impossible"),
        ("bone_marrow_blasts_percent", D("130"), "A blast percentage of 130 % is impossible"),
        ("mrd_percent", D("101"), "An MRD level of 101 % is impossible"),
        ("birth_date", datetime.date(2026, 1, 6), "The date of birth is after the consent date (2026-01-05)."),
        ("assessment_date", datetime.date(2026, 1, 4), "The baseline assessment is before consent (2026-01-05)."),
    ],
)
def test_impossible_value_is_refused_on_its_field_and_nothing_is_saved(screened, coordinator, field, value, message):
    with pytest.raises(ValidationError) as refused:
        save(screened, coordinator, **{field: value})
    assert any(text.startswith(message) for text in refused.value.message_dict[field])
    assert not BaselineCRF.objects.exists()


def test_editing_a_submitted_baseline_needs_a_reason_and_is_audited(screened, coordinator):
    save(screened, coordinator)
    with pytest.raises(ValidationError):
        save(screened, coordinator, weight_kg=D("68"))
    save(screened, coordinator, weight_kg=D("68"), reason="Weighed again on the ward")
    baseline = BaselineCRF.objects.get()
    assert (baseline.weight_kg, baseline.bsa_m2) == (D("68.0"), D("1.79"))  # sqrt(170×68/3600)=1.79195
    latest = baseline.history.first()
    assert (latest.history_user, latest.history_change_reason) == (coordinator, "Weighed again on the ward")


def test_sex_and_birth_date_are_read_through_the_patient(screened, coordinator):
    save(screened, coordinator, sex="F", birth_date=datetime.date(2001, 2, 3))
    screened.refresh_from_db()
    assert (screened.sex, screened.birth_date, screened.consent_date) == (
        "F", datetime.date(2001, 2, 3), datetime.date(2026, 1, 5))
