"""Laboratory draws on the patient's timeline (see patients/timeline.py): one event per draw, naming the
flagged results and the highest CTCAE grade."""
from django.utils.translation import gettext, ngettext

from patients.timeline import TimelineEvent

from .models import Laboratory
from .rules import flag_display


def timeline_events(patient) -> list[TimelineEvent]:
    events = []
    for draw in Laboratory.objects.filter(patient=patient, removed=False).prefetch_related("results"):
        results = list(draw.results.all())
        flagged = [f"{row.get_analyte_display()} {flag_display(row.flag)}" for row in results if row.flag]
        grades = [row.ctcae_grade for row in results if row.ctcae_grade is not None]
        events.append(TimelineEvent(
            date=draw.collection_date, kind="laboratory",
            label=ngettext("Laboratory: %(count)s result", "Laboratory: %(count)s results", len(results)) % {
                "count": len(results)},
            detail="; ".join(flagged) or gettext("All within range"), status=draw.status, url=draw.get_absolute_url(),
            severity=max(grades) if grades else None,
        ))
    return events
