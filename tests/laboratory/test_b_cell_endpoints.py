"""B-cell recovery on the endpoints page (laboratory/endpoints.py, gathered by outcomes' endpoints view through
trial.hooks): the median duration of B-cell aplasia the page shows is the one laboratory computes, checked
against a Kaplan–Meier estimate by hand; the data cut-off, the cache and the PDF.

Four patients infused on 2026-02-06 (day 0), CD19⁺ counts per study day, recovery at 3/µL (two in a row):
  A  28: 0,  91: 5, 183: 6          recovered on day 91
  B  28: 0, 120: 1                  censored on day 120 (last count)
  C  28: 0,  91: 2, 182: 4, 270: 8  recovered on day 182
  D  28: 0,  91: 0, 274: 10, 290: 12 recovered on day 274
Kaplan–Meier of aplasia S(t): day 91, 4 at risk, 1 recovers: S = 3/4; day 120 B censored; day 182, 2 at risk,
1 recovers: S = 3/4 × 1/2 = 3/8 ≤ 1/2, so the median duration is 182 days; day 274: S = 0.
At risk (time ≥ t): month 0 → 4, month 3 (91.3 days) → 3 (B, C, D), month 6 (182.6 days) → 1 (D).
"""
import datetime
import io
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language

from laboratory import endpoints
from laboratory.endpoints import b_cell_recovery_summary
from laboratory.models import LabResult
from laboratory.rules import BCellAplasia
from laboratory.selectors import cohort_b_cell_aplasia
from laboratory.services import ResultEntry, laboratory_record
from patients.models import Patient
from tests.factories import PatientFactory, infuse

pytestmark = pytest.mark.django_db
DAY_0 = datetime.date(2026, 2, 6)
COUNTS = {
    "A": ((28, "0"), (91, "5"), (183, "6")),
    "B": ((28, "0"), (120, "1")),
    "C": ((28, "0"), (91, "2"), (182, "4"), (270, "8")),
    "D": ((28, "0"), (91, "0"), (274, "10"), (290, "12")),
}


@pytest.fixture(autouse=True)
def english_after():
    """A request in Chinese leaves Chinese active in the thread (LocaleMiddleware activates it and nothing resets
    it): the tests after this one expect English."""
    yield
    translation.activate("en-gb")


def on(day):
    return DAY_0 + datetime.timedelta(days=day)


@pytest.fixture
def cohort(protocol, site_sz, coordinator):
    cache.clear()
    patients = {}
    for code, counts in COUNTS.items():
        patient = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=DAY_0)
        for day, count in counts:
            laboratory_record(patient=patient, by=coordinator, collection_date=on(day),
                              results=[ResultEntry("cd19_b", D(count), "/µL")])
        patients[code] = patient
    return patients


def test_durations_and_the_hand_computed_kaplan_meier(cohort, investigator):
    durations = cohort_b_cell_aplasia(Patient.objects.visible_to(investigator))
    assert sorted((d.days, d.recovered) for d in durations) == [(91, True), (120, False), (182, True),
                                                                (274, True)]
    summary = b_cell_recovery_summary(durations)
    assert (summary["n"], summary["recovered"], summary["censored"], summary["median_days"]) == (4, 3, 1, 182.0)
    landmarks = {row["months"]: (row["recovery_percent"], row["at_risk"]) for row in summary["landmarks"]}
    assert landmarks[0] == (0.0, 4)
    assert landmarks[3] == (25.0, 3)  # 1 − 3/4
    assert landmarks[6] == (62.5, 1)  # 1 − 3/8
    assert landmarks[12] == (100.0, 0)
    low, high = summary["median_ci_days"]
    assert low is not None and low <= 182 and (high is None or high >= 182)


def test_the_endpoints_page_shows_the_median_laboratory_computes(client, cohort, investigator):
    client.force_login(investigator)
    page = client.get(reverse("outcomes:endpoints")).content.decode()
    section = page[page.index('data-testid="b-cell-recovery"'):]
    summary = b_cell_recovery_summary(cohort_b_cell_aplasia(Patient.objects.visible_to(investigator)))
    assert summary["median_days"] == 182.0
    assert "Median duration of B-cell aplasia:\n  <strong>182 days</strong>" in section
    low, high = summary["median_ci_days"]
    ci = f"{low:.0f}–{high:.0f}" if high is not None else f"{low:.0f}–NR"
    assert f"(95% CI {ci})" in section
    assert "4 patients with a count after the infusion: 3 recovered, 1 censored" in section
    assert '<td class="text-end">62.5%</td>' in section
    assert f'src="{reverse("outcomes:endpoint_figure", args=["b_cell_recovery"])}"' in section

    image = client.get(reverse("outcomes:endpoint_figure", args=["b_cell_recovery"]))
    assert image["Content-Type"] == "image/png" and image.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cut_off_ignores_later_counts(client, cohort, investigator):
    """Cut off on day 176: A's count of day 183, C's of days 182 and 270 and D's of 274 and 290 are ignored.
    A's day-91 count of 5 has no second count after it, so nobody has recovered: A, C and D are censored on day
    91, B on day 120, and the median is not reached."""
    client.force_login(investigator)
    page = client.get(reverse("outcomes:endpoints"), {"cutoff": on(176).isoformat()}).content.decode()
    section = page[page.index('data-testid="b-cell-recovery"'):]
    assert "<strong>not reached</strong>" in section
    assert "4 patients with a count after the infusion: 0 recovered, 4 censored" in section
    durations = cohort_b_cell_aplasia(Patient.objects.visible_to(investigator), cutoff=on(176))
    assert sorted((d.days, d.recovered) for d in durations) == [(91, False), (91, False), (91, False),
                                                                (120, False)]


def test_a_new_count_moves_the_cached_section_and_the_figure_follows_the_language(client, cohort, investigator,
                                                                                 coordinator, monkeypatch):
    client.force_login(investigator)
    url = reverse("outcomes:endpoints")
    assert "<strong>182 days</strong>" in client.get(url).content.decode()
    # B's day-120 count corrected to 4 and a count of 5 on day 150: B recovers on day 120. S(91) = 3/4,
    # S(120) = 3/4 × 2/3 = 1/2, so the median moves to 120 days (a new history row: a new data version).
    draw = cohort["B"].laboratory_results.get(collection_date=on(120))
    laboratory_record(patient=cohort["B"], by=coordinator, collection_date=on(120), laboratory=draw,
                      results=[ResultEntry("cd19_b", D("4"), "/µL")], reason="Count misread", version=draw.version)
    laboratory_record(patient=cohort["B"], by=coordinator, collection_date=on(150),
                      results=[ResultEntry("cd19_b", D("5"), "/µL")])
    assert "<strong>120 days</strong>" in client.get(url).content.decode()

    # The figure is drawn once per data version and language (its title and axes are in the reader's).
    drawn = []
    original = endpoints.figures.b_cell_recovery_figure
    monkeypatch.setattr(endpoints.figures, "b_cell_recovery_figure",
                        lambda *args, **kwargs: drawn.append(get_language()) or original(*args, **kwargs))
    figure = reverse("outcomes:endpoint_figure", args=["b_cell_recovery"])
    english = client.get(figure).content
    assert client.get(figure).content == english and drawn == ["en-gb"]
    client.get(figure, HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.get(figure, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert drawn == ["en-gb", "zh-hans"]


def test_the_pdf_holds_the_section_and_its_figure(client, cohort, investigator):
    from pypdf import PdfReader

    client.force_login(investigator)
    answer = client.get(reverse("outcomes:endpoints_pdf"))
    reader = PdfReader(io.BytesIO(answer.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Median duration of B-cell aplasia" in text and "182 days" in text
    figures = {image.data for page in reader.pages for image in page.images if len(image.data) > 10_000}
    assert len(figures) == 5  # survival, relapse, remission, swimmer and B-cell recovery


def test_summary_without_patients_and_with_censoring_only():
    assert b_cell_recovery_summary([])["median_days"] is None
    summary = b_cell_recovery_summary([BCellAplasia(100, False), BCellAplasia(200, False)])
    assert (summary["median_days"], summary["median_ci_days"], summary["censored"]) == (None, [None, None], 2)


def test_one_query_for_the_durations(django_assert_num_queries, cohort, investigator):
    visible = Patient.objects.visible_to(investigator)
    with django_assert_num_queries(1):
        assert len(cohort_b_cell_aplasia(visible)) == 4
    assert LabResult.objects.count() == 13
