"""EXPLAIN (ANALYZE, BUFFERS) of the patient list and of the daily visit-status job on the data set.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc .venv/bin/python bench/explain.py [--database edc_bench_10000]

Captures the SQL the real code sends — the list page rendered in-process for
the bench coordinator (one site) and the data manager (every site), and
visits.services.visits_update_status for the data set's next day — and prints
the plan of each statement that reads patients_patient (the list) or
patients_visit (the job), with a check that an index is used (Index Scan,
Index Only Scan or Bitmap Index Scan). The job's statements run inside a
transaction that is rolled back.
"""
import argparse
import datetime
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

INDEX_NODES = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


def plan(cursor, sql: str) -> list[str]:
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
    return [row[0] for row in cursor.fetchall()]


def show(title: str, sql: str, lines: list[str]) -> bool:
    used = sorted({node for node in INDEX_NODES for line in lines if node in line})
    print(f"\n--- {title}: {'index used (' + ', '.join(used) + ')' if used else 'NO INDEX USED'}")
    print("    " + (sql if len(sql) < 600 else sql[:600] + " …"))
    for line in lines:
        print("    " + line)
    return bool(used)


def patient_list_statements(username: str) -> list[str]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/patients/")
    assert response.status_code == 200, response.status_code
    return [q["sql"] for q in captured if "patients_patient" in q["sql"] and q["sql"].lstrip().startswith("SELECT")
            and "django_session" not in q["sql"]]


def visit_job_statements(today: datetime.date) -> list[str]:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from visits.services import visits_update_status

    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        visits_update_status(today=today)
        transaction.set_rollback(True)
    return [q["sql"] for q in captured if "patients_visit" in q["sql"]]


def main_in_process(*, today: datetime.date) -> bool:
    from django.db import connection, transaction

    from patients.models import Patient

    print(f"\nEXPLAIN (ANALYZE, BUFFERS) on {connection.settings_dict['NAME']} ({Patient.objects.count():,} patients)")
    all_used = True
    for username in ("bench_coordinator", "bench_data_manager"):
        statements = patient_list_statements(username)
        # The page's own list query is the one with a LIMIT (the count has none).
        for sql in statements:
            kind = "rows of page 1" if " LIMIT " in sql else "count"
            with connection.cursor() as cursor:
                all_used &= show(f"patient list as {username}, {kind}", sql, plan(cursor, sql))
    day = today + datetime.timedelta(days=1)
    with transaction.atomic():
        for number, sql in enumerate(visit_job_statements(day), 1):
            with connection.cursor() as cursor:
                all_used &= show(f"visit-status job ({day}), statement {number}", sql, plan(cursor, sql))
        transaction.set_rollback(True)
    print(f"\nindex use: {'PASS' if all_used else 'FAIL: see NO INDEX USED above'}")
    return all_used


def main():
    from bench.make_dataset import database_url

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="edc_bench_10000")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = database_url(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from bench.dataset import DEFAULT_TODAY

    sys.exit(0 if main_in_process(today=DEFAULT_TODAY) else 1)


if __name__ == "__main__":
    main()
