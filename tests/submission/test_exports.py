"""The packages as exports: the API's ZIPs (data managers only, recorded, a bad cut-off a 400), the data
manager's page that builds a package in the background with its progress and download, and the command."""
import datetime
import io
import zipfile

import pyreadstat
import pytest
from django.core.management import call_command
from django.utils import timezone

from monitoring.models import ExportRecord
from submission.models import SubmissionPackage

pytestmark = pytest.mark.django_db


def test_api_sdtm_zip_for_a_data_manager(api_client, data_manager, full_patient, tmp_path):
    api_client.force_authenticate(data_manager)
    answer = api_client.get("/api/v1/export/sdtm.zip?cutoff=2026-11-30")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/zip"
    assert answer["Content-Disposition"] == 'attachment; filename="sdtm-2026-11-30.zip"'
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert {"dm.xpt", "dm.csv", "ex.xpt", "suppae.xpt", "dv.xpt", "define.xml"} <= set(archive.namelist())
    (tmp_path / "ae.xpt").write_bytes(archive.read("ae.xpt"))
    ae, meta = pyreadstat.read_xport(str(tmp_path / "ae.xpt"))
    assert (meta.table_name, ae["AETERM"].tolist(), ae["AESTDY"].tolist()) == (
        "AE", ["Cytokine release syndrome"], [8.0])
    record = ExportRecord.objects.get(kind="sdtm_package")
    assert (record.user, record.description) == (data_manager, "SDTM package, data cut-off 2026-11-30")


def test_api_adam_zip_and_its_refusals(api_client, data_manager, coordinator, monitor, full_patient):
    api_client.force_authenticate(data_manager)
    answer = api_client.get("/api/v1/export/adam.zip")
    assert answer.status_code == 200
    assert "adtte.xpt" in zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    for bad in ("2026-13-01", tomorrow.isoformat()):
        refused = api_client.get(f"/api/v1/export/adam.zip?cutoff={bad}")
        assert refused.status_code == 400 and "cutoff" in refused.json()
    for user in (coordinator, monitor):
        api_client.force_authenticate(user)
        assert api_client.get("/api/v1/export/sdtm.zip").status_code == 403
    assert ExportRecord.objects.filter(kind="adam_package").count() == 1  # refusals record nothing


def test_page_builds_a_package_in_the_background(client, data_manager, full_patient, celery_eager,
                                                 django_capture_on_commit_callbacks):
    """Posting the form records the export and queues the build (run here in-process after the commit);
    the package page shows every step done and the download holds the ADaM datasets."""
    client.force_login(data_manager)
    assert client.get("/submission/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/submission/", {"standard": "adam", "cutoff": "2026-11-30"})
    package = SubmissionPackage.objects.get(requested_by=data_manager)
    assert answer.status_code == 302 and answer["Location"] == f"/submission/packages/{package.pk}/"
    assert (package.status, package.done_steps, package.total_steps) == ("done", 6, 6)  # reading, 5 datasets
    page = client.get(answer["Location"]).content.decode()
    assert "6 of 6 steps" in page and f"/submission/packages/{package.pk}/download/" in page
    download = client.get(f"/submission/packages/{package.pk}/download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert {"adsl.xpt", "adpp.xpt", "define.xml"} <= set(archive.namelist())
    assert ExportRecord.objects.filter(kind="adam_package", user=data_manager).exists()
    # A run again (a retried task) changes nothing.
    from submission.services import submission_package_run

    submission_package_run(package_id=package.pk)
    package.refresh_from_db()
    assert package.status == "done"


def test_page_refuses_a_future_cutoff_and_non_data_managers(client, data_manager, monitor):
    client.force_login(data_manager)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    answer = client.post("/submission/", {"standard": "sdtm", "cutoff": tomorrow})
    assert answer.status_code == 400 and "cannot be after today" in answer.content.decode()
    assert not SubmissionPackage.objects.exists()
    client.force_login(monitor)
    assert client.get("/submission/").status_code == 403
    assert client.post("/submission/", {"standard": "sdtm", "cutoff": "2026-11-30"}).status_code == 403


def test_command_writes_the_package(tmp_path, full_patient, data_manager):
    output = tmp_path / "sdtm.zip"
    call_command("export_submission", "sdtm", "--cutoff", "2026-11-30", "--output", str(output),
                 "--user", data_manager.username, stdout=io.StringIO())
    assert "dm.xpt" in zipfile.ZipFile(output).namelist()
    assert ExportRecord.objects.filter(kind="sdtm_package", user=data_manager).exists()
