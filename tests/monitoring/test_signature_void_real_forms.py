"""An edit voids the investigator's signature on the trial's real CRFs, not only on the test-only form."""
import datetime
from decimal import Decimal

import pytest

from crf.models import CrfStatus
from infusions import services as infusion_services
from infusions.rules import InfusionFraction
from monitoring.models import Signature
from monitoring.services import crf_sign, signature_is_intact
from safety.services import crs_assessment_save
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_correcting_a_signed_crs_assessment_voids_its_signature(full_patient, coordinator):
    """If the CRS service saved around the signature check, the signature would stay valid over a temperature
    the investigator never signed (and the grade it drives): here it must be void and the form unsigned."""
    crs = full_patient.crf("safety.crsassessment")
    signature = full_patient.signature
    assert (signature.object_id, crs.status) == (crs.pk, CrfStatus.SIGNED)
    crs.max_temperature_c = Decimal("39.4")
    crs.hypotension = "fluids"
    crs_assessment_save(assessment=crs, by=coordinator, reason="Peak temperature from the night chart")
    signature.refresh_from_db()
    crs.refresh_from_db()
    assert signature.voided_at is not None
    assert signature.void_reason == "Form changed after signing: Peak temperature from the night chart"
    assert not signature_is_intact(signature)
    assert (crs.status, crs.grade) == (CrfStatus.SUBMITTED, 2)  # re-graded: fever with hypotension on fluids


def test_correcting_a_signed_infusion_voids_its_signature(full_patient, coordinator, investigator):
    """The infusion is saved by its own service (product, weight, fractions): a correction of the weight, which
    changes the dose per kg, must void the signature over the old dose."""
    infusion = full_patient.crf("infusions.infusion")
    signature = crf_sign(crf=infusion, by=investigator, password=PASSWORD)
    infusion.refresh_from_db()
    assert infusion.status == CrfStatus.SIGNED
    infusion_services.infusion_record(
        patient=full_patient.patient, by=coordinator, weight_kg=Decimal("58"),
        product=infusion_services.ProductEntry(
            lot="SZ-CART-0001", manufacture_date=datetime.date(2026, 1, 20), total_viable_cells=2_000_000_000,
            viability_percent=Decimal("92.5"), car_positive_percent=Decimal("50")),
        fractions=[InfusionFraction(datetime.date(2026, 2, 6), 300_000_000)],
        reason="Weight on the day of infusion", version=infusion.version)
    signature.refresh_from_db()
    infusion.refresh_from_db()
    assert signature.voided_at is not None and not signature_is_intact(signature)
    assert infusion.status == CrfStatus.SUBMITTED
    assert infusion.dose_cells_per_kg == Decimal("5172413.79")  # 300 ×10⁶ / 58 kg = 5 172 413.793…
    assert not Signature.objects.filter(object_id=infusion.pk, voided_at__isnull=True,
                                        content_type__model="infusion").exists()
