"""Kinetics, B-cell aplasia and ICAHT read from recorded laboratory results: the API, the patient page and
its plot, the cohort plot by response. Day 0 = 2026-02-06 (the infusion); qPCR LLOQ 50 copies/µg, flow LLOQ
1/µL, B-cell recovery 3/µL (protocol defaults)."""
import datetime
from decimal import Decimal as D

import pytest

from laboratory.figures import b_cell_recovery_drawing, cohort_kinetics_drawing, median_by_day
from laboratory.rules import Sample
from laboratory.selectors import NON_RESPONDERS, RESPONDERS, cohort_b_cell_aplasia, cohort_series_by_response
from laboratory.services import ResultEntry, laboratory_record
from outcomes.services import follow_up_save, response_assessment_save
from patients.models import Patient
from tests.factories import PatientFactory, infuse
from tests.i18n.english import chinese_page

pytestmark = pytest.mark.django_db
DAY_0 = datetime.date(2026, 2, 6)


def on(day):
    return DAY_0 + datetime.timedelta(days=day)


# day → (qPCR copies/µg, CAR⁺ T /µL, CD19⁺ B /µL, ANC ×10⁹/L)
DRAWS = {1: ("100", "0", "0", "0.3"), 4: ("2000", "5", "0", "0.05"), 7: ("30000", "80", "0", "0.05"),
         14: ("4000", "20", "0", "0.4"), 21: ("800", "4", "0", "1.2"), 28: ("200", "2", "0", "1.6"),
         91: ("60", "0.5", "4", "1.8"), 183: ("40", "0", "5", "2.1")}


@pytest.fixture
def kinetic_patient(patient_sz, coordinator):
    patient = infuse(patient_sz, by=coordinator, day_0=DAY_0)
    for day, (qpcr, flow, b_cells, anc) in DRAWS.items():
        laboratory_record(patient=patient, by=coordinator, collection_date=on(day), results=[
            ResultEntry("car_qpcr", D(qpcr), "copies/µg"), ResultEntry("car_t_flow", D(flow), "/µL"),
            ResultEntry("cd19_b", D(b_cells), "/µL"), ResultEntry("anc", D(anc), "×10⁹/L")])
    return patient


def test_kinetics_api(api_client, kinetic_patient, coordinator):
    """qPCR: AUC (0,0)–1: 50; 1–4: 3150; 4–7: 48000; 7–14 (30000+4000)/2·7 = 119000; 14–21: 16800; 21–28: 3500
    → 190,500. Day 183 (40 < 50) is below LLOQ: Tlast 91, not persistent. B cells 4 and 5/µL on days 91 and
    183: recovered on day 91. ANC ≤ 500 from day 1 to day 20 (20 days: grade 3), ≤ 100 on days 4–13 (10 days:
    grade 3) → early ICAHT 3; after day 30 two counts 1800 and 2100: late ICAHT 0."""
    api_client.force_authenticate(coordinator)
    body = api_client.get(f"/api/v1/patients/{kinetic_patient.study_id}/kinetics/").json()
    assert {key: body[key] for key in ("cmax", "tmax_days", "auc_0_28", "tlast_days", "persistent",
                                        "b_cell_aplasia_days", "b_cell_recovered", "icaht_early_grade",
                                        "icaht_late_grade")} == {
        "cmax": "30000.000", "tmax_days": 7, "auc_0_28": "190500.000", "tlast_days": 91, "persistent": False,
        "b_cell_aplasia_days": 91, "b_cell_recovered": True, "icaht_early_grade": 3, "icaht_late_grade": 0}
    assert (body["flow"]["cmax"], body["flow"]["tlast_days"], body["flow"]["lloq"]) == ("80.000", 28, "1.00")
    assert body["sampling_days"][:7] == [1, 4, 7, 10, 14, 21, 28] and body["sampling_days"][-1] == 1096


def test_a_patient_without_results_has_empty_kinetics(api_client, patient_sz, coordinator):
    api_client.force_authenticate(coordinator)
    body = api_client.get(f"/api/v1/patients/{patient_sz.study_id}/kinetics/").json()
    assert (body["cmax"], body["auc_0_28"], body["b_cell_aplasia_days"], body["icaht_early_grade"]) == (
        None, None, None, None)


def test_icaht_grade_4_without_recovery_after_a_day_0_count_above_500_in_api_page_and_adsl(
        api_client, client, patient_sz, coordinator):
    """ANC 2.0 ×10⁹/L on day 0 (before the nadir), then 0.3, 0.05, 0.2, 0.4 and 0.45 on days 2, 9, 16, 23 and 30:
    ≤ 500/µL from day 2 through day 30, never recovered → early ICAHT 4 ("never above 500/µL"; Rejeski 2023). The
    old reading (no count of days 0–30 above 500) gave 3. A lone count of 0.4 on day 28 is 3 days ≤ 500 → 1."""
    from submission.services import package_tables

    patient = infuse(patient_sz, by=coordinator, day_0=DAY_0)
    for day, anc in ((0, "2.0"), (2, "0.3"), (9, "0.05"), (16, "0.2"), (23, "0.4"), (30, "0.45")):
        laboratory_record(patient=patient, by=coordinator, collection_date=DAY_0 + datetime.timedelta(days=day),
                          results=[ResultEntry("anc", D(anc), "×10⁹/L")])
    api_client.force_authenticate(coordinator)
    assert api_client.get(f"/api/v1/patients/{patient.study_id}/kinetics/").json()["icaht_early_grade"] == 4
    client.force_login(coordinator)
    page = client.get(f"/patients/{patient.study_id}/kinetics/").content.decode()
    assert "ICAHT early (days 0–30)</dt><dd class=\"col-sm-7\">grade 4</dd>" in page
    [adsl] = [row for row in package_tables(standard="adam", patients=Patient.objects.filter(pk=patient.pk),
                                            cutoff=datetime.date(2026, 11, 30))["ADSL"]]
    assert (adsl["ICAHTEGN"], adsl["ICAHTEGR"]) == (4, "4")


def _anc_patient(patient_sz, coordinator, counts):
    patient = infuse(patient_sz, by=coordinator, day_0=DAY_0)
    for day, anc in counts:
        laboratory_record(patient=patient, by=coordinator, collection_date=on(day),
                          results=[ResultEntry("anc", D(anc), "×10⁹/L")])
    return patient


def _grades_on_page_api_and_adsl(client, api_client, coordinator, patient):
    """(early, late, stop day) as the API, the patient page and ADSL give them: each must be the same."""
    from submission.services import package_tables

    api_client.force_authenticate(coordinator)
    body = api_client.get(f"/api/v1/patients/{patient.study_id}/kinetics/").json()
    api = (body["icaht_early_grade"], body["icaht_late_grade"])
    client.force_login(coordinator)
    page = client.get(f"/patients/{patient.study_id}/kinetics/").content.decode()

    def shown(grade):
        return "no ANC" if grade is None else f"grade {grade}"
    assert f'ICAHT early (days 0–30)</dt><dd class="col-sm-7">{shown(api[0])}</dd>' in page
    assert f'ICAHT late (after day 30)</dt><dd class="col-sm-7">{shown(api[1])}</dd>' in page
    [adsl] = package_tables(standard="adam", patients=Patient.objects.filter(pk=patient.pk),
                            cutoff=datetime.date(2026, 11, 30))["ADSL"]
    assert (adsl["ICAHTEGN"], adsl["ICAHTLGN"]) == api
    stop_day = body["icaht_stop_day"]
    assert (f'data-testid="icaht-stop-day">day {stop_day}: the first relapse' in page) == (stop_day is not None)
    return (*api, stop_day)


# ANC ≤ 500/µL on days 1–9 (0.3), recovered on days 10–21 (2.0), ≤ 500 again from day 22 (0.2, 0.4), and after
# day 30 0.3 and 0.4 (days 35 and 60).
RELAPSING = ((1, "0.3"), (10, "2.0"), (22, "0.2"), (27, "0.4"), (35, "0.3"), (60, "0.4"))


def test_icaht_without_an_event_grades_every_count(client, api_client, patient_sz, coordinator):
    """No relapse, HSCT or death: 9 (days 1–9) + 9 (days 22–30) = 18 days ≤ 500 → early 3; 300 and 400/µL after
    day 30 → late 3 (as before the stop day existed)."""
    patient = _anc_patient(patient_sz, coordinator, RELAPSING)
    assert _grades_on_page_api_and_adsl(client, api_client, coordinator, patient) == (3, 3, None)


def test_icaht_stops_at_a_relapse_on_day_20(client, api_client, patient_sz, coordinator):
    """Relapse on day 20 (follow-up form): the counts of days 22–60 are the leukemia's, not graded; the 2.0 of
    day 10 holds to day 20. Days 1–9 = 9 days ≤ 500 → early 2; no count graded after day 30 → late none."""
    patient = _anc_patient(patient_sz, coordinator, RELAPSING)
    follow_up_save(patient=patient, by=coordinator, values={
        "contact_date": on(21), "follow_up_status": "relapsed", "relapse_date": on(20)})
    assert _grades_on_page_api_and_adsl(client, api_client, coordinator, patient) == (2, None, 20)
    chinese = chinese_page(client, f"/patients/{patient.study_id}/kinetics/")
    assert "ICAHT 分级截至</dt>" in chinese
    assert "第 20 天：首次复发、异基因造血干细胞移植 (HSCT) 或死亡；其后的计数不分级" in chinese


def test_icaht_stops_at_a_death_on_day_15(client, api_client, patient_sz, coordinator):
    """ANC 3.0 on day 0, 0.4 on day 5, 0.3 on day 12; death on day 15. Held to day 30 the 0.3 made days 5–30 =
    26 days (grade 3); to the death, days 5–15 = 11 days → early 2."""
    patient = _anc_patient(patient_sz, coordinator, ((0, "3.0"), (5, "0.4"), (12, "0.3")))
    follow_up_save(patient=patient, by=coordinator, values={
        "contact_date": on(16), "follow_up_status": "dead", "death_date": on(15), "death_cause": "Sepsis"})
    assert _grades_on_page_api_and_adsl(client, api_client, coordinator, patient) == (2, None, 15)


def test_a_lone_anc_on_day_28_is_not_never_above_500(api_client, patient_sz, coordinator):
    patient = infuse(patient_sz, by=coordinator, day_0=DAY_0)
    laboratory_record(patient=patient, by=coordinator, collection_date=DAY_0 + datetime.timedelta(days=28),
                      results=[ResultEntry("anc", D("0.4"), "×10⁹/L")])
    api_client.force_authenticate(coordinator)
    assert api_client.get(f"/api/v1/patients/{patient.study_id}/kinetics/").json()["icaht_early_grade"] == 1


def test_patient_page_and_plot(client, kinetic_patient, coordinator):
    client.force_login(coordinator)
    page = client.get(f"/patients/{kinetic_patient.study_id}/kinetics/").content.decode()
    assert "91 days, recovered" in page and "grade 3" in page
    image = client.get(f"/patients/{kinetic_patient.study_id}/kinetics.png")
    assert image["Content-Type"] == "image/png" and image.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_cohort_groups_by_response_and_median(kinetic_patient, coordinator, protocol, site_sz):
    """The kinetic patient reached CR at day 28: a responder. A second patient assessed as no response and one
    never assessed (left out)."""
    response_assessment_save(patient=kinetic_patient, by=coordinator, values={
        "assessment_date": on(28), "bone_marrow_blasts_percent": 1, "circulating_blasts": False,
        "extramedullary_disease": False, "anc_per_ul": 1600, "platelets_per_ul": 150_000})
    refractory = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=DAY_0)
    response_assessment_save(patient=refractory, by=coordinator, values={
        "assessment_date": on(28), "bone_marrow_blasts_percent": 40, "circulating_blasts": True,
        "extramedullary_disease": False, "anc_per_ul": 900, "platelets_per_ul": 40_000})
    laboratory_record(patient=refractory, by=coordinator, collection_date=on(7),
                      results=[ResultEntry("car_qpcr", D("500"), "copies/µg")])
    infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=DAY_0)
    groups = cohort_series_by_response(Patient.objects.visible_to(coordinator))
    assert [len(groups[RESPONDERS]), len(groups[NON_RESPONDERS])] == [1, 1]
    assert groups[NON_RESPONDERS] == [[Sample(7, D("500.000"))]]
    assert median_by_day(groups[RESPONDERS] + groups[NON_RESPONDERS], [7, 10]) == [(7, 15250.0)]
    figure = cohort_kinetics_drawing(groups, days=[7], lloq=D(50), unit="copies/µg")
    assert [axes.get_title() for axes in figure.axes] == ["CR/CRi (n = 1)", "No response (n = 1)"]
    assert list(figure.axes[1].lines[0].get_ydata()) == [500.0]  # the median line of one patient
    patient_lines = figure.axes[1].collections[0].get_segments()  # every patient's curve, one collection
    assert [list(map(tuple, line)) for line in patient_lines] == [[(7.0, 500.0)]]


def test_b_cell_recovery_curve(kinetic_patient, coordinator, protocol, site_sz):
    """Two patients: one recovers on day 91 (the kinetic patient), one censored at day 183 (counts 0, 4, 1:
    never two in a row at 3/µL). Kaplan–Meier: recovery 1/2 at day 91 (2.99 months), then flat."""
    other = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=DAY_0)
    for day, count in ((28, "0"), (91, "4"), (183, "1")):
        laboratory_record(patient=other, by=coordinator, collection_date=on(day),
                          results=[ResultEntry("cd19_b", D(count), "/µL")])
    durations = cohort_b_cell_aplasia(Patient.objects.visible_to(coordinator))
    assert sorted((d.days, d.recovered) for d in durations) == [(91, True), (183, False)]
    figure = b_cell_recovery_drawing(durations)
    steps = figure.axes[0].lines[0]
    assert [round(x, 2) for x in steps.get_xdata()] == [0.0, 2.99, 6.01]
    assert list(steps.get_ydata()) == [0.0, 0.5, 0.5]
    assert figure.axes[0].get_title() == "B-cell recovery (n = 2, recovered 1)"


def test_cohort_page_and_plot_are_cached_until_the_data_change(client, kinetic_patient, coordinator, monkeypatch):
    """The cohort's series are read once per data version, for the plot (the page's counts need only the
    response assessments); a new result moves the version. The beat task fills the cache for every scope."""
    from django.core.cache import cache

    from laboratory import cohort
    from laboratory.tasks import cohort_cache_refresh
    from trial.models import Site

    cache.clear()
    response_assessment_save(patient=kinetic_patient, by=coordinator, values={
        "assessment_date": on(28), "bone_marrow_blasts_percent": 1, "circulating_blasts": False,
        "extramedullary_disease": False, "anc_per_ul": 1600, "platelets_per_ul": 150_000})
    reads = []
    original = cohort.cohort_series_by_response
    monkeypatch.setattr(cohort, "cohort_series_by_response", lambda patients: reads.append(1) or original(patients))
    client.force_login(coordinator)
    for _ in range(2):
        page = client.get("/laboratory/kinetics/").content.decode()
        assert "<li>CR/CRi: 1 patients</li>" in page and "<li>No response: 0 patients</li>" in page
        image = client.get("/laboratory/kinetics.png")
        assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(reads) == 1

    refractory = infuse(PatientFactory(site=kinetic_patient.site, protocol=kinetic_patient.protocol),
                        by=coordinator, day_0=DAY_0)
    response_assessment_save(patient=refractory, by=coordinator, values={
        "assessment_date": on(28), "bone_marrow_blasts_percent": 40, "circulating_blasts": True,
        "extramedullary_disease": False, "anc_per_ul": 900, "platelets_per_ul": 40_000})
    assert "<li>No response: 1 patients</li>" in client.get("/laboratory/kinetics/").content.decode()
    assert len(reads) == 1  # the counts come from the response assessments alone
    client.get("/laboratory/kinetics.png")
    assert len(reads) == 2

    cache.clear()
    assert cohort_cache_refresh() == 1 + Site.objects.count()  # trial-wide and each site's
    assert cohort_cache_refresh() == 0  # nothing changed: nothing computed
    client.get("/laboratory/kinetics/")
    client.get("/laboratory/kinetics.png")
    assert len(reads) == 2 + 1 + Site.objects.count()  # the page and the plot were answered from what the task computed
