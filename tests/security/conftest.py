import datetime
from decimal import Decimal

import pytest


@pytest.fixture
def sample_form(patient_sz, coordinator, protocol):
    """A submitted test CRF at site SZ, waiting for the investigator's signature."""
    from crf.services import crf_save
    from tests.crfapp.models import SampleForm

    form = SampleForm(patient=patient_sz, protocol=protocol, assessment_date=datetime.date(2026, 2, 1),
                      weight_kg=Decimal("62.5"), performance_status="1")
    return crf_save(crf=form, by=coordinator)
