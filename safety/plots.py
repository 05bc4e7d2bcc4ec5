"""The swimmer plot of CRS and ICANS over study days 0–28 (matplotlib's
object-oriented Figure API with the Agg canvas: no pyplot state, thread-safe)."""
import io

from django.utils.translation import gettext, ngettext
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from trial.figures import figure_fonts_install

figure_fonts_install()  # Latin and Chinese labels (docs/i18n.md)

GRADE_COLOURS = {0: "#d9d9d9", 1: "#fee08b", 2: "#fdae61", 3: "#f46d43", 4: "#a50026", 5: "#000000"}


def swimmer_png(lanes, *, last_day: int = 28, of_total: int | None = None) -> bytes:
    """The swimmer plot as PNG bytes (`swimmer_drawing`)."""
    buffer = io.BytesIO()
    swimmer_drawing(lanes, last_day=last_day, of_total=of_total).savefig(buffer, format="png")
    return buffer.getvalue()


def swimmer_drawing(lanes, *, last_day: int = 28, of_total: int | None = None) -> Figure:
    """lanes: [(label, [(day, CRS grade)], [(day, ICANS grade)])], top to bottom;
    `of_total`: how many infused patients there are when the lanes show only some.
    The labels are in the active language (translated here, at draw time)."""
    height = max(2.5, 0.32 * len(lanes) + 1.4)
    figure = Figure(figsize=(9, height), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for row, (_label, crs, icans) in enumerate(reversed(lanes)):
        axes.barh(row, last_day + 1, left=-0.5, height=0.8, color="#f5f5f5", edgecolor="#cccccc", linewidth=0.5)
        for days, offset in ((crs, 0.17), (icans, -0.17)):
            for day, grade in days:
                axes.barh(row + offset, 1, left=day - 0.5, height=0.32, color=GRADE_COLOURS.get(grade, "#000"),
                          edgecolor="white", linewidth=0.3)
    axes.set_yticks(range(len(lanes)), [label for label, _crs, _icans in reversed(lanes)], fontsize=8)
    axes.set_xlim(-0.5, last_day + 0.5)
    axes.set_ylim(-0.7, max(len(lanes), 1) - 0.3)
    axes.set_xticks(range(0, last_day + 1, 7))
    axes.set_xlabel(gettext("Study day (0 = CAR-T infusion)"))
    title = gettext("CRS (upper band) and ICANS (lower band) by ASTCT grade, days 0–%(last_day)s") % {
        "last_day": last_day}
    if of_total is not None and of_total > len(lanes):
        title += "\n" + ngettext("the %(shown)s most recently infused of %(total)s patient",
                                 "the %(shown)s most recently infused of %(total)s patients", of_total) % {
            "shown": len(lanes), "total": f"{of_total:,}"}
    axes.set_title(title, fontsize=10)
    handles = [Patch(color=GRADE_COLOURS[grade], label=gettext("Grade %(grade)s") % {"grade": grade})
               for grade in range(0, 5)]
    handles.append(Line2D([], [], color="none", label=gettext("no mark: not assessed")))
    figure.legend(handles=handles, loc="lower center", ncol=6, fontsize=8, frameon=False)
    if not lanes:
        axes.text(last_day / 2, 0, gettext("No infused patients"), ha="center", va="center")
    figure.tight_layout(rect=(0, 0.45 / height, 1, 1))  # leave the bottom strip to the legend
    return figure
