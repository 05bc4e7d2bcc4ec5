"""Page latency on the benchmark data set, each page against the floor in the same run.

    .venv/bin/python bench/make_dataset.py 10000 --database edc_bench_10000     # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/run.py [--database edc_bench_10000] [--requests 30] [--workers 2] [--no-explain]

Serves the data set with gunicorn (sync workers, --workers of them, DEBUG off,
the production settings and middleware), logs in through the login form as
the bench users of bench/make_dataset.py, and for each page alternates a
request to the floor (/healthz with the same session cookie: session, user
and one query through the same middleware) and a request to the page, K times
each after two warm-up requests. Prints median and p95 milliseconds of both and
the ratio of the medians, against the issue's targets:

    patient list, timeline, CRF page, endpoints page   ≤ 5 × floor
    CRF save (POST of the follow-up form with a reason) ≤ 8 × floor
    PDF visit report                                   < 1.5 s (median)
    endpoints page                                     < 1 s (median)
    ODM export (full, data manager)                    time, size, and peak RSS of the gunicorn worker
    daily visit-status job (in-process, rolled back)   < 10 s

then the EXPLAIN (ANALYZE, BUFFERS) of the patient list and of the visit-status
job (bench/explain.py). The database is left as it was except for the CRF
saves (history rows with the reason "Bench save") and export records.
"""
import argparse
import datetime
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_dataset import database_url  # noqa: E402


class FormFields(HTMLParser):
    """The fields of the <form> that contains `marker`, as a browser would post them."""

    def __init__(self, marker: str):
        super().__init__()
        self.marker, self.forms, self.current, self.select, self.textarea = marker, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.current = {}
            self.forms.append(self.current)
        elif self.current is None:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") in ("submit", "button"):
                return
            self.current[a["name"]] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "select" and a.get("name"):
            self.select = a["name"]
            self.current.setdefault(self.select, "")
        elif tag == "option" and self.select and "selected" in a:
            self.current[self.select] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self.textarea = a["name"]
            self.current[self.textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None
        elif tag == "form":
            self.current = None

    def handle_data(self, data):
        if self.textarea and self.current is not None:
            self.current[self.textarea] += data

    def fields(self) -> dict:
        return next(form for form in self.forms if self.marker in form)


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class Server:
    def __init__(self, *, env: dict, workers: int, port: int):
        self.base = f"http://127.0.0.1:{port}"
        # The server's own output (WeasyPrint's progress, errors) goes to a file, not into the table.
        self.log_path = Path(tempfile.gettempdir()) / f"bench-gunicorn-{port}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 (open while the server runs; closed in stop())
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--workers", str(workers), "--bind",
             f"127.0.0.1:{port}", "--timeout", "900", "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True, stdout=self.log, stderr=subprocess.STDOUT,
        )
        import requests

        for _ in range(120):
            try:
                if requests.get(self.base + "/healthz", timeout=30).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.stop()
        raise SystemExit("gunicorn did not start")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def rss_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def login(base: str, username: str, password: str):
    import requests

    session = requests.Session()
    page = session.get(base + "/accounts/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(base + "/accounts/login/", allow_redirects=False, data={
        "csrfmiddlewaretoken": token, "username": username, "password": password})
    if response.status_code != 302:
        raise SystemExit(f"login as {username} failed ({response.status_code})")
    return session


def timed(session, method: str, url: str, expect: int, **kwargs) -> float:
    began = time.perf_counter()
    response = session.request(method, url, allow_redirects=False, **kwargs)
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != expect:
        raise SystemExit(f"{method} {url}: {response.status_code}, expected {expect}\n{response.text[:2000]}")
    return elapsed


def side_by_side(session, base: str, requests_each: int, page) -> tuple[list[float], list[float]]:
    """`page(i)` makes the i-th request and returns its milliseconds; the floor alternates with it."""
    floor = lambda: timed(session, "GET", base + "/healthz", 200)  # noqa: E731
    for i in range(2):  # warm up both
        floor()
        page(-1 - i)
    floors, pages = [], []
    for i in range(requests_each):
        floors.append(floor())
        pages.append(page(i))
    return floors, pages


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="edc_bench_10000")
    parser.add_argument("--requests", type=int, default=30, help="requests per page (and as many to the floor)")
    parser.add_argument("--slow-requests", type=int, default=10, help="requests for the PDF report")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--no-odm", action="store_true", help="skip the full ODM export")
    parser.add_argument("--odm-cap-mb", type=int, default=3000,
                        help="kill the worker and fail the ODM export past this RSS (default 3000)")
    parser.add_argument("--no-explain", action="store_true")
    args = parser.parse_args()

    url = database_url(args.database)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection

    from bench.dataset import BENCH_PASSWORD, DEFAULT_TODAY
    from outcomes.models import FollowUp
    from patients.models import Patient, Visit

    # The pages of one long course: the SZ patient infused longest ago and still alive.
    patient = (Patient.objects.filter(site__code="SZ", status="follow_up").order_by("infusion_date", "pk").first())
    if patient is None:
        raise SystemExit(f"{args.database} holds no data set: run bench/make_dataset.py first.")
    follow_up = FollowUp.objects.filter(patient=patient, removed=False).order_by("-contact_date").first()
    visit = Visit.objects.get(patient=patient, definition__code="D28")
    n_patients = Patient.objects.count()
    n_visits = Visit.objects.count()
    connection.close()

    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "AXES_ENABLED": "true"}
    print(f"{args.database}: {n_patients:,} patients, {n_visits:,} visits; gunicorn --workers {args.workers}; "
          f"{args.requests} requests per page (PDF {args.slow_requests}), each beside one to the floor (/healthz)")
    server_log = Path(tempfile.gettempdir()) / f"bench-gunicorn-{args.port}.log"
    print(f"pages of {patient.study_id} (infused {patient.infusion_date}); "
          f"REDIS_URL={'set' if env.get('REDIS_URL') else 'unset (local-memory cache, eager tasks)'}; "
          f"server log {server_log}\n")
    server = Server(env=env, workers=args.workers, port=args.port)
    base = server.base
    rows = []
    try:
        coordinator = login(base, "bench_coordinator", BENCH_PASSWORD)
        manager = login(base, "bench_data_manager", BENCH_PASSWORD)
        crf_url = f"{base}/outcomes/follow-up/{follow_up.pk}/"

        def crf_save(i):
            page = coordinator.get(crf_url)
            form = FormFields("contact_date")
            form.feed(page.text)
            data = form.fields()
            data.update(comments=f"Bench save {i}", reason="Bench save")
            # Only the POST is timed: the GET above is what a user has already loaded.
            return timed(coordinator, "POST", crf_url, 302, data=data, headers={"Referer": crf_url})

        targets = [
            ("patient list", coordinator, lambda i: timed(coordinator, "GET", base + "/patients/", 200),
             args.requests, ("ratio", 5)),
            ("patient timeline", coordinator,
             lambda i: timed(coordinator, "GET", f"{base}/patients/{patient.study_id}/", 200), args.requests,
             ("ratio", 5)),
            ("CRF page (follow-up)", coordinator, lambda i: timed(coordinator, "GET", crf_url, 200), args.requests,
             ("ratio", 5)),
            ("CRF save (follow-up)", coordinator, crf_save, args.requests, ("ratio", 8)),
            ("endpoints page (all sites)", manager,
             lambda i: timed(manager, "GET", base + "/outcomes/endpoints/", 200), args.requests,
             ("ratio+ms", 5, 1000)),
            ("PDF visit report (D28)", coordinator,
             lambda i: timed(coordinator, "GET", f"{base}/monitoring/visits/{visit.pk}/report.pdf", 200),
             args.slow_requests, ("ms", 1500)),
        ]
        header = (f"{'page':<28} {'median ms':>9} {'p95 ms':>8} {'floor med':>9} {'floor p95':>9} "
                  f"{'ratio':>6}  {'target':<18} result")
        print(header)
        print("-" * len(header))
        for name, session, page, count, target in targets:
            floors, pages = side_by_side(session, base, count, page)
            median, p95 = statistics.median(pages), percentile(pages, 0.95)
            floor = statistics.median(floors)
            ratio = median / floor
            checks, wanted = [], []
            if target[0] in ("ratio", "ratio+ms"):
                checks.append(ratio <= target[1])
                wanted.append(f"≤{target[1]}× floor")
            if target[0] == "ms":
                checks.append(median < target[1])
                wanted.append(f"<{target[1] / 1000:g} s")
            if target[0] == "ratio+ms":
                checks.append(median < target[2])
                wanted.append(f"<{target[2] / 1000:g} s")
            result = "PASS" if all(checks) else "FAIL"
            rows.append((name, median, p95, floor, ratio, result))
            print(f"{name:<28} {median:>9.1f} {p95:>8.1f} {floor:>9.1f} {percentile(floors, 0.95):>9.1f} "
                  f"{ratio:>5.1f}×  {', '.join(wanted):<18} {result}", flush=True)

        met = sum(row[-1] == "PASS" for row in rows)
        print(f"{met} of {len(rows)} page targets met")
        if not args.no_odm:
            odm_export(server, manager, n_patients, cap_mb=args.odm_cap_mb)
    finally:
        server.stop()

    visit_status_job(DEFAULT_TODAY)
    if not args.no_explain:
        from bench import explain

        explain.main_in_process(today=DEFAULT_TODAY)


def odm_export(server, session, n_patients: int, *, cap_mb: int):
    """The full ODM export as a download: time, first byte, size, and the gunicorn worker's peak RSS.
    A worker whose RSS passes cap_mb is killed (gunicorn starts another): an export that is not
    streamed holds the whole document in memory and could exhaust the machine."""
    import threading

    import requests

    workers = server.worker_pids()
    before = {pid: rss_kb(pid, "VmRSS") for pid in workers}
    killed, done = [], threading.Event()

    def guard():
        while not done.wait(0.5):
            for pid in workers:
                try:
                    if rss_kb(pid, "VmRSS") > cap_mb * 1024 and not killed:
                        killed.append((pid, rss_kb(pid, "VmHWM"), time.perf_counter() - began))
                        os.kill(pid, signal.SIGKILL)
                except (FileNotFoundError, ProcessLookupError):
                    pass

    began = time.perf_counter()
    threading.Thread(target=guard, daemon=True).start()
    size, first_byte = 0, None
    try:
        with session.get(server.base + "/monitoring/exports/odm.xml", stream=True, timeout=3600) as response:
            first_byte = (time.perf_counter() - began) * 1000
            if response.status_code != 200:
                raise SystemExit(f"ODM export: {response.status_code}")
            for chunk in response.iter_content(1 << 16):
                size += len(chunk)
    except requests.RequestException as error:
        if not killed:
            print(f"\nODM export (all {n_patients:,} patients, data manager): FAILED after "
                  f"{time.perf_counter() - began:.0f} s ({size / 1e6:.1f} MB received; gunicorn's --timeout is "
                  f"900 s): {error}")
            return
    finally:
        done.set()
    elapsed = time.perf_counter() - began
    if killed:
        pid, peak, at = killed[0]
        print(f"\nODM export (all {n_patients:,} patients, data manager): ABORTED — the worker passed "
              f"{cap_mb:,} MB RSS after {at:.0f} s ({size / 1e6:.1f} MB sent): not constant memory. FAIL")
        return
    peaks = {pid: rss_kb(pid, "VmHWM") for pid in workers}
    grown = max(peaks[pid] - before[pid] for pid in workers)
    print(f"\nODM export (all {n_patients:,} patients, data manager): {elapsed:.1f} s, first byte after "
          f"{first_byte:.0f} ms, {size / 1e6:.1f} MB; worker peak RSS {max(peaks.values()) / 1024:.0f} MB "
          f"({grown / 1024:+.0f} MB over its RSS before the export)")


def visit_status_job(today: datetime.date):
    """The daily job's status pass, in-process, on the data set's next days; rolled back."""
    from django.db import transaction

    from patients.models import Visit
    from visits.services import visits_update_status

    total = Visit.objects.count()
    print(f"\nDaily visit-status job (visits.services.visits_update_status) over {total:,} visits, rolled back:")
    for label, day in (("next day", today + datetime.timedelta(days=1)),
                       ("a month later", today + datetime.timedelta(days=30))):
        with transaction.atomic():
            began = time.perf_counter()
            counts = visits_update_status(today=day)
            elapsed = time.perf_counter() - began
            transaction.set_rollback(True)
        changed = {str(status): n for status, n in counts.items() if n}
        print(f"  {label} ({day}): {elapsed:.2f} s  {'PASS' if elapsed < 10 else 'FAIL'} (< 10 s); changed {changed}")


if __name__ == "__main__":
    main()
