import datetime
from decimal import Decimal

import pytest

from infusions import services as infusion_services
from infusions.rules import InfusionFraction
from patients.models import Patient
from tests.factories import PatientFactory
from tests.infusions.conftest import PLAN_173, PRODUCT, full_course

# The second patient: fludarabine 47 mg instead of 52 on day -4 (within the 10 % tolerance, so no
# deviation) and no cyclophosphamide on day -3 (missed: acknowledged as a deviation); two CAR-T
# fractions of 150 x10^6 CAR+ cells on 2 and 3 March at 60 kg (2.50 x10^6/kg each).
SECOND_START = datetime.date(2026, 2, 25)
SECOND_DAY_0 = datetime.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _tasks_in_process(celery_eager):
    """Recording an infusion queues the visit schedule: run it in-process."""


@pytest.fixture
def second_patient(protocol, site_sz, coordinator):
    patient = PatientFactory(site=site_sz, protocol=protocol)
    infusion_services.lymphodepletion_record(
        patient=patient, by=coordinator, start_date=SECOND_START, weight_kg=Decimal("63.4"),
        height_cm=Decimal("170"),
        doses=full_course(PLAN_173, {(-4, "fludarabine"): Decimal("47"), (-3, "cyclophosphamide"): None}),
        acknowledge_deviation=True, deviation_reason="Cyclophosphamide withheld: febrile on day -3")
    infusion_services.infusion_record(
        patient=patient, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
        fractions=[InfusionFraction(SECOND_DAY_0, 150_000_000),
                   InfusionFraction(SECOND_DAY_0 + datetime.timedelta(days=1), 150_000_000)])
    patient.refresh_from_db()
    return patient


@pytest.fixture
def screen_failure(protocol, site_sz, coordinator):
    from patients.services import patient_screen

    criteria = protocol.eligibility_criteria.values_list("code", "kind")
    eligibility = {code: kind == "inclusion" for code, kind in criteria}
    eligibility["pregnancy"] = True
    return patient_screen(site=site_sz, by=coordinator, screening_date=datetime.date(2026, 1, 10),
                          consent_date=datetime.date(2026, 1, 9), eligibility=eligibility)


def all_patients():
    return Patient.objects.all()
