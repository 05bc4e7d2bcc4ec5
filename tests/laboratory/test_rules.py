"""laboratory.rules with real values: unit conversion, the normal range that applies, H/L flags and every
CTCAE v5.0 grade boundary (Common Terminology Criteria for Adverse Events v5.0, 27 November 2017:
Investigations — neutrophil count decreased, platelet count decreased, ALT/AST/blood bilirubin/creatinine
increased, fibrinogen decreased; Blood and lymphatic system disorders — anemia). A wrong factor, a bound on
the wrong side (< vs ≤) or a grade read from the wrong column fails here."""
import datetime
from decimal import Decimal as D

import pytest

from laboratory import rules
from laboratory.rules import NormalRange, canonical_value, ctcae_grade, flag, normal_range


@pytest.mark.parametrize(("analyte", "value", "unit", "expected"), [
    ("creatinine", "88.4", "µmol/L", "1.000"),  # 1 mg/dL = 88.4 µmol/L
    ("creatinine", "442", "µmol/L", "5.000"),
    ("creatinine", "100", "µmol/L", "1.131"),  # 1.13122… rounded half up
    ("bilirubin", "17.1", "µmol/L", "1.000"),  # 1 mg/dL = 17.1 µmol/L
    ("bilirubin", "51.3", "µmol/L", "3.000"),
    ("hemoglobin", "85", "g/L", "8.500"),  # 10 g/L = 1 g/dL
    ("hemoglobin", "8.5", "g/dL", "8.500"),
    ("anc", "0.4", "×10⁹/L", "400.000"),  # 1 ×10⁹/L = 1,000/µL
    ("platelets", "23", "×10⁹/L", "23000.000"),
    ("fibrinogen", "150", "mg/dL", "1.500"),
    ("crp", "12.5", "mg/dL", "125.000"),
    ("d_dimer", "750", "µg/L FEU", "0.750"),
    ("igg", "650", "mg/dL", "6.500"),
])
def test_canonical_value(analyte, value, unit, expected):
    assert canonical_value(analyte, D(value), unit) == D(expected)


def test_result_errors_refuse_the_impossible_and_unknown_units():
    """A hemoglobin of 85 typed as g/dL is a unit slip (85 g/dL does not exist); creatinine in U/L is no unit
    of creatinine; a negative count is impossible."""
    assert rules.result_errors("hemoglobin", D("85"), "g/dL") == [
        "Hemoglobin 85 g/dL is not possible (between 0 and 25 g/dL)."]
    assert rules.result_errors("hemoglobin", D("85"), "g/L") == []
    assert rules.result_errors("creatinine", D("1"), "U/L") == [
        "Creatinine is reported in mg/dL, µmol/L, not 'U/L'."]
    assert rules.result_errors("anc", D("-1"), "/µL")
    assert rules.result_errors("potassium", D("4"), "mmol/L") == [
        "'potassium' is not an analyte of the laboratory form."]


RANGES = [
    NormalRange("hemoglobin", D("13.5"), D("17.5"), sex="M"),
    NormalRange("hemoglobin", D("12.0"), D("15.5"), sex="F"),
    NormalRange("igg", D("5.0"), D("13.0"), age_to_years=18),
    NormalRange("igg", D("7.0"), D("16.0"), age_from_years=18),
    NormalRange("alt", D("7"), D("56")),
    NormalRange("alt", D("0"), D("40"), site_specific=True),
]


def test_normal_range_by_sex_age_and_site():
    assert normal_range(RANGES, analyte="hemoglobin", sex="F", age_years=40).lower == D("12.0")
    assert normal_range(RANGES, analyte="hemoglobin", sex="M", age_years=40).lower == D("13.5")
    assert normal_range(RANGES, analyte="hemoglobin", sex="", age_years=40) is None  # sex unknown: no guess
    assert normal_range(RANGES, analyte="igg", sex="F", age_years=17).upper == D("13.0")
    assert normal_range(RANGES, analyte="igg", sex="F", age_years=18).upper == D("16.0")  # upper age exclusive
    assert normal_range(RANGES, analyte="igg", sex="F", age_years=None) is None
    assert normal_range(RANGES, analyte="alt", sex="F", age_years=40).upper == D("40")  # the site's own first


def test_flags_at_the_limits():
    interval = NormalRange("hemoglobin", D("12.0"), D("15.5"))
    assert flag(D("11.999"), interval) == "L"
    assert flag(D("12.0"), interval) == ""
    assert flag(D("15.5"), interval) == ""
    assert flag(D("15.501"), interval) == "H"
    assert flag(D("3"), None) == ""


ANC = NormalRange("anc", D("1800"), D("7700"))


@pytest.mark.parametrize(("value", "grade"), [
    # Neutrophil count decreased: 1 <LLN–1500; 2 <1500–1000; 3 <1000–500; 4 <500 /mm³.
    ("1800", None), ("1799", 1), ("1500", 1), ("1499", 2), ("1000", 2), ("999", 3), ("500", 3), ("499", 4), ("0", 4),
])
def test_neutrophil_count_decreased(value, grade):
    assert ctcae_grade("anc", D(value), ANC) == grade


PLATELETS = NormalRange("platelets", D("150000"), D("400000"))


@pytest.mark.parametrize(("value", "grade"), [
    # Platelet count decreased: 1 <LLN–75,000; 2 <75,000–50,000; 3 <50,000–25,000; 4 <25,000 /mm³.
    ("150000", None), ("149999", 1), ("75000", 1), ("74999", 2), ("50000", 2), ("49999", 3), ("25000", 3),
    ("24999", 4),
])
def test_platelet_count_decreased(value, grade):
    assert ctcae_grade("platelets", D(value), PLATELETS) == grade


HGB_F = NormalRange("hemoglobin", D("12.0"), D("15.5"), sex="F")


@pytest.mark.parametrize(("value", "grade"), [
    # Anemia: 1 Hgb <LLN–10.0 g/dL; 2 <10.0–8.0; 3 <8.0 g/dL (grade 4, life-threatening, is not a value).
    ("12.0", None), ("11.9", 1), ("10.0", 1), ("9.99", 2), ("8.0", 2), ("7.99", 3), ("4.0", 3),
])
def test_anemia(value, grade):
    assert ctcae_grade("hemoglobin", D(value), HGB_F) == grade


ALT = NormalRange("alt", D("7"), D("40"))


@pytest.mark.parametrize(("value", "grade"), [
    # ALT increased (baseline normal): 1 >ULN–3.0×ULN; 2 >3.0–5.0×ULN; 3 >5.0–20.0×ULN; 4 >20.0×ULN.
    ("40", None), ("41", 1), ("120", 1), ("121", 2), ("200", 2), ("201", 3), ("800", 3), ("801", 4),
])
def test_alt_increased(value, grade):
    assert ctcae_grade("alt", D(value), ALT) == grade
    assert ctcae_grade("ast", D(value), NormalRange("ast", D("8"), D("40"))) == grade  # AST: same criteria


BILIRUBIN = NormalRange("bilirubin", D("0.1"), D("1.2"))


@pytest.mark.parametrize(("value", "grade"), [
    # Blood bilirubin increased (baseline normal): 1 >ULN–1.5×ULN; 2 >1.5–3.0; 3 >3.0–10.0; 4 >10.0×ULN.
    ("1.2", None), ("1.201", 1), ("1.8", 1), ("1.801", 2), ("3.6", 2), ("3.601", 3), ("12.0", 3), ("12.001", 4),
])
def test_blood_bilirubin_increased(value, grade):
    assert ctcae_grade("bilirubin", D(value), BILIRUBIN) == grade


CREATININE_F = NormalRange("creatinine", D("0.59"), D("1.00"), sex="F")


@pytest.mark.parametrize(("value", "grade"), [
    # Creatinine increased: 1 >ULN–1.5×ULN; 2 >1.5–3.0×ULN; 3 >3.0–6.0×ULN; 4 >6.0×ULN.
    ("1.00", None), ("1.001", 1), ("1.5", 1), ("1.501", 2), ("3.0", 2), ("3.001", 3), ("6.0", 3), ("6.001", 4),
])
def test_creatinine_increased(value, grade):
    assert ctcae_grade("creatinine", D(value), CREATININE_F) == grade


def test_creatinine_typed_in_micromol_is_graded_on_its_canonical_value():
    """531 µmol/L = 6.007 mg/dL > 6 × ULN 1.00: grade 4."""
    interval = CREATININE_F
    assert rules.judge("creatinine", D("531"), "µmol/L", interval) == rules.JudgedResult(
        analyte="creatinine", value=D("531"), unit="µmol/L", canonical_value=D("6.007"), canonical_unit="mg/dL",
        flag="H", ctcae_grade=4)


FIBRINOGEN = NormalRange("fibrinogen", D("2.0"), D("4.0"))


@pytest.mark.parametrize(("value", "grade"), [
    # Fibrinogen decreased: 1 <1.0–0.75×LLN; 2 <0.75–0.5×LLN; 3 <0.5–0.25×LLN; 4 <0.25×LLN or <50 mg/dL.
    ("2.0", None), ("1.999", 1), ("1.5", 1), ("1.499", 2), ("1.0", 2), ("0.999", 3), ("0.5", 3), ("0.499", 4),
])
def test_fibrinogen_decreased(value, grade):
    assert ctcae_grade("fibrinogen", D(value), FIBRINOGEN) == grade


def test_fibrinogen_below_50_mg_dl_is_grade_4_whatever_the_lln():
    """With an LLN of 1.5 g/L, 0.25 × LLN is 0.375 g/L; 0.45 g/L (45 mg/dL) is still grade 4 (< 50 mg/dL)."""
    assert ctcae_grade("fibrinogen", D("0.45"), NormalRange("fibrinogen", D("1.5"), D("4.0"))) == 4
    assert ctcae_grade("fibrinogen", D("0.45"), None) == 4


def test_ungraded_analytes_and_missing_limits():
    assert ctcae_grade("crp", D("250"), NormalRange("crp", D("0"), D("5"))) is None
    assert ctcae_grade("alt", D("900"), None) is None  # no ULN, no multiple of it
    assert ctcae_grade("anc", D("400"), None) == 4  # absolute bounds need no range


def test_uncovered_severe_results():
    """A grade 4 ANC on 10 March is covered by an ongoing grade 4 'Neutrophil count decreased' event from
    8 March; a grade 3 platelet count is not covered by a grade 2 event nor by one resolved on 9 March."""
    on = datetime.date(2026, 3, 10)
    anc = rules.judge("anc", D("300"), "/µL", ANC)
    platelets = rules.judge("platelets", D("40000"), "/µL", PLATELETS)
    hgb = rules.judge("hemoglobin", D("11"), "g/dL", HGB_F)  # grade 1: never suggested
    events = [
        rules.RecordedEvent("Neutrophil count decreased", 4, datetime.date(2026, 3, 8), None),
        rules.RecordedEvent("Platelet count decreased", 2, datetime.date(2026, 3, 8), None),
        rules.RecordedEvent("Platelet count decreased", 3, datetime.date(2026, 3, 1), datetime.date(2026, 3, 9)),
    ]
    assert rules.uncovered_severe_results([anc, platelets, hgb], on_date=on, events=events) == [platelets]
    events.append(rules.RecordedEvent("Platelet count decreased", 3, datetime.date(2026, 3, 1), on))
    assert rules.uncovered_severe_results([anc, platelets, hgb], on_date=on, events=events) == []
