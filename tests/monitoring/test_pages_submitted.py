"""The data manager's lock page and batch-export page, submitted as they render."""
import zipfile

import pytest

from monitoring.models import DataLock, ExportJob, LockScope
from tests.pages import submit

pytestmark = pytest.mark.django_db


def test_lock_page_locks_the_whole_trial_and_unlocks_it(client, data_manager, monitor, full_patient):
    """A lock form whose field the view does not read (or a view that locks nothing) leaves no trial lock here;
    a lock over an open query is refused with the reason on the page; an unlock form without the lock's id
    leaves it in place."""
    from monitoring.services import query_close

    client.force_login(data_manager)
    refused = submit(client, "/monitoring/locks/", button="Lock the whole trial", reason="Database lock")
    assert refused.status_code == 302
    assert "1 open query must be closed before locking." in client.get(refused["Location"]).content.decode()
    assert not DataLock.objects.filter(scope=LockScope.TRIAL).exists()
    query_close(query=full_patient.query, by=monitor, text="Weight confirmed")

    answer = submit(client, "/monitoring/locks/", button="Lock the whole trial", reason="Database lock for analysis")
    assert answer.status_code == 302 and answer["Location"] == "/monitoring/locks/"
    lock = DataLock.objects.get(scope=LockScope.TRIAL, unlocked_at__isnull=True)
    assert (lock.reason, lock.locked_by) == ("Database lock for analysis", data_manager)
    page = client.get("/monitoring/locks/").content.decode()
    assert "Database lock for analysis" in page and "Lock the whole trial" not in page

    answer = submit(client, "/monitoring/locks/", button="Unlock", where={"lock": str(lock.pk)},
                    reason="Query found after the lock")
    assert answer.status_code == 302
    lock.refresh_from_db()
    assert lock.unlocked_at is not None and lock.unlocked_by == data_manager
    assert not DataLock.objects.filter(scope=LockScope.TRIAL, unlocked_at__isnull=True).exists()


def test_batch_export_page_builds_the_named_patients_casebooks(client, data_manager, full_patient, celery_eager,
                                                               django_capture_on_commit_callbacks):
    """A batch form whose subject IDs the view ignores would zip every patient; one that drops the job's task
    leaves it queued: both fail here."""
    from tests.factories import PatientFactory

    other = PatientFactory(site=full_patient.patient.site)  # at the same site, not asked for
    client.force_login(data_manager)
    study_id = full_patient.patient.study_id
    with django_capture_on_commit_callbacks(execute=True):
        answer = submit(client, "/monitoring/exports/", button="Generate casebooks", site="SZ", study_ids=study_id)
    job = ExportJob.objects.exclude(pk=full_patient.export_job.pk).get()
    assert answer.status_code == 302 and answer["Location"] == f"/monitoring/exports/jobs/{job.pk}/"
    assert (job.status, job.requested_by) == (ExportJob.Status.DONE, data_manager)
    assert list(job.patients.all()) == [full_patient.patient]
    with zipfile.ZipFile(job.file.open("rb")) as archive:
        assert archive.namelist() == [f"casebook-{study_id}.pdf"]
    assert other.study_id not in client.get(answer["Location"]).content.decode()
