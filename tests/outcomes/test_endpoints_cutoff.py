"""The endpoints of a cohort with non-responders, relapses, deaths in remission, an HSCT and pending
patients, entered through the services and read from the API, the page, the PDF and analysis.csv, at the
default cut-off (today, frozen at 2026-06-30) and at an interim one.

Days from each patient's own infusion (infused so many days before today):
  A  -400  CR d28 MRD-neg   relapse d200, death d300
  B  -500  CRi d28 MRD-pos  death in remission d150
  C  -300  no response d28  alive, last contact d250 (a refractory survivor)
  D  -450  CR d28 MRD-neg   allogeneic HSCT d90, relapse d250, last contact d400
  E  -600  CR d14 and d28   alive in remission, last contact d550 (in remission from d14)
  F   -10  not assessed     alive d5: the 1-month window is open, pending
  G   -20  not assessed     died d12: a treatment failure, not pending
  H  -200  not assessed     alive d150: the window closed, a failure (ITT)
Every expected estimate comes from lifelines fitted on the durations written out here.
"""
import csv
import datetime
import io
from unittest import mock

import pytest
import time_machine
from django.urls import reverse
from lifelines import AalenJohansenFitter, KaplanMeierFitter

from outcomes import statistics
from tests.outcomes.test_endpoints import CR, CRI, MRD_NEGATIVE, MRD_POSITIVE, NO_RESPONSE, make_course

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 30)
INTERIM = TODAY - datetime.timedelta(days=200)
MONTH = 365.25 / 12


@pytest.fixture
def frozen_today():
    with time_machine.travel(datetime.datetime(2026, 6, 30, 4, 0, tzinfo=datetime.UTC), tick=False):
        yield


@pytest.fixture
def cohort(frozen_today, protocol, site_sz, coordinator):
    """The patients by letter (the site gives their subject IDs: SZ-001 for A, …)."""
    def infused(days_ago):
        return TODAY - datetime.timedelta(days=days_ago)

    patients = {
        "A": make_course("A", site_sz, coordinator, infusion=infused(400), assessment=(28, {**CR, **MRD_NEGATIVE}),
                         contacts=[(200, {"follow_up_status": "relapsed", "relapse_date": 200}),
                                   (300, {"follow_up_status": "dead", "death_date": 300})]),
        "B": make_course("B", site_sz, coordinator, infusion=infused(500), assessment=(28, {**CRI, **MRD_POSITIVE}),
                         contacts=[(150, {"follow_up_status": "dead", "death_date": 150})]),
        "C": make_course("C", site_sz, coordinator, infusion=infused(300), assessment=(28, NO_RESPONSE),
                         contacts=[(250, {"follow_up_status": "alive_with_disease"})]),
        "D": make_course("D", site_sz, coordinator, infusion=infused(450), assessment=(28, {**CR, **MRD_NEGATIVE}),
                         contacts=[(90, {"follow_up_status": "alive_in_remission", "hsct_date": 90}),
                                   (250, {"follow_up_status": "relapsed", "relapse_date": 250}),
                                   (400, {"follow_up_status": "relapsed", "relapse_date": 250})]),
        "E": make_course("E", site_sz, coordinator, infusion=infused(600), assessment=(14, CR),
                         contacts=[(550, {"follow_up_status": "alive_in_remission"})]),
    }
    from outcomes.services import response_assessment_save

    response_assessment_save(patient=patients["E"], by=coordinator,
                             values={"assessment_date": infused(600 - 28), **CR, **MRD_NEGATIVE})
    patients["F"] = make_course("F", site_sz, coordinator, infusion=infused(10),
                                contacts=[(5, {"follow_up_status": "alive"})])
    patients["G"] = make_course("G", site_sz, coordinator, infusion=infused(20),
                                contacts=[(12, {"follow_up_status": "dead", "death_date": 12})])
    patients["H"] = make_course("H", site_sz, coordinator, infusion=infused(200),
                                contacts=[(150, {"follow_up_status": "alive"})])
    return patients


def km(durations, events, month=12):
    fitter = KaplanMeierFitter().fit(durations, events)
    return float(fitter.survival_function_at_times(month * MONTH).iloc[0])


def cif(durations, codes, month=12):
    fitter = AalenJohansenFitter(calculate_variance=False).fit(durations, codes, event_of_interest=1)
    return float(fitter.cumulative_density_.asof(month * MONTH).iloc[0])


def approx(value):
    return pytest.approx(value, abs=0.0006)  # the API rounds to 3 decimals


def get_endpoints(api_client, user, query=""):
    api_client.force_authenticate(user)
    answer = api_client.get(f"/api/v1/endpoints/{query}")
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_every_endpoint_of_the_mixed_cohort_at_the_default_cut_off(api_client, investigator, cohort):
    data = get_endpoints(api_client, investigator)
    assert data["cutoff"] == "2026-06-30"
    assert (data["n_infused"], data["n_responders"]) == (8, 4)
    # F is pending; C (refractory), G (died before the window closed) and H (never assessed) failed.
    assert {k: data["cr_rate"][k] for k in ("responders", "n", "pending")} == {"responders": 4, "n": 7, "pending": 1}
    assert data["cr_rate"]["estimate"] == approx(4 / 7)
    assert {k: data["mrd_negative_cr_rate"][k] for k in ("responders", "n", "pending")} == {
        "responders": 3, "n": 7, "pending": 1}
    assert data["cr_rate_evaluable"]["pending"] == 1

    #            A    B    C    D    E    F  G   H
    os_times = [300, 150, 250, 400, 550, 5, 12, 150]
    assert data["overall_survival"]["at_months"]["12"]["estimate"] == approx(km(os_times, [1, 1, 0, 0, 0, 0, 1, 0]))
    assert (data["overall_survival"]["population"], data["overall_survival"]["n"],
            data["overall_survival"]["events"]) == ("all_infused", 8, 3)

    efs = data["event_free_survival"]
    efs_times, efs_events = [200, 150, 0, 250, 550, 5, 0, 0], [1, 1, 1, 1, 0, 0, 1, 1]
    assert efs["at_months"]["12"]["estimate"] == approx(km(efs_times, efs_events))
    # Three failures on day 0 (5/8), F censored on day 5, then B, A, D with 4, 3, 2 at risk.
    assert efs["at_months"]["12"]["estimate"] == approx(5 / 8 * 3 / 4 * 2 / 3 * 1 / 2)
    assert (efs["population"], efs["n"], efs["events"]) == ("all_infused", 8, 6)

    lfs = data["leukemia_free_survival"]
    assert lfs["at_months"]["12"]["estimate"] == approx(km([200, 150, 250, 550], [1, 1, 1, 0]))
    assert (lfs["population"], lfs["n"], lfs["events"]) == ("responders", 4, 3)

    cir = data["cumulative_incidence_of_relapse"]
    assert cir["at_months"]["12"]["estimate"] == approx(cif([200, 150, 250, 550], [1, 2, 1, 0]))
    assert cir["at_months"]["12"]["estimate"] == approx(3 / 4 * 1 / 3 + 2 / 4 * 1 / 2)
    assert (cir["population"], cir["n"], cir["events"], cir["competing_events"]) == ("responders", 4, 2, 1)

    dor = data["duration_of_remission"]
    dor_times = [172, 122, 222, 536]  # E from its day-14 CR
    fitter = KaplanMeierFitter().fit(dor_times, [1, 1, 1, 0])
    assert dor["at_months"]["12"]["estimate"] == approx(km(dor_times, [1, 1, 1, 0]))
    assert dor["median_months"] == approx(fitter.median_survival_time_ / MONTH)
    assert (dor["population"], dor["time_origin"], dor["n"], dor["events"]) == (
        "responders", "first_complete_remission", 4, 3)


def test_censoring_at_hsct_stops_d_at_the_transplant_in_every_endpoint(api_client, investigator, cohort):
    data = get_endpoints(api_client, investigator, "?censor_at_hsct=true")
    assert data["censor_at_hsct"] is True and data["cutoff"] == "2026-06-30"
    assert data["event_free_survival"]["at_months"]["12"]["estimate"] == approx(
        km([200, 150, 0, 90, 550, 5, 0, 0], [1, 1, 1, 0, 0, 0, 1, 1]))
    assert data["leukemia_free_survival"]["at_months"]["12"]["estimate"] == approx(
        km([200, 150, 90, 550], [1, 1, 0, 0]))
    assert data["cumulative_incidence_of_relapse"]["at_months"]["12"]["estimate"] == approx(
        cif([200, 150, 90, 550], [1, 2, 0, 0]))
    assert data["duration_of_remission"]["events"] == 2  # D censored 62 days into remission
    assert data["overall_survival"]["events"] == 3  # D did not die


def test_an_interim_cut_off_ignores_what_was_dated_after_it(api_client, investigator, cohort):
    data = get_endpoints(api_client, investigator, f"?cutoff={INTERIM.isoformat()}")
    assert data["cutoff"] == INTERIM.isoformat()
    # Infused by then: A (day 200 at the cut-off), B (300), C (100), D (250), E (400), H (0: pending).
    assert data["n_infused"] == 6
    assert {k: data["cr_rate"][k] for k in ("responders", "n", "pending")} == {"responders": 4, "n": 5, "pending": 1}
    # A's death (d300), C's and E's later contacts are after the cut-off: censored at it.
    #                      A    B    C    D    E    H
    os_times, os_events = [200, 150, 100, 250, 400, 0], [0, 1, 0, 0, 0, 0]
    assert data["overall_survival"]["at_months"]["12"]["estimate"] == approx(km(os_times, os_events))
    assert data["overall_survival"]["at_months"]["12"]["estimate"] == approx(3 / 4)
    assert data["overall_survival"]["at_months"]["12"]["at_risk"] == 1  # E
    assert data["event_free_survival"]["at_months"]["12"]["estimate"] == approx(
        km([200, 150, 0, 250, 400, 0], [1, 1, 1, 1, 0, 0]))
    assert data["event_free_survival"]["events"] == 4  # A relapse on the cut-off day, B, C, D
    combined = get_endpoints(api_client, investigator, f"?cutoff={INTERIM.isoformat()}&censor_at_hsct=true")
    assert combined["leukemia_free_survival"]["at_months"]["12"]["estimate"] == approx(
        km([200, 150, 90, 400], [1, 1, 0, 0]))


def test_analysis_csv_at_a_cut_off_has_a_population_column(api_client, investigator, cohort):
    api_client.force_authenticate(investigator)
    answer = api_client.get(f"/api/v1/export/analysis.csv?cutoff={INTERIM.isoformat()}")
    assert answer.status_code == 200
    assert f'filename="analysis-{INTERIM.isoformat()}.csv"' in answer["Content-Disposition"]
    letter = {patient.study_id: code for code, patient in cohort.items()}
    rows = {(letter[r["subject_id"]], r["endpoint"]): r
            for r in csv.DictReader(io.StringIO(answer.content.decode()))}
    assert rows[("C", "event_free_survival")] == {
        "subject_id": cohort["C"].study_id, "endpoint": "event_free_survival", "time_days": "0", "event": "1",
        "competing_event": "0", "population": "all_infused"}
    assert rows[("A", "overall_survival")]["time_days"] == "200"  # censored at the cut-off
    assert rows[("E", "duration_of_remission")]["time_days"] == "386"  # day 400 - day 14
    assert ("C", "leukemia_free_survival") not in rows  # not a responder
    assert ("F", "overall_survival") not in rows  # infused after the cut-off
    assert {r["population"] for (_s, endpoint), r in rows.items() if endpoint == "cumulative_incidence_of_relapse"} == {
        "responders"}


@pytest.mark.parametrize("cutoff", ["2026-13-01", "30/06/2026", "2026-07-01", "yesterday", "9999-12-31"])
def test_a_bad_cut_off_is_a_400_naming_the_field(api_client, client, investigator, frozen_today, cutoff):
    api_client.force_authenticate(investigator)
    for url in ("/api/v1/endpoints/", "/api/v1/export/analysis.csv"):
        answer = api_client.get(url, {"cutoff": cutoff})
        assert answer.status_code == 400
        assert list(answer.json()) == ["cutoff"]
    client.force_login(investigator)
    page = client.get(reverse("outcomes:endpoints"), {"cutoff": cutoff})
    assert page.status_code == 400
    message = page.context["form"].errors["cutoff"][0]
    assert message in page.content.decode().replace("&#x27;", "'")
    for url in (reverse("outcomes:endpoint_figure", args=["survival"]), reverse("outcomes:endpoints_pdf")):
        assert client.get(url, {"cutoff": cutoff}).status_code == 400


def test_a_future_cut_off_says_why(api_client, investigator, frozen_today):
    api_client.force_authenticate(investigator)
    answer = api_client.get("/api/v1/endpoints/", {"cutoff": "2026-07-01"})
    assert answer.json() == {"cutoff": ["The data cut-off (2026-07-01) cannot be after today (2026-06-30)."]}


def test_the_page_states_the_cut_off_the_definitions_and_the_pending(client, investigator, cohort):
    client.force_login(investigator)
    page = client.get(reverse("outcomes:endpoints")).content.decode()
    assert "Data cut-off 2026-06-30" in page
    assert "1 pending" in page and "4 / 7" in page
    assert "All infused; from infusion to the first of: no CR/CRi at the 1-month assessment" in page
    assert "Responders (CR/CRi at 1 month)" in page
    interim = client.get(reverse("outcomes:endpoints"), {"cutoff": INTERIM.isoformat(), "censor_at_hsct": "on"})
    text = interim.content.decode()
    assert f"Data cut-off {INTERIM.isoformat()}" in text
    query = f"?censor_at_hsct=true&amp;cutoff={INTERIM.isoformat()}"
    assert f'src="/outcomes/endpoints/figures/remission.png{query}"' in text
    assert f'href="/api/v1/endpoints/{query}"' in text
    assert interim.context["endpoints"]["n_infused"] == 6


def test_the_pdf_states_the_cut_off(client, investigator, cohort):
    from pypdf import PdfReader

    client.force_login(investigator)
    answer = client.get(reverse("outcomes:endpoints_pdf"), {"cutoff": INTERIM.isoformat()})
    assert f'endpoints-{INTERIM.isoformat()}.pdf' in answer["Content-Disposition"]
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
    assert f"Data cut-off {INTERIM.isoformat()}" in text
    assert "Event-free survival" in text and "Duration of remission" in text
    assert "6 infused patients, 4 responders, 1 pending" in text


def test_the_endpoints_cache_keys_on_the_cut_off_and_the_censoring(api_client, investigator, cohort):
    with mock.patch.object(statistics, "kaplan_meier_fitter", wraps=statistics.kaplan_meier_fitter) as spy:
        today = get_endpoints(api_client, investigator)
        computed = spy.call_count
        assert get_endpoints(api_client, investigator) == today and spy.call_count == computed
        interim = get_endpoints(api_client, investigator, f"?cutoff={INTERIM.isoformat()}")
        assert interim["n_infused"] == 6 and spy.call_count > computed
        computed = spy.call_count
        censored = get_endpoints(api_client, investigator, f"?cutoff={INTERIM.isoformat()}&censor_at_hsct=1")
        assert censored["censor_at_hsct"] is True and spy.call_count > computed
        computed = spy.call_count
        assert get_endpoints(api_client, investigator, f"?cutoff={INTERIM.isoformat()}") == interim
        assert spy.call_count == computed


def _nullable_to_json_schema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema's type list, so jsonschema can check an answer."""
    if isinstance(node, dict):
        node = {key: _nullable_to_json_schema(value) for key, value in node.items()}
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        return node
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    return node


def test_the_openapi_schema_describes_the_answer(api_client, investigator, cohort):
    import jsonschema
    from drf_spectacular.generators import SchemaGenerator

    openapi = _nullable_to_json_schema(SchemaGenerator().get_schema(request=None, public=True))
    operation = openapi["paths"]["/api/v1/endpoints/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"cutoff", "censor_at_hsct"}
    reference = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    component = openapi["components"]["schemas"][reference.rsplit("/", 1)[1]]
    schema = {**component, "components": openapi["components"]}
    answer = get_endpoints(api_client, investigator)
    jsonschema.validate(answer, schema)
    assert set(answer) == set(component["properties"])  # every key described, none invented
    assert set(component["required"]) == set(answer)
