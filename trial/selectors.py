"""Reads of the protocol's own data that more than one app asks for."""
from collections.abc import Iterable

from .models import Protocol, VisitDefinition


def primary_assessment_windows(protocol_ids: Iterable[int]) -> dict[int, tuple[int, int, int]]:
    """Protocol id -> (target day, days before, days after) of the 1-month assessment.

    The window is the primary-assessment visit's (D28, ±4); a protocol whose
    schedule has no such visit falls back to its primary_assessment_day with
    no window. The endpoints pick the 1-month response in it (outcomes.selectors.patient_courses); a
    patient seen from its first day on is in follow-up (patients.rules.in_follow_up).
    """
    protocol_ids = set(protocol_ids)
    windows = {
        protocol_id: (day, 0, 0)
        for protocol_id, day in Protocol.objects.filter(pk__in=protocol_ids).values_list(
            "pk", "primary_assessment_day"
        )
    }
    definitions = VisitDefinition.objects.filter(
        protocol_id__in=protocol_ids, is_primary_assessment=True
    ).values_list("protocol_id", "target_day", "window_before_days", "window_after_days")
    for protocol_id, target_day, before, after in definitions:
        windows[protocol_id] = (target_day, before, after)
    return windows
