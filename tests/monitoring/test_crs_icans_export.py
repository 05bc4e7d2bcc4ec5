"""The long CSV of CRS and ICANS assessments: one row per assessment of either syndrome with the subject, the
study day, the date, the grade (what set it, the rule applied) and every ASTCT input of its form, written by the
one CSV writer, listed on the exports page and decoded by the data dictionary."""
import csv
import datetime
import io
from decimal import Decimal

import pytest

from crf.models import crf_model
from monitoring.exports import ASSESSMENT_KEY_COLUMNS, export_fields
from safety.models import CrsAssessment
from safety.services import crs_assessment_save

pytestmark = pytest.mark.django_db

URL = "/monitoring/exports/records/crs-icans.csv"


def _rows(client) -> list[dict]:
    answer = client.get(URL)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))


def test_each_assessment_is_a_row_with_its_grade_and_its_own_inputs(client, data_manager, coordinator, full_patient):
    """A CSV that drops a syndrome, mixes one form's inputs into the other's row, computes the study day from
    another date or loses the grade's driver fails here."""
    patient = full_patient.patient
    day_0 = patient.infusion_date
    severe = crs_assessment_save(assessment=CrsAssessment(
        patient=patient, assessment_date=day_0 + datetime.timedelta(days=3), max_temperature_c=Decimal("39.4"),
        hypotension="one_vasopressor", hypoxia="low_flow", tocilizumab_dose_mg=Decimal("400"),
        tocilizumab_given_on=day_0 + datetime.timedelta(days=3)), by=coordinator)
    client.force_login(data_manager)
    rows = _rows(client)
    assert [(r["subject_id"], r["syndrome"], r["study_day"], r["assessment_date"]) for r in rows] == [
        (patient.study_id, "CRS", "2", "2026-02-08"),
        (patient.study_id, "CRS", "3", "2026-02-09"),
        (patient.study_id, "ICANS", "5", "2026-02-11"),
    ]
    mild, severe_row, icans = rows
    crs = full_patient.crfs["safety.crsassessment"]
    crs.refresh_from_db()
    assert (mild["form"], mild["form_id"], mild["grade"], mild["max_temperature_c"]) == (
        "crs_assessment", str(crs.pk), "1", "38.6")
    assert mild["grading_driver"] == crs.grading_driver and mild["grading_driver"]
    assert mild["status"] == "signed"
    assert (severe_row["form_id"], severe_row["grade"], severe_row["hypotension"], severe_row["hypoxia"],
            severe_row["tocilizumab_dose_mg"]) == (str(severe.pk), "3", "one_vasopressor", "low_flow", "400.0")
    assert severe_row["grading_rule"] == severe.grading_rule and severe_row["grading_rule"]
    # Each row carries its own form's inputs; the other syndrome's are empty.
    assert (icans["form"], icans["ice_score"], icans["ice_orientation"], icans["ice_attention"], icans["grade"]) == (
        "icans_assessment", "9", "4", "0", "1")
    assert icans["status"] == "locked"
    assert icans["max_temperature_c"] == "" and icans["hypotension"] == ""
    assert mild["ice_score"] == "" and mild["consciousness"] == ""


def test_every_field_of_both_forms_is_a_column(client, data_manager, full_patient):
    """Walks the models: a field the CRS or ICANS form gains and this CSV does not carry fails here."""
    client.force_login(data_manager)
    header = next(csv.reader(io.StringIO(b"".join(client.get(URL).streaming_content).decode())))
    assert header[:len(ASSESSMENT_KEY_COLUMNS)] == ASSESSMENT_KEY_COLUMNS
    assert header[len(ASSESSMENT_KEY_COLUMNS):][:4] == ["assessment_date", "grade", "grading_driver", "grading_rule"]
    for code in ("crs_assessment", "icans_assessment"):
        for model_field in export_fields(crf_model(code)):
            assert model_field.name in header, (code, model_field.name)
    assert len(header) == len(set(header))


def test_the_export_is_listed_recorded_and_decoded(client, data_manager, full_patient):
    """The exports page links it, the download is in the export log, and the data dictionary explains every
    column (for a shared column such as the grade, once per syndrome)."""
    from monitoring.models import ExportRecord

    client.force_login(data_manager)
    page = client.get("/monitoring/exports/").content.decode()
    assert URL in page and "CRS and ICANS assessments with their grades" in page
    header = _rows(client)[0].keys()
    assert ExportRecord.objects.filter(user=data_manager, kind="crs-icans_csv").exists()
    answer = client.get("/monitoring/exports/data-dictionary.csv")
    dictionary = [row for row in csv.DictReader(io.StringIO(answer.content.decode()))
                  if row["form"] == "records/crs-icans"]
    assert {row["field"] for row in dictionary} == set(header)
    grades = {row["form_label"]: row["label"] for row in dictionary if row["field"] == "grade"}
    assert grades == {"CRS and ICANS assessments: CRS rows": "ASTCT CRS grade",
                      "CRS and ICANS assessments: ICANS rows": "ASTCT ICANS grade"}
    hypotension = next(row for row in dictionary if row["field"] == "hypotension")
    assert "one_vasopressor=" in hypotension["codes"]
    study_day = next(row for row in dictionary if row["field"] == "study_day")
    assert "day 0" in study_day["help_text"]


def test_a_coordinator_may_not_download_it(client, coordinator, full_patient):
    """Exports are for data managers: a coordinator is refused and nothing is recorded."""
    from monitoring.models import ExportRecord

    client.force_login(coordinator)
    assert client.get(URL).status_code == 403
    assert not ExportRecord.objects.filter(kind="crs-icans_csv").exists()
