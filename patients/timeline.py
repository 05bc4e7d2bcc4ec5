"""The patient's whole course on one study-day axis (day 0 = infusion).

Each app adds its events through `<app>/timeline.py` (see trial/hooks.py);
this module defines the event and gathers them.
"""
import datetime
from dataclasses import dataclass

from trial.hooks import app_modules

from .models import Patient
from .rules import study_day


@dataclass(frozen=True)
class TimelineEvent:
    date: datetime.date
    kind: str  # screening, consent, lymphodepletion, infusion, adverse_event, crs, icans, response, visit, relapse, hsct, death, ...
    label: str
    detail: str = ""
    status: str = ""  # the CRF's status (draft, submitted, verified, signed, locked) or the visit's
    url: str = ""
    end_date: datetime.date | None = None  # for events with a duration (an AE, CRS)
    severity: int | None = None  # a grade, where there is one

    def study_day(self, patient: Patient) -> int | None:
        if patient.infusion_date is None:
            return None
        return study_day(on_date=self.date, infusion_date=patient.infusion_date)


def patient_events(patient: Patient) -> list[TimelineEvent]:
    """Every app's events for the patient, in date order."""
    events = []
    for module in app_modules("timeline"):
        events.extend(module.timeline_events(patient))
    return sorted(events, key=lambda event: (event.date, event.kind))
