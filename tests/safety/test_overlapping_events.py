"""Two CRS (or ICANS) adverse events that overlap are usually one episode entered twice: saving
the second asks for an acknowledgement (a soft check), as the safety summary would join them."""
import datetime

import pytest

from crf.checks import SoftChecksNotAcknowledged
from monitoring.models import ProtocolDeviation
from safety.models import AdverseEvent
from safety.rules import events_overlap
from safety.services import adverse_event_save

pytestmark = pytest.mark.django_db

D = datetime.date


def _crs(patient, onset, resolution, **extra):
    return AdverseEvent(
        patient=patient, term=extra.pop("term", "Cytokine release syndrome"), grade=2, onset_date=onset,
        resolution_date=resolution, serious=False, relatedness_cart="definite",
        relatedness_lymphodepletion="not_related", action_taken="treatment",
        outcome="recovered" if resolution else "not_recovered", **extra)


@pytest.mark.parametrize("first, second, overlap", [
    ((D(2026, 2, 2), D(2026, 2, 6)), (D(2026, 2, 5), D(2026, 2, 9)), True),   # CRS days 1–5 and 4–8
    ((D(2026, 2, 2), D(2026, 2, 6)), (D(2026, 2, 6), D(2026, 2, 9)), True),   # the second starts the day the first ends
    ((D(2026, 2, 2), D(2026, 2, 6)), (D(2026, 2, 7), D(2026, 2, 9)), False),  # the next day: a new episode
    ((D(2026, 2, 2), None), (D(2026, 3, 1), D(2026, 3, 2)), True),            # the first never resolved
])
def test_crs_events_overlap_when_each_starts_before_the_other_ends(first, second, overlap):
    assert events_overlap(*first, *second) is overlap
    assert events_overlap(*second, *first) is overlap


def test_a_second_crs_event_overlapping_the_first_needs_an_acknowledgement(infused_patient, coordinator):
    adverse_event_save(event=_crs(infused_patient, D(2026, 2, 2), D(2026, 2, 6)), by=coordinator)
    second = _crs(infused_patient, D(2026, 2, 5), D(2026, 2, 9))
    with pytest.raises(SoftChecksNotAcknowledged, match="Another CRS event of this patient overlaps this one"):
        adverse_event_save(event=second, by=coordinator)
    assert AdverseEvent.objects.count() == 1
    adverse_event_save(event=second, by=coordinator, acknowledge_deviation=True,
                       deviation_reason="Second episode after tocilizumab, confirmed with the investigator")
    assert ProtocolDeviation.objects.get().rule == "overlapping_syndrome_event"


def test_crs_after_the_first_resolved_and_other_terms_save_without_a_question(infused_patient, coordinator):
    adverse_event_save(event=_crs(infused_patient, D(2026, 2, 2), D(2026, 2, 6)), by=coordinator)
    adverse_event_save(event=_crs(infused_patient, D(2026, 2, 8), D(2026, 2, 9)), by=coordinator)
    adverse_event_save(event=_crs(infused_patient, D(2026, 2, 3), D(2026, 2, 5), term="Fever"), by=coordinator)
    # Editing the first event does not compare it with itself.
    first = AdverseEvent.objects.order_by("pk").first()
    first.grade = 3
    adverse_event_save(event=first, by=coordinator, reason="Grade corrected")
    assert AdverseEvent.objects.count() == 3 and not ProtocolDeviation.objects.exists()
