import xml.etree.ElementTree as ET
from datetime import date, timedelta

import matplotlib.pyplot as plt
import pytest

from outcomes.figures import (
    AT_RISK_MONTHS,
    at_risk_counts,
    cumulative_incidence_drawing,
    cumulative_incidence_figure,
    kaplan_meier_drawing,
    kaplan_meier_figure,
    swimmer_drawing,
    swimmer_plot,
)
from outcomes.statistics import (
    LANDMARK_MONTHS,
    MONTH_DAYS,
    PatientCourse,
    cumulative_incidence_summary,
    kaplan_meier_summary,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"
INFUSION = date(2023, 3, 1)

# A death on day 0 and follow-up past 3 years, so the at-risk row has edge cases.
TIMES = [0, 45, 180, 200, 365, 366, 400, 730, 800, 1100, 1200]
EVENTS = [1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0]
CODES = [2, 0, 1, 2, 0, 1, 0, 1, 0, 0, 0]


def course(subject_id, *, last, relapse=None, death=None, hsct=None, response=None,
           lost=False, infusion=INFUSION):
    def day(n):
        return None if n is None else infusion + timedelta(days=n)

    return PatientCourse(
        subject_id=subject_id, infusion_date=infusion, last_contact_date=day(last),
        relapse_date=day(relapse), death_date=day(death), hsct_date=day(hsct),
        response_1_month=response, lost_to_follow_up=lost,
    )


COURSES = [
    course("SZ-001", last=1100, response="CR"),
    course("SZ-002", last=800, relapse=200, hsct=260, response="CRi"),
    course("SZ-003", last=150, death=150, response="no_response"),
    course("SZ-004", last=60, lost=True),
    course("SZ-005", last=10, infusion=date(2026, 1, 1)),
]


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before


def svg_texts(svg: bytes) -> list[str]:
    return [element.text for element in ET.fromstring(svg).iter(f"{SVG}text")]


def at_risk_row_in_svg(svg: bytes, row: int) -> dict[int, int]:
    root = ET.fromstring(svg)
    counts = {}
    for month in AT_RISK_MONTHS:
        group = root.find(f".//{SVG}g[@id='at-risk-{row}-{month}']")
        counts[month] = int(group.find(f"{SVG}text").text)
    return counts


def drawn_days(line) -> list[float]:
    """A line's x data (months) back in days."""
    return [round(x * MONTH_DAYS, 6) for x in line.get_xdata()]


def step_value_at(line, day: float) -> float:
    """The height of a right-continuous step line (where="post") on a day."""
    xs = [x * MONTH_DAYS for x in line.get_xdata()]
    return line.get_ydata()[max(i for i, x in enumerate(xs) if x <= day)]


def at_risk_texts(table) -> dict[str, str]:
    return {text.get_gid(): text.get_text() for text in table.texts}


# TIMES/EVENTS by hand: deaths on days 0 (11 at risk), 180 (9), 200 (8), 366 (6) and 730 (4).
KM_BY_HAND = {0: 10 / 11, 180: 10 / 11 * 8 / 9, 200: 10 / 11 * 8 / 9 * 7 / 8,
              366: 10 / 11 * 8 / 9 * 7 / 8 * 5 / 6, 730: 10 / 11 * 8 / 9 * 7 / 8 * 5 / 6 * 3 / 4}
# Times >= 0, 6, 12, ... months (30.4375 days each): 11; 8 (from day 200); 6 (366); 4 (730); 3; 2; 2.
AT_RISK_BY_HAND = {0: 11, 6: 8, 12: 6, 18: 4, 24: 3, 30: 2, 36: 2}


def test_kaplan_meier_figure_draws_the_product_limit_steps_censor_marks_and_numbers_at_risk():
    """Drawing another estimate (say 1 - F, or a curve shifted by a row) moves a step off the hand
    computation; dropping a censor mark or miscounting the at-risk row changes the lists below."""
    figure = kaplan_meier_drawing({"Overall survival": (TIMES, EVENTS)}, "Overall survival")
    axes, table = figure.axes
    curve, censor_marks = axes.lines
    assert curve.get_drawstyle() == "steps-post"
    assert drawn_days(curve) == [0, *TIMES]  # from 1 on day 0, so the day-0 death shows as a drop
    assert list(curve.get_ydata()[:2]) == pytest.approx([1, 10 / 11])
    for day, survival in KM_BY_HAND.items():
        assert step_value_at(curve, day) == pytest.approx(survival)
    assert step_value_at(curve, 45) == pytest.approx(10 / 11)  # a censoring is no step
    summary = kaplan_meier_summary(TIMES, EVENTS)
    for month in LANDMARK_MONTHS:  # the curve and the table of endpoints agree
        assert step_value_at(curve, month * MONTH_DAYS) == pytest.approx(summary["at_months"][str(month)]["estimate"])
    censored_days = [t for t, e in zip(TIMES, EVENTS, strict=True) if not e]
    assert censor_marks.get_marker() == "+" and drawn_days(censor_marks) == censored_days
    assert list(censor_marks.get_ydata()) == pytest.approx([step_value_at(curve, t) for t in censored_days])
    assert [text.get_text() for text in axes.get_legend().get_texts()] == ["Overall survival"]
    assert axes.get_title() == "Overall survival" and axes.get_xlabel() == "Months since CAR-T infusion"
    assert at_risk_texts(table) == {f"at-risk-0-{month}": str(n) for month, n in AT_RISK_BY_HAND.items()}
    assert [label.get_text() for label in table.get_yticklabels()] == ["Overall survival"]
    assert kaplan_meier_figure({"Overall survival": (TIMES, EVENTS)}, "Overall survival").startswith(PNG_SIGNATURE)


def test_cumulative_incidence_figure_draws_relapse_and_competing_death_by_aalen_johansen():
    """Drawing 1 - KM of relapse (death as censoring) instead of Aalen-Johansen, or swapping the two
    curves, changes the steps checked here."""
    figure = cumulative_incidence_drawing(TIMES, CODES, "Cumulative incidence of relapse")
    axes, table = figure.axes
    relapse, death = axes.lines
    assert (relapse.get_label(), death.get_label()) == ("Relapse", "Death without relapse")
    # By hand: death day 0 (11 at risk; S = 10/11); relapse day 180 (9): + 10/11 x 1/9 = 10/99 (S = 80/99);
    # death day 200 (8): + 80/99 x 1/8 (S = 70/99); relapse day 366 (6): + 70/99 x 1/6 (S = 350/594);
    # relapse day 730 (4): + 350/594 x 1/4.
    relapse_by_hand = {0: 0, 180: 10 / 99, 365: 10 / 99, 366: 10 / 99 + 70 / 594,
                       730: 10 / 99 + 70 / 594 + 350 / 2376, 1200: 10 / 99 + 70 / 594 + 350 / 2376}
    death_by_hand = {0: 1 / 11, 180: 1 / 11, 200: 1 / 11 + 10 / 99, 1200: 1 / 11 + 10 / 99}
    for day, incidence in relapse_by_hand.items():
        assert step_value_at(relapse, day) == pytest.approx(incidence)
    for day, incidence in death_by_hand.items():
        assert step_value_at(death, day) == pytest.approx(incidence)
    summary = cumulative_incidence_summary(TIMES, CODES)
    for month in LANDMARK_MONTHS:
        assert step_value_at(relapse, month * MONTH_DAYS) == pytest.approx(summary["at_months"][str(month)]["estimate"])
    assert at_risk_texts(table) == {f"at-risk-0-{month}": str(n) for month, n in AT_RISK_BY_HAND.items()}
    assert [label.get_text() for label in table.get_yticklabels()] == ["All patients"]
    assert axes.get_title() == "Cumulative incidence of relapse"
    assert cumulative_incidence_figure(TIMES, CODES, "CIR").startswith(PNG_SIGNATURE)


def test_swimmer_plot_draws_each_patients_follow_up_and_events():
    """A bar ending at the wrong day, an event marker on the wrong patient or day, or a lane order that
    is not the follow-up order shows up in the bars, markers and labels read here."""
    figure = swimmer_drawing(COURSES, date(2025, 6, 1))
    axes = figure.axes[0]
    lanes = [label.get_text() for label in axes.get_yticklabels()]
    assert lanes == ["SZ-004", "SZ-003", "SZ-002", "SZ-001"]  # shortest follow-up first; SZ-005 after cut-off
    bars = {lanes[round(bar.get_y() + bar.get_height() / 2)]: round(bar.get_width() * MONTH_DAYS, 6)
            for bar in axes.patches}
    assert bars == {"SZ-004": 60, "SZ-003": 150, "SZ-002": 800, "SZ-001": 823}  # SZ-001: cut off on 2025-06-01
    markers = sorted((lanes[round(line.get_ydata()[0])], line.get_marker(), round(line.get_xdata()[0] * MONTH_DAYS, 6))
                     for line in axes.lines)
    assert markers == sorted([
        ("SZ-001", "o", 1 * MONTH_DAYS), ("SZ-001", ">", 823),   # CR at the 1-month assessment; follow-up ongoing
        ("SZ-002", "o", 1 * MONTH_DAYS), ("SZ-002", "v", 200), ("SZ-002", "D", 260), ("SZ-002", ">", 800),
        ("SZ-003", "X", 150),                                    # death
        ("SZ-004", "|", 60),                                     # lost to follow-up
    ])
    assert axes.get_title() == "Patient follow-up as of 2025-06-01"
    assert swimmer_plot(COURSES, date(2025, 6, 1)).startswith(PNG_SIGNATURE)


def test_figures_render_as_svg_with_text_kept_as_text():
    svg = kaplan_meier_figure({"OS": (TIMES, EVENTS)}, "Overall survival", format="svg")
    assert "Overall survival" in svg_texts(svg)


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        kaplan_meier_figure({"OS": (TIMES, EVENTS)}, "Overall survival", format="jpg")


def test_at_risk_counts_match_the_endpoint_summary():
    counts = at_risk_counts(TIMES)
    summary = kaplan_meier_summary(TIMES, EVENTS)
    for month in LANDMARK_MONTHS:
        assert counts[month] == summary["at_months"][str(month)]["at_risk"]
    assert counts[0] == len(TIMES)  # the day-0 death was at risk at day 0


def test_at_risk_table_printed_under_each_curve():
    lfs_times = [t - 1 if t else t for t in TIMES]
    svg = kaplan_meier_figure(
        {"OS": (TIMES, EVENTS), "LFS": (lfs_times, EVENTS)}, "Survival", format="svg"
    )
    assert at_risk_row_in_svg(svg, 0) == at_risk_counts(TIMES)
    assert at_risk_row_in_svg(svg, 1) == at_risk_counts(lfs_times)


def test_cumulative_incidence_at_risk_table():
    svg = cumulative_incidence_figure(TIMES, CODES, "CIR", format="svg")
    assert at_risk_row_in_svg(svg, 0) == at_risk_counts(TIMES)


def test_figures_of_no_patients_draw_no_curve_and_zero_at_risk():
    """Drawing a curve from nothing (or failing to draw at all) breaks the empty trial's figures."""
    km_axes, km_table = kaplan_meier_drawing({"OS": ([], [])}, "Overall survival").axes
    assert len(km_axes.lines) == 0 and set(at_risk_texts(km_table).values()) == {"0"}
    cir_axes, cir_table = cumulative_incidence_drawing([], [], "CIR").axes
    assert len(cir_axes.lines) == 0 and set(at_risk_texts(cir_table).values()) == {"0"}
    swimmer_axes = swimmer_drawing([], date(2025, 6, 1)).axes[0]
    assert len(swimmer_axes.patches) == 0 and len(swimmer_axes.get_yticklabels()) == 0
    assert kaplan_meier_figure({"OS": ([], [])}, "Overall survival").startswith(PNG_SIGNATURE)
    assert cumulative_incidence_figure([], [], "CIR").startswith(PNG_SIGNATURE)
    assert swimmer_plot([], date(2025, 6, 1)).startswith(PNG_SIGNATURE)


def test_swimmer_plot_leaves_out_patients_infused_after_the_cut_off():
    texts = svg_texts(swimmer_plot(COURSES, date(2025, 6, 1), format="svg"))
    assert {"SZ-001", "SZ-002", "SZ-003", "SZ-004"} <= set(texts)
    assert "SZ-005" not in texts
    assert "Patient follow-up as of 2025-06-01" in texts


def test_swimmer_plot_of_many_patients_shows_the_most_recently_infused(monkeypatch):
    from outcomes import figures

    monkeypatch.setattr(figures, "SWIMMER_MAX_LANES", 2)
    many = [course(f"SZ-{n:03}", last=30, infusion=date(2024, 1, n)) for n in range(1, 6)]
    texts = svg_texts(swimmer_plot(many, date(2025, 6, 1), format="svg"))
    assert {"SZ-004", "SZ-005"} <= set(texts)
    assert not {"SZ-001", "SZ-002", "SZ-003"} & set(texts)
    assert "Patient follow-up as of 2025-06-01: the 2 most recently infused of 5 patients" in texts
