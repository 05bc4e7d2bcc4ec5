import datetime
from decimal import Decimal

from infusions import services
from tests import factories
from tests.infusions.conftest import PLAN_173, START, full_course

DAY_0 = datetime.date(2026, 2, 6)


def infuse(patient, by, *, on=DAY_0, cells=300_000_000, reason=""):
    """Lymphodepletion from 1 February (whatever day ``on`` is), then the infusion on ``on``."""
    if not patient.lymphodepletions.exists():
        services.lymphodepletion_record(patient=patient, by=by, start_date=START, weight_kg=Decimal("63.4"),
                                        height_cm=Decimal("170"), doses=full_course(PLAN_173))
    return factories.infuse(patient, by=by, day_0=on, cells=cells, reason=reason)
