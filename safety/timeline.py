"""Safety events on the patient's timeline: AEs, CRS and ICANS assessments."""
from django.utils.translation import gettext

from patients.timeline import TimelineEvent

from .rules import ctcae_term_display, grading_driver_display


def timeline_events(patient) -> list[TimelineEvent]:
    events = []
    for event in patient.adverse_events.filter(removed=False):
        detail = gettext("serious") if event.serious else ""
        events.append(TimelineEvent(
            date=event.onset_date, kind="adverse_event",
            label=gettext("%(term)s (grade %(grade)s)") % {"term": ctcae_term_display(event.term),
                                                          "grade": event.grade},
            detail=detail, status=event.status, url=event.get_absolute_url(), end_date=event.resolution_date,
            severity=event.grade,
        ))
    for kind, name, assessments in (("crs", "CRS", patient.crs_assessments.filter(removed=False)),
                                    ("icans", "ICANS", patient.icans_assessments.filter(removed=False))):
        for assessment in assessments:
            events.append(TimelineEvent(
                date=assessment.assessment_date, kind=kind,
                label=gettext("%(syndrome)s grade %(grade)s") % {"syndrome": name, "grade": assessment.grade},
                detail=grading_driver_display(assessment.grading_driver), status=assessment.status,
                url=assessment.get_absolute_url(),
                severity=assessment.grade,
            ))
    return events
