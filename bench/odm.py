"""The full ODM export in-process: where its time goes, without gunicorn and HTTP.

    .venv/bin/python bench/make_dataset.py 10000 --database edc_bench_10000     # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc .venv/bin/python bench/odm.py \\
        [--database edc_bench_10000] [--patients N]

Streams `monitoring.exports.odm_stream` of every patient (or of the first N by key) to nowhere and prints
the wall-clock time, this process's CPU time (`time.process_time`: writing the XML and Django's work, which a
shared, loaded machine inflates far less than the wall-clock time), the time spent waiting for PostgreSQL
(every statement timed through `connection.execute_wrapper`) with the costliest statements, the size and
the first byte. bench/run.py measures the same export through gunicorn, with the worker's memory.
"""
import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_dataset import database_url  # noqa: E402

TARGET_S = 30.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="edc_bench_10000")
    parser.add_argument("--patients", type=int, default=0, help="the first N patients by key (default: all)")
    parser.add_argument("--statements", type=int, default=8, help="how many of the costliest statements to list")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = database_url(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from monitoring import exports
    from patients.models import Patient
    from trial.models import Protocol

    patients = Patient.objects.all()
    if args.patients:
        patients = Patient.objects.filter(pk__in=list(
            Patient.objects.order_by("pk").values_list("pk", flat=True)[:args.patients]))
    count = patients.count()
    if not count:
        raise SystemExit(f"{args.database} holds no data set: run bench/make_dataset.py first.")
    seconds: defaultdict[str, float] = defaultdict(float)
    calls: defaultdict[str, int] = defaultdict(int)

    def timed(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seconds[sql[:100]] += time.perf_counter() - began
            calls[sql[:100]] += 1

    load = os.getloadavg()[0]
    began, began_cpu = time.perf_counter(), time.process_time()
    size, first_byte = 0, None
    with connection.execute_wrapper(timed):
        for part in exports.odm_stream(patients=patients, protocol=Protocol.objects.current()):
            size += len(part)
            if first_byte is None:
                first_byte = time.perf_counter() - began
    wall, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    print(f"ODM export of {count:,} patients: {wall:.1f} s wall, {cpu:.1f} s CPU, {sum(seconds.values()):.1f} s "
          f"waiting for PostgreSQL ({sum(calls.values())} statements); {size / 1e6:,.1f} MB, first byte "
          f"{first_byte:.2f} s; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
    for sql, total in sorted(seconds.items(), key=lambda item: -item[1])[:args.statements]:
        print(f"  {total:6.2f} s {calls[sql]:4d}× {sql}")
    if count >= 10_000:
        print(f"target < {TARGET_S:g} s: {'PASS' if wall < TARGET_S else 'FAIL'}")


if __name__ == "__main__":
    main()
