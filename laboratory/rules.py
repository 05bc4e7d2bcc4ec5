"""Pure rules for laboratory results: analytes, units, normal ranges, H/L flags and CTCAE v5.0 grades.

Numbers in, verdicts out: no models, no database. Arithmetic is exact (``Decimal``).

Each analyte has one canonical unit (the one the CTCAE criteria and the registries use); a value typed in
another unit the sites report in is converted by an exact factor and rounded half up to 0.001 of the
canonical unit. Flags and grades are read on that stored canonical value, so what the page shows is what
was judged.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import TextChoices

CANONICAL_PLACES = Decimal("0.001")


class Analyte(TextChoices):
    # Hematology
    WBC = "wbc", "White blood cells"
    ANC = "anc", "Absolute neutrophil count"
    ALC = "alc", "Absolute lymphocyte count"
    HEMOGLOBIN = "hemoglobin", "Hemoglobin"
    PLATELETS = "platelets", "Platelets"
    # Chemistry
    CREATININE = "creatinine", "Creatinine"
    ALT = "alt", "ALT"
    AST = "ast", "AST"
    BILIRUBIN = "bilirubin", "Total bilirubin"
    LDH = "ldh", "LDH"
    # Coagulation
    FIBRINOGEN = "fibrinogen", "Fibrinogen"
    D_DIMER = "d_dimer", "D-dimer"
    # Inflammation
    CRP = "crp", "CRP"
    FERRITIN = "ferritin", "Ferritin"
    IL6 = "il6", "IL-6"
    # Immunoglobulins
    IGG = "igg", "Immunoglobulin G"


class Panel(TextChoices):
    HEMATOLOGY = "hematology", "Hematology"
    CHEMISTRY = "chemistry", "Chemistry"
    COAGULATION = "coagulation", "Coagulation"
    INFLAMMATION = "inflammation", "Inflammation"
    IMMUNOGLOBULINS = "immunoglobulins", "Immunoglobulins"


class Flag(TextChoices):
    NORMAL = "", "Within range"
    LOW = "L", "Low"
    HIGH = "H", "High"


@dataclass(frozen=True)
class AnalyteSpec:
    panel: str
    canonical_unit: str
    #: Every unit a site may report in → the exact factor that turns it into the canonical unit.
    units: Mapping[str, Fraction]
    #: What a living patient's blood can hold, in the canonical unit: a value outside is a typing error.
    possible: tuple[Decimal, Decimal]


_PER_UL = {"/µL": Fraction(1), "×10⁹/L": Fraction(1000)}  # 1 ×10⁹/L = 1,000/µL
ANALYTES: dict[str, AnalyteSpec] = {
    Analyte.WBC: AnalyteSpec(Panel.HEMATOLOGY, "/µL", _PER_UL, (Decimal(0), Decimal(1_000_000))),
    Analyte.ANC: AnalyteSpec(Panel.HEMATOLOGY, "/µL", _PER_UL, (Decimal(0), Decimal(500_000))),
    Analyte.ALC: AnalyteSpec(Panel.HEMATOLOGY, "/µL", _PER_UL, (Decimal(0), Decimal(1_000_000))),
    Analyte.HEMOGLOBIN: AnalyteSpec(Panel.HEMATOLOGY, "g/dL", {"g/dL": Fraction(1), "g/L": Fraction("0.1")},
                                    (Decimal(0), Decimal(25))),
    Analyte.PLATELETS: AnalyteSpec(Panel.HEMATOLOGY, "/µL", _PER_UL, (Decimal(0), Decimal(5_000_000))),
    # Creatinine 1 mg/dL = 88.4 µmol/L; bilirubin 1 mg/dL = 17.1 µmol/L.
    Analyte.CREATININE: AnalyteSpec(Panel.CHEMISTRY, "mg/dL", {"mg/dL": Fraction(1), "µmol/L": Fraction(10, 884)},
                                    (Decimal(0), Decimal(40))),
    Analyte.ALT: AnalyteSpec(Panel.CHEMISTRY, "U/L", {"U/L": Fraction(1)}, (Decimal(0), Decimal(50_000))),
    Analyte.AST: AnalyteSpec(Panel.CHEMISTRY, "U/L", {"U/L": Fraction(1)}, (Decimal(0), Decimal(50_000))),
    Analyte.BILIRUBIN: AnalyteSpec(Panel.CHEMISTRY, "mg/dL", {"mg/dL": Fraction(1), "µmol/L": Fraction(10, 171)},
                                   (Decimal(0), Decimal(100))),
    Analyte.LDH: AnalyteSpec(Panel.CHEMISTRY, "U/L", {"U/L": Fraction(1)}, (Decimal(0), Decimal(100_000))),
    Analyte.FIBRINOGEN: AnalyteSpec(Panel.COAGULATION, "g/L", {"g/L": Fraction(1), "mg/dL": Fraction("0.01")},
                                    (Decimal(0), Decimal(20))),
    Analyte.D_DIMER: AnalyteSpec(Panel.COAGULATION, "mg/L FEU",
                                 {"mg/L FEU": Fraction(1), "µg/L FEU": Fraction("0.001")}, (Decimal(0), Decimal(1000))),
    Analyte.CRP: AnalyteSpec(Panel.INFLAMMATION, "mg/L", {"mg/L": Fraction(1), "mg/dL": Fraction(10)},
                             (Decimal(0), Decimal(1000))),
    Analyte.FERRITIN: AnalyteSpec(Panel.INFLAMMATION, "ng/mL", {"ng/mL": Fraction(1), "µg/L": Fraction(1)},
                                  (Decimal(0), Decimal(1_000_000))),
    Analyte.IL6: AnalyteSpec(Panel.INFLAMMATION, "pg/mL", {"pg/mL": Fraction(1), "ng/L": Fraction(1)},
                             (Decimal(0), Decimal(1_000_000))),
    Analyte.IGG: AnalyteSpec(Panel.IMMUNOGLOBULINS, "g/L", {"g/L": Fraction(1), "mg/dL": Fraction("0.01"),
                                                             "g/dL": Fraction(10)}, (Decimal(0), Decimal(100))),
}

#: Every unit any analyte is reported in (the unit field's choices).
UNITS: list[str] = sorted({unit for spec in ANALYTES.values() for unit in spec.units})


def unit_choices(analyte: str) -> list[str]:
    """The units a value of this analyte may be typed in, the canonical one first."""
    spec = ANALYTES[analyte]
    return [spec.canonical_unit] + [unit for unit in spec.units if unit != spec.canonical_unit]


def canonical_value(analyte: str, value: Decimal, unit: str) -> Decimal:
    """The value in the analyte's canonical unit, rounded half up to 0.001.

    >>> canonical_value("creatinine", Decimal("88.4"), "µmol/L")
    Decimal('1.000')
    """
    exact = Fraction(Decimal(value)) * ANALYTES[analyte].units[unit]
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(CANONICAL_PLACES, rounding=ROUND_HALF_UP)


def result_errors(analyte: str, value: Decimal | None, unit: str) -> list[str]:
    """What makes one typed result impossible: an unknown analyte or unit, a missing or impossible value."""
    if analyte not in ANALYTES:
        return [f"{analyte!r} is not an analyte of the laboratory form."]
    spec = ANALYTES[analyte]
    label = Analyte(analyte).label
    if unit not in spec.units:
        return [f"{label} is reported in {', '.join(unit_choices(analyte))}, not {unit!r}."]
    if value is None:
        return [f"Give the {label} value."]
    low, high = spec.possible
    if not low <= canonical_value(analyte, value, unit) <= high:
        shown = f"{Decimal(value).normalize():f}"
        return [f"{label} {shown} {unit} is not possible (between {low:,} and {high:,} {spec.canonical_unit})."]
    return []


# Normal ranges -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NormalRange:
    """A reference interval in the canonical unit; ``sex`` "" and no age bounds apply to everyone."""

    analyte: str
    lower: Decimal | None
    upper: Decimal | None
    sex: str = ""
    age_from_years: int = 0
    age_to_years: int | None = None  # exclusive
    site_specific: bool = False


def normal_range(ranges: Iterable[NormalRange], *, analyte: str, sex: str, age_years: int | None
                 ) -> NormalRange | None:
    """The interval that applies to this patient: of those matching the analyte, sex and age, the site's own
    before the defaults, then one for the patient's sex before one for everyone. An unknown age matches
    only intervals without age bounds; an unknown sex only those for everyone."""
    def applies(candidate: NormalRange) -> bool:
        if candidate.analyte != analyte or (candidate.sex and candidate.sex != sex):
            return False
        if age_years is None:
            return candidate.age_from_years == 0 and candidate.age_to_years is None
        return candidate.age_from_years <= age_years and (
            candidate.age_to_years is None or age_years < candidate.age_to_years)

    matching = [candidate for candidate in ranges if applies(candidate)]
    matching.sort(key=lambda candidate: (not candidate.site_specific, not candidate.sex))
    return matching[0] if matching else None


def flag(value: Decimal, interval: NormalRange | None) -> str:
    """L below the lower limit, H above the upper limit, "" within (the limits themselves are normal)."""
    if interval is None:
        return Flag.NORMAL
    if interval.lower is not None and value < interval.lower:
        return Flag.LOW
    if interval.upper is not None and value > interval.upper:
        return Flag.HIGH
    return Flag.NORMAL


# CTCAE v5.0 grades ---------------------------------------------------------------------------------------

#: The CTCAE v5.0 term each graded analyte is judged under (the adverse event a grade ≥ 3 calls for).
CTCAE_TERM: dict[str, str] = {
    Analyte.ANC: "Neutrophil count decreased",
    Analyte.PLATELETS: "Platelet count decreased",
    Analyte.HEMOGLOBIN: "Anemia",
    Analyte.ALT: "Alanine aminotransferase increased",
    Analyte.AST: "Aspartate aminotransferase increased",
    Analyte.BILIRUBIN: "Blood bilirubin increased",
    Analyte.CREATININE: "Creatinine increased",
    Analyte.FIBRINOGEN: "Fibrinogen decreased",
}

# CTCAE v5.0 (27 Nov 2017), Investigations and Blood and lymphatic system disorders. A count grade is
# "< upper – lower bound": grade g when value < the grade's upper bound; the lower bound is the next grade's.
_NEUTROPHILS = ((4, Decimal(500)), (3, Decimal(1000)), (2, Decimal(1500)))  # /µL (= /mm³)
_PLATELETS = ((4, Decimal(25_000)), (3, Decimal(50_000)), (2, Decimal(75_000)))
_ANEMIA = ((3, Decimal("8.0")), (2, Decimal("10.0")))  # g/dL; grade 4 is life-threatening, not a value
_LOW_COUNT_BOUNDS: dict[str, tuple[tuple[int, Decimal], ...]] = {
    Analyte.ANC: _NEUTROPHILS, Analyte.PLATELETS: _PLATELETS, Analyte.HEMOGLOBIN: _ANEMIA}
# "> lower – upper × ULN": grade g when value > its multiple of the ULN.
_ULN_MULTIPLES: dict[str, tuple[tuple[int, Decimal], ...]] = {
    Analyte.ALT: ((4, Decimal(20)), (3, Decimal(5)), (2, Decimal(3)), (1, Decimal(1))),
    Analyte.AST: ((4, Decimal(20)), (3, Decimal(5)), (2, Decimal(3)), (1, Decimal(1))),
    Analyte.BILIRUBIN: ((4, Decimal(10)), (3, Decimal(3)), (2, Decimal("1.5")), (1, Decimal(1))),
    Analyte.CREATININE: ((4, Decimal(6)), (3, Decimal(3)), (2, Decimal("1.5")), (1, Decimal(1))),
}
# Fibrinogen decreased: "< 1.0 – 0.75 × LLN" … grade 4 "< 0.25 × LLN or < 50 mg/dL" (0.5 g/L).
_FIBRINOGEN_LLN_MULTIPLES = ((4, Decimal("0.25")), (3, Decimal("0.5")), (2, Decimal("0.75")), (1, Decimal(1)))
_FIBRINOGEN_GRADE_4_ABSOLUTE = Decimal("0.5")  # g/L


def _below(value: Decimal, bounds: tuple[tuple[int, Decimal], ...]) -> int | None:
    for grade, bound in bounds:
        if value < bound:
            return grade
    return None


def ctcae_grade(analyte: str, value: Decimal, interval: NormalRange | None) -> int | None:
    """The CTCAE v5.0 grade of one value (in the canonical unit), None when the analyte is not graded, the
    value is not abnormal, or the limit the grade is a multiple of is unknown.

    Counts and hemoglobin: grade 1 is below the lower limit of normal down to the grade-2 bound; ULN-based
    terms are judged for a patient whose baseline was normal (CTCAE's first column)."""
    lln = interval.lower if interval is not None else None
    uln = interval.upper if interval is not None else None
    if analyte in (Analyte.ANC, Analyte.PLATELETS, Analyte.HEMOGLOBIN):
        grade = _below(value, _LOW_COUNT_BOUNDS[analyte])
        if grade is None and lln is not None and value < lln:
            grade = 1
        return grade
    if analyte in _ULN_MULTIPLES:
        if uln is None or uln <= 0:
            return None
        for grade, multiple in _ULN_MULTIPLES[analyte]:
            if value > multiple * uln:
                return grade
        return None
    if analyte == Analyte.FIBRINOGEN:
        if value < _FIBRINOGEN_GRADE_4_ABSOLUTE:
            return 4
        if lln is None:
            return None
        return _below(value, tuple((grade, multiple * lln) for grade, multiple in _FIBRINOGEN_LLN_MULTIPLES))
    return None


@dataclass(frozen=True)
class JudgedResult:
    analyte: str
    value: Decimal
    unit: str
    canonical_value: Decimal
    canonical_unit: str
    flag: str
    ctcae_grade: int | None


def judge(analyte: str, value: Decimal, unit: str, interval: NormalRange | None) -> JudgedResult:
    """One typed result with what is derived from it: canonical value, flag, CTCAE grade."""
    canonical = canonical_value(analyte, value, unit)
    return JudgedResult(analyte=analyte, value=Decimal(value), unit=unit, canonical_value=canonical,
                        canonical_unit=ANALYTES[analyte].canonical_unit, flag=flag(canonical, interval),
                        ctcae_grade=ctcae_grade(analyte, canonical, interval))


#: A grade from which an adverse event must be on record (CTCAE grade 3: severe).
AE_SUGGESTION_GRADE = 3


@dataclass(frozen=True)
class RecordedEvent:
    term: str
    grade: int
    onset_date: object  # datetime.date
    resolution_date: object | None


def uncovered_severe_results(results: Iterable[JudgedResult], *, on_date, events: Iterable[RecordedEvent]
                             ) -> list[JudgedResult]:
    """The grade ≥ 3 results no adverse event of their CTCAE term covers: an event of that term, of grade 3
    or more, ongoing on the collection date (onset on or before it, not resolved before it)."""
    events = list(events)

    def covered(result: JudgedResult) -> bool:
        term = CTCAE_TERM[result.analyte]
        return any(event.term == term and event.grade >= AE_SUGGESTION_GRADE and event.onset_date <= on_date
                   and (event.resolution_date is None or event.resolution_date >= on_date) for event in events)

    return [result for result in results
            if result.ctcae_grade is not None and result.ctcae_grade >= AE_SUGGESTION_GRADE and not covered(result)]
