import xml.etree.ElementTree as ET
from datetime import date, timedelta

import matplotlib.pyplot as plt
import pytest

from outcomes.figures import (
    AT_RISK_MONTHS,
    at_risk_counts,
    cumulative_incidence_figure,
    kaplan_meier_figure,
    swimmer_plot,
)
from outcomes.statistics import (
    LANDMARK_MONTHS,
    PatientCourse,
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


def test_kaplan_meier_figure_is_a_png():
    png = kaplan_meier_figure({"Overall survival": (TIMES, EVENTS)}, "Overall survival")
    assert png.startswith(PNG_SIGNATURE)


def test_cumulative_incidence_figure_is_a_png():
    png = cumulative_incidence_figure(TIMES, CODES, "Cumulative incidence of relapse")
    assert png.startswith(PNG_SIGNATURE)


def test_swimmer_plot_is_a_png():
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


def test_figures_of_no_patients_still_render():
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
