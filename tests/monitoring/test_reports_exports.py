import csv
import io
import pathlib
import zipfile
from decimal import Decimal

import pytest
from lxml import etree
from pypdf import PdfReader

from crf.services import crf_save
from monitoring.models import ExportJob, ExportRecord
from monitoring.services import crf_sign, crf_verify, query_raise
from monitoring.tasks import export_job_start
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ODM_SCHEMA = pathlib.Path(__file__).parent.parent / "data" / "odm-1.3.2" / "ODM1-3-2.xsd"


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture
def reviewed_form(sample_form, visit, coordinator, monitor, investigator):
    """At visit D28: corrected once (62.5 → 64.0 kg), verified, signed, with one open query."""
    investigator.first_name, investigator.last_name = "Li", "Wei"
    investigator.save()
    sample_form.visit = visit
    sample_form.weight_kg = Decimal("64.0")
    crf_save(crf=sample_form, by=coordinator, reason="Weight from nursing chart")
    crf_verify(crf=sample_form, by=monitor)
    crf_sign(crf=sample_form, by=investigator, password=PASSWORD)
    query_raise(crf=sample_form, field="performance_status", text="ECOG 2 in clinic letter?", by=monitor)
    return sample_form


def test_visit_report_pdf_has_values_signature_queries_audit_and_page_numbers(client, reviewed_form, monitor,
                                                                               visit):
    client.force_login(monitor)
    response = client.get(f"/monitoring/visits/{visit.pk}/report.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "Subject SZ-" in text and f"Visit: {visit.definition.code}" in text
    assert "64.0" in text and "ECOG 1 — restricted in strenuous activity" in text
    assert "Signed by Li Wei" in text and "Reviewed and approved" in text
    assert "ECOG 2 in clinic letter?" in text
    assert "Weight from nursing chart" in text and "62.5" in text  # the audit row: old value and reason
    assert "Source-data verified" in text  # verified after the correction, so the mark stands
    pages = len(PdfReader(io.BytesIO(response.content)).pages)
    assert f"Page 1 of {pages}" in text
    assert ExportRecord.objects.get().kind == "visit_report"


def test_casebook_of_another_sites_patient_is_404(client, reviewed_form, coordinator_wx):
    client.force_login(coordinator_wx)
    assert client.get(f"/monitoring/patients/{reviewed_form.patient.study_id}/casebook.pdf").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_batch_casebooks_without_a_broker_run_in_a_thread_and_build_a_zip_once(
        reviewed_form, data_manager, django_capture_on_commit_callbacks, celery_eager, settings):
    import threading

    settings.CASEBOOK_BATCH_IN_THREAD = True  # as in production without REDIS_URL

    with django_capture_on_commit_callbacks(execute=True):
        job = export_job_start(by=data_manager, patients=[reviewed_form.patient])
    # Without Redis the request does not wait for the PDFs: a background thread writes them.
    [thread] = [t for t in threading.enumerate() if t.name == f"casebook-batch-{job.pk}"]
    thread.join(timeout=300)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    assert (job.done_count, job.total_count, job.percent_done) == (1, 1, 100)
    with zipfile.ZipFile(job.file.open("rb")) as archive:
        [name] = archive.namelist()
        assert name == f"casebook-{reviewed_form.patient.study_id}.pdf"
        assert "Signed by Li Wei" in _pdf_text(archive.read(name))
    from monitoring.tasks import export_job_run

    first_file = job.file.name
    export_job_run(job.pk)  # a redelivered task does not rebuild
    job.refresh_from_db()
    assert job.file.name == first_file


def test_odm_export_validates_against_the_odm_1_3_2_schema(api_client, reviewed_form, data_manager):
    api_client.force_authenticate(data_manager)
    response = api_client.get("/api/v1/export/odm/")
    assert response.status_code == 200
    assert response.streaming  # written as it is read, never whole in memory
    document = etree.fromstring(b"".join(response.streaming_content))
    schema = etree.XMLSchema(etree.parse(str(ODM_SCHEMA)))
    assert schema.validate(document), schema.error_log
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    weights = document.xpath("//odm:ItemData[@ItemOID='I.SAMPLE_FORM.WEIGHT_KG']", namespaces=ns)
    assert [(w.get("Value"), w.get("TransactionType")) for w in weights] == [("62.5", "Insert"), ("64.0", "Update")]
    reason = weights[1].find("odm:AuditRecord/odm:ReasonForChange", ns).text
    assert reason == "Weight from nursing chart"
    decodes = document.xpath("//odm:CodeList[@OID='CL.SAMPLE_FORM.PERFORMANCE_STATUS']/odm:CodeListItem/@CodedValue",
                             namespaces=ns)
    assert decodes == ["0", "1", "2"]
    assert ExportRecord.objects.filter(kind="odm", user=data_manager).count() == 1


def test_odm_export_is_for_data_managers_only(api_client, reviewed_form, monitor):
    api_client.force_authenticate(monitor)
    assert api_client.get("/api/v1/export/odm/").status_code == 403


def test_form_csv_has_coded_values_and_the_dictionary_decodes_them(client, reviewed_form, data_manager):
    client.force_login(data_manager)
    response = client.get("/monitoring/exports/forms/sample_form.csv")
    assert response.streaming  # written as it is read
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 1
    assert (rows[0]["subject_id"], rows[0]["weight_kg"], rows[0]["performance_status"], rows[0]["status"]) == (
        reviewed_form.patient.study_id, "64.0", "1", "signed")
    dictionary = list(csv.DictReader(io.StringIO(client.get("/monitoring/exports/data-dictionary.csv")
                                                 .content.decode())))
    ecog = next(row for row in dictionary if row["field"] == "performance_status")
    assert "1=ECOG 1 — restricted in strenuous activity" in ecog["codes"]
    assert set(ExportRecord.objects.values_list("kind", flat=True)) == {"form_csv", "data_dictionary"}
    client.force_login(reviewed_form.created_by)  # a coordinator
    assert client.get("/monitoring/exports/forms/sample_form.csv").status_code == 403
