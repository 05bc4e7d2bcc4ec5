"""What the endpoint figures draw for event-free survival, LFS among responders, the relapse incidence
among responders and the duration of remission: the step coordinates and the numbers at risk, for the
seven responders and one refractory survivor of test_endpoint_definitions (worked out by hand)."""
from datetime import date

import matplotlib.pyplot as plt
import pytest

from outcomes import reports
from outcomes.statistics import MONTH_DAYS
from tests.outcomes.test_endpoint_definitions import eight_patients

CUTOFF = date(2026, 1, 1)


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def drawing(name, **kwargs):
    return reports.figure_drawing(courses=eight_patients(), name=name, censor_at_hsct=False, cutoff=CUTOFF,
                                  **kwargs)


def curve(figure, gid):
    (line,) = [line for axes in figure.axes for line in axes.get_lines() if line.get_gid() == gid]
    return line


def steps(line):
    """The (days, value) corners of a drawn step curve, in days (the figure plots months)."""
    return [(round(x * MONTH_DAYS), round(float(y), 4))
            for x, y in zip(line.get_xdata(), line.get_ydata(), strict=True)]


def at_risk_row(figure, row):
    texts = {text.get_gid(): text.get_text() for axes in figure.axes for text in axes.texts}
    return {month: int(texts[f"at-risk-{row}-{month}"]) for month in (0, 6, 12, 18, 24, 30, 36)}


def test_survival_figure_draws_event_free_survival_dropping_on_day_zero():
    figure = drawing("survival")
    efs = curve(figure, "curve-1")
    assert efs.get_label() == "Event-free survival (all infused)"
    # From 1 down to 7/8 on day 0 (the refractory patient), then one event of 7, 6, 5, 4, 3 at risk.
    assert steps(efs) == [(0, 1.0), (0, 0.875), (100, 0.75), (150, 0.625), (200, 0.5), (250, 0.375),
                          (300, 0.25), (500, 0.25), (600, 0.25)]
    assert at_risk_row(figure, 1) == {0: 8, 6: 5, 12: 2, 18: 1, 24: 0, 30: 0, 36: 0}


def test_survival_figure_draws_leukemia_free_survival_over_the_responders_only():
    figure = drawing("survival")
    lfs = curve(figure, "curve-2")
    assert lfs.get_label() == "Leukemia-free survival (responders)"
    assert steps(lfs) == [(0, 1.0), (100, round(6 / 7, 4)), (150, round(5 / 7, 4)), (200, round(4 / 7, 4)),
                          (250, round(3 / 7, 4)), (300, round(2 / 7, 4)), (500, round(2 / 7, 4)),
                          (600, round(2 / 7, 4))]
    assert at_risk_row(figure, 2) == {0: 7, 6: 5, 12: 2, 18: 1, 24: 0, 30: 0, 36: 0}
    assert at_risk_row(figure, 0) == {0: 8, 6: 6, 12: 3, 18: 1, 24: 0, 30: 0, 36: 0}  # overall survival
    assert figure.axes[0].get_title() == (
        "Overall, event-free and leukemia-free survival (data cut-off 2026-01-01)")


def test_relapse_figure_draws_the_responders_incidence_with_deaths_in_remission_beside_it():
    figure = drawing("relapse")
    relapse = dict(steps(curve(figure, "curve-relapse")))
    death = dict(steps(curve(figure, "curve-death")))
    assert relapse[100] == round(1 / 7, 4) and relapse[200] == round(2 / 7, 4) and relapse[250] == round(3 / 7, 4)
    assert relapse[600] == round(3 / 7, 4)
    assert death[150] == round(1 / 7, 4) and death[300] == round(2 / 7, 4)
    assert at_risk_row(figure, 0) == {0: 7, 6: 5, 12: 2, 18: 1, 24: 0, 30: 0, 36: 0}
    table = figure.axes[1]
    assert [label.get_text() for label in table.get_yticklabels()] == ["Responders"]


def test_remission_figure_counts_months_from_the_first_cr():
    figure = drawing("remission")
    dor = curve(figure, "curve-0")
    assert dor.get_label() == "Duration of remission (responders)"
    # Durations 86 (R1, in CR from day 14), 122, 172, 222, 272; 472 and 572 censored.
    assert steps(dor) == [(0, 1.0), (86, round(6 / 7, 4)), (122, round(5 / 7, 4)), (172, round(4 / 7, 4)),
                          (222, round(3 / 7, 4)), (272, round(2 / 7, 4)), (472, round(2 / 7, 4)),
                          (572, round(2 / 7, 4))]
    assert at_risk_row(figure, 0) == {0: 7, 6: 4, 12: 2, 18: 1, 24: 0, 30: 0, 36: 0}
    assert figure.axes[0].get_xlabel() == "Months since the first CR/CRi"


def test_every_figure_renders_to_png():
    for name in reports.FIGURES:
        png = reports.figure_bytes(courses=eight_patients(), name=name, censor_at_hsct=True, cutoff=CUTOFF)
        assert png.startswith(b"\x89PNG")
