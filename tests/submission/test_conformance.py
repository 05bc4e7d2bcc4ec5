"""The packages conform: metadata within the SAS v5 and SDTMIG limits, and the rows of real patients within
the metadata (required values, lengths, ISO 8601 dates, codelists, unique --SEQ, no orphan subject).
Breaking a mapping so that it writes an unknown code, a long label or a duplicate --SEQ fails here by name."""
import datetime

import pytest

from submission import metadata as md
from submission.services import package_tables
from tests.submission.conformance import metadata_problems, table_problems
from tests.submission.conftest import all_patients

TODAY = datetime.date(2026, 11, 30)


def test_metadata_names_labels_codelists_and_methods():
    assert metadata_problems(md.SDTM_DATASETS + md.ADAM_DATASETS) == []


def test_lb_has_the_required_and_expected_variables_of_sdtmig_3_4():
    """LB's Req and Exp variables (SDTMIG 3.4 section 6.3.5.6), with their core: dropping one, or marking an
    Expected one Permissible, fails here."""
    core = {v.name: v.core for v in md.LB.variables}
    required = {"STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST"}
    expected = {"LBCAT", "LBORRES", "LBORRESU", "LBORNRLO", "LBORNRHI", "LBSTRESC", "LBSTRESN", "LBSTRESU",
                "LBSTNRLO", "LBSTNRHI", "LBNRIND", "LBLOBXFL", "VISITNUM", "LBDTC"}
    assert {name: core.get(name) for name in required | expected} == (
        {name: "Req" for name in required} | {name: "Exp" for name in expected})


@pytest.mark.django_db
def test_sdtm_rows_conform(full_patient, second_patient, screen_failure):
    tables = package_tables(standard="sdtm", patients=all_patients(), cutoff=TODAY)
    subjects = {row["USUBJID"] for row in tables["DM"]}
    assert table_problems(tables, subjects=subjects) == []
    # Every subject appears in DS, every treated one in EX.
    assert {row["USUBJID"] for row in tables["DS"]} == subjects
    assert len({row["USUBJID"] for row in tables["EX"]}) == 2


@pytest.mark.django_db
def test_adam_rows_conform(full_patient, second_patient, screen_failure):
    """ADSL has the enrolled subjects of DM (not the screen failure); the ADAE row of the serious CRS."""
    tables = package_tables(standard="adam", patients=all_patients(), cutoff=TODAY)
    subjects = {row["USUBJID"] for row in tables["ADSL"]}
    assert table_problems(tables, subjects=subjects) == []
    assert sorted(row["SUBJID"] for row in tables["ADSL"]) == sorted(
        [full_patient.patient.study_id, second_patient.study_id])
    full = next(row for row in tables["ADAE"] if row["USUBJID"].endswith(full_patient.patient.study_id))
    assert (full["ATOXGRN"], full["ASTCTGR"], full["ASTDY"], full["TRTEMFL"], full["RELFL"]) == (3, 1, 2, "Y", "Y")
