"""Safety events on the patient's timeline: AEs, CRS and ICANS assessments."""
from patients.timeline import TimelineEvent


def timeline_events(patient) -> list[TimelineEvent]:
    events = []
    for event in patient.adverse_events.filter(removed=False):
        detail = "serious" if event.serious else ""
        events.append(TimelineEvent(
            date=event.onset_date, kind="adverse_event", label=f"{event.term} (grade {event.grade})",
            detail=detail, status=event.status, url=event.get_absolute_url(), end_date=event.resolution_date,
            severity=event.grade,
        ))
    for kind, name, assessments in (("crs", "CRS", patient.crs_assessments.filter(removed=False)),
                                    ("icans", "ICANS", patient.icans_assessments.filter(removed=False))):
        for assessment in assessments:
            events.append(TimelineEvent(
                date=assessment.assessment_date, kind=kind, label=f"{name} grade {assessment.grade}",
                detail=assessment.grading_driver, status=assessment.status, url=assessment.get_absolute_url(),
                severity=assessment.grade,
            ))
    return events
