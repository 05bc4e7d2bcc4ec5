"""The SDTM and ADaM submission packages of every patient, built in-process one after the other.

    .venv/bin/python bench/make_dataset.py 10000 --database edc_bench_10000     # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc .venv/bin/python bench/submission.py \\
        [--database edc_bench_10000] [--processes N] [--standard sdtm|adam] [--output DIR]

Builds each package with `submission.services.package_zip`, as the Celery job and the API do, and prints per
package: the wall-clock time, split into reading the records and mapping and writing the datasets; the CPU time
of this process and of its worker processes (`resource.getrusage`: on a loaded machine it moves far less than
the wall-clock time); the peak resident memory of this process and of the largest worker; the ZIP's size and
the rows of each dataset (read back from its CSV copy). Issue 23's target: both packages of 10,000 patients in
under 2 minutes; the line "both" says it. --processes sets the worker processes (default
settings.SUBMISSION_PROCESSES; 1 builds in this process alone).
"""
import argparse
import csv
import datetime
import io
import os
import resource
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_dataset import database_url  # noqa: E402

TARGET_S = 120.0


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="edc_bench_10000")
    parser.add_argument("--processes", type=int, default=None)
    parser.add_argument("--standard", choices=("sdtm", "adam"), action="append",
                        help="build only this package (may be repeated; default both)")
    parser.add_argument("--cutoff", type=datetime.date.fromisoformat, default=None,
                        help="data cut-off (default: today)")
    parser.add_argument("--output", type=Path, help="write the ZIPs into this folder")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = database_url(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings

    from patients.models import Patient
    from submission import services

    patients = Patient.objects.all()
    count = patients.count()
    if not count:
        raise SystemExit(f"{args.database} holds no data set: run bench/make_dataset.py first.")
    cutoff = args.cutoff or datetime.date.today()
    processes = settings.SUBMISSION_PROCESSES if args.processes is None else args.processes
    print(f"{count:,} patients, data cut-off {cutoff}, {processes} worker process(es), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    total = 0.0
    for standard in args.standard or services.STANDARDS:
        began, cpu_self, cpu_children = time.perf_counter(), _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        steps: list[float] = []
        content = services.package_zip(standard=standard, patients=patients, cutoff=cutoff, processes=processes,
                                       on_step=lambda _done, _total, steps=steps: steps.append(time.perf_counter()))
        wall = time.perf_counter() - began
        total += wall
        own, workers = _cpu(resource.RUSAGE_SELF) - cpu_self, _cpu(resource.RUSAGE_CHILDREN) - cpu_children
        reading = steps[0] - began if steps else 0.0
        first = "reading the records" + (" and mapping them" if standard == "adam" else "")
        print(f"{standard.upper()}: {wall:.1f} s wall ({first} {reading:.1f} s, then the datasets "
              f"{wall - reading:.1f} s); "
              f"CPU {own + workers:.1f} s ({own:.1f} s here, {workers:.1f} s in workers); peak memory "
              f"{_peak_mb(resource.RUSAGE_SELF):,.0f} MB here, {_peak_mb(resource.RUSAGE_CHILDREN):,.0f} MB "
              f"largest worker; ZIP {len(content) / 1e6:.1f} MB")
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            rows = {name[:-4].upper(): sum(1 for _row in csv.reader(io.TextIOWrapper(archive.open(name), "utf-8"))) - 1
                    for name in archive.namelist() if name.endswith(".csv")}
        print("  " + ", ".join(f"{name} {number:,}" for name, number in rows.items()))
        if args.output:
            args.output.mkdir(parents=True, exist_ok=True)
            (args.output / f"{standard}-{cutoff}.zip").write_bytes(content)
    print(f"both: {total:.1f} s wall; load average {os.getloadavg()[0]:.1f} after")
    if count >= 10_000 and not args.standard:
        print(f"target < {TARGET_S:g} s: {'PASS' if total < TARGET_S else 'FAIL'}")


if __name__ == "__main__":
    main()
