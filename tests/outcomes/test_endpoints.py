"""The endpoints API, page, figures and PDF over a small trial whose numbers are worked out by hand.

Six SZ patients (days from each one's own infusion):
  A  CR, MRD-negative   relapse day 100, death day 200
  B  CR, MRD-positive   alive, last contact day 500
  C  no response        death day 50
  D  CRi, MRD-negative  allogeneic HSCT day 80, relapse day 300, last contact day 900
  E  CR, MRD-negative   lost to follow-up at day 150
  F  no assessment      alive, last contact day 400
and one WX patient (G, death day 10) that SZ users must not count.
"""
import datetime
import io
import math

import pytest
from django.urls import reverse
from scipy.stats import beta, norm

from outcomes.services import follow_up_save, response_assessment_save
from patients.models import Patient
from tests.factories import PatientFactory, infuse

pytestmark = pytest.mark.django_db

MONTH = 365.25 / 12
CR = {"bone_marrow_blasts_percent": 1, "circulating_blasts": False, "extramedullary_disease": False,
      "anc_per_ul": 1500, "platelets_per_ul": 150_000}
CRI = {**CR, "anc_per_ul": 500}
NO_RESPONSE = {**CR, "bone_marrow_blasts_percent": 50}
MRD_NEGATIVE = {"mrd_flow_percent": 0, "mrd_assay_sensitivity_percent": 0.001}
MRD_POSITIVE = {"mrd_flow_percent": 0.5, "mrd_assay_sensitivity_percent": 0.001}


def make_course(code, site, by, *, infusion, assessment=None, contacts=()):
    """Patient ``code`` (a letter of the dataset) screened, lymphodepleted and infused on ``infusion`` through the
    services, with an assessment (day, values) and follow-up contacts (day, values). The site gives the subject
    ID (SZ-001, …): the fixtures map each letter to its patient."""
    patient = infuse(PatientFactory(site=site, consent_date=infusion - datetime.timedelta(days=20)), by=by,
                     day_0=infusion)

    def on(days):
        return infusion + datetime.timedelta(days=days)

    if assessment:
        days, values = assessment
        response_assessment_save(patient=patient, by=by, values={"assessment_date": on(days), **values})
    for days, values in contacts:
        dated = {key: on(value) if key.endswith("_date") else value for key, value in values.items()}
        follow_up_save(patient=patient, by=by, values={"contact_date": on(days), **dated})
    return patient


@pytest.fixture
def small_trial(protocol, site_sz, site_wx, coordinator, coordinator_wx):
    """The patients of the docstring by letter (the site gives their subject IDs: SZ-001 for A, …)."""
    by = coordinator
    return {
        "A": make_course("A", site_sz, by, infusion=datetime.date(2024, 1, 10),
                         assessment=(28, {**CR, **MRD_NEGATIVE}),
                         contacts=[(100, {"follow_up_status": "relapsed", "relapse_date": 100}),
                                   (200, {"follow_up_status": "dead", "death_date": 200})]),
        "B": make_course("B", site_sz, by, infusion=datetime.date(2024, 3, 15),
                         assessment=(28, {**CR, **MRD_POSITIVE}),
                         contacts=[(500, {"follow_up_status": "alive_in_remission"})]),
        "C": make_course("C", site_sz, by, infusion=datetime.date(2024, 2, 1), assessment=(28, NO_RESPONSE),
                         contacts=[(50, {"follow_up_status": "dead", "death_date": 50})]),
        "D": make_course("D", site_sz, by, infusion=datetime.date(2023, 6, 1),
                         assessment=(29, {**CRI, **MRD_NEGATIVE}),
                         contacts=[(80, {"follow_up_status": "alive_in_remission", "hsct_date": 80}),
                                   (300, {"follow_up_status": "relapsed", "relapse_date": 300}),
                                   (900, {"follow_up_status": "relapsed", "relapse_date": 300})]),
        "E": make_course("E", site_sz, by, infusion=datetime.date(2024, 5, 5),
                         assessment=(28, {**CR, **MRD_NEGATIVE}),
                         contacts=[(150, {"follow_up_status": "lost_to_follow_up"})]),
        "F": make_course("F", site_sz, by, infusion=datetime.date(2024, 4, 1),
                         contacts=[(400, {"follow_up_status": "alive"})]),
        "G": make_course("G", site_wx, coordinator_wx, infusion=datetime.date(2024, 4, 1),
                         contacts=[(10, {"follow_up_status": "dead", "death_date": 10})]),
    }


def clopper_pearson(responders, n):
    return beta.ppf(0.025, responders, n - responders + 1), beta.ppf(0.975, responders + 1, n - responders)


def exponential_greenwood(survival, terms):
    """lifelines' default KM interval: exp(-exp(log(-log S) +- z * sqrt(sum d/(n(n-d))) / |log S|))."""
    z = norm.ppf(0.975)
    spread = z * math.sqrt(sum(d / (n * (n - d)) for n, d in terms)) / abs(math.log(survival))
    return sorted((survival ** math.exp(spread), survival ** math.exp(-spread)))


def approx(value):
    return pytest.approx(value, abs=0.0006)  # the API rounds to 3 decimals


def get_endpoints(api_client, user, query=""):
    api_client.force_authenticate(user)
    answer = api_client.get(f"/api/v1/endpoints/{query}")
    assert answer.status_code == 200
    return answer.json()


def test_cr_and_mrd_negative_rates_with_exact_intervals(api_client, investigator, small_trial):
    data = get_endpoints(api_client, investigator)
    assert data["n_infused"] == 6  # G is at another site
    low, high = clopper_pearson(4, 6)  # A, B, D, E; F had no assessment and counts as failure
    assert data["cr_rate"] == {"responders": 4, "n": 6, "estimate": approx(4 / 6),
                               "ci_low": approx(low), "ci_high": approx(high), "pending": 0}
    assert (data["cr_rate_evaluable"]["responders"], data["cr_rate_evaluable"]["n"]) == (4, 5)
    low, high = clopper_pearson(3, 6)  # A, D, E
    assert data["mrd_negative_cr_rate"] == {"responders": 3, "n": 6, "estimate": 0.5,
                                            "ci_low": approx(low), "ci_high": approx(high), "pending": 0}


def test_overall_survival_by_kaplan_meier(api_client, investigator, small_trial):
    os_ = get_endpoints(api_client, investigator)["overall_survival"]
    # Deaths: C day 50 (6 at risk), A day 200 (4 at risk: A, F, B, D); E censored day 150.
    survival = 5 / 6 * 3 / 4
    low, high = exponential_greenwood(survival, [(6, 1), (4, 1)])
    assert os_["at_months"]["12"] == {"estimate": approx(0.625), "ci_low": approx(low), "ci_high": approx(high),
                                      "at_risk": 3}  # F 400, B 500, D 900 days
    assert os_["at_months"]["24"]["estimate"] == approx(0.625)
    assert os_["at_months"]["24"]["at_risk"] == 1
    assert os_["at_months"]["36"] == {"estimate": None, "ci_low": None, "ci_high": None, "at_risk": 0}
    assert os_["median_months"] is None  # never below 50 %
    assert (os_["n"], os_["events"]) == (6, 2)


def test_leukemia_free_survival_and_its_median(api_client, investigator, small_trial):
    lfs = get_endpoints(api_client, investigator)["leukemia_free_survival"]
    # Responders A, B, D, E only. Events: A relapse 100 (4 at risk), D relapse 300 (2: D, B).
    assert (lfs["population"], lfs["n"], lfs["events"]) == ("responders", 4, 2)
    assert lfs["at_months"]["12"]["estimate"] == approx(3 / 4 * 1 / 2)
    assert lfs["at_months"]["12"]["at_risk"] == 1  # B
    assert lfs["median_months"] == approx(300 / MONTH)  # first drop below 50 % is day 300


def test_cumulative_incidence_of_relapse_with_death_as_competing_event(api_client, investigator, small_trial):
    cir = get_endpoints(api_client, investigator)["cumulative_incidence_of_relapse"]
    # Responders A, B, D, E. Aalen-Johansen: A relapses with 4 at risk: 1/4; D relapses with 2 at
    # risk after E's censoring: + 3/4 x 1/2. No death in remission (A died after relapsing).
    assert cir["at_months"]["12"]["estimate"] == approx(1 / 4 + 3 / 8)
    assert cir["at_months"]["12"]["at_risk"] == 1
    assert (cir["population"], cir["n"], cir["events"], cir["competing_events"]) == ("responders", 4, 2, 0)


def test_censoring_at_hsct_stops_counting_d_at_the_transplant(api_client, investigator, small_trial):
    data = get_endpoints(api_client, investigator, "?censor_at_hsct=true")
    assert data["censor_at_hsct"] is True
    # D is censored on day 80: OS deaths C (6 at risk), A (3 at risk: A, F, B).
    assert data["overall_survival"]["at_months"]["12"]["estimate"] == approx(5 / 6 * 2 / 3)
    assert data["overall_survival"]["at_months"]["12"]["at_risk"] == 2
    # Among the responders only A's relapse remains, with 3 at risk (A, E, B).
    assert data["cumulative_incidence_of_relapse"]["at_months"]["12"]["estimate"] == approx(1 / 3)
    # The rates do not depend on censoring.
    assert data["cr_rate"]["responders"] == 4


def test_a_data_manager_counts_every_site(api_client, data_manager, small_trial):
    data = get_endpoints(api_client, data_manager)
    assert data["n_infused"] == 7
    assert data["overall_survival"]["events"] == 3


def test_coordinators_may_not_see_the_endpoints(api_client, client, coordinator, small_trial):
    api_client.force_authenticate(coordinator)
    assert api_client.get("/api/v1/endpoints/").status_code == 403
    assert api_client.get("/api/v1/export/analysis.csv").status_code == 403
    client.force_login(coordinator)
    assert client.get(reverse("outcomes:endpoints")).status_code == 403


def test_endpoints_page_shows_the_rates_and_links_the_figures(client, monitor, small_trial):
    client.force_login(monitor)
    page = client.get(reverse("outcomes:endpoints")).content.decode()
    assert "66.7 %" in page and "4 / 6" in page  # CR rate
    assert "50.0 %" in page  # MRD-negative CR rate
    assert "62.5 %" in page  # OS at 12 months
    assert 'src="/outcomes/endpoints/figures/survival.png"' in page
    censored = client.get(reverse("outcomes:endpoints") + "?censor_at_hsct=1").content.decode()
    assert 'src="/outcomes/endpoints/figures/survival.png?censor_at_hsct=true"' in censored
    assert "55.6 %" in censored  # OS at 12 months, D censored at HSCT


@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib Figures the views render, kept so a test can read what was drawn."""
    from outcomes import figures

    kept, render = [], figures._render

    def keep(figure, *, format):
        kept.append(figure)
        return render(figure, format=format)

    monkeypatch.setattr(figures, "_render", keep)
    return kept


def step_value_at(line, months: float) -> float:
    xs = list(line.get_xdata())
    return line.get_ydata()[max(i for i, x in enumerate(xs) if x <= months)]


def served_figure(client, drawn, name):
    answer = client.get(reverse("outcomes:endpoint_figure", args=[name]))
    assert answer["Content-Type"] == "image/png"
    assert answer.content.startswith(b"\x89PNG")
    assert len(drawn) == 1
    return drawn.pop()


def test_survival_figure_draws_the_endpoints_of_the_api(client, api_client, investigator, small_trial, drawn):
    """A figure drawn from other patients (another site's G) or another fit than the numbers' would put its
    12-month step or its at-risk row off the API's values."""
    data = get_endpoints(api_client, investigator)
    client.force_login(investigator)
    axes, table = served_figure(client, drawn, "survival").axes
    curves = {line.get_label(): line for line in axes.lines if not line.get_label().startswith("_")}
    labels = {"Overall survival (all infused)": "overall_survival",
              "Event-free survival (all infused)": "event_free_survival",
              "Leukemia-free survival (responders)": "leukemia_free_survival"}
    assert list(curves) == list(labels)
    for label, key in labels.items():
        twelve = data[key]["at_months"]["12"]
        assert step_value_at(curves[label], 12) == approx(twelve["estimate"])
    assert step_value_at(curves["Overall survival (all infused)"], 12) == approx(0.625)
    at_risk = {text.get_gid(): text.get_text() for text in table.texts}
    assert at_risk["at-risk-0-0"] == "6"  # the six SZ patients; G is WX's
    assert at_risk["at-risk-0-12"] == str(data["overall_survival"]["at_months"]["12"]["at_risk"]) == "3"
    assert at_risk["at-risk-2-0"] == "4"  # the responders A, B, D, E
    assert at_risk["at-risk-2-12"] == str(data["leukemia_free_survival"]["at_months"]["12"]["at_risk"]) == "1"
    assert client.get(reverse("outcomes:endpoint_figure", args=["nonsense"])).status_code == 404


def test_relapse_figure_draws_the_cumulative_incidence_of_the_api(client, api_client, investigator, small_trial,
                                                                  drawn):
    """Plotting 1 - LFS, or counting G or the non-responders, would move the relapse step at 12 months
    off 1/4 + 3/8."""
    cir = get_endpoints(api_client, investigator)["cumulative_incidence_of_relapse"]
    client.force_login(investigator)
    axes, table = served_figure(client, drawn, "relapse").axes
    relapse = next(line for line in axes.lines if line.get_label() == "Relapse")
    assert step_value_at(relapse, 12) == approx(cir["at_months"]["12"]["estimate"]) == approx(1 / 4 + 3 / 8)
    at_risk = {text.get_gid(): text.get_text() for text in table.texts}
    assert (at_risk["at-risk-0-0"], at_risk["at-risk-0-12"]) == ("4", str(cir["at_months"]["12"]["at_risk"]))


def test_remission_figure_draws_the_duration_of_remission_of_the_api(client, api_client, investigator, small_trial,
                                                                    drawn):
    """Responders A (day 28 to relapse 100), B (28 to 500, censored), D (29 to relapse 300), E (28 to 150)."""
    dor = get_endpoints(api_client, investigator)["duration_of_remission"]
    client.force_login(investigator)
    axes, table = served_figure(client, drawn, "remission").axes
    (curve,) = [line for line in axes.lines if not line.get_label().startswith("_") and line.get_gid()]
    assert curve.get_label() == "Duration of remission (responders)"
    # A relapses 72 days into remission with 4 at risk; D 271 days in, with 2 (B 472, D): 3/4 x 1/2.
    assert step_value_at(curve, 12) == approx(dor["at_months"]["12"]["estimate"]) == approx(3 / 8)
    assert [round(x * MONTH) for x in curve.get_xdata()][:2] == [0, 72]
    at_risk = {text.get_gid(): text.get_text() for text in table.texts}
    assert (at_risk["at-risk-0-0"], at_risk["at-risk-0-12"]) == ("4", "1")
    assert axes.get_xlabel() == "Months since the first CR/CRi"


def test_swimmer_figure_draws_one_lane_per_visible_patient(client, investigator, small_trial, drawn):
    """A lane for WX's patient G, or a bar not ending at death or last contact, fails here."""
    client.force_login(investigator)
    axes = served_figure(client, drawn, "swimmer").axes[0]
    lanes = [label.get_text() for label in axes.get_yticklabels()]
    # By follow-up: C 50, E 150, A 200, F 400, B 500, D 900 days.
    assert lanes == [small_trial[code].study_id for code in "CEAFBD"]
    widths = [round(bar.get_width() * MONTH) for bar in sorted(axes.patches, key=lambda bar: bar.get_y())]
    assert widths == [50, 150, 200, 400, 500, 900]


def test_pdf_export_holds_the_numbers_and_the_figures(client, investigator, small_trial):
    from pypdf import PdfReader

    client.force_login(investigator)
    answer = client.get(reverse("outcomes:endpoints_pdf"))
    assert answer["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "66.7 %" in text and "Overall survival" in text
    assert "Cumulative incidence of relapse" in text and "Each patient's course" in text
    # survival, relapse, remission, swimmer (pypdf may list an image once per reference)
    figures = {image.data for page in reader.pages for image in page.images if len(image.data) > 10_000}
    assert len(figures) == 4


def test_patient_courses_needs_a_fixed_number_of_queries(django_assert_max_num_queries, small_trial):
    from outcomes.selectors import patient_courses

    with django_assert_max_num_queries(8):
        courses = patient_courses(Patient.objects.all())
    assert len(courses) == 7
