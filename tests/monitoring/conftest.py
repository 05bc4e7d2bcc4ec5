import datetime
from decimal import Decimal

import pytest

from crf.services import crf_save
from tests.crfapp.models import SampleForm


@pytest.fixture
def sample_form(patient_sz, coordinator, protocol):
    """A submitted test CRF at site SZ: 62.5 kg, ECOG 1."""
    form = SampleForm(patient=patient_sz, protocol=protocol, assessment_date=datetime.date(2026, 2, 1),
                      weight_kg=Decimal("62.5"), performance_status="1")
    return crf_save(crf=form, by=coordinator)


@pytest.fixture
def visit(patient_sz, protocol):
    from patients.models import Visit

    definition = protocol.visit_definitions.get(code="D28") if protocol.visit_definitions.filter(
        code="D28").exists() else protocol.visit_definitions.order_by("target_day").last()
    return Visit.objects.create(patient=patient_sz, definition=definition, target_date=datetime.date(2026, 3, 1),
                                window_start=datetime.date(2026, 2, 25), window_end=datetime.date(2026, 3, 5))

