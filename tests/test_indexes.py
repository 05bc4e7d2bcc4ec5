"""The patient list and the daily visit-status job can use their indexes (PostgreSQL's EXPLAIN).

Honest about what this proves: a test database holds a few rows, and with a few rows PostgreSQL
rightly prefers a sequential scan. So each query is explained with ``SET LOCAL enable_seqscan = off``:
the plan then names an index only if an index can answer that filter or ordering — the index is
*usable*. (The sort on consent date has none: it orders on the Screening CRF, the nullable side of a
left join, which no index of either table can deliver; it sorts the visible patients, ~0.1 s at
10,000.) That the planner *chooses* it at 10,000 patients / 170,000 visits is shown by
``bench/patient_list.py --explain`` and ``bench/visit_status.py --explain`` (docs/performance.md).
"""
import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patients.models import PatientStatus, Visit
from tests.factories import PatientFactory
from visits.services import visits_schedule, visits_update_status

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.skipif(settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
                       reason="needs PostgreSQL: EXPLAIN output and planner settings are PostgreSQL's"),
]

TODAY = datetime.date(2026, 6, 1)


def plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        try:
            cursor.execute("EXPLAIN (COSTS OFF) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("SET LOCAL enable_seqscan = on")


def captured_sql(action, *, where) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        action()
    return [query["sql"] for query in captured.captured_queries if where(query["sql"])]


@pytest.fixture
def patients(protocol, site_sz):
    found = []
    for number, status in enumerate([PatientStatus.FOLLOW_UP, PatientStatus.ENROLLED, PatientStatus.FOLLOW_UP]):
        found.append(PatientFactory(site=site_sz, protocol=protocol, subject_id=f"SZ-90{number}",
                                    screening_number=f"SCR-90{number}", status=status,
                                    infusion_date=TODAY - datetime.timedelta(days=40 * (number + 1))))
    return found


def _list_rows_sql(client, user, query: str) -> str:
    client.force_login(user)
    [sql] = captured_sql(lambda: client.get(f"/patients/{query}"),
                         where=lambda sql: 'FROM "patients_patient"' in sql and "LIMIT" in sql)
    return sql


@pytest.mark.parametrize("query, index", [
    ("?sort=day0", "patient_day0_idx"),
    ("?sort=-day0", "patient_day0_desc_idx"),
    ("?status=follow_up", "patients_pa_status"),  # Meta.indexes' generated names start so
])
def test_patient_list_filters_and_orderings_can_use_an_index(client, data_manager, patients, query, index):
    explained = plan(_list_rows_sql(client, data_manager, query))
    assert index in explained, explained


def test_patient_list_of_a_site_can_use_the_site_index(client, coordinator, patients):
    explained = plan(_list_rows_sql(client, coordinator, "?status=follow_up"))
    assert "Index" in explained and "patients_patient" in explained, explained
    assert "Seq Scan on patients_patient" not in explained, explained


def test_the_daily_visit_status_job_reads_visits_through_indexes(patients, coordinator):
    for patient in patients:
        if patient.infusion_date:
            visits_schedule(patient=patient, by=coordinator, today=TODAY)
    assert Visit.objects.count() > 0
    statements = captured_sql(lambda: visits_update_status(today=TODAY + datetime.timedelta(days=1)),
                              where=lambda sql: sql.startswith("WITH changed AS (UPDATE"))
    # done, then scheduled / due / overdue / missed per protocol (no patient is off study here)
    assert len(statements) == 5
    for sql in statements:
        explained = plan(sql)
        assert "Seq Scan on patients_visit" not in explained, explained
        assert "Index Scan on patients_visit" in explained.replace("Bitmap Index Scan on patients_visit_patient",
                                                                   "Index Scan on patients_visit") \
            or "Index Scan using" in explained, explained
    # Which index the planner picks at scale is shown by bench/visit_status.py --explain, not provable on a
    # few rows.
