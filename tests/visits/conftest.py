import datetime
from decimal import Decimal

import pytest

from infusions import services
from tests.infusions.conftest import PLAN_173, PRODUCT, START, full_course, single

DAY_0 = datetime.date(2026, 2, 6)


@pytest.fixture
def celery_eager():
    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def infuse(patient, by, *, on=DAY_0, cells=300_000_000, change_reason=""):
    if not patient.lymphodepletions.exists():
        services.lymphodepletion_record(patient=patient, by=by, start_date=START, weight_kg=Decimal("63.4"),
                                        height_cm=Decimal("170"), doses=full_course(PLAN_173))
    services.infusion_record(patient=patient, by=by, weight_kg=Decimal("50"), product=PRODUCT,
                             fractions=single(cells, on=on), change_reason=change_reason)
    patient.refresh_from_db()
    return patient
