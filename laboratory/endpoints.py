"""B-cell recovery on the endpoints page, gathered by the endpoints view (outcomes/views.py) through
`trial.hooks.app_modules("endpoints")`: outcomes and this app sit side by side and do not import each other.

The hook: ``endpoint_figures()`` names this app's figures (name → title); ``endpoint_figure_bytes(user=, name=,
cutoff=)`` draws one as PNG; ``endpoint_sections(user=, cutoff=, figure_src=)`` answers the sections of the page
and of its PDF as (template, context), ``figure_src(name)`` giving the image's address (a URL on the page, a
data: URI in the PDF).

The summary and the figure are cached like the other endpoints (laboratory/cache.py): under a key holding a
version of the data they are read from, the user's scope, the cut-off and, for the figure, the active language.
"""
from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Sequence

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from patients.models import Patient
from trial.models import Protocol

from . import cache, figures, rules
from .models import Laboratory, LabResult
from .selectors import cohort_b_cell_aplasia

B_CELL_RECOVERY = "b_cell_recovery"
FIGURES = {B_CELL_RECOVERY: _("B-cell recovery")}
CONFIDENCE_LEVEL = 0.95

#: The models the B-cell durations are read from; a change to any of them changes the section.
SOURCES = (Patient, Protocol, Laboratory, LabResult)


def data_version() -> str:
    return cache.data_version(SOURCES)


def _finite(value: float) -> float | None:
    return None if value is None or math.isinf(value) or math.isnan(value) else float(value)


def b_cell_recovery_summary(durations: Sequence[rules.BCellAplasia]) -> dict:
    """The Kaplan–Meier summary of B-cell aplasia (recovery the event, censored at the last count): the median
    duration in days with its 95 % confidence interval (None where not reached), the cumulative recovery and
    the number still at risk at each month of `figures.AT_RISK_MONTHS`."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    summary: dict = {"n": len(durations), "recovered": sum(d.recovered for d in durations),
                     "censored": sum(not d.recovered for d in durations), "median_days": None,
                     "median_ci_days": [None, None], "landmarks": []}
    if not durations:
        return summary
    fit = KaplanMeierFitter(alpha=1 - CONFIDENCE_LEVEL).fit([d.days for d in durations],
                                                            event_observed=[d.recovered for d in durations])
    summary["median_days"] = _finite(fit.median_survival_time_)
    low, high = sorted(median_survival_times(fit.confidence_interval_).iloc[0])
    summary["median_ci_days"] = [_finite(low), _finite(high)]
    for months in figures.AT_RISK_MONTHS:
        day = months * figures.MONTH_DAYS
        summary["landmarks"].append({
            "months": months, "recovery_percent": round(100 * (1 - float(fit.predict(day))), 1),
            "at_risk": sum(d.days >= day for d in durations)})
    return summary


def _durations(*, user, cutoff: datetime.date) -> list[rules.BCellAplasia]:
    return cohort_b_cell_aplasia(Patient.objects.visible_to(user), cutoff=cutoff)


def b_cell_recovery_summary_cached(*, version: str, scope: str, patients, cutoff: datetime.date) -> dict:
    """The summary over ``patients`` (the patients of ``scope``), counts after ``cutoff`` ignored, from the cache
    when the data have not changed (no text in it: one entry for every language)."""
    return cache.cached(f"laboratory:b-cell:{version}:{scope}:{cutoff.isoformat()}",
                        lambda: b_cell_recovery_summary(cohort_b_cell_aplasia(patients, cutoff=cutoff)))


def b_cell_recovery_for(*, user, cutoff: datetime.date) -> dict:
    """The summary over the patients ``user`` may see."""
    return b_cell_recovery_summary_cached(version=data_version(), scope=cache.scope(user),
                                          patients=Patient.objects.visible_to(user), cutoff=cutoff)


def endpoint_figures() -> dict:
    return FIGURES


def endpoint_figure_bytes(*, user, name: str, cutoff: datetime.date) -> bytes:
    """The PNG of one of FIGURES, cached by data version, scope, cut-off and language (its labels)."""
    if name != B_CELL_RECOVERY:
        raise KeyError(name)
    key = f"laboratory:figure:{data_version()}:{cache.scope(user)}:{name}:{cutoff.isoformat()}:{get_language()}"
    return cache.cached(key, lambda: figures.b_cell_recovery_figure(
        _durations(user=user, cutoff=cutoff),
        title=_("B-cell recovery, data cut-off %(cutoff)s") % {"cutoff": cutoff.isoformat()}))


def endpoint_sections(*, user, cutoff: datetime.date, figure_src: Callable[[str], str]) -> list[tuple[str, dict]]:
    return [("laboratory/_endpoints_b_cell_recovery.html", {
        "summary": b_cell_recovery_for(user=user, cutoff=cutoff), "cutoff": cutoff,
        "figure_src": figure_src(B_CELL_RECOVERY), "figure_title": FIGURES[B_CELL_RECOVERY],
        "recovery_per_ul": Protocol.objects.current().b_cell_recovery_per_ul,
    })]
