"""The datasets as SAS XPORT v5 files, read back with pyreadstat: names, labels, lengths and values survive.
Breaking the writer (the v8 format, lost labels, numbers written as text) fails here."""
import datetime

import pyreadstat
import pytest

from submission import metadata as md
from submission.package import csv_copy, dataframe, measures, xpt_bytes
from submission.services import package_tables
from tests.submission.conftest import all_patients

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 30)


def read_back(tmp_path, dataset, rows):
    path = tmp_path / dataset.filename
    path.write_bytes(xpt_bytes(dataset, rows))
    return pyreadstat.read_xport(str(path))


def test_ex_and_dm_read_back(tmp_path, full_patient, second_patient):
    tables = package_tables(standard="sdtm", patients=all_patients(), cutoff=TODAY)
    ex, meta = read_back(tmp_path, md.EX, tables["EX"])
    assert meta.table_name == "EX" and meta.file_label == "Exposure"
    assert list(ex.columns) == md.EX.names
    assert meta.column_names_to_labels["EXDOSE"] == "Dose"
    assert meta.column_names_to_labels["EXSTDY"] == "Study Day of Start of Treatment"
    full = ex[ex["USUBJID"] == f"CD19-CART-BALL-{full_patient.patient.study_id}"]
    fludarabine = full[full["EXTRT"] == "FLUDARABINE"]
    assert fludarabine["EXDOSE"].tolist() == [52.0, 52.0, 52.0]
    assert fludarabine["EXSTDY"].tolist() == [1.0, 2.0, 3.0]
    assert full[full["EXTRT"] == "CD19 CAR-T CELLS"]["EXSTDTC"].tolist() == ["2026-02-06"]
    # Character lengths are the longest value's (USUBJID "CD19-CART-BALL-SZ-001" is 21), in the file and in what
    # define.xml states.
    stated = measures(md.EX, dataframe(md.EX, tables["EX"])).by_variable["USUBJID"].length
    assert meta.variable_storage_width["USUBJID"] == stated == 21

    dm, meta = read_back(tmp_path, md.DM, tables["DM"])
    assert sorted(dm["RFSTDTC"]) == ["2026-02-01", "2026-02-25"]
    assert sorted(dm["AGE"].tolist()) == [35.0, 35.0]


def test_an_empty_dataset_is_still_a_valid_file(tmp_path):
    """A trial without any protocol deviation still ships dv.xpt, with its variables."""
    frame, meta = read_back(tmp_path, md.DV, [])
    assert list(frame.columns) == md.DV.names and len(frame) == 0


def test_csv_copy_has_the_same_columns_and_iso_dates(full_patient):
    tables = package_tables(standard="sdtm", patients=all_patients(), cutoff=TODAY)
    lines = csv_copy(md.EX, tables["EX"]).splitlines()
    assert lines[0] == ",".join(f'"{name}"' for name in md.EX.names)
    assert ('"FLUDARABINE","LYMPHODEPLETION","52","mg","INJECTION","INTRAVENOUS","TREATMENT","2026-02-01",'
            '"2026-02-01","1","1","DAY -5"') in lines[2]
