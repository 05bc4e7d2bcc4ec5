"""Faults: the task queue down while an infusion is saved, a worker killed in
the middle of scheduling, PostgreSQL dropping the app's connection."""
import datetime
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from infusions import services as infusion_services
from patients.models import Visit
from tests.infusions.conftest import PLAN_173, START, full_course
from visits import services
from visits.tasks import visits_schedule_missing

from .conftest import DAY_0, infuse

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
ROOT = Path(__file__).resolve().parents[2]


def _infusion_post(day0=DAY_0) -> dict:
    return {
        "version": "0", "product_lot": "SZ-CART-0001", "manufacture_date": "2026-01-20",
        "total_viable_cells_million": "2000", "viability_percent": "92.5", "car_positive_percent": "50",
        "weight_kg": "60", "fraction_1_date": day0.isoformat(), "fraction_1_cells_million": "300",
    }


class QueueOutage:
    """The broker unreachable (a closed port), as when Redis is down, until `end()`."""

    def __init__(self, app):
        self.app, self.eager = app, app.conf.task_always_eager
        self.real = app.connection_for_write
        app.conf.task_always_eager = False
        app.connection_for_write = lambda *args, **kwargs: self.real("redis://127.0.0.1:1/0")

    def end(self, *, eager: bool = False):
        self.app.__dict__.pop("connection_for_write", None)
        self.app.conf.task_always_eager = eager or self.eager


@pytest.fixture
def queue_down():
    from config.celery import app

    outage = QueueOutage(app)
    yield outage
    outage.end()


@pytest.mark.django_db(transaction=True)  # real commits: the scheduling runs on commit, as in production
def test_redis_down_the_infusion_saves_fast_says_what_was_not_scheduled_and_the_sweep_schedules_later(
        queue_down, client, patient_sz, coordinator, monkeypatch):
    from visits import tasks

    enqueue, timings = tasks.visits_schedule_enqueue, []

    def timed(patient_id):
        started = time.monotonic()
        try:
            return enqueue(patient_id)
        finally:
            timings.append(time.monotonic() - started)

    monkeypatch.setattr(tasks, "visits_schedule_enqueue", timed)
    infusion_services.lymphodepletion_record(
        patient=patient_sz, by=coordinator, start_date=START, weight_kg=Decimal("63.4"), height_cm=Decimal("170"),
        doses=full_course(PLAN_173))
    client.force_login(coordinator)

    response = client.post(f"/patients/{patient_sz.subject_id}/infusion/new/", _infusion_post(), follow=True)

    assert response.status_code == 200
    assert len(timings) == 1 and timings[0] < 2  # the unreachable queue does not hold the request up
    shown = [str(message) for message in response.context["messages"]]
    assert "CAR-T infusion saved." in shown
    assert any(m.startswith("The follow-up visits were not scheduled now because the task queue is unavailable")
               for m in shown)
    patient_sz.refresh_from_db()
    assert patient_sz.infusion_date == DAY_0 and patient_sz.status == "infused"
    assert not Visit.objects.filter(patient=patient_sz).exists()
    assert services.visits_unscheduled_patient_ids() == [patient_sz.pk]

    # The queue is back: beat's next sweep schedules the patient, once.
    queue_down.end(eager=True)  # (eager: the sweep runs here, as the worker would run it)
    assert visits_schedule_missing.delay().get() == {"scheduled": [patient_sz.pk]}
    assert visits_schedule_missing.delay().get() == {"scheduled": []}
    assert Visit.objects.filter(patient=patient_sz).count() == 16
    assert Visit.history.filter(patient_id=patient_sz.pk, history_type="+").count() == 16


@pytest.mark.django_db
def test_the_sweep_retargets_a_schedule_whose_day0_changed_without_a_task(patient_sz, coordinator):
    from crf.services import audited_save

    infuse(patient_sz, coordinator)  # on_commit does not run inside the test's transaction: no task
    assert services.visits_unscheduled_patient_ids() == [patient_sz.pk]
    services.visits_schedule(patient=patient_sz)
    assert services.visits_unscheduled_patient_ids() == []
    patient_sz.infusion_date = DAY_0 + datetime.timedelta(days=1)  # the task for this correction was lost
    audited_save(instance=patient_sz, by=coordinator, reason="Date corrected")
    assert services.visits_schedule_missing() == [patient_sz.pk]
    assert Visit.objects.get(patient=patient_sz, definition__code="D1").target_date == datetime.date(2026, 2, 8)
    assert services.visits_unscheduled_patient_ids() == []


# --- PostgreSQL drops the app's connection ----------------------------------------------------------------


def _wsgi_get(path: str, cookie: str) -> int:
    """One request the way the WSGI server makes it (request_started / request_finished signals and
    all — the test client disconnects the connection housekeeping that this test is about)."""
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    environ = RequestFactory().get(path, HTTP_COOKIE=cookie).environ
    statuses = []
    WSGIHandler()(environ, lambda status, headers, exc_info=None: statuses.append(status))
    return int(statuses[0].split()[0])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL: terminates a backend (pg_terminate_backend)")
def test_after_postgresql_drops_the_connection_the_next_request_reconnects(client, coordinator, patient_sz):
    import psycopg2

    client.force_login(coordinator)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    path = f"/patients/{patient_sz.subject_id}/"
    assert _wsgi_get(path, cookie) == 200
    assert connection.connection is not None  # kept for the next request (CONN_MAX_AGE)
    backend_pid = connection.connection.get_backend_pid()

    params = connection.get_connection_params()
    with psycopg2.connect(**params) as admin, admin.cursor() as cursor:  # as a restart would
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
        assert cursor.fetchone() == (True,)

    assert _wsgi_get(path, cookie) == 200
    assert connection.connection.get_backend_pid() != backend_pid


# --- a worker killed half-way through scheduling -----------------------------------------------------------


def _start_worker(log: Path) -> subprocess.Popen:
    settings_dict = connection.settings_dict
    env = dict(
        os.environ, DJANGO_SETTINGS_MODULE="config.settings_test", CELERY_VISIBILITY_TIMEOUT="1",
        DATABASE_URL=f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
                     f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}",
    )
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def _wait_for(predicate, seconds=40, what=""):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.celery_worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not (ON_POSTGRES and os.environ.get("REDIS_URL")),
                    reason="needs PostgreSQL and Redis: a real worker")
def test_a_worker_killed_mid_schedule_leaves_no_half_schedule_and_the_redelivered_task_schedules_once(
        patient_sz, coordinator, tmp_path):
    import psycopg2

    from config.celery import app

    app.control.purge()
    infuse(patient_sz, coordinator)  # commits, then queues visits.tasks.visits_schedule on Redis
    history_table = Visit.history.model._meta.db_table
    blocker = psycopg2.connect(**connection.get_connection_params())
    probe = psycopg2.connect(**connection.get_connection_params())
    probe.autocommit = True
    log = tmp_path / "workers.log"
    worker = second = None
    try:
        # Hold the visit history table: the worker inserts the 16 visits, then waits on its history rows.
        with blocker.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {history_table} IN EXCLUSIVE MODE")
        worker = _start_worker(log)

        def worker_blocked_mid_way():
            with probe.cursor() as cursor:  # autocommit: pg_stat_activity is snapshotted per transaction
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND wait_event_type = 'Lock' AND query ILIKE %s", [f"%{history_table}%"])
                return cursor.fetchone()[0] == 1

        _wait_for(worker_blocked_mid_way, what="the worker to block in the middle of scheduling")
        os.killpg(worker.pid, signal.SIGKILL)  # as the OOM killer or a lost host would
        worker.wait(timeout=10)
        blocker.rollback()  # the table is free: the dead worker's transaction is rolled back, not committed
        assert Visit.objects.filter(patient=patient_sz).count() == 0

        second = _start_worker(log)  # restores the unacknowledged task (older than the visibility timeout)
        _wait_for(lambda: Visit.history.filter(patient_id=patient_sz.pk, history_type="+").count() == 16,
                  what="the redelivered task to schedule the visits")
    except AssertionError:
        print(log.read_text(errors="replace")[-4000:])
        raise
    finally:
        blocker.close()
        for process in (worker, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=20)
        with probe.cursor() as cursor:  # no session of the workers may outlive the test (the database is dropped)
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND pid <> %s",
                           [connection.connection.get_backend_pid() if connection.connection else 0])
        probe.close()
    assert Visit.objects.filter(patient=patient_sz).count() == 16
    assert Visit.history.filter(patient_id=patient_sz.pk, history_type="+").count() == 16
    assert services.visits_unscheduled_patient_ids() == []
