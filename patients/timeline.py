"""The patient's whole course on one study-day axis (day 0 = infusion).

Each app adds its events through `<app>/timeline.py` (see trial/hooks.py);
this module defines the event, gathers them, writes the patients app's own
events (screening, consent, enrollment, baseline, visits, off study) and lays
the events out on a server-rendered axis.
"""
import datetime
import math
from dataclasses import dataclass, replace

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from trial.hooks import app_modules

from . import display
from .models import Patient, PatientStatus
from .rules import study_day


@dataclass(frozen=True)
class TimelineEvent:
    date: datetime.date
    # screening, consent, lymphodepletion, infusion, adverse_event, crs, icans, response, visit, relapse, hsct,
    # death, ...
    kind: str
    label: str
    detail: str = ""
    status: str = ""  # the CRF's status (draft, submitted, verified, signed, locked) or the visit's
    url: str = ""
    end_date: datetime.date | None = None  # for events with a duration (an AE, CRS)
    severity: int | None = None  # a grade, where there is one
    history_url: str = ""  # the record's audit trail (`history_url_for(instance)`)

    def study_day(self, patient: Patient) -> int | None:
        if patient.infusion_date is None:
            return None
        return study_day(on_date=self.date, infusion_date=patient.infusion_date)


def history_url_for(instance) -> str:
    """The audit-trail page of a patient record (monitoring:history)."""
    return reverse("monitoring:history", args=[instance._meta.label_lower, instance.pk])


# Within one day, the order a course runs in; other kinds sit between.
KIND_ORDER = {"consent": 0, "screening": 1, "screen_failure": 2, "enrollment": 3, "baseline": 4,
              "death": 98, "off_study": 99}


def patient_events(patient: Patient) -> list[TimelineEvent]:
    """Every app's events for the patient, in date order."""
    events = []
    for module in app_modules("timeline"):
        events.extend(module.timeline_events(patient))
    return sorted(events, key=lambda event: (event.date, KIND_ORDER.get(event.kind, 50), event.kind))


# --- The patients app's own events ----------------------------------------------

def timeline_events(patient: Patient) -> list[TimelineEvent]:
    events: list[TimelineEvent] = []
    screening = patient.screening_crf
    if screening is not None:
        screening_url, screening_history = screening.get_absolute_url(), history_url_for(screening)
        events.append(TimelineEvent(
            date=screening.consent_date, kind="consent", label=_("Informed consent signed"),
            status=screening.status, url=screening_url, history_url=screening_history,
        ))
        answered = sum(answer is not None for answer in screening.eligibility.values())
        events.append(TimelineEvent(
            date=screening.screening_date, kind="screening",
            label=_("Screening (%(number)s)") % {"number": patient.screening_number},
            detail=_("%(answered)s of %(total)s eligibility criteria assessed")
            % {"answered": answered, "total": len(screening.eligibility)},
            status=screening.status, url=screening_url, history_url=screening_history,
        ))
    patient_history = history_url_for(patient)
    if patient.enrollment_date:
        events.append(TimelineEvent(
            date=patient.enrollment_date, kind="enrollment",
            label=_("Enrolled as %(subject_id)s") % {"subject_id": patient.subject_id},
            history_url=patient_history,
        ))
    if patient.status == PatientStatus.SCREEN_FAILED:
        events.append(TimelineEvent(
            date=screening.screening_date if screening else patient.screening_date, kind="screen_failure",
            # The reason is the record's, in English with the protocol's criteria: shown as stored.
            label=_("Screen failure"), detail=patient.screen_failure_reason, history_url=patient_history,
        ))
    baseline = patient.baseline_crf
    if baseline is not None:
        age = baseline.age_years
        parts = [f"{baseline.get_sex_display()}", _("age %(years)s") % {"years": age} if age is not None else "",
                 f"{_plain(baseline.weight_kg)} kg", f"{_plain(baseline.height_cm)} cm",
                 _("BSA %(bsa)s m²") % {"bsa": baseline.bsa_m2}]
        if baseline.bone_marrow_blasts_percent is not None:
            parts.append(_("marrow blasts %(percent)s %%") % {"percent": _plain(baseline.bone_marrow_blasts_percent)})
        if baseline.mrd_percent is not None:
            parts.append(_("MRD %(percent)s %%") % {"percent": _plain(baseline.mrd_percent)})
        if baseline.extramedullary_sites:
            parts.append(_("extramedullary: %(sites)s") % {"sites": baseline.extramedullary_sites})
        events.append(TimelineEvent(
            date=baseline.assessment_date, kind="baseline", label=_("Baseline"),
            detail=_(", ").join(part for part in parts if part), status=baseline.status,
            url=baseline.get_absolute_url(), history_url=history_url_for(baseline),
        ))
    for visit in patient.visits.select_related("definition").order_by("target_date"):
        events.append(TimelineEvent(
            date=visit.done_date or visit.target_date, kind="visit",
            label=_("Visit %(code)s (%(name)s)") % {"code": visit.definition.code,
                                                    "name": display.visit_name(visit.definition.name)},
            detail=_visit_detail(visit),
            status=visit.status, history_url=history_url_for(visit),
        ))
    if patient.off_study_date:
        events.append(TimelineEvent(
            # The reason is the record's (the End-of-study form's choice or free text): shown as stored.
            date=patient.off_study_date, kind="off_study", label=_("Off study"), detail=patient.off_study_reason,
            history_url=patient_history,
        ))
    return events


def _visit_detail(visit) -> str:
    window = _("window %(start)s – %(end)s") % {"start": f"{visit.window_start:%Y-%m-%d}",
                                                "end": f"{visit.window_end:%Y-%m-%d}"}
    if not visit.status_reason:
        return window
    return _("%(window)s; %(reason)s") % {"window": window, "reason": display.visit_status_reason(visit.status_reason)}


def _plain(number) -> str:
    """42.00 → 42, 62.5 → 62.5: numbers as a clinician writes them."""
    return format(number.normalize(), "f") if number is not None else ""


# --- Layout of the axis (pure: events in, positions out) --------------------------

# Lanes of the axis, top to bottom; a kind no lane names goes to "Other".
LANES = (
    (gettext_lazy("Screening and enrollment"), {"consent", "screening", "enrollment", "screen_failure", "baseline"}),
    (gettext_lazy("Treatment"), {"lymphodepletion", "infusion", "product"}),
    (gettext_lazy("Safety"), {"adverse_event", "crs", "icans", "sae"}),
    (gettext_lazy("Response and outcome"), {"response", "relapse", "hsct", "death", "follow_up", "off_study"}),
    (gettext_lazy("Laboratory"), {"laboratory"}),
    (gettext_lazy("Visits"), {"visit"}),
)
OTHER_LANE = gettext_lazy("Other")
# Study days labelled on the axis when there is a day 0 (the early days are where most happens).
DAY_TICKS = (-30, -14, -5, 0, 7, 14, 28, 60, 90, 180, 365, 730, 1095)

AXIS_WIDTH = 1000
AXIS_LEFT = 170  # room for the lane names
LANE_HEIGHT = 34


@dataclass(frozen=True)
class Marker:
    event: TimelineEvent
    x: float
    x_end: float | None
    y: float
    day: int | None
    # Where the grade label ("G3") goes: above the marker, below it when the
    # label before it in the lane is too close, or None (no room; the tooltip and
    # the events table still give the grade).
    grade_label_y: float | None = None

    @property
    def bar_width(self) -> float:
        """Length of the bar of an event with a duration (an AE, CRS), 0 without."""
        return round(max(self.x_end - self.x, 0), 1) if self.x_end is not None else 0


@dataclass(frozen=True)
class Axis:
    width: int
    height: int
    left: int
    lanes: list[tuple[str, float]]
    ticks: list[tuple[float, str, str]]  # x, label, text-anchor (the last label ends at its tick)
    markers: list[Marker]
    day_zero_x: float | None


def _symlog(day: float) -> float:
    """Study days on a symmetric log scale: the first weeks after infusion
    take as much room as the years of follow-up."""
    return math.copysign(math.log1p(abs(day) / 7), day)


def lane_of(kind: str) -> str:
    for name, kinds in LANES:
        if kind in kinds:
            return name
    return OTHER_LANE


def axis_layout(
    events: list[TimelineEvent], *, infusion_date: datetime.date | None, until: datetime.date | None = None
) -> Axis:
    """Positions of the events on a horizontal axis: by study day (log-scaled)
    when the patient has a day 0, by date (linear) before. `until` stretches
    the axis to a date (today, for a patient still followed)."""
    lane_names = [name for name, _kinds in LANES]
    if any(lane_of(event.kind) == OTHER_LANE for event in events):
        lane_names.append(OTHER_LANE)
    lane_y = {name: 30 + index * LANE_HEIGHT for index, name in enumerate(lane_names)}
    height = 30 + len(lane_names) * LANE_HEIGHT + 10
    if not events:
        return Axis(AXIS_WIDTH, height, AXIS_LEFT, [(n, y) for n, y in lane_y.items()], [], [], None)

    anchor = infusion_date or min(event.date for event in events)

    def offset(date: datetime.date) -> int:
        return (date - anchor).days

    def scaled(day: float) -> float:
        return _symlog(day) if infusion_date else float(day)

    days = [offset(event.date) for event in events] + [offset(e.end_date) for e in events if e.end_date]
    if infusion_date:
        days.append(0)
    if until is not None:
        days.append(offset(until))
    low, high = scaled(min(days)), scaled(max(days))
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    span, usable = high - low, AXIS_WIDTH - AXIS_LEFT - 30

    def x_of(day: float) -> float:
        return round(AXIS_LEFT + 10 + (scaled(day) - low) / span * usable, 1)

    if infusion_date:
        tick_days = [day for day in DAY_TICKS if min(days) <= day <= max(days)]
        ticks = [(x_of(day), pgettext("study day on the timeline", "D%(day)s") % {"day": day}) for day in tick_days]
    else:
        step = max(1, (max(days) - min(days)) // 6 or 1)
        ticks = [(x_of(day), (anchor + datetime.timedelta(days=day)).strftime("%Y-%m-%d"))
                 for day in range(min(days), max(days) + 1, step)]
    ticks = _thin_ticks(ticks)
    markers = [
        Marker(
            event=event, x=x_of(offset(event.date)),
            x_end=x_of(offset(event.end_date)) if event.end_date else None,
            y=lane_y[lane_of(event.kind)],
            day=offset(event.date) if infusion_date else None,
        )
        for event in events
    ]
    return Axis(AXIS_WIDTH, height, AXIS_LEFT, list(lane_y.items()), ticks, _place_grade_labels(markers),
                x_of(0) if infusion_date else None)


TICK_CHAR_WIDTH = 6  # px per character of a 10 px tick label, generously
GRADE_LABEL_WIDTH = 16  # px a "G3" label needs


def _thin_ticks(ticks: list[tuple[float, str]]) -> list[tuple[float, str, str]]:
    """Drop a tick label that would run into the one before it, and anchor the
    labels at the edges so the last date is not cut off by the drawing's edge."""
    kept: list[tuple[float, str, str]] = []
    right_edge = -1e9
    for x, label in ticks:
        half = len(label) * TICK_CHAR_WIDTH / 2
        anchor = "end" if x + half > AXIS_WIDTH else "middle"
        left = x - 2 * half if anchor == "end" else x - half
        if left < right_edge + 4:
            continue
        kept.append((x, label, anchor))
        right_edge = x if anchor == "end" else x + half
    return kept


def _place_grade_labels(markers: list[Marker]) -> list[Marker]:
    """Grade labels above their marker; when two would overlap, the second goes
    below; when both places are taken, it is left out."""
    last_x: dict[tuple[float, str], float] = {}
    placed = []
    for marker in sorted(markers, key=lambda m: (m.y, m.x)):
        if not marker.event.severity:
            placed.append(marker)
            continue
        label_y = None
        for position, y in (("above", marker.y - 9), ("below", marker.y + 17)):
            if marker.x - last_x.get((marker.y, position), -1e9) >= GRADE_LABEL_WIDTH:
                last_x[(marker.y, position)] = marker.x
                label_y = y
                break
        placed.append(replace(marker, grade_label_y=label_y))
    order = {id(m.event): i for i, m in enumerate(markers)}
    return sorted(placed, key=lambda m: order[id(m.event)])
