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


@pytest.mark.parametrize(("dataset", "required", "expected"), [
    # SDTMIG 3.4 section 6.3.5.9.1 (PC) and 6.3.5.9.2 (PP)
    (md.PC, {"STUDYID", "DOMAIN", "USUBJID", "PCSEQ", "PCTESTCD", "PCTEST"},
     {"PCORRES", "PCORRESU", "PCSTRESC", "PCSTRESN", "PCSTRESU", "PCNAM", "PCSPEC", "PCLLOQ", "VISITNUM", "PCDTC"}),
    (md.PP, {"STUDYID", "DOMAIN", "USUBJID", "PPSEQ", "PPTESTCD", "PPTEST"},
     {"PPCAT", "PPORRES", "PPORRESU", "PPSTRESC", "PPSTRESN", "PPSTRESU", "PPSPEC", "PPRFTDTC"}),
])
def test_pc_and_pp_have_the_required_and_expected_variables_of_sdtmig_3_4(dataset, required, expected):
    core = {v.name: v.core for v in dataset.variables}
    assert {name: core.get(name) for name in required | expected} == (
        {name: "Req" for name in required} | {name: "Exp" for name in expected})


def test_the_lb_pc_and_pp_test_codes_are_the_shipped_codelists():
    """Every test code the mappings write is a term of the shipped codelist, paired with its name at the same place
    (LBTESTCD WBC ↔ LBTEST Leukocytes …), and the PP codes are CDISC's PKPARMCD terms, not sponsor ones."""
    from tests.submission.conformance import CODELISTS

    for dataset, codes, names in ((md.LB, "LBTESTCD", "LBTEST"), (md.PC, "PCTESTCD", "PCTEST"),
                                  (md.PP, "PKPARMCD", "PKPARM")):
        pairs = dict(zip(CODELISTS[codes]["terms"], CODELISTS[names]["terms"], strict=True))
        assert {code: pairs.get(code) for code in dataset.tests} == dataset.tests, dataset.name
    assert CODELISTS["PKPARMCD"]["source"] == "CDISC" and not CODELISTS["PKPARMCD"].get("extended")
    from submission.sdtm import LB_ANALYTES, PC_ANALYTES

    assert {code for code, *_rest in LB_ANALYTES.values()} | {"MRDFLOW"} == set(md.LB_TESTS)
    assert {code for code, _method in PC_ANALYTES.values()} == set(md.PC_TESTS)
    # Every unit a site may report an analyte in is a term of the codelist its domain uses.
    from laboratory.rules import ANALYTES
    from submission.sdtm import UNIT_TERM

    for analytes, codelist in ((LB_ANALYTES, "UNIT"), (PC_ANALYTES, "PKUNIT")):
        units = {UNIT_TERM[unit] for analyte in analytes for unit in ANALYTES[analyte].units}
        assert units - set(CODELISTS[codelist]["terms"]) == set(), codelist


def test_a_broken_kinetics_row_is_named():
    """A wrong PPTEST for its code, a duration that is no ISO 8601 duration, a unit outside PKUNIT: each named."""
    row = {v.name: ("" if v.is_character else None) for v in md.PP.variables} | {
        "STUDYID": "S", "DOMAIN": "PP", "USUBJID": "S-1", "PPSEQ": 1, "PPTESTCD": "CMAX", "PPTEST": "Maximum",
        "PPENINT": "28 days", "PPSTRESU": "copies/mL"}
    assert table_problems({"PP": [row]}, subjects={"S-1"}) == [
        "PP.PPTEST: 'Maximum' not in codelist PKPARM", "PP.PPSTRESU: 'copies/mL' not in codelist PKUNIT",
        "PP.PPENINT: not an ISO 8601 duration: '28 days'",
        "PP: PPTEST 'Maximum' is not the name of CMAX"]


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
