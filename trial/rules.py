"""Pure rules for the visit schedule: windows, statuses and the default schedule.

Numbers in, verdicts out: no models, no database. ``DEFAULT_VISIT_SCHEDULE``
and ``OVERDUE_GRACE_DAYS`` are only the seed for the versioned ``Protocol``
record; code that runs the trial reads the Protocol, not these constants.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

from django.db.models import TextChoices
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from trial.i18n import lazy_message

#: Days a visit stays "overdue" after its window closes before it counts as
#: "missed": two weeks lets a late CRF be entered before the visit is written
#: off. Seed value for the Protocol field of the same meaning.
OVERDUE_GRACE_DAYS = 14

#: A month is 365.25 / 12 days, as in the endpoint analysis.
DAYS_PER_MONTH = Decimal("365.25") / 12


class VisitStatus(TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")  # window not yet open
    DUE = "due", _("Due")  # window open, no data
    OVERDUE = "overdue", _("Overdue")  # window closed, no data, within grace
    MISSED = "missed", _("Missed")  # window closed more than the grace period ago
    DONE = "done", _("Done")  # data entered
    NOT_EXPECTED = "not_expected", _("Not expected")  # patient died or withdrew


class Crf(TextChoices):
    """The case report forms a visit can expect."""

    CRS_ASSESSMENT = "crs_assessment", _("CRS assessment")
    ICANS_ASSESSMENT = "icans_assessment", _("ICANS assessment")
    ADVERSE_EVENTS = "adverse_events", _("Adverse events")
    RESPONSE_ASSESSMENT = "response_assessment", _("Response assessment")
    FOLLOW_UP = "follow_up", _("Follow-up")


class VisitWindow(NamedTuple):
    target_date: datetime.date
    window_start: datetime.date
    window_end: datetime.date


def visit_window(
    *, infusion_date: datetime.date, target_day: int, window_before_days: int, window_after_days: int
) -> VisitWindow:
    """Target date (infusion date + target study day) and its inclusive window."""
    if window_before_days < 0 or window_after_days < 0:
        raise ValueError("window widths must not be negative")
    target = infusion_date + datetime.timedelta(days=target_day)
    return VisitWindow(
        target_date=target,
        window_start=target - datetime.timedelta(days=window_before_days),
        window_end=target + datetime.timedelta(days=window_after_days),
    )


def date_in_window(*, visit_date: datetime.date, window_start: datetime.date, window_end: datetime.date) -> bool:
    """Soft check for a visit date: inside the window, both ends included."""
    return window_start <= visit_date <= window_end


def visit_window_message(
    *, on_date: datetime.date, visit_code: str, window_start: datetime.date, window_end: datetime.date
) -> str | None:
    """The one message for data dated outside a visit's window (None inside it), on the CRF
    pages' soft check (`crf.checks.visit_window_check`) and the visit page alike. Lazy
    (`trial.i18n.lazy_message`): shown in the reader's language, stored on a deviation in English."""
    if date_in_window(visit_date=on_date, window_start=window_start, window_end=window_end):
        return None
    if on_date < window_start:
        days = (window_start - on_date).days
        off = lazy_message(ngettext_lazy("%(days)d day before it opens", "%(days)d days before it opens", days),
                           days=days)
    else:
        days = (on_date - window_end).days
        off = lazy_message(ngettext_lazy("%(days)d day after it closed", "%(days)d days after it closed", days),
                           days=days)
    return lazy_message(_("%(date)s is outside the %(visit)s window (%(start)s to %(end)s): %(off)s."),
                        date=f"{on_date:%Y-%m-%d}", visit=visit_code, start=f"{window_start:%Y-%m-%d}",
                        end=f"{window_end:%Y-%m-%d}", off=off)


class WindowEdge(NamedTuple):
    """A day relative to a visit's window: ``anchor`` ("window_start" or "window_end") plus
    ``days``, plus the protocol's grace period when ``plus_grace``."""

    anchor: str
    days: int
    plus_grace: bool = False

    def day(self, *, window_start: datetime.date, window_end: datetime.date, grace_days: int) -> datetime.date:
        anchor = window_start if self.anchor == "window_start" else window_end
        return anchor + datetime.timedelta(days=self.days + (grace_days if self.plus_grace else 0))


class WindowBand(NamedTuple):
    """The days on which an open visit has ``status``: from ``first_day`` to ``last_day``,
    both included (None: no bound). ``reason`` is what the status job writes ({grace_days})."""

    status: str
    first_day: WindowEdge | None
    last_day: WindowEdge | None
    reason: str = ""


# The one status table of an open visit (no data, patient still expected): `visit_status` reads
# it for one visit and the daily job (visits.services.visits_update_status) turns each band into
# the SQL conditions of one UPDATE. Inclusive windows; the bands follow each other without a gap.
VISIT_WINDOW_BANDS: tuple[WindowBand, ...] = (
    WindowBand(VisitStatus.SCHEDULED, None, WindowEdge("window_start", -1)),
    WindowBand(VisitStatus.DUE, WindowEdge("window_start", 0), WindowEdge("window_end", 0)),
    WindowBand(VisitStatus.OVERDUE, WindowEdge("window_end", 1), WindowEdge("window_end", 0, plus_grace=True),
               reason="Window closed without data"),
    WindowBand(VisitStatus.MISSED, WindowEdge("window_end", 1, plus_grace=True), None,
               reason="No data {grace_days} days after the window closed"),
)


def visit_status(
    *,
    today: datetime.date,
    window_start: datetime.date,
    window_end: datetime.date,
    done: bool,
    grace_days: int,
    not_expected: bool = False,
) -> str:
    """Status of one visit on ``today``.

    Precedence: ``done`` (data entered stays done even if the patient later
    died), then ``not_expected``. Otherwise by `VISIT_WINDOW_BANDS`, with inclusive windows:
    before window_start → scheduled; window_start … window_end → due;
    window_end + 1 … window_end + grace_days → overdue; later → missed.
    """
    if window_start > window_end:
        raise ValueError("window_start is after window_end")
    if grace_days < 0:
        raise ValueError("grace_days must not be negative")
    if done:
        return VisitStatus.DONE
    if not_expected:
        return VisitStatus.NOT_EXPECTED
    def day(edge: WindowEdge) -> datetime.date:
        return edge.day(window_start=window_start, window_end=window_end, grace_days=grace_days)

    for band in VISIT_WINDOW_BANDS:
        if (band.first_day is None or day(band.first_day) <= today) and (band.last_day is None
                                                                          or today <= day(band.last_day)):
            return band.status
    raise AssertionError("VISIT_WINDOW_BANDS leave a gap")  # pragma: no cover (tested: the bands are contiguous)


def study_day_for_month(months: int) -> int:
    """Target study day of a month visit: months × 365.25 / 12, to the nearest day.

    Ties round half to even; the only tie in the schedule is month 24
    (730.5 days), which becomes 730 = two 365-day years.
    """
    return int((months * DAYS_PER_MONTH).to_integral_value(rounding=ROUND_HALF_EVEN))


#: CAR-T kinetics sampling (protocol defaults): days 1, 4, 7, 10, 14, 21, 28, then months 2, 3, 6, 9, 12, 18, 24, 36.
KINETICS_SAMPLING_DAYS = (1, 4, 7, 10, 14, 21, 28)
KINETICS_SAMPLING_MONTHS = (2, 3, 6, 9, 12, 18, 24, 36)


def kinetics_sampling_days_default() -> list[int]:
    """The default sampling study days (months as visit days: `study_day_for_month`)."""
    return [*KINETICS_SAMPLING_DAYS, *(study_day_for_month(months) for months in KINETICS_SAMPLING_MONTHS)]


@dataclass(frozen=True, slots=True)
class VisitDefinition:
    code: str
    name: str
    target_day: int
    window_before_days: int
    window_after_days: int
    forms: tuple[str, ...]
    primary_assessment: bool = False


_EARLY_FORMS = (Crf.CRS_ASSESSMENT, Crf.ICANS_ASSESSMENT, Crf.ADVERSE_EVENTS)
_PRIMARY_FORMS = (Crf.RESPONSE_ASSESSMENT, Crf.ADVERSE_EVENTS, Crf.FOLLOW_UP)
_MONTH_FORMS = (Crf.FOLLOW_UP, Crf.ADVERSE_EVENTS)
_MONTHS_WITH_RESPONSE = frozenset({3, 6, 12})


_SEEDED_VISIT_NAME = re.compile(r"(Day|Month) (\d+)")


def visit_name_display(name: str) -> str:
    """A visit's name in the reader's language: the schedule's own names ("Day 7", "Month 3", stored in
    English with the protocol) are translated; a name typed for an amendment is shown as typed."""
    match = _SEEDED_VISIT_NAME.fullmatch(name or "")
    if match is None:
        return name
    if match[1] == "Day":
        return gettext("Day %(number)s") % {"number": match[2]}
    return gettext("Month %(number)s") % {"number": match[2]}


def _day_visit(day: int, window: int) -> VisitDefinition:
    return VisitDefinition(f"D{day}", f"Day {day}", day, window, window, _EARLY_FORMS)


def _month_visit(months: int, window: int) -> VisitDefinition:
    forms = _MONTH_FORMS + ((Crf.RESPONSE_ASSESSMENT,) if months in _MONTHS_WITH_RESPONSE else ())
    return VisitDefinition(f"M{months}", f"Month {months}", study_day_for_month(months), window, window, forms)


#: Target days: D1 1, D4 4, D7 7, D10 10, D14 14, D21 21, D28 28 (primary),
#: M2 61, M3 91, M6 183, M9 274, M12 365, M18 548, M24 730, M30 913, M36 1096.
#: Windows (± days): D1, D4 ±1; D7–D21 ±2; D28 ±4; M2, M3 ±7; M6–M12 ±14; M18–M36 ±30.
DEFAULT_VISIT_SCHEDULE: tuple[VisitDefinition, ...] = (
    _day_visit(1, 1),
    _day_visit(4, 1),
    *(_day_visit(day, 2) for day in (7, 10, 14, 21)),
    VisitDefinition("D28", "Day 28", 28, 4, 4, _PRIMARY_FORMS, primary_assessment=True),
    *(_month_visit(months, 7) for months in (2, 3)),
    *(_month_visit(months, 14) for months in (6, 9, 12)),
    *(_month_visit(months, 30) for months in (18, 24, 30, 36)),
)
