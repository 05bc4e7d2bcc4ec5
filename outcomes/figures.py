"""Endpoint figures, rendered to PNG or SVG bytes for the pages and reports.

Figures are built on ``matplotlib.figure.Figure`` and never through pyplot,
so a web worker keeps no global figure state and needs no GUI backend.
Curves come from the same lifelines fits as the numbers in
``outcomes.statistics``, and the numbers-at-risk table uses the same
``number_at_risk`` as the endpoint summaries, so the figure and the table of
endpoints cannot disagree. (lifelines' own ``add_at_risk_counts`` counts the
patients still at risk *after* the tick, which differs from the summaries'
"time >= t" whenever a patient's time falls on a tick, such as a death on
day 0.)

Every text on a figure (titles, axes, legends, the at-risk table) is translated when the figure is drawn, in the
active language (docs/i18n.md), never at import; trial.figures sets the fonts for Latin and Chinese.
"""

import io
from collections.abc import Mapping, Sequence
from datetime import date

import matplotlib
import numpy as np
import pandas as pd
from django.utils.translation import gettext
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from outcomes.rules import Response
from outcomes.statistics import (
    MONTH_DAYS,
    EventCode,
    PatientCourse,
    aalen_johansen_fitter,
    kaplan_meier_fitter,
    number_at_risk,
)
from trial.figures import figure_fonts_install

figure_fonts_install()  # Latin and Chinese labels (docs/i18n.md)

AT_RISK_MONTHS = (0, 6, 12, 18, 24, 30, 36)
FOLLOW_UP_MONTHS = 36
CENSOR_MARKER = "+"
# One bar per patient reads well up to a trial's size; a network's thousands of
# patients would draw a figure metres tall for minutes, so show the latest.
SWIMMER_MAX_LANES = 200


def at_risk_counts(times_days: Sequence[float]) -> dict[int, int]:
    """Return the numbers at risk printed under a curve, by month."""
    return {month: number_at_risk(times_days, month * MONTH_DAYS) for month in AT_RISK_MONTHS}


def kaplan_meier_figure(
    curves: Mapping[str, tuple[Sequence[float], Sequence[bool]]],
    title: str,
    *,
    format: str = "png",
    xlabel: str | None = None,
) -> bytes:
    """Return Kaplan-Meier curves with censor marks and a numbers-at-risk table.

    ``curves`` maps a legend label to ``(times_days, events)``.
    """
    return _render(kaplan_meier_drawing(curves, title, xlabel=xlabel), format=format)


def kaplan_meier_drawing(
    curves: Mapping[str, tuple[Sequence[float], Sequence[bool]]],
    title: str,
    *,
    xlabel: str | None = None,
) -> Figure:
    """Return the figure ``kaplan_meier_figure`` renders (each curve's line has gid ``curve-<row>``); ``xlabel``
    defaults to months since the infusion, in the active language."""
    figure, axes, table = _figure_with_at_risk_table(rows=len(curves))
    for row, (label, (times, events)) in enumerate(curves.items()):
        if len(times) == 0:
            continue
        fitter = kaplan_meier_fitter(times, events)
        colour = _plot_step_curve(
            axes, fitter.survival_function_.iloc[:, 0], fitter.confidence_interval_, label=label,
            gid=f"curve-{row}",
        )
        censored = np.asarray(times, dtype=float)[~np.asarray(events, dtype=bool)]
        if censored.size == 0:
            continue
        axes.plot(
            censored / MONTH_DAYS,
            fitter.survival_function_at_times(censored).to_numpy(),
            linestyle="none",
            marker=CENSOR_MARKER,
            color=colour,
        )
    axes.set_ylabel(gettext("Probability"))
    _draw_at_risk_table(table, {label: times for label, (times, _events) in curves.items()})
    _finish(axes, title=title, xlabel=xlabel)
    return figure


def cumulative_incidence_figure(
    times: Sequence[float],
    event_codes: Sequence[int],
    title: str,
    *,
    format: str = "png",
    at_risk_label: str | None = None,
) -> bytes:
    """Return the cumulative incidence of relapse, with death without relapse beside it.

    Both curves are Aalen-Johansen estimates (``event_codes`` as in
    ``statistics.cumulative_incidence_summary``); showing the competing risk
    makes clear why the relapse curve is not 1 - leukemia-free survival.
    """
    return _render(cumulative_incidence_drawing(times, event_codes, title, at_risk_label=at_risk_label),
                   format=format)


def cumulative_incidence_drawing(
    times: Sequence[float], event_codes: Sequence[int], title: str, *, at_risk_label: str | None = None
) -> Figure:
    """Return the figure ``cumulative_incidence_figure`` renders (lines: gid ``curve-relapse``, ``curve-death``)."""
    figure, axes, table = _figure_with_at_risk_table(rows=1)
    if len(times):
        for code, label, gid in (
            (EventCode.EVENT, gettext("Relapse"), "curve-relapse"),
            (EventCode.COMPETING_EVENT, gettext("Death without relapse"), "curve-death"),
        ):
            fitter = aalen_johansen_fitter(times, event_codes, event_of_interest=code)
            _plot_step_curve(
                axes, fitter.cumulative_density_.iloc[:, 0], fitter.confidence_interval_, label=label,
                gid=gid,
            )
    axes.set_ylabel(gettext("Cumulative incidence"))
    _draw_at_risk_table(table, {at_risk_label or gettext("All patients"): times})
    _finish(axes, title=title)
    return figure


def swimmer_plot(courses: Sequence[PatientCourse], as_of: date, *, format: str = "png") -> bytes:
    """Return one bar per patient from infusion to death or last contact, as of a cut-off
    (the SWIMMER_MAX_LANES most recently infused when there are more).

    Nothing after ``as_of`` is drawn, so an interim cut-off can be redrawn
    from today's data; patients infused after it are left out. An arrow marks
    a patient alive, not lost to follow-up and still inside the 3-year
    follow-up at the cut-off.
    """
    return _render(swimmer_drawing(courses, as_of), format=format)


def swimmer_drawing(courses: Sequence[PatientCourse], as_of: date) -> Figure:
    """The Figure that ``swimmer_plot`` renders."""
    infused = [c for c in courses if c.infusion_date <= as_of]
    latest = sorted(infused, key=lambda c: c.infusion_date, reverse=True)[:SWIMMER_MAX_LANES]
    courses = sorted(latest, key=lambda c: (_followed_days(c, as_of), c.subject_id))
    figure = Figure(figsize=(10, 1.5 + 0.3 * max(len(courses), 1)), layout="constrained")
    axes = figure.add_subplot()

    def months(course: PatientCourse, when: date | None) -> float | None:
        if when is None or when > as_of:
            return None
        return course.study_day(when) / MONTH_DAYS

    markers = {
        "CR": dict(marker="o", color="tab:green", label=Response.CR.value),
        "CRi": dict(
            marker="o", color="tab:green", markerfacecolor="none", label=Response.CRI.value
        ),
        "relapse": dict(marker="v", color="tab:red", label=gettext("Relapse")),
        "hsct": dict(marker="D", color="tab:purple", label=gettext("Allogeneic HSCT")),
        "death": dict(marker="X", color="black", label=gettext("Death")),
        "ongoing": dict(marker=">", color="tab:blue", label=gettext("Follow-up ongoing")),
        "lost": dict(
            marker="|", markeredgewidth=2, color="dimgray", label=gettext("Lost to follow-up")
        ),
    }
    for row, course in enumerate(courses):
        end = _followed_days(course, as_of) / MONTH_DAYS
        axes.barh(row, end, height=0.5, color="lightsteelblue")
        points = {
            "relapse": months(course, course.relapse_date),
            "hsct": months(course, course.hsct_date),
            "death": months(course, course.death_date),
        }
        if course.response_1_month in (Response.CR, Response.CRI):
            points[course.response_1_month] = min(1.0, end)  # the 1-month assessment
        if _ongoing(course, as_of):
            points["ongoing"] = end
        elif course.lost_to_follow_up and points["death"] is None:
            points["lost"] = end
        for kind, x in points.items():
            if x is not None:
                style = {k: v for k, v in markers[kind].items() if k != "label"}
                axes.plot(x, row, linestyle="none", markersize=7, **style)

    axes.set_yticks(range(len(courses)), [c.subject_id for c in courses])
    axes.set_ylim(-0.75, max(len(courses), 1) - 0.25)
    axes.invert_yaxis()
    longest_days = max((_followed_days(c, as_of) for c in courses), default=0)
    axes.set_xlim(0, max(FOLLOW_UP_MONTHS, longest_days / MONTH_DAYS) + 1)
    axes.set_xticks(AT_RISK_MONTHS)
    axes.set_xlabel(gettext("Months since CAR-T infusion"))
    figure.legend(
        handles=[Line2D([], [], linestyle="none", **style) for style in markers.values()],
        loc="outside right upper",
        fontsize="small",
    )
    if len(infused) > len(courses):
        title = gettext("Patient follow-up as of %(date)s: the %(shown)s most recently infused of %(total)s "
                        "patients") % {"date": as_of.isoformat(), "shown": len(courses), "total": f"{len(infused):,}"}
    else:
        title = gettext("Patient follow-up as of %(date)s") % {"date": as_of.isoformat()}
    axes.set_title(title)
    return figure


# Helpers -------------------------------------------------------------------


def _followed_days(course: PatientCourse, as_of: date) -> int:
    """Return the days from infusion to death or last contact, cut off at ``as_of``."""
    end = course.death_date or course.follow_up_end_date
    return course.study_day(min(end, as_of))


def _ongoing(course: PatientCourse, as_of: date) -> bool:
    dead = course.death_date is not None and course.death_date <= as_of
    within_follow_up = _followed_days(course, as_of) < FOLLOW_UP_MONTHS * MONTH_DAYS
    return not dead and not course.lost_to_follow_up and within_follow_up


def _figure_with_at_risk_table(*, rows: int) -> tuple[Figure, Axes, Axes]:
    figure = Figure(figsize=(8, 5 + 0.25 * rows), layout="constrained")
    axes, table = figure.subplots(
        2, 1, sharex=True, height_ratios=[4, 0.4 + 0.3 * max(rows, 1)]
    )
    return figure, axes, table


def _plot_step_curve(
    axes: Axes, estimate: pd.Series, ci: pd.DataFrame, *, label: str, gid: str | None = None
) -> str:
    """Draw a right-continuous step curve with its shaded interval; return its colour."""
    months = estimate.index.to_numpy(dtype=float) / MONTH_DAYS
    values = estimate.to_numpy(dtype=float)
    bounds = np.sort(ci.to_numpy(dtype=float), axis=1)  # AJ columns are mislabelled
    if len(months) and months[0] == 0 and values[0] < 1:
        # A survival curve with events on day 0 (event-free survival's treatment
        # failures, a death on the infusion day) starts at 1, so the drop shows.
        # (The Aalen-Johansen fits already start on day -1 at 0.)
        months, values = np.insert(months, 0, 0.0), np.insert(values, 0, 1.0)
        bounds = np.insert(bounds, 0, [1.0, 1.0], axis=0)
    (line,) = axes.step(months, values, where="post", label=label, gid=gid)
    axes.fill_between(
        months, bounds[:, 0], bounds[:, 1], step="post", alpha=0.15, color=line.get_color()
    )
    return line.get_color()


def _draw_at_risk_table(table: Axes, times_by_label: Mapping[str, Sequence[float]]) -> None:
    labels = list(times_by_label)
    for row, label in enumerate(labels):
        for month, count in at_risk_counts(times_by_label[label]).items():
            table.text(month, row, str(count), ha="center", va="center", fontsize="small",
                       gid=f"at-risk-{row}-{month}")
    table.set_yticks(range(len(labels)), labels, fontsize="small")
    table.set_ylim(len(labels) - 0.5, -0.5)
    table.set_title(gettext("Number at risk"), loc="left", fontsize="small")
    table.tick_params(bottom=False, labelbottom=False, left=False, pad=15)
    for spine in table.spines.values():
        spine.set_visible(False)


def _finish(axes: Axes, *, title: str, xlabel: str | None = None) -> None:
    axes.set_title(title)
    axes.set_ylim(0, 1.02)
    axes.set_xlim(0, FOLLOW_UP_MONTHS + 1)
    axes.set_xticks(AT_RISK_MONTHS)
    axes.tick_params(labelbottom=True)
    axes.set_xlabel(xlabel or gettext("Months since CAR-T infusion"))
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best")


def render(figure: Figure, *, format: str) -> bytes:
    """Return a figure built by one of the ``*_drawing`` functions as PNG or SVG bytes."""
    return _render(figure, format=format)


def _render(figure: Figure, *, format: str) -> bytes:
    """Return the figure as bytes; SVG keeps its text as text (searchable, accessible)."""
    if format not in ("png", "svg"):
        raise ValueError(f"format must be 'png' or 'svg', got {format!r}.")
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "edc-outcomes"}):
        figure.savefig(buffer, format=format, dpi=150)
    return buffer.getvalue()
