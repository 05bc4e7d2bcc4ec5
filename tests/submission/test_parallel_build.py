"""The packages are mapped and written in worker processes (submission.package.build_datasets): the files must be
those of the one-process build, a failure in a worker must fail the package, and a real Celery worker (a prefork
pool process, which the standard library forbids to have children) must be able to build one."""
import datetime
import io
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from submission import sdtm
from submission.models import SubmissionPackage
from submission.services import package_zip, submission_package_create, submission_package_run
from submission.tasks import submission_package_run as submission_package_run_task
from tests.submission.conftest import all_patients

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 30)
ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# The XPT headers and define.xml carry the time they were written; nothing else may differ.
XPT_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
DEFINE_STAMP = re.compile(rb'CreationDateTime="[^"]*"')


def _members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: XPT_STAMP.sub(b"", DEFINE_STAMP.sub(b"", archive.read(name))) for name in archive.namelist()}


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_the_parallel_build_writes_what_the_one_process_build_writes(standard, full_patient, second_patient,
                                                                     screen_failure):
    serial = _members(package_zip(standard=standard, patients=all_patients(), cutoff=TODAY, processes=1))
    parallel = _members(package_zip(standard=standard, patients=all_patients(), cutoff=TODAY, processes=2))
    assert serial.keys() == parallel.keys()
    assert [name for name in serial if serial[name] != parallel[name]] == []
    if standard == "sdtm":
        assert {"lb.xpt", "fa.xpt", "ae.xpt", "suppae.csv", "ts.xpt", "define.xml"} <= serial.keys()
        assert b'"CD19-CART-BALL-' in serial["ex.csv"] and serial["ex.csv"].count(b"\n") == 1 + 2 * 7


def test_a_dataset_that_fails_in_a_worker_fails_the_package(monkeypatch, full_patient, data_manager):
    """The worker's error reaches the build (and the package records it); no half package is written."""
    def broken(study, subject):
        raise RuntimeError("LB mapping broke")

    _rows_of, seq, date = sdtm.SUBJECT_DOMAINS["LB"]
    monkeypatch.setitem(sdtm.SUBJECT_DOMAINS, "LB", (broken, seq, date))  # inherited by the forked workers
    with pytest.raises(RuntimeError, match="LB mapping broke"):
        package_zip(standard="sdtm", patients=all_patients(), cutoff=TODAY, processes=2)
    package = submission_package_create(by=data_manager, standard="sdtm", cutoff=TODAY)
    with pytest.raises(RuntimeError):
        submission_package_run(package_id=package.pk)
    package.refresh_from_db()
    assert package.status == SubmissionPackage.Status.FAILED and "LB mapping broke" in package.error
    assert not package.file


def _start_prefork_worker(log: Path, media: Path) -> subprocess.Popen:
    settings_dict = connection.settings_dict
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="config.settings_test", MEDIA_ROOT=str(media),
               SUBMISSION_PROCESSES="2",
               DATABASE_URL=f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:"
                            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}")
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=1",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.celery_worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not (ON_POSTGRES and os.environ.get("REDIS_URL")),
                    reason="needs PostgreSQL and Redis: a real worker")
def test_a_prefork_celery_worker_builds_the_package_in_its_worker_processes(screen_failure, data_manager, tmp_path):
    from config.celery import app

    app.control.purge()
    package = submission_package_create(by=data_manager, standard="sdtm", cutoff=TODAY)
    log = tmp_path / "worker.log"
    worker = _start_prefork_worker(log, tmp_path / "media")
    try:
        app.conf.task_always_eager = False  # this module's fixtures run tasks in-process: this one goes to Redis
        submission_package_run_task.delay(package.pk)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            package.refresh_from_db()
            if package.status in (SubmissionPackage.Status.DONE, SubmissionPackage.Status.FAILED):
                break
            time.sleep(0.3)
        assert (package.status, package.error) == (SubmissionPackage.Status.DONE, ""), log.read_text()[-3000:]
        assert package.done_steps == package.total_steps == 19
        with zipfile.ZipFile(tmp_path / "media" / package.file.name) as archive:
            assert {"dm.xpt", "lb.xpt", "fa.csv", "define.xml"} <= set(archive.namelist())
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        with connection.cursor() as cursor:  # no session of the worker may outlive the test's database
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid()")
