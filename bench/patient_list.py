"""Bench: the patient list with 10,000 patients.

    DATABASE_URL=postgres://… .venv/bin/python bench/patient_list.py [--patients 10000] [--explain]

Creates a throwaway test database (test_<name>, dropped at the end), fills it
with N patients over two sites, each with a Screening CRF (history rows
included, through simple-history's bulk_create_with_history), then times the
list page as a coordinator and as a data manager: page 1, a sort on consent
date, a search, a filter, the last page. Prints milliseconds and the number of
SQL queries per request; the query count must not depend on the page size.
With --explain (PostgreSQL), also prints the plan nodes of each page's row query
(EXPLAIN ANALYZE after ANALYZE): which indexes it uses, where it scans.
"""
import argparse
import datetime
import os
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("AXES_ENABLED", "false")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def fill(n: int):
    from django.contrib.auth import get_user_model
    from simple_history.utils import bulk_create_with_history

    from patients.models import Patient, PatientStatus, ScreeningCRF
    from trial.models import Site, SiteMembership
    from trial.services import protocol_seed

    protocol = protocol_seed()
    sites = [Site.objects.create(code="SZ", name="Suzhou"), Site.objects.create(code="WX", name="Wuxi")]
    User = get_user_model()
    coordinator = User.objects.create_user("bench_coordinator", password="bench-password-1")
    manager = User.objects.create_user("bench_manager", password="bench-password-1")
    SiteMembership.objects.create(user=coordinator, site=sites[0], role="coordinator")
    SiteMembership.objects.create(user=manager, site=None, role="data_manager")
    statuses = [s for s, _label in PatientStatus.choices]
    start = datetime.date(2024, 1, 1)
    patients = []
    for number in range(1, n + 1):
        site = sites[number % 2]
        status = statuses[number % len(statuses)]
        enrolled = status not in {"screening", "screen_failed"}
        day = start + datetime.timedelta(days=number % 900)
        patients.append(Patient(
            site=site, protocol=protocol, screening_number=f"SCR-{site.code}-{number:05d}",
            subject_id=f"{site.code}-{number:05d}" if enrolled else None, status=status,
            screening_date=day, enrollment_date=day if enrolled else None,
            infusion_date=day + datetime.timedelta(days=30) if status in {"infused", "follow_up"} else None,
        ))
    patients = bulk_create_with_history(patients, Patient, batch_size=1000, default_change_reason="Bench data")
    patients = list(Patient.objects.order_by("pk"))
    answers = {c.code: c.kind == "inclusion" for c in protocol.eligibility_criteria.all()}
    bulk_create_with_history(
        [ScreeningCRF(patient=p, protocol=protocol, screening_date=p.screening_date, consent_date=p.screening_date,
                      eligibility=answers) for p in patients],
        ScreeningCRF, batch_size=1000, default_change_reason="Bench data",
    )
    return coordinator, manager


def measure(client: Client, url: str, repeat: int = 5) -> tuple[float, int, int]:
    client.get(url)  # warm caches
    times, queries = [], 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        queries = len(captured)
    return statistics.median(times), queries, len(response.context["page"].object_list)


def explain(sql: str) -> list[str]:
    """The plan nodes (scans, sorts, joins) of a query, EXPLAIN ANALYZE on PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
    keep = ("Scan", "Sort", "Join", "Limit", "Nested Loop", "Index Cond", "Filter")
    return [line.strip() for line in lines if any(word in line for word in keep)]


def row_query(client: Client, url: str) -> str:
    """The SQL of the page's patient rows (the SELECT … LIMIT on patients_patient)."""
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return next(q["sql"] for q in captured.captured_queries
                if 'FROM "patients_patient"' in q["sql"] and "LIMIT" in q["sql"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--explain", action="store_true", help="print each row query's plan (PostgreSQL)")
    args = parser.parse_args()
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    old_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        began = time.perf_counter()
        coordinator, manager = fill(args.patients)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would have after a bulk load
        print(f"{connection.vendor}: {args.patients} patients created in {time.perf_counter() - began:.1f} s "
              f"(database {test_name})")
        for user in (coordinator, manager):
            client = Client()
            client.force_login(user)
            print(f"\nas {user.username}:")
            print(f"  {'request':<52} {'median ms':>9} {'queries':>8} {'rows':>5}")
            for url in ("/patients/", "/patients/?per_page=25", "/patients/?per_page=100",
                        "/patients/?sort=-consent&per_page=100", "/patients/?q=SZ-0099",
                        "/patients/?status=follow_up&site=SZ&sort=-day0", "/patients/?page=last&per_page=25"):
                ms, queries, rows = measure(client, url)
                print(f"  {url:<52} {ms:>9.1f} {queries:>8} {rows:>5}")
                if args.explain and connection.vendor == "postgresql":
                    for line in explain(row_query(client, url)):
                        print(f"      {line}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
