"""The scheduling task on a real Celery worker over the local Redis."""
import os
import time

import pytest
from django.db import OperationalError, connection

from patients.models import Visit

from .conftest import infuse

pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (REDIS_URL is unset): a real worker"),
]


@pytest.fixture
def worker():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: a worker thread beside the test shares its database (SQLite's is not shared)")
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = False
    app.control.purge()  # tasks left by earlier runs on this Redis db would refer to other databases
    with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False, loglevel="WARNING",
                      shutdown_timeout=30):
        yield app
    app.conf.task_always_eager = before


def wait_for(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_recording_an_infusion_schedules_visits_on_the_worker_after_commit(worker, patient_sz, coordinator):
    infuse(patient_sz, coordinator)
    assert wait_for(lambda: Visit.objects.filter(patient=patient_sz).count() == 16)
    # Queued again (a duplicate delivery): still each visit once, one creation record each.
    worker.tasks["visits.tasks.visits_schedule"].delay(patient_sz.pk).get(timeout=30)
    assert Visit.objects.filter(patient=patient_sz).count() == 16
    assert Visit.history.filter(patient_id=patient_sz.pk, history_type="+").count() == 16


def test_a_failure_half_way_is_retried_and_creates_every_visit_exactly_once(worker, patient_sz, coordinator,
                                                                            monkeypatch):
    from visits import services

    real = services.visits_update_status
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:  # the visits are inserted, then the database goes away
            raise OperationalError("server closed the connection unexpectedly")
        return real(**kwargs)

    monkeypatch.setattr(services, "visits_update_status", flaky)
    infuse(patient_sz, coordinator)
    assert wait_for(lambda: len(calls) >= 2 and Visit.objects.filter(patient=patient_sz).count() == 16)
    time.sleep(0.5)
    assert Visit.objects.filter(patient=patient_sz).count() == 16
    assert Visit.history.filter(patient_id=patient_sz.pk, history_type="+").count() == 16


def test_correcting_the_infusion_date_retargets_on_the_worker(worker, patient_sz, coordinator):
    import datetime

    infuse(patient_sz, coordinator)
    assert wait_for(lambda: Visit.objects.filter(patient=patient_sz).count() == 16)
    # 8 February: still on the protocol's schedule (the last lymphodepletion dose, 3 February, on day −5).
    infuse(patient_sz, coordinator, on=datetime.date(2026, 2, 8), reason="Wrong date transcribed")
    assert wait_for(lambda: Visit.objects.get(patient=patient_sz, definition__code="D1").target_date
                    == datetime.date(2026, 2, 9))
    assert Visit.objects.filter(patient=patient_sz).count() == 16
