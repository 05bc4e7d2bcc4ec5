import datetime

import pytest

INFUSION_DATE = datetime.date(2026, 2, 1)


@pytest.fixture
def infused_patient(patient_sz):
    """An adult (born 1990) infused on 1 February 2026: day 0."""
    patient_sz.infusion_date = INFUSION_DATE
    patient_sz.status = "infused"
    patient_sz.save()
    return patient_sz


@pytest.fixture
def infused_child(protocol, site_sz):
    from tests.factories import PatientFactory

    child = PatientFactory(site=site_sz, protocol=protocol, birth_date=datetime.date(2016, 6, 1),
                           subject_id="SZ-900", screening_number="SCR-0900")
    child.infusion_date = INFUSION_DATE  # 9 years old at infusion: CAPD
    child.status = "infused"
    child.save()
    return child
