import datetime

import pytest

from patients.models import PatientStatus, Visit
from tests.factories import PatientFactory, infuse
from trial.models import VisitDefinition

INFUSION_DATE = datetime.date(2026, 1, 20)


def day(n: int, infusion_date: datetime.date = INFUSION_DATE) -> datetime.date:
    return infusion_date + datetime.timedelta(days=n)


@pytest.fixture
def infused(protocol, site_sz, coordinator):
    """An SZ patient infused on 2026-01-20 (consent 2026-01-05) through the services: lymphodepletion from
    2026-01-15, then the CAR-T infusion record."""
    patient = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=INFUSION_DATE)
    assert patient.status == PatientStatus.INFUSED
    return patient


@pytest.fixture
def d28_visit(infused):
    definition = VisitDefinition.objects.get(protocol=infused.protocol, is_primary_assessment=True)
    return Visit.objects.create(
        patient=infused, definition=definition, target_date=day(28),
        window_start=day(28 - definition.window_before_days), window_end=day(28 + definition.window_after_days),
    )
