import datetime

import pytest

INFUSION_DATE = datetime.date(2026, 2, 1)


@pytest.fixture
def infused_patient(patient_sz, coordinator):
    """An adult (born 1990) infused on 1 February 2026 (day 0) through the services: lymphodepletion from
    27 January, then the CAR-T infusion record."""
    from tests.factories import infuse

    return infuse(patient_sz, by=coordinator, day_0=INFUSION_DATE)


@pytest.fixture
def infused_child(protocol, site_sz, coordinator):
    """A child born 1 June 2016 (9 years old at infusion: CAPD), infused like the adult."""
    from tests.factories import PatientFactory, infuse

    child = PatientFactory(site=site_sz, protocol=protocol, birth_date=datetime.date(2016, 6, 1),
                           subject_id="SZ-900", screening_number="SCR-0900")
    return infuse(child, by=coordinator, day_0=INFUSION_DATE)
