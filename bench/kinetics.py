"""The laboratory's pages on the benchmark data set, each against the floor in the same run (as bench/run.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/kinetics.py [--database edc_bench_10000] [--requests 30] [--workers 2]

Serves the data set with gunicorn (production settings, DEBUG off), logs in as the bench users and measures:

    cohort kinetics page and plot (data manager, all patients)   ≤ 5 × floor, from the cache
    the same, cold (the first request after a change)            < 1 s (the endpoints page's target)
    a patient's kinetics page and plot (coordinator)             ≤ 5 × floor
    GET /api/v1/patients/{id}/kinetics/ (coordinator)            ≤ 5 × floor
    endpoints page with B-cell recovery, and its figure (data manager)   ≤ 5 × floor, < 1 s

The cold requests are timed after clearing the laboratory's cache entries (keys "laboratory:*"); the beat task
`laboratory.tasks.cohort_cache_refresh` is timed in-process. Then the queries of each request, counted
in-process with the test client. Writes nothing but cache entries.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_dataset import database_url  # noqa: E402
from bench.run import Server, login, percentile, side_by_side, timed  # noqa: E402


def clear_laboratory_cache():
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("laboratory:*")
        return
    client = getattr(cache, "_cache", None)
    redis = client.get_client() if hasattr(client, "get_client") else None
    if redis is not None:
        for key in redis.scan_iter("*laboratory:*"):
            redis.delete(key)
    else:
        cache.clear()


def query_counts(patient) -> list[tuple[str, int]]:
    """Queries per request, in-process (the test client, the cache warm)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    users = get_user_model().objects
    rows = []
    for label, username, url in (
        ("cohort kinetics page", "bench_data_manager", "/laboratory/kinetics/"),
        ("cohort kinetics plot", "bench_data_manager", "/laboratory/kinetics.png"),
        ("patient kinetics page", "bench_coordinator", f"/patients/{patient.study_id}/kinetics/"),
        ("patient kinetics plot", "bench_coordinator", f"/patients/{patient.study_id}/kinetics.png"),
        ("kinetics API", "bench_coordinator", f"/api/v1/patients/{patient.study_id}/kinetics/"),
        ("endpoints page", "bench_data_manager", "/outcomes/endpoints/"),
    ):
        client = Client()
        client.force_login(users.get(username=username))
        client.get(url)  # warm
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        rows.append((label, len(queries.captured_queries)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="edc_bench_10000")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--cold", type=int, default=3, help="cold requests (cache cleared before each)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8767)
    args = parser.parse_args()

    url = database_url(args.database)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from bench.dataset import BENCH_PASSWORD
    from laboratory.cohort import cohort_cache_refresh
    from laboratory.models import Laboratory, LabResult
    from patients.models import Patient

    patient = Patient.objects.filter(site__code="SZ", status="follow_up").order_by("infusion_date", "pk").first()
    if patient is None or not Laboratory.objects.exists():
        raise SystemExit(f"{args.database} holds no laboratory data: run bench/make_dataset.py first.")
    print(f"{args.database}: {Patient.objects.count():,} patients, {Laboratory.objects.count():,} draws, "
          f"{LabResult.objects.count():,} results; patient {patient.study_id} "
          f"({Laboratory.objects.filter(patient=patient).count()} draws); gunicorn --workers {args.workers}; "
          f"{args.requests} requests per page beside as many to the floor (/healthz)\n")
    connection.close()

    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "AXES_ENABLED": "true"}
    server = Server(env=env, workers=args.workers, port=args.port)
    base = server.base
    rows = []
    try:
        coordinator = login(base, "bench_coordinator", BENCH_PASSWORD)
        manager = login(base, "bench_data_manager", BENCH_PASSWORD)

        def cold(session, path):
            timed(session, "GET", base + path, 200)  # what is not the laboratory's (the endpoints) cached
            times = []
            for _ in range(args.cold):
                clear_laboratory_cache()
                times.append(timed(session, "GET", base + path, 200))
            return times

        for label, session, path in (
            ("cohort kinetics page, cold", manager, "/laboratory/kinetics/"),
            ("cohort kinetics plot, cold", manager, "/laboratory/kinetics.png"),
            ("endpoints page, B-cell cold", manager, "/outcomes/endpoints/"),
        ):
            times = cold(session, path)
            median = statistics.median(times)
            rows.append(f"{label:<32} {median:>9.1f} {max(times):>8.1f} {'':>9} {'':>6}  {'< 1 s':<14} "
                        f"{'PASS' if median < 1000 else 'FAIL'}")

        pages = (
            ("cohort kinetics page", manager, "/laboratory/kinetics/", None),
            ("cohort kinetics plot", manager, "/laboratory/kinetics.png", None),
            ("patient kinetics page", coordinator, f"/patients/{patient.study_id}/kinetics/", None),
            ("patient kinetics plot", coordinator, f"/patients/{patient.study_id}/kinetics.png", None),
            ("kinetics API", coordinator, f"/api/v1/patients/{patient.study_id}/kinetics/", None),
            ("endpoints page (with B cells)", manager, "/outcomes/endpoints/", 1000),
            ("B-cell recovery figure", manager, "/outcomes/endpoints/figures/b_cell_recovery.png", None),
        )
        header = (f"{'page':<32} {'median ms':>9} {'p95 ms':>8} {'floor med':>9} {'ratio':>6}  {'target':<14} result")
        print(header)
        print("-" * len(header))
        for row in rows:
            print(row, flush=True)
        for label, session, path, limit in pages:
            floors, times = side_by_side(session, base, args.requests,
                                         lambda i, s=session, p=path: timed(s, "GET", base + p, 200))
            median, floor = statistics.median(times), statistics.median(floors)
            ratio = median / floor
            passed = ratio <= 5 and (limit is None or median < limit)
            target = "≤5× floor" + (", <1 s" if limit else "")
            print(f"{label:<32} {median:>9.1f} {percentile(times, 0.95):>8.1f} {floor:>9.1f} {ratio:>5.1f}×  "
                  f"{target:<14} {'PASS' if passed else 'FAIL'}", flush=True)
    finally:
        server.stop()

    clear_laboratory_cache()
    began = time.perf_counter()
    computed = cohort_cache_refresh(cutoff=timezone.localdate(), languages=("en-gb", "zh-hans"))
    first = time.perf_counter() - began
    began = time.perf_counter()
    cohort_cache_refresh(cutoff=timezone.localdate(), languages=("en-gb", "zh-hans"))
    again = time.perf_counter() - began
    print(f"\nlaboratory.tasks.cohort_cache_refresh (in-process, two languages): {computed} scopes computed in "
          f"{first:.1f} s; nothing changed: {again * 1000:.0f} ms")

    print("\nQueries per request (in-process, cache warm):")
    for label, count in query_counts(patient):
        print(f"  {label:<24} {count}")


if __name__ == "__main__":
    main()
