"""The controlled terminology shipped in submission/data/codelists.json: every CDISC codelist and term carries its
NCI C-code, read from a published CT file named in the file, or is a sponsor extension of an extensible codelist.
The codes not read yet are listed here by name, so that a new term without its code, or an extension of a
non-extensible codelist, fails."""
import copy
import json

from submission import terminology
from tests.submission.conformance import codelist_problems

# The CDISC codelists and terms whose C-codes were not found in a published CT file (SDTM-only codelists, which
# the SEND file does not hold): docs/cdisc.md lists them, to settle against the SDTM CT file before a submission.
UNCHECKED_CODELISTS: frozenset[str] = frozenset()  # every CDISC codelist has its code by now
UNCHECKED_TERMS = frozenset({
    ("DOMAIN", "PP"), ("SEX", "U"),
    *(("ARMNULRS", t) for t in ("ASSIGNED, NOT TREATED", "NOT ASSIGNED", "UNPLANNED TREATMENT")),
    ("PROTMLST", "ELIGIBILITY CRITERIA MET"), ("SPECTYPE", "BONE MARROW"), ("METHOD", "FLOW CYTOMETRY"),
    *(("MOOD", t) for t in ("SCHEDULED", "PERFORMED")),
    ("RSTESTCD", "OVRLRESP"), ("RSTEST", "Overall Response"),
})


def raw_codelists() -> dict:
    return json.loads(terminology.CODELISTS_FILE.read_text())["codelists"]


def test_every_cdisc_codelist_and_term_has_its_nci_code_or_is_a_sponsor_extension():
    assert codelist_problems(raw_codelists(), unchecked_codelists=UNCHECKED_CODELISTS,
                             unchecked_terms=UNCHECKED_TERMS) == []
    # The unchecked lists hold nothing that has a code by now: settling one means removing it here.
    codelists = terminology.codelists()
    assert {key for key in UNCHECKED_CODELISTS if codelists[key]["nci_code"]} == set()
    assert {(key, term) for key, term in UNCHECKED_TERMS if codelists[key]["terms"][term]} == set()


def test_a_term_outside_the_ct_or_a_wrong_extension_fails():
    codelists = copy.deepcopy(raw_codelists())
    codelists["SEX"]["terms"]["X"] = None  # a term CDISC does not have, not marked extended
    codelists["NY"]["terms"]["MAYBE"] = None
    codelists["NY"]["extended"] = ["MAYBE"]  # NY is not extensible
    codelists["UNIT"]["nci_code"] = None
    codelists["UNIT"]["extended"] = ["mg"]  # a CDISC term with its code marked extended
    codelists["AGEU"]["terms"]["YEARS"] = "29848"
    assert codelist_problems(codelists, unchecked_codelists=UNCHECKED_CODELISTS,
                             unchecked_terms=UNCHECKED_TERMS) == [
        "NY: terms added to a non-extensible codelist: ['MAYBE']",
        "SEX: 'X' is no term of the recorded CT and not marked extended",
        "AGEU: 'YEARS' has '29848', no NCI C-code",
        "UNIT: a CDISC codelist without its NCI C-code",
        "UNIT: 'mg' is marked extended and has the NCI code C28253"]


def test_codes_and_names_share_their_concept():
    """A test code and its name are one NCI concept: LBTESTCD WBC and LBTEST Leukocytes are both C51948."""
    codelists = terminology.codelists()
    for codes, names in (("LBTESTCD", "LBTEST"), ("PKPARMCD", "PKPARM"), ("TSPARMCD", "TSPARM")):
        assert list(codelists[codes]["terms"].values()) == list(codelists[names]["terms"].values()), codes


def test_the_release_and_where_it_was_read_are_recorded():
    document = json.loads(terminology.CODELISTS_FILE.read_text())
    assert terminology.standard() == {"name": "CDISC/NCI", "publishing_set": "SDTM", "version": "2025-09-26"}
    sources = set(document["checked_against"])
    assert {source for codelist in document["codelists"].values() for source in codelist.get("checked", ())} <= sources
    assert "transcribed by hand" not in document["_about"]
    dsdecod = terminology.codelists()["DSDECOD"]
    assert list(dsdecod["terms"]) == ["INFORMED CONSENT OBTAINED", "ELIGIBILITY CRITERIA MET", "SCREEN FAILURE",
                                      "COMPLETED", "DEATH", "LOST TO FOLLOW-UP", "WITHDRAWAL BY SUBJECT",
                                      "PHYSICIAN DECISION", "OTHER"]
