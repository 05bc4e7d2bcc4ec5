"""CAR-T kinetics figures (matplotlib's Figure, never pyplot: no global state in a web worker). Each figure has a
``*_drawing`` twin that returns the Figure, so tests read what is plotted."""
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from statistics import median

from django.utils.translation import gettext as _
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from trial.figures import figure_fonts_install

from .rules import Sample
from .selectors import response_group_label

figure_fonts_install()  # Latin and Chinese labels (docs/i18n.md)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def patient_kinetics_drawing(series: Mapping[str, tuple[Sequence[Sample], Decimal, str]]) -> Figure:
    """One panel per assay (label → samples, LLOQ, unit), log scale: quantifiable values as filled points
    joined by a line, values below the LLOQ as open points drawn at half the LLOQ, the LLOQ dashed. The text is in the
    active language, translated when drawn (as in every figure here)."""
    figure = Figure(figsize=(8, 3.2 * max(len(series), 1)))
    for index, (label, (samples, lloq, unit)) in enumerate(series.items(), start=1):
        axes = figure.add_subplot(len(series), 1, index)
        quantifiable = [(s.day, float(s.value)) for s in samples if s.value >= lloq]
        below = [(s.day, float(lloq) / 2) for s in samples if s.value < lloq]
        if quantifiable:
            axes.plot(*zip(*quantifiable, strict=True), marker="o", color="tab:blue", label=_("measured"))
        if below:
            axes.plot(*zip(*below, strict=True), linestyle="none", marker="o", markerfacecolor="none",
                      color="tab:gray", label=_("below LLOQ"))
        axes.axhline(float(lloq), linestyle="--", color="tab:gray", linewidth=0.8,
                     label=_("LLOQ %(lloq)s") % {"lloq": f"{lloq.normalize():f}"})
        axes.set_yscale("log")
        axes.set_xscale("symlog", linthresh=30)  # the first month readable beside three years
        axes.set_title(label)
        axes.set_xlabel(_("Study day (0 = infusion)"))
        axes.set_ylabel(unit)
        axes.legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    return figure


def patient_kinetics_figure(series) -> bytes:
    return _png(patient_kinetics_drawing(series))


def median_by_day(curves: Sequence[Sequence[Sample]], days: Sequence[int]) -> list[tuple[int, float]]:
    """The median over patients of the values measured on each sampling day (days no patient has: left out)."""
    wanted = set(days)
    by_day: dict[int, list[float]] = {}
    for curve in curves:
        for sample in curve:
            if sample.day in wanted:
                by_day.setdefault(sample.day, []).append(float(sample.value))
    return [(day, median(by_day[day])) for day in days if day in by_day]


def cohort_kinetics_drawing(groups: Mapping[str, Sequence[Sequence[Sample]]], *, days: Sequence[int],
                            lloq: Decimal, unit: str) -> Figure:
    """One panel per response group: every patient's curve thin and grey, the median per sampling day bold.
    Values below the LLOQ are drawn at half the LLOQ (log scale)."""
    figure = Figure(figsize=(10, 4))
    floor = float(lloq) / 2
    for index, (label, curves) in enumerate(groups.items(), start=1):
        axes = figure.add_subplot(1, len(groups), index)
        # One collection for every patient's line: a plot call each took 20 s at 10,000 patients.
        axes.add_collection(LineCollection(
            [[(s.day, max(float(s.value), floor)) for s in curve] for curve in curves if curve],
            colors="0.75", linewidths=0.6))
        axes.autoscale_view()
        middle = median_by_day(curves, days)
        if middle:
            axes.plot([d for d, _ in middle], [max(v, floor) for _, v in middle], color="tab:red", linewidth=2.2,
                      marker="o", label=_("median"))
            axes.legend(loc="upper right", fontsize="small")
        axes.axhline(float(lloq), linestyle="--", color="tab:gray", linewidth=0.8)
        axes.set_yscale("log")
        axes.set_xscale("symlog", linthresh=30)
        axes.set_title(_("%(group)s (n = %(n)s)") % {"group": response_group_label(label), "n": len(curves)})
        axes.set_xlabel(_("Study day (0 = infusion)"))
        axes.set_ylabel(unit)
    figure.tight_layout()
    return figure


def cohort_kinetics_figure(groups, *, days, lloq, unit) -> bytes:
    return _png(cohort_kinetics_drawing(groups, days=days, lloq=lloq, unit=unit))


MONTH_DAYS = 365.25 / 12


#: The months at which the number still in aplasia (at risk) is shown, under the curve and on the endpoints page.
AT_RISK_MONTHS = (0, 3, 6, 12, 18, 24, 36)


def b_cell_recovery_drawing(durations: Sequence, *, title: str | None = None) -> Figure:
    """Kaplan–Meier estimate of the cumulative probability of B-cell recovery (1 − S(t)) over months since the
    infusion, with censoring marks and the number at risk (still in aplasia, not censored) under the axis;
    ``durations`` are `rules.BCellAplasia` (recovered = event)."""
    from lifelines import KaplanMeierFitter

    figure = Figure(figsize=(7, 4.6))
    axes = figure.add_axes((0.1, 0.3, 0.86, 0.6))
    axes.set_xlabel(_("Months since CAR-T infusion"))
    axes.set_ylabel(_("B-cell recovery (cumulative)"))
    axes.set_ylim(0, 1)
    axes.set_xlim(0, AT_RISK_MONTHS[-1])
    axes.set_xticks(AT_RISK_MONTHS)
    axes.set_title(title or _("B-cell recovery (n = %(n)d, recovered %(recovered)d)") % {
        "n": len(durations), "recovered": sum(d.recovered for d in durations)})
    if durations:
        fit = KaplanMeierFitter().fit([d.days / MONTH_DAYS for d in durations],
                                      event_observed=[d.recovered for d in durations])
        recovery = 1 - fit.survival_function_.iloc[:, 0]
        axes.step(recovery.index, recovery.values, where="post", color="tab:blue")
        censored = sorted({d.days / MONTH_DAYS for d in durations if not d.recovered})
        if censored:  # one vectorised look-up: a call per mark took seconds at 10,000 patients
            axes.plot(censored, 1 - fit.survival_function_at_times(censored).to_numpy(), linestyle="none", marker="+",
                  color="tab:blue")
    figure.text(0.01, 0.08, _("At risk"), fontsize="small")
    for months in AT_RISK_MONTHS:
        at_risk = sum(d.days >= months * MONTH_DAYS for d in durations)
        figure.text(0.1 + 0.86 * months / AT_RISK_MONTHS[-1], 0.08, str(at_risk), fontsize="small", ha="center")
    return figure


def b_cell_recovery_figure(durations, *, title: str | None = None) -> bytes:
    return _png(b_cell_recovery_drawing(durations, title=title))
