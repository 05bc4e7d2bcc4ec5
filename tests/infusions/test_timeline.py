import datetime
from decimal import Decimal

import pytest

from infusions import services
from infusions.rules import InfusionFraction
from infusions.timeline import timeline_events

from .conftest import DAY_0, PRODUCT

pytestmark = pytest.mark.django_db


def test_timeline_shows_each_lymphodepletion_day_and_each_fraction_with_its_dose(lymphodepleted, coordinator):
    services.infusion_record(patient=lymphodepleted, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                             fractions=[InfusionFraction(DAY_0, 120_000_000),  # 2.00 ×10⁶/kg at 60 kg
                                        InfusionFraction(datetime.date(2026, 2, 7), 240_000_000)])
    events = timeline_events(lymphodepleted)
    assert [(e.kind, e.label, e.date) for e in events] == [
        ("lymphodepletion", "Lymphodepletion day -5", datetime.date(2026, 2, 1)),
        ("lymphodepletion", "Lymphodepletion day -4", datetime.date(2026, 2, 2)),
        ("lymphodepletion", "Lymphodepletion day -3", datetime.date(2026, 2, 3)),
        ("infusion", "CAR-T fraction 1 of 2", DAY_0),
        ("infusion", "CAR-T fraction 2 of 2", datetime.date(2026, 2, 7)),
    ]
    assert events[0].detail == "Cyclophosphamide 519 mg (plan 519 mg); Fludarabine 52 mg (plan 52 mg)"
    assert events[3].detail == "2.00 ×10⁶ CAR⁺ cells/kg (total 6.00 ×10⁶/kg, lot SZ-CART-0001)"
