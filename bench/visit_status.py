"""Time the daily visit status job over 300,000 visits.

    DATABASE_URL=postgres://… .venv/bin/python bench/visit_status.py [--visits 300000] [--explain]

Creates synthetic patients (16 visits each, infused over the last 3½ years)
in one transaction of a throwaway database, runs the job twice — the first pass (most visits change
status, each change written to the history table) and the next day's pass
(only the visits crossing a window boundary) — prints both times and rolls
everything back, leaving the database as it was. With --explain (PostgreSQL),
prints the plan (EXPLAIN, not executed) of each statement of the next day's
pass: which indexes it uses.
"""
import argparse
import datetime
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from patients.models import Patient, PatientStatus, Visit  # noqa: E402
from trial.models import Site, VisitDefinition  # noqa: E402
from trial.rules import visit_window  # noqa: E402
from trial.services import protocol_seed  # noqa: E402
from visits.services import visits_update_status  # noqa: E402


class Rollback(Exception):
    pass


def plan_summary(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (COSTS OFF) " + sql)
        lines = [row[0] for row in cursor.fetchall()]
    return [line.strip() for line in lines if "Scan" in line or "Index Cond" in line]


def main(n_visits: int, explain: bool = False) -> None:
    today = datetime.date(2026, 11, 24)
    rng = random.Random(300_000)
    try:
        with transaction.atomic():
            protocol = protocol_seed()
            definitions = list(VisitDefinition.objects.filter(protocol=protocol))
            site = Site.objects.create(code="BENCH", name="Benchmark site")
            n_patients = -(-n_visits // len(definitions))
            start = time.perf_counter()
            patients = Patient.objects.bulk_create([
                Patient(site=site, protocol=protocol, screening_number=f"BENCH-{i:06d}",
                        subject_id=f"BENCH-{i:06d}", status=PatientStatus.FOLLOW_UP, screening_date=today,
                        infusion_date=today - datetime.timedelta(days=rng.randint(0, 1280)))
                for i in range(n_patients)
            ], batch_size=5000)
            for patient in patients[: n_patients // 20]:  # 5 % died: their later visits are not expected
                patient.status, patient.off_study_reason = PatientStatus.OFF_STUDY, "Death"
                patient.off_study_date = patient.infusion_date + datetime.timedelta(days=rng.randint(30, 600))
            Patient.objects.bulk_update(patients[: n_patients // 20],
                                        ["status", "off_study_reason", "off_study_date"])  # bench set-up only
            visits = []
            for patient in patients:
                for definition in definitions:
                    window = visit_window(infusion_date=patient.infusion_date, target_day=definition.target_day,
                                          window_before_days=definition.window_before_days,
                                          window_after_days=definition.window_after_days)
                    visits.append(Visit(patient=patient, definition=definition, **window._asdict()))
            visits = visits[:n_visits]
            Visit.objects.bulk_create(visits, batch_size=5000)
            print(f"set-up: {len(patients):,} patients, {len(visits):,} visits in {time.perf_counter() - start:.1f} s "
                  f"({connection.vendor})")

            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")  # statistics of the freshly loaded tables, as autovacuum would
            for label, day in (("first pass", today), ("next day", today + datetime.timedelta(days=1))):
                if label == "next day":
                    with connection.cursor() as cursor:
                        cursor.execute("ANALYZE patients_visit")  # as autovacuum does after the mass update
                history_before = Visit.history.count()
                start = time.perf_counter()
                with CaptureQueriesContext(connection) as captured:
                    counts = visits_update_status(today=day)
                elapsed = time.perf_counter() - start
                changed = {str(status): n for status, n in counts.items() if n}
                print(f"{label} ({day}): {elapsed:.2f} s for {Visit.objects.count():,} visits; changed {changed}; "
                      f"history rows written {Visit.history.count() - history_before:,}")
            if explain and connection.vendor == "postgresql":
                print("plans of the next day's statements:")
                for query in captured.captured_queries:
                    if query["sql"].startswith(("WITH changed", "UPDATE", "INSERT")):
                        print(f"  {query['sql'][:110]}…")
                        for line in plan_summary(query["sql"]):
                            print(f"      {line}")
            raise Rollback
    except Rollback:
        print("rolled back: the database is as it was")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=300_000)
    parser.add_argument("--explain", action="store_true", help="print the plans of the statements (PostgreSQL)")
    arguments = parser.parse_args()
    # A throwaway database (test_<name>), so the bench needs nothing but a server.
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        main(arguments.visits, explain=arguments.explain)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
