"""Query budgets: every page a user opens, and the API lists, run a number of SQL queries that does
not depend on how many rows they show (no N+1).

Each case builds its data with 1 row, counts the queries of one request, adds 49 rows (50 in all;
fewer for the two PDFs, whose layout time grows with every form), counts again, and asserts the two
counts are equal (within a small constant where a page shows one extra kind of thing once any row
exists) and under an explicit budget. The cache is cleared before each counted request, so the
cached pages (the endpoints) are measured computing everything.
"""
import dataclasses
import datetime
import itertools
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crf.services import crf_save
from laboratory.models import Laboratory
from laboratory.services import ResultEntry, laboratory_record
from monitoring.models import ExportRecord, ProtocolDeviation
from monitoring.services import (
    data_lock_create,
    query_answer,
    query_close,
    query_raise,
    query_reopen,
)
from outcomes.services import follow_up_save, response_assessment_save
from patients.models import Patient, PatientStatus, Visit
from safety.models import AdverseEvent, CrsAssessment, IcansAssessment
from safety.services import (
    adverse_event_save,
    crs_assessment_save,
    icans_assessment_save,
)
from tests.crfapp.models import SampleForm
from tests.factories import PatientFactory
from trial.models import VisitDefinition
from visits.services import visits_schedule

pytestmark = pytest.mark.django_db

DAY0 = datetime.date(2025, 3, 1)
TODAY = DAY0 + datetime.timedelta(days=400)
_numbers = itertools.count(1000)


def on(days: int) -> datetime.date:
    return DAY0 + datetime.timedelta(days=days)


class World:
    """The trial the cases grow: sites, users and one fully documented infused patient."""

    def __init__(self, *, protocol, site_sz, coordinator, investigator, monitor, data_manager):
        self.protocol, self.site = protocol, site_sz
        self.users = {"coordinator": coordinator, "investigator": investigator, "monitor": monitor,
                      "data_manager": data_manager}
        self.coordinator = coordinator
        self.patient = self.new_patient()
        visits_schedule(patient=self.patient, by=coordinator, today=TODAY)
        self.visit = Visit.objects.get(patient=self.patient, definition__code="D28")
        self.sample = crf_save(crf=SampleForm(patient=self.patient, protocol=protocol, assessment_date=on(30),
                                              weight_kg=Decimal("62.5"), performance_status="1"), by=coordinator)
        self.ae = self.add_ae(self.patient)
        self.crs = self.add_crs(self.patient, 0)
        self.icans = self.add_icans(self.patient, 0)
        self.assessment = response_assessment_save(patient=self.patient, by=coordinator, values={
            "assessment_date": on(28), **CR})
        self.follow_up = follow_up_save(patient=self.patient, by=coordinator, values={
            "contact_date": on(60), "follow_up_status": "alive_in_remission"})
        self.query = query_raise(crf=self.sample, field="weight_kg", text="Chart says 64?", by=monitor)

    def new_patient(self) -> Patient:
        number = next(_numbers)
        return PatientFactory(site=self.site, protocol=self.protocol, screening_number=f"SCR-{number}",
                              subject_id=f"SZ-{number}", infusion_date=DAY0, status=PatientStatus.FOLLOW_UP,
                              consent_date=DAY0 - datetime.timedelta(days=20))

    def add_ae(self, patient, visit=None) -> AdverseEvent:
        return adverse_event_save(event=AdverseEvent(
            patient=patient, visit=visit, term="Neutrophil count decreased", grade=3, onset_date=on(3),
            relatedness_cart="possible", relatedness_lymphodepletion="probable", outcome="not_recovered",
        ), by=self.coordinator)

    def add_crs(self, patient, i: int) -> CrsAssessment:
        return crs_assessment_save(assessment=CrsAssessment(
            patient=patient, assessment_date=on(1 + i % 30), max_temperature_c=Decimal("38.6")), by=self.coordinator)

    def add_icans(self, patient, i: int) -> IcansAssessment:
        return icans_assessment_save(assessment=IcansAssessment(
            patient=patient, assessment_date=on(2 + i % 30), ice_score=8), by=self.coordinator)

    def add_patients(self, n: int) -> None:
        """n more infused patients, each with visits, an AE, CRS, ICANS, an assessment and a follow-up."""
        for _ in range(n):
            patient = self.new_patient()
            visits_schedule(patient=patient, by=self.coordinator, today=TODAY)
            self.add_ae(patient)
            self.add_crs(patient, 0)
            self.add_icans(patient, 0)
            response_assessment_save(patient=patient, by=self.coordinator, values={"assessment_date": on(28), **CR})
            follow_up_save(patient=patient, by=self.coordinator, values={
                "contact_date": on(90), "follow_up_status": "alive_in_remission"})

    def add_patient_rows(self, n: int) -> None:
        """n more of every kind of row for the one patient (AEs, CRS, ICANS, assessments, follow-ups)."""
        start = AdverseEvent.objects.filter(patient=self.patient).count()
        for i in range(start, start + n):
            self.add_ae(self.patient)
            self.add_crs(self.patient, i)
            self.add_icans(self.patient, i)
            response_assessment_save(patient=self.patient, by=self.coordinator, values={
                "assessment_date": on(100 + i), **CR})
            follow_up_save(patient=self.patient, by=self.coordinator, values={
                "contact_date": on(100 + i), "follow_up_status": "alive_in_remission"})

    def add_draws(self, n: int) -> None:
        """n more blood draws for the one patient: ANC, CAR⁺ T cells and CD19⁺ B cells, one day apart (the
        kinetics page, its figure and the API grade ICAHT and follow the cells over them)."""
        start = Laboratory.objects.filter(patient=self.patient).count()
        for i in range(start, start + n):
            laboratory_record(patient=self.patient, by=self.coordinator, collection_date=on(1 + i), results=[
                ResultEntry("anc", Decimal(300 + 40 * i), "/µL"), ResultEntry("car_t_flow", Decimal(20 + i), "/µL"),
                ResultEntry("cd19_b", Decimal(i % 3), "/µL")])

    def add_visits(self, n: int) -> None:
        """n more visit definitions, so the one patient has n more visits (a long schedule)."""
        start = VisitDefinition.objects.filter(code__startswith="X").count()
        VisitDefinition.objects.bulk_create([
            VisitDefinition(protocol=self.protocol, code=f"X{i}", name=f"Extra {i}", target_day=1200 + i,
                            window_before_days=3, window_after_days=3, forms=["adverse_events", "follow_up"])
            for i in range(start, start + n)
        ])
        visits_schedule(patient=self.patient, by=self.coordinator, today=TODAY)

    def add_queries(self, n: int, crf=None) -> None:
        crf = crf or self.sample
        for i in range(n):
            query_raise(crf=crf, field=QUERY_FIELD[type(crf)], text=f"Please check ({i})",
                        by=self.users["monitor"])

    def add_queries_on_forms(self, n: int) -> None:
        """n more open queries on each of the sample form, the AE, the CRS and the ICANS assessment."""
        for crf in (self.sample, self.ae, self.crs, self.icans):
            self.add_queries(n, crf=crf)

    def add_query_messages(self, n: int) -> None:
        for i in range(n):
            if self.query.status == "open":
                query_answer(query=self.query, by=self.coordinator, text=f"Checked ({i})")
            elif self.query.status == "answered":
                query_close(query=self.query, by=self.users["monitor"], text=f"Thanks ({i})")
            else:
                query_reopen(query=self.query, by=self.users["monitor"], text=f"Still unclear ({i})")
            self.query.refresh_from_db()

    def add_edits(self, n: int) -> None:
        for _ in range(n):
            self.sample.weight_kg += Decimal("0.1")
            crf_save(crf=self.sample, by=self.coordinator, reason="Corrected from the nursing chart")

    def add_visit_crfs(self, n: int) -> None:
        """n more forms linked to the D28 visit, of two kinds (adverse events and the sample form)."""
        for i in range(n):
            if i % 2:
                self.add_ae(self.patient, visit=self.visit)
            else:
                crf_save(crf=SampleForm(patient=self.patient, protocol=self.protocol, visit=self.visit,
                                        assessment_date=on(28), weight_kg=Decimal("63"), performance_status="0"),
                         by=self.coordinator)

    def add_deviations(self, n: int) -> None:
        from django.contrib.contenttypes.models import ContentType

        for _ in range(n):
            patient = self.new_patient()
            ProtocolDeviation.objects.create(
                patient=patient, content_type=ContentType.objects.get_for_model(SampleForm),
                object_id=self.sample.pk, crf_label="Sample form", rule="visit_window", message="Outside window",
                reason="Patient travelled", created_by=self.coordinator)

    def add_patient_queries(self, n: int) -> None:
        for _ in range(n):
            patient = self.new_patient()
            form = crf_save(crf=SampleForm(patient=patient, protocol=self.protocol, assessment_date=on(30),
                                           weight_kg=Decimal("70"), performance_status="0"), by=self.coordinator)
            query_raise(crf=form, field="weight_kg", text="Please check", by=self.users["monitor"])

    def add_due_visits(self, n: int) -> None:
        """n more patients, each with visits; the dashboard shows those due around TODAY."""
        for _ in range(n):
            patient = self.new_patient()
            patient.infusion_date = TODAY - datetime.timedelta(days=28)
            patient.save()
            visits_schedule(patient=patient, by=self.coordinator, today=TODAY)

    def add_locks(self, n: int) -> None:
        for _ in range(n):
            data_lock_create(scope="patient", patient=self.new_patient(), by=self.users["data_manager"],
                             reason="Cleaned")

    def add_export_records(self, n: int) -> None:
        ExportRecord.objects.bulk_create([
            ExportRecord(user=self.users["data_manager"], kind="odm", description="CDISC ODM") for _ in range(n)])


CR = {"bone_marrow_blasts_percent": 1, "circulating_blasts": False, "extramedullary_disease": False,
      "anc_per_ul": 1500, "platelets_per_ul": 150_000, "mrd_flow_percent": 0,
      "mrd_assay_sensitivity_percent": 0.001}
QUERY_FIELD = {SampleForm: "weight_kg", AdverseEvent: "grade", CrsAssessment: "max_temperature_c",
               IcansAssessment: "ice_orientation"}


@dataclasses.dataclass
class Case:
    name: str
    user: str
    url: Callable[[World], str]
    add: Callable[[World, int], None]
    budget: int
    slack: int = 0  # queries a page may add once, when the first of a kind of row appears
    api: bool = False
    rows: int = 50  # rows in the second count


CASES = [
    # --- lists over patients -------------------------------------------------------------------
    # 15: the progress strip (forms, visits) and the menu's open-queries badge add three, whatever the page.
    Case("patient list", "coordinator", lambda w: "/patients/?per_page=100", World.add_patients, 15),
    Case("patient list, sorted and filtered", "data_manager",
         lambda w: "/patients/?per_page=100&sort=-consent&status=follow_up", World.add_patients, 15),
    Case("home", "investigator", lambda w: "/", World.add_patients, 25),
    Case("visits dashboard", "coordinator", lambda w: "/visits/", World.add_due_visits, 12),
    Case("deviations", "monitor", lambda w: "/deviations/", World.add_deviations, 12),
    Case("safety summary", "investigator", lambda w: "/safety/", World.add_patients, 20),
    Case("safety swimmer plot", "investigator", lambda w: "/safety/swimmer.png", World.add_patients, 20),
    # 18: the courses read the one death from three kinds of form (follow-up, grade-5 AE, end of study);
    # 2 more for the B-cell recovery section the laboratory app adds (its data version and the B-cell counts).
    Case("endpoints page", "investigator", lambda w: "/outcomes/endpoints/", World.add_patients, 20),
    Case("endpoints figure", "investigator", lambda w: "/outcomes/endpoints/figures/survival.png",
         World.add_patients, 18),
    Case("queries list", "monitor", lambda w: "/monitoring/queries/", World.add_patient_queries, 12),
    Case("locks", "data_manager", lambda w: "/monitoring/locks/", World.add_locks, 12),
    Case("exports", "data_manager", lambda w: "/monitoring/exports/", World.add_export_records, 12),
    Case("form CSV export", "data_manager", lambda w: "/monitoring/exports/forms/adverse_events.csv",
         World.add_patients, 12),
    Case("ODM export", "data_manager", lambda w: "/monitoring/exports/odm.xml", World.add_patients, 40),
    # --- one patient with many rows --------------------------------------------------------------
    Case("timeline", "coordinator", lambda w: f"/patients/{w.patient.study_id}/", World.add_patient_rows, 30),
    Case("timeline, long schedule", "coordinator", lambda w: f"/patients/{w.patient.study_id}/",
         World.add_visits, 30),
    Case("patient visits", "coordinator", lambda w: f"/patients/{w.patient.study_id}/visits/", World.add_visits,
         12),
    Case("visit page", "coordinator", lambda w: f"/visits/{w.visit.pk}/", World.add_visit_crfs, 20),
    # 16 (API 13): the draws, the protocol's limits and the course that stops the ICAHT grading (relapse, HSCT,
    # death: the endpoints' course reads, through the outcomes hook), whatever the number of draws.
    Case("patient kinetics", "investigator", lambda w: f"/patients/{w.patient.study_id}/kinetics/",
         World.add_draws, 18),
    # 8: the figure reads the draws alone (its curves need no grades, so no course).
    Case("patient kinetics figure", "investigator", lambda w: f"/patients/{w.patient.study_id}/kinetics.png",
         World.add_draws, 10),
    Case("API kinetics", "investigator", lambda w: f"/api/v1/patients/{w.patient.study_id}/kinetics/",
         World.add_draws, 14, api=True),
    Case("patient safety", "investigator", lambda w: f"/safety/{w.patient.study_id}/", World.add_patient_rows, 20),
    Case("monitoring patient (casebook page)", "monitor", lambda w: f"/monitoring/patients/{w.patient.study_id}/",
         World.add_patient_rows, 35),
    Case("monitoring visit review", "monitor", lambda w: f"/monitoring/visits/{w.visit.pk}/",
         World.add_visit_crfs, 30),
    # slack: the second CRF model on the visit (AEs after the first sample form) adds its own 8 reads (queries,
    # SDV marks, signatures, history, deviations; its child rows, the SAE reports, and their history).
    # 12 forms, not 50: WeasyPrint lays out ~one page per form, and 12 already show any per-form query.
    Case("visit report PDF", "monitor", lambda w: f"/monitoring/visits/{w.visit.pk}/report.pdf",
         World.add_visit_crfs, 35, slack=8, rows=12),
    # 2 of each kind (10 more forms): a casebook lays out every form of the patient. 75: its first page draws the
    # patient's timeline (every app's events), and each CRF model adds its deviations and child rows.
    Case("casebook PDF", "monitor", lambda w: f"/monitoring/patients/{w.patient.study_id}/casebook.pdf",
         World.add_patient_rows, 75, rows=2),
    Case("CRF detail with queries", "monitor",
         lambda w: f"/monitoring/crf/crfapp.sampleform/{w.sample.pk}/", World.add_queries_on_forms, 30),
    Case("CRF detail with edits", "monitor", lambda w: f"/monitoring/crf/crfapp.sampleform/{w.sample.pk}/",
         World.add_edits, 30),
    Case("history", "monitor", lambda w: f"/monitoring/history/crfapp.sampleform/{w.sample.pk}/",
         World.add_edits, 13),  # 13: the menu's open-queries badge
    Case("query detail", "monitor", lambda w: f"/monitoring/queries/{w.query.pk}/", World.add_query_messages, 15),
    # --- CRF entry / edit pages, with 1 vs 50 open queries on the form --------------------------------
    Case("AE edit", "coordinator", lambda w: f"/safety/{w.patient.study_id}/adverse-events/{w.ae.pk}/",
         World.add_queries_on_forms, 15),
    Case("CRS edit", "coordinator", lambda w: f"/safety/{w.patient.study_id}/crs/{w.crs.pk}/",
         World.add_queries_on_forms, 15),
    Case("ICANS edit", "coordinator", lambda w: f"/safety/{w.patient.study_id}/icans/{w.icans.pk}/",
         World.add_queries_on_forms, 15),
    Case("response assessment", "coordinator", lambda w: f"/outcomes/response-assessments/{w.assessment.pk}/",
         World.add_patient_rows, 15),
    Case("follow-up", "coordinator", lambda w: f"/outcomes/follow-up/{w.follow_up.pk}/",
         World.add_patient_rows, 15),
    Case("screening form", "coordinator", lambda w: f"/patients/{w.patient.study_id}/screening/",
         World.add_patient_rows, 15),
    Case("baseline form", "coordinator", lambda w: f"/patients/{w.patient.study_id}/baseline/",
         World.add_patient_rows, 15),
    Case("new AE form", "coordinator", lambda w: f"/safety/{w.patient.study_id}/adverse-events/new/",
         World.add_patient_rows, 15),
    # --- API lists -----------------------------------------------------------------------------------
    Case("API patients", "coordinator", lambda w: "/api/v1/patients/", World.add_patients, 8, api=True),
    Case("API sites", "data_manager", lambda w: "/api/v1/sites/", World.add_patients, 8, api=True),
    Case("API queries", "monitor", lambda w: "/api/v1/queries/", World.add_patient_queries, 8, api=True),
    Case("API patient", "coordinator", lambda w: f"/api/v1/patients/{w.patient.study_id}/",
         World.add_patient_rows, 10, api=True),
    Case("API visits", "coordinator", lambda w: f"/api/v1/patients/{w.patient.study_id}/visits/",
         World.add_visits, 8, api=True),
    Case("API adverse events", "coordinator", lambda w: f"/api/v1/patients/{w.patient.study_id}/adverse-events/",
         World.add_patient_rows, 10, api=True),
    Case("API response assessments", "coordinator",
         lambda w: f"/api/v1/patients/{w.patient.study_id}/response-assessments/", World.add_patient_rows, 8,
         api=True),
    Case("API follow-up", "coordinator", lambda w: f"/api/v1/patients/{w.patient.study_id}/follow-up/",
         World.add_patient_rows, 8, api=True),
    Case("API endpoints", "investigator", lambda w: "/api/v1/endpoints/", World.add_patients, 12, api=True),
    Case("API analysis.csv", "investigator", lambda w: "/api/v1/export/analysis.csv", World.add_patients, 12,
         api=True),
    Case("API ODM export", "data_manager", lambda w: "/api/v1/export/odm/", World.add_patients, 40, api=True),
]


@pytest.fixture
def world(protocol, site_sz, coordinator, investigator, monitor, data_manager, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return World(protocol=protocol, site_sz=site_sz, coordinator=coordinator, investigator=investigator,
                 monitor=monitor, data_manager=data_manager)


def _count_queries(client, url: str) -> int:
    cache.clear()  # measure the page computing everything, not its cached answer
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)  # a streamed export runs its queries as it is read
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def _builder_name(case: Case) -> str:
    name = case.add.__name__ if case.add.__name__ != "<lambda>" else case.name
    return name if case.rows == 50 else f"{name}_{case.rows}"


# Cases that grow the same rows share one build: 1 row, count every page; 49 more, count again.
GROUPS: dict[str, list[Case]] = {}
for _case in CASES:
    GROUPS.setdefault(_builder_name(_case), []).append(_case)


@pytest.mark.parametrize("group", GROUPS, ids=list(GROUPS))
def test_query_count_does_not_grow_with_the_rows_shown(group, world, client, api_client):
    cases = GROUPS[group]
    cases[0].add(world, 1)
    counts = {}
    for case in cases:
        # The first request also fills the content-type cache: a count it can only overstate.
        counts[case.name] = [_count_queries(_logged_in(case, world, client, api_client), case.url(world))]
    cases[0].add(world, cases[0].rows - 1)
    for case in cases:
        counts[case.name].append(_count_queries(_logged_in(case, world, client, api_client), case.url(world)))
    report = {case.name: (*counts[case.name], case.budget) for case in cases}
    print(f"{group}: (queries with 1 row, with {cases[0].rows}, budget) {report}")
    grew = {name: (one, fifty) for name, (one, fifty, _budget) in report.items()
            if fifty > one + next(c.slack for c in cases if c.name == name)}
    over = {name: (fifty, budget) for name, (_one, fifty, budget) in report.items() if fifty > budget}
    assert not grew, f"the query count grows with the rows (1 row, {cases[0].rows} rows): {grew}"
    assert not over, f"over budget (queries, budget): {over}"


def _logged_in(case: Case, world: World, client, api_client):
    user = world.users[case.user]
    if case.api:
        api_client.force_authenticate(user)
        return api_client
    client.force_login(user)
    return client
