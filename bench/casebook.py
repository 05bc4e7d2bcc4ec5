"""The casebook PDF of the bench's longest-followed patient: how long it takes, and where the time goes.

    .venv/bin/python bench/make_dataset.py 10000 --database edc_bench_10000     # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc .venv/bin/python bench/casebook.py \\
        [--database edc_bench_10000] [--runs 5] [--study-id SZ-00486] [--save-html FILE]

In-process, on PostgreSQL: the patient is the one bench/run.py's pages use (the SZ patient infused longest
ago and still followed: three years and more of data). Prints the forms and pages, then the median and each
run's time of the whole casebook (`monitoring.reports.casebook_pdf`), split into reading and laying out
(`casebook_html`) and WeasyPrint's PDF, against the target of 2 s; and the CPU time of this process
(`time.process_time`: WeasyPrint and Django's work, without the database's and without waiting for a core),
which a shared, loaded machine inflates far less than the wall-clock time.
"""
import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_dataset import database_url  # noqa: E402

TARGET_S = 2.0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="edc_bench_10000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--study-id", default="")
    parser.add_argument("--save-html", type=Path, help="write the casebook's HTML here (for bench/render_ab.py)")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = database_url(args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from pypdf import PdfReader

    from monitoring import reports
    from patients.models import Patient

    patients = Patient.objects.select_related("site", "protocol")
    if args.study_id:
        patient = patients.by_study_id(args.study_id).get()
    else:
        patient = patients.filter(site__code="SZ", status="follow_up").order_by("infusion_date", "pk").first()
    if patient is None:
        raise SystemExit(f"{args.database} holds no data set: run bench/make_dataset.py first.")
    by = get_user_model().objects.get(username="bench_data_manager")
    reports.casebook_pdf(patient=patient, by=by)  # warm imports, fonts and caches
    load_before = f"{os.getloadavg()[0]:.2f}"
    totals, htmls, cpus, html_cpus = [], [], [], []
    for _run in range(args.runs):
        reset_queries()
        began, began_cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as queries:
            html = reports.casebook_html(patient=patient, by=by)
        htmls.append(time.perf_counter() - began)
        html_cpus.append(time.process_time() - began_cpu)
        content = reports.html_to_pdf(html)
        totals.append(time.perf_counter() - began)
        cpus.append(time.process_time() - began_cpu)
    pages = len(PdfReader(io.BytesIO(content)).pages)
    forms = len(reports.patient_crfs(patient))
    median = statistics.median(totals)
    print(f"casebook of {patient.study_id} (infused {patient.infusion_date}): {forms} forms, {pages} pages, "
          f"{len(content) / 1e3:.0f} kB, {len(queries.captured_queries)} queries")
    print(f"median {median:.2f} s over {args.runs} runs (reading and HTML {statistics.median(htmls):.2f} s, "
          f"WeasyPrint {median - statistics.median(htmls):.2f} s); runs: "
          + ", ".join(f"{t:.2f}" for t in totals))
    cpu = statistics.median(cpus)
    print(f"CPU time median {cpu:.2f} s (reading and HTML {statistics.median(html_cpus):.2f} s, "
          f"WeasyPrint {cpu - statistics.median(html_cpus):.2f} s); runs: " + ", ".join(f"{t:.2f}" for t in cpus))
    print(f"load average before the runs: {load_before}, after: {os.getloadavg()[0]:.2f}")
    print(f"target < {TARGET_S:g} s: {'PASS' if median < TARGET_S else 'FAIL'}")
    if args.save_html:
        args.save_html.write_text(html)
        print(f"HTML written to {args.save_html}")


if __name__ == "__main__":
    main()
