"""Load: concurrent coordinators saving CRFs through the real pages, against gunicorn on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/edc .venv/bin/python bench/load.py \\
        [--users 50] [--duration 120] [--workers 4] [--threads 2] [--keep-alive 30] [--port 8765]

Creates a throwaway database (<name>_load_<pid>, dropped at the end unless --keep), migrates it, seeds a
site, one coordinator per client and one enrolled patient per coordinator, and serves the application
with gunicorn (production settings). Each client logs in through the login form and, until the time is
up, saves adverse events through the real HTML form — GET the page for its CSRF token, POST — two times
in three creating a new event, otherwise correcting one of its events (another grade and resolution
date, with a reason for change). Every request's latency and status is recorded.

Afterwards it counts
  errors: a request that failed, answered other than 2xx/3xx, or a save answered with the form again;
  lost writes: an event the client saw saved that is missing or holds other values than the client's
  last save, an event whose history rows do not number its saves exactly (one per create and per
  correction), or an event in the database no client created;
and prints requests, errors, lost writes, throughput and the p50 / p95 / p99 latencies.
"""
import argparse
import datetime
import os
import pathlib
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlparse, urlunparse

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "load-test-password-2026"
TERMS = ["Febrile neutropenia", "Nausea", "Headache", "Fatigue", "Anemia", "Hypotension"]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
EVENT_URL = re.compile(r"/safety/(?P<study_id>[^/]+)/adverse-events/(?P<pk>\d+)/$")


def throwaway_database_url(base_url: str) -> tuple[str, str]:
    parts = urlparse(base_url)
    name = f"{parts.path.lstrip('/') or 'edc'}_load_{os.getpid()}"
    return name, urlunparse(parts._replace(path=f"/{name}"))


def admin_connection(base_url: str):
    import psycopg2

    parts = urlparse(base_url)
    connection = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                                  password=parts.password, dbname="postgres")
    connection.autocommit = True
    return connection


def seed(n_users: int) -> list[tuple[str, str]]:
    """Protocol, one site, and per client a coordinator and an enrolled patient: [(username, study_id)]."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from patients.services import patient_screen
    from trial.models import Protocol, Site, SiteMembership
    from trial.services import protocol_seed

    call_command("migrate", verbosity=0)
    protocol_seed()
    protocol = Protocol.objects.current()
    site = Site.objects.create(code="SZ", name="The First Affiliated Hospital of Soochow University")
    eligible = {c.code: c.kind == "inclusion" for c in protocol.eligibility_criteria.all()}
    User = get_user_model()
    pairs = []
    for number in range(1, n_users + 1):
        user = User.objects.create_user(f"load_coord_{number:02d}", password=PASSWORD)
        SiteMembership.objects.create(user=user, site=site, role="coordinator")
        patient = patient_screen(site=site, consent_date=datetime.date(2026, 1, 5), eligibility=eligible, by=user,
                                 screening_date=datetime.date(2026, 1, 6))
        pairs.append((user.username, patient.study_id))
    return pairs


@dataclass
class Event:
    pk: int
    values: dict
    saves: int = 1


@dataclass
class Client:
    username: str
    study_id: str
    base: str
    seed: int
    latencies: list = field(default_factory=list)  # (seconds, is_save)
    errors: list = field(default_factory=list)
    events: dict = field(default_factory=dict)
    saves: int = 0
    logging_in: bool = True

    def request(self, session, method, path, is_save=False, **kwargs):
        if self.logging_in:
            kwargs.setdefault("timeout", 300)
        start = time.perf_counter()
        try:
            response = session.request(method, self.base + path, allow_redirects=False,
                                       **{"timeout": 60, **kwargs})
        except Exception as error:  # noqa: BLE001 - a refused or timed-out request is an error to count
            self._record(start, is_save)
            self.errors.append(f"{method} {path}: {type(error).__name__}: {str(error)[:160]}")
            return None
        self._record(start, is_save)
        if response.status_code >= 400:
            self.errors.append(f"{method} {path}: HTTP {response.status_code}")
            return None
        return response

    def _record(self, start, is_save):
        if not self.logging_in:  # logins (a deliberately slow password hash) happen before the clock starts
            self.latencies.append((time.perf_counter() - start, is_save))

    def csrf(self, session, path):
        page = self.request(session, "GET", path)
        if page is None:
            return None
        match = CSRF.search(page.text)
        if match is None:
            self.errors.append(f"GET {path}: no CSRF token")
        return match and match.group(1)

    def run(self, start_line: threading.Barrier, clock: dict):
        import requests

        rng = random.Random(self.seed)
        session = requests.Session()
        token = self.csrf(session, "/accounts/login/")
        answer = self.request(session, "POST", "/accounts/login/", data={
            "username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token})
        logged_in = answer is not None and answer.status_code == 302
        if not logged_in:
            self.errors.append(f"login of {self.username} failed")
        start_line.wait()  # every client starts saving at once, when all have logged in
        self.logging_in = False
        while logged_in and time.perf_counter() < clock["deadline"]:
            if self.events and rng.random() < 1 / 3:
                self.correct(session, rng)
            else:
                self.create(session, rng)

    def _values(self, rng) -> dict:
        onset = datetime.date(2026, 2, 1) + datetime.timedelta(days=rng.randrange(200))
        return {"term": rng.choice(TERMS), "grade": str(rng.randint(1, 3)), "onset_date": onset.isoformat(),
                "resolution_date": (onset + datetime.timedelta(days=rng.randint(1, 20))).isoformat(),
                "relatedness_cart": "possible", "relatedness_lymphodepletion": "unlikely",
                "action_taken": "none", "outcome": "recovered"}

    def _save(self, session, path, values, extra=None):
        token = self.csrf(session, path)
        if token is None:
            return None
        answer = self.request(session, "POST", path, is_save=True,
                              data={**values, **(extra or {}), "csrfmiddlewaretoken": token})
        if answer is None:
            return None
        if answer.status_code != 302:
            self.errors.append(f"POST {path}: form answered again ({answer.status_code})")
            return None
        match = EVENT_URL.search(answer.headers.get("Location", ""))
        if match is None:
            self.errors.append(f"POST {path}: redirected to {answer.headers.get('Location')}")
            return None
        self.saves += 1
        return int(match.group("pk"))

    def create(self, session, rng):
        values = self._values(rng)
        pk = self._save(session, f"/safety/{self.study_id}/adverse-events/new/", values)
        if pk is not None:
            self.events[pk] = Event(pk, values)

    def correct(self, session, rng):
        event = self.events[rng.choice(list(self.events))]
        values = {**event.values, "grade": str(1 + int(event.values["grade"]) % 3),
                  "resolution_date": (datetime.date.fromisoformat(event.values["onset_date"])
                                      + datetime.timedelta(days=rng.randint(1, 20))).isoformat()}
        pk = self._save(session, f"/safety/{self.study_id}/adverse-events/{event.pk}/", values,
                        {"reason": f"Correction {event.saves} by {self.username}"})
        if pk == event.pk:
            event.values, event.saves = values, event.saves + 1
        elif pk is not None:
            self.errors.append(f"correction of {event.pk} redirected to {pk}")


def lost_writes(clients) -> tuple[int, list[str]]:
    """Compare what the clients saw saved with the database, row by row and history row by history row."""
    from django.db.models import Count

    from safety.models import AdverseEvent

    problems = []
    believed = {event.pk: (client, event) for client in clients for event in client.events.values()}
    stored = {event.pk: event for event in AdverseEvent.objects.select_related("patient")}
    history = dict(AdverseEvent.history.values("id").annotate(n=Count("history_id")).values_list("id", "n"))
    for pk, (client, event) in believed.items():
        row = stored.get(pk)
        if row is None:
            problems.append(f"event {pk} of {client.username} is missing")
            continue
        found = {"term": row.term, "grade": str(row.grade), "onset_date": row.onset_date.isoformat(),
                 "resolution_date": row.resolution_date.isoformat() if row.resolution_date else ""}
        wanted = {name: event.values[name] for name in found}
        if found != wanted or row.patient.study_id != client.study_id:
            problems.append(f"event {pk}: stored {found}, the last save sent {wanted}")
        if history.get(pk, 0) != event.saves:
            problems.append(f"event {pk}: {history.get(pk, 0)} history rows for {event.saves} saves")
    for pk in stored.keys() - believed.keys():
        problems.append(f"event {pk} is in the database but no client saw it saved")
    return len(problems), problems


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120, help="seconds of load (default 120)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep-alive", type=int, default=30,
                        help="gunicorn's keep-alive seconds (its default, 2, lets an overloaded gthread worker close "
                             "a kept-alive connection that already carries the next request)")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    return parser.parse_args(argv)


def _wait_until_up(base: str, timeout: float = 120) -> None:
    """Until the login page answers (each worker imports Django on its first request: warm them all)."""
    import requests

    limit = time.perf_counter() + timeout
    while time.perf_counter() < limit:
        try:
            requests.get(base + "/accounts/login/", timeout=30)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer within two minutes")



def server_start(args: argparse.Namespace, *, log_path: str) -> subprocess.Popen:
    """gunicorn (production settings) on the throwaway database, once every worker answers."""
    gunicorn = shutil.which("gunicorn", path=str(pathlib.Path(sys.executable).parent)) or "gunicorn"
    with open(log_path, "w") as server_log:  # the child keeps its own copy of the descriptor
        server = subprocess.Popen(
            [gunicorn, "config.wsgi", "-b", f"127.0.0.1:{args.port}", "-w", str(args.workers),
             "--threads", str(args.threads), "--worker-class", "gthread", "--log-level", "warning",
             "--timeout", "120", "--keep-alive", str(args.keep_alive)],
            cwd=ROOT, env={**os.environ, "ALLOWED_HOSTS": "127.0.0.1,localhost", "DEBUG": "false"},
            stdout=server_log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{args.port}"
    _wait_until_up(base)
    for _ in range(args.workers * 2):  # the first request of each worker is not the load's
        _wait_until_up(base)
    return server


def server_stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def load_run(clients: list[Client], *, duration: float) -> float:
    """Every client at once, from one start line, for ``duration`` seconds; answers the seconds elapsed."""
    clock = {}

    def start_clock():
        clock["started"] = time.perf_counter()
        clock["deadline"] = clock["started"] + duration

    start_line = threading.Barrier(len(clients), action=start_clock)
    threads = [threading.Thread(target=client.run, args=(start_line, clock)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - clock["started"]


def report(clients: list[Client], *, elapsed: float, lost: int, problems: list[str], setup: str,
           server_log: str) -> int:
    """Print the run's figures; answers the exit status (1 when a request failed or a write was lost)."""
    latencies = [seconds for client in clients for seconds, _ in client.latencies]
    save_latencies = [seconds for client in clients for seconds, is_save in client.latencies if is_save]
    errors = [error for client in clients for error in client.errors]
    creates = sum(len(client.events) for client in clients)
    saves = sum(client.saves for client in clients)
    print(f"{setup}, {len(clients)} clients, {elapsed:.0f} s")
    print(f"requests: {len(latencies)} ({len(save_latencies)} saves: {creates} new adverse events, "
          f"{saves - creates} corrections with a reason), {len(latencies) / elapsed:.1f} requests/s, "
          f"{saves / elapsed:.1f} saves/s")
    print(f"errors: {len(errors)} (server log: {server_log})")
    for error in errors[:10]:
        print(f"  {error}")
    print(f"lost writes: {lost} (of {saves} saves checked against the rows and their history)")
    for problem in problems[:10]:
        print(f"  {problem}")
    for label, values in (("all requests", latencies), ("saves (POST)", save_latencies)):
        if values:
            print(f"latency, {label}: p50 {percentile(values, 50) * 1000:.0f} ms, "
                  f"p95 {percentile(values, 95) * 1000:.0f} ms, p99 {percentile(values, 99) * 1000:.0f} ms, "
                  f"max {max(values) * 1000:.0f} ms, mean {statistics.fmean(values) * 1000:.0f} ms")
    return 1 if errors or lost else 0


def main() -> int:
    args = arguments()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server: the load test runs against PostgreSQL.")
    name, load_url = throwaway_database_url(base_url)
    admin = admin_connection(base_url)
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    os.environ.update({"DATABASE_URL": load_url, "DJANGO_SETTINGS_MODULE": "config.settings"})
    os.environ.pop("REDIS_URL", None)  # saving an AE queues nothing; keep the run to web + database

    import django

    django.setup()
    from django.db import connections

    server = None
    log_path = f"/tmp/{name}-gunicorn.log"
    try:
        start = time.perf_counter()
        pairs = seed(args.users)
        connections.close_all()
        print(f"database {name}: {len(pairs)} coordinators and patients seeded in {time.perf_counter() - start:.1f} s")
        server = server_start(args, log_path=log_path)
        base = f"http://127.0.0.1:{args.port}"
        clients = [Client(username, study_id, base, seed=i) for i, (username, study_id) in enumerate(pairs)]
        elapsed = load_run(clients, duration=args.duration)
        lost, problems = lost_writes(clients)
        return report(clients, elapsed=elapsed, lost=lost, problems=problems, server_log=log_path,
                      setup=f"gunicorn -w {args.workers} --threads {args.threads} --keep-alive {args.keep_alive} "
                            f"(gthread)")
    finally:
        if server is not None:
            server_stop(server)
        connections.close_all()
        if not args.keep:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    sys.exit(main())
