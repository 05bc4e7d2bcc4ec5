"""Build the benchmark data set: N infused patients with complete histories, in a PostgreSQL database of its own.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc \\
        .venv/bin/python bench/make_dataset.py 10000 [--database edc_bench_10k] [--seed S]
            [--today YYYY-MM-DD] [--fresh]

Creates the database (named edc_bench_<N> unless --database is given) on the
server of DATABASE_URL, migrates it, seeds protocol 1.0, five sites and one
bench user per role (bench_coordinator, bench_investigator, bench_monitor at
SZ; bench_data_manager; password bench-password-2026), then loads N patients
with COPY (see bench/dataset.py for what each patient holds), VACUUM ANALYZEs
and prints the time taken and the rows per table. --fresh drops an existing
database of that name first; without it an existing data set is refused.
The same N, seed and today give the same data.
"""
import argparse
import datetime
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def database_url(name: str) -> str:
    """DATABASE_URL with its database name replaced."""
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/edc"))
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(name: str, *, fresh: bool) -> bool:
    """Create the database if missing (drop it first with fresh). True when it was created."""
    import psycopg2

    admin = psycopg2.connect(database_url("postgres").replace("postgres://", "postgresql://", 1))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
        if exists and fresh:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return not exists


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("patients", type=int)
    parser.add_argument("--database", help="database name (default edc_bench_<N>)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=None,
                        help="the data set's today: visit statuses and dates are placed against it")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the database")
    parser.add_argument("--batch", type=int, default=500, help="patients per COPY batch")
    args = parser.parse_args()
    name = args.database or f"edc_bench_{args.patients}"

    began = time.perf_counter()
    create_database(name, fresh=args.fresh)
    os.environ["DATABASE_URL"] = database_url(name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import DatabaseError, connection

    from bench.dataset import DEFAULT_SEED, DEFAULT_TODAY, dataset_load, dataset_setup
    from patients.models import Patient

    call_command("migrate", verbosity=0)
    dataset_setup()
    if Patient.objects.exists():
        sys.exit(f"{name} already holds patients: use --fresh to rebuild it.")
    seed = DEFAULT_SEED if args.seed is None else args.seed
    today = args.today or DEFAULT_TODAY
    prepared = time.perf_counter()
    print(f"{name}: database, migrations, protocol and users in {prepared - began:.1f} s; loading "
          f"{args.patients:,} patients (seed {seed}, today {today})", flush=True)

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
        # The generator writes parents before children and every key it refers to
        # (tests/test_bench_dataset.py checks them with the constraints on): skip the
        # per-row foreign-key triggers during the load. Needs a superuser role; without
        # one the load still works, checking each key.
        try:
            cursor.execute("SET session_replication_role TO replica")
        except DatabaseError:
            print("(not a superuser: foreign keys are checked during the load)")

    def progress(done):
        print(f"  {done:,} patients, {time.perf_counter() - prepared:.0f} s", flush=True)

    # Each COPY batch is a transaction of its own (BulkWriter.flush), so memory stays bounded.
    writer = dataset_load(connection=connection, n=args.patients, seed=seed, today=today, batch=args.batch,
                          progress=progress if args.patients >= 2000 else None)
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role TO DEFAULT")
    loaded = time.perf_counter()
    with connection.cursor() as cursor:  # Django's autocommit: VACUUM cannot run in a transaction
        cursor.execute("VACUUM ANALYZE")
    analysed = time.perf_counter()

    total = sum(writer.written.values())
    print(f"loaded {total:,} rows in {loaded - prepared:.1f} s; VACUUM ANALYZE {analysed - loaded:.1f} s; "
          f"total {analysed - began:.1f} s")
    for table, rows in sorted(writer.written.items()):
        print(f"  {table:<45} {rows:>10,}")
    print(f"DATABASE_URL={database_url(name)}")


if __name__ == "__main__":
    main()
