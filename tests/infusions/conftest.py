import datetime
from decimal import Decimal

import pytest

from infusions import services
from infusions.rules import InfusionFraction

START = datetime.date(2026, 2, 1)  # day −5; days −5, −4, −3 are 1, 2, 3 February
DAY_0 = datetime.date(2026, 2, 6)


@pytest.fixture(autouse=True)
def _tasks_in_process(celery_eager):
    """Tasks run in-process in these tests, whatever REDIS_URL says (tests/conftest.py's celery_eager)."""


def full_course(planned_by_agent: dict, overrides: dict | None = None) -> list[services.DoseEntry]:
    """Every dose given as planned, except the overrides {(day, agent): mg}."""
    return [
        services.DoseEntry(day, agent, (overrides or {}).get((day, agent), planned))
        for day in (-5, -4, -3) for agent, planned in planned_by_agent.items()
    ]


# 170 cm, 63.4 kg: Mosteller sqrt(170 × 63.4 / 3600) = 1.7303 → 1.73 m²;
# fludarabine 30 × 1.73 = 51.9 → 52 mg; cyclophosphamide 300 × 1.73 = 519 mg.
PLAN_173 = {"fludarabine": Decimal("52"), "cyclophosphamide": Decimal("519")}


@pytest.fixture
def lymphodepleted(patient_sz, coordinator):
    services.lymphodepletion_record(
        patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"),
        height_cm=Decimal("170"), doses=full_course(PLAN_173),
    )
    patient_sz.refresh_from_db()
    return patient_sz


PRODUCT = services.ProductEntry(
    lot="SZ-CART-0001", manufacture_date=datetime.date(2026, 1, 20), total_viable_cells=2_000_000_000,
    viability_percent=Decimal("92.5"), car_positive_percent=Decimal("50"),
)  # holds 1,000,000,000 CAR⁺ viable cells


def single(cells: int, on=DAY_0) -> list[InfusionFraction]:
    return [InfusionFraction(on, cells)]
