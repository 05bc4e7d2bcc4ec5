"""The data manager's page in the browser: build an ADaM package (the task run in-process after the request
commits: celery_eager), see it ready with every step done, and download the ZIP."""
import io
import pathlib
import zipfile

import pytest

from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_data_manager_builds_and_downloads_a_package(page, login, second_patient, data_manager, celery_eager):
    login(data_manager.username)
    page.goto("/monitoring/exports/")
    page.click("text=Submission datasets: CDISC SDTM and ADaM")
    page.select_option("select[name=standard]", "adam")
    page.fill("input[name=cutoff]", "2026-11-30")
    screenshot(page, "submission-index")
    page.click("button:has-text('Build the package')")
    page.get_by_test_id("package-status").filter(has_text="Ready").wait_for(timeout=60_000)
    assert "6 of 6 steps" in page.get_by_test_id("package-progress").inner_text()
    screenshot(page, "submission-package-ready")
    with page.expect_download() as download:
        page.click("text=Download adam-2026-11-30.zip")
    archive = zipfile.ZipFile(io.BytesIO(pathlib.Path(download.value.path()).read_bytes()))
    assert {"adsl.xpt", "adtte.xpt", "adpp.xpt", "define.xml"} <= set(archive.namelist())
