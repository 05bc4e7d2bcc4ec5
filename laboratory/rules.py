"""Pure rules for laboratory results: analytes, units, normal ranges, H/L flags and CTCAE v5.0 grades.

Numbers in, verdicts out: no models, no database. Arithmetic is exact (``Decimal``).

Each analyte has one canonical unit (the one the CTCAE criteria and the registries use); a value typed in
another unit the sites report in is converted by an exact factor and rounded half up to 0.001 of the
canonical unit. Flags and grades are read on that stored canonical value, so what the page shows is what
was judged.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db.models import TextChoices
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

CANONICAL_PLACES = Decimal("0.001")


class Analyte(TextChoices):
    # Hematology
    WBC = "wbc", _("White blood cells")
    ANC = "anc", _("Absolute neutrophil count")
    ALC = "alc", _("Absolute lymphocyte count")
    HEMOGLOBIN = "hemoglobin", _("Hemoglobin")
    PLATELETS = "platelets", _("Platelets")
    # Chemistry
    CREATININE = "creatinine", _("Creatinine")
    ALT = "alt", _("ALT")
    AST = "ast", _("AST")
    BILIRUBIN = "bilirubin", _("Total bilirubin")
    LDH = "ldh", _("LDH")
    # Coagulation
    FIBRINOGEN = "fibrinogen", _("Fibrinogen")
    D_DIMER = "d_dimer", _("D-dimer")
    # Inflammation
    CRP = "crp", _("CRP")
    FERRITIN = "ferritin", _("Ferritin")
    IL6 = "il6", _("IL-6")
    # Immunoglobulins
    IGG = "igg", _("Immunoglobulin G")
    # Cellular kinetics and B-cell aplasia
    CAR_QPCR = "car_qpcr", _("CAR transgene (qPCR)")
    CAR_T_FLOW = "car_t_flow", _("CAR⁺ T cells (flow)")
    CD19_B = "cd19_b", _("CD19⁺ B cells")


class Panel(TextChoices):
    HEMATOLOGY = "hematology", _("Hematology")
    CHEMISTRY = "chemistry", _("Chemistry")
    COAGULATION = "coagulation", _("Coagulation")
    INFLAMMATION = "inflammation", _("Inflammation")
    IMMUNOGLOBULINS = "immunoglobulins", _("Immunoglobulins")
    KINETICS = "kinetics", _("Cellular kinetics")


class Flag(TextChoices):
    NORMAL = "", _("Within range")
    LOW = "L", _("Low")
    HIGH = "H", _("High")


#: The flag as a result's row shows it: H / L in English (the stored codes), 偏高 / 偏低 in Chinese.
FLAG_SHORT: dict[str, object] = {Flag.LOW: pgettext_lazy("laboratory flag", "L"),
                                 Flag.HIGH: pgettext_lazy("laboratory flag", "H")}


def flag_display(flag: str) -> str:
    """A stored flag (H, L or "") in the active language."""
    shown = FLAG_SHORT.get(flag)
    return str(shown) if shown is not None else flag


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
    # Copies of the CAR transgene per µg of genomic DNA (qPCR); cells per µL of blood (flow cytometry).
    Analyte.CAR_QPCR: AnalyteSpec(Panel.KINETICS, "copies/µg", {"copies/µg": Fraction(1)},
                                  (Decimal(0), Decimal(10_000_000))),
    Analyte.CAR_T_FLOW: AnalyteSpec(Panel.KINETICS, "/µL", _PER_UL, (Decimal(0), Decimal(1_000_000))),
    Analyte.CD19_B: AnalyteSpec(Panel.KINETICS, "/µL", _PER_UL, (Decimal(0), Decimal(1_000_000))),
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
        return [gettext("%(analyte)r is not an analyte of the laboratory form.") % {"analyte": analyte}]
    spec = ANALYTES[analyte]
    label = Analyte(analyte).label
    if unit not in spec.units:
        return [gettext("%(analyte)s is reported in %(units)s, not %(unit)r.") % {
            "analyte": label, "units": ", ".join(unit_choices(analyte)), "unit": unit}]
    if value is None:
        return [gettext("Give the %(analyte)s value.") % {"analyte": label}]
    low, high = spec.possible
    if not low <= canonical_value(analyte, value, unit) <= high:
        shown = f"{Decimal(value).normalize():f}"
        return [gettext("%(analyte)s %(value)s %(unit)s is not possible (between %(low)s and %(high)s "
                        "%(canonical_unit)s).") % {"analyte": label, "value": shown, "unit": unit, "low": f"{low:,}",
                                                   "high": f"{high:,}", "canonical_unit": spec.canonical_unit}]
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

#: The same terms in the reader's language (the stored term is the English one; docs/i18n.md shows both).
CTCAE_TERM_NAMES = {
    "Neutrophil count decreased": pgettext_lazy("CTCAE term", "Neutrophil count decreased"),
    "Platelet count decreased": pgettext_lazy("CTCAE term", "Platelet count decreased"),
    "Anemia": pgettext_lazy("CTCAE term", "Anemia"),
    "Alanine aminotransferase increased": pgettext_lazy("CTCAE term", "Alanine aminotransferase increased"),
    "Aspartate aminotransferase increased": pgettext_lazy("CTCAE term", "Aspartate aminotransferase increased"),
    "Blood bilirubin increased": pgettext_lazy("CTCAE term", "Blood bilirubin increased"),
    "Creatinine increased": pgettext_lazy("CTCAE term", "Creatinine increased"),
    "Fibrinogen decreased": pgettext_lazy("CTCAE term", "Fibrinogen decreased"),
}


def ctcae_term_display(term: str) -> str:
    """A CTCAE term as the page shows it: "贫血 (Anemia)" in Chinese, the term alone in English."""
    name = CTCAE_TERM_NAMES.get(term)
    translated = str(name) if name is not None else term
    return term if translated == term else f"{translated} ({term})"


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


# Cellular kinetics: non-compartmental analysis ------------------------------------------------------------

@dataclass(frozen=True)
class Sample:
    """One measurement on a study day (day 0 = infusion), in the analyte's canonical unit."""

    day: int
    value: Decimal


@dataclass(frozen=True)
class Kinetics:
    cmax: Decimal | None  # the highest quantifiable value
    tmax_days: int | None  # the first day it was reached
    auc_0_28: Decimal | None  # linear trapezoid, day 0 to the last sample on or before day 28 (value × days)
    tlast_days: int | None  # the last day with a quantifiable value
    persistent: bool  # the latest sample is quantifiable


AUC_LAST_DAY = 28


def _one_per_day(samples: Iterable[Sample], *, keep: Callable[[Decimal, Decimal], Decimal] = max) -> list[Sample]:
    """Samples from day 0 on, one per day (of two on one day the one ``keep`` picks: the higher by default), by
    day."""
    by_day: dict[int, Decimal] = {}
    for sample in samples:
        if sample.day >= 0:
            by_day[sample.day] = keep(sample.value, by_day.get(sample.day, sample.value))
    return [Sample(day, by_day[day]) for day in sorted(by_day)]


def kinetics(samples: Iterable[Sample], *, lloq: Decimal) -> Kinetics:
    """Cmax, Tmax, AUC0–28d, Tlast and persistence of a CAR-T series.

    Below the lower limit of quantification (value < LLOQ, a "<LLOQ" report entered as 0 included): never a
    Cmax or a Tlast, and 0 in the AUC. The AUC starts at day 0 with 0 when day 0 was not sampled (no CAR-T
    cells circulate before the infusion) and ends at the last sample on or before day 28, not extrapolated;
    with no sample after day 0 by day 28 it is None."""
    series = _one_per_day(samples)
    quantifiable = [sample for sample in series if sample.value >= lloq]
    cmax = max((sample.value for sample in quantifiable), default=None)
    tmax = next((sample.day for sample in quantifiable if sample.value == cmax), None)
    points = [(s.day, s.value if s.value >= lloq else Decimal(0)) for s in series if s.day <= AUC_LAST_DAY]
    if points and points[0][0] != 0:
        points.insert(0, (0, Decimal(0)))
    auc = None
    if len(points) >= 2:
        auc = sum(((v0 + v1) * (d1 - d0) / 2 for (d0, v0), (d1, v1) in zip(points, points[1:], strict=False)),
                  Decimal(0))
    return Kinetics(cmax=cmax, tmax_days=tmax, auc_0_28=auc,
                    tlast_days=quantifiable[-1].day if quantifiable else None,
                    persistent=bool(series) and series[-1].value >= lloq)


# B-cell aplasia -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BCellAplasia:
    days: int  # from the infusion to the recovery, or to the last count (censored)
    recovered: bool  # False: censored at the last count


def b_cell_aplasia(counts: Iterable[Sample], *, recovery_per_ul: Decimal) -> BCellAplasia | None:
    """Duration of B-cell aplasia: from the infusion (day 0) to the first of two consecutive CD19⁺ B-cell counts
    at or above the protocol's recovery threshold; without such a pair, censored at the last count. Counts
    before day 1 are not after the infusion. None without a count after the infusion."""
    series = [sample for sample in _one_per_day(counts) if sample.day >= 1]
    if not series:
        return None
    for first, second in zip(series, series[1:], strict=False):
        if first.value >= recovery_per_ul and second.value >= recovery_per_ul:
            return BCellAplasia(days=first.day, recovered=True)
    return BCellAplasia(days=series[-1].day, recovered=False)


# ICAHT (immune effector cell-associated hematotoxicity) ------------------------------------------------------
# Rejeski K, et al. Immune effector cell-associated hematotoxicity: EHA/EBMT consensus grading and best
# practice recommendations. Blood 2023;142(10):865-877, Table 2. docs/clinical-rules.md ("ICAHT") gives the
# sources of every reading below that the table leaves open.

EARLY_ICAHT_LAST_DAY = 30
#: Early ICAHT (days 0–30): days with ANC ≤ 500/µL — grade 1 < 7, grade 2 7–13, grade 3 ≥ 14, grade 4 never
#: above 500/µL; days with ANC ≤ 100/µL — grade 3 ≥ 7, grade 4 ≥ 14.
_EARLY_ANC_500 = ((3, 14), (2, 7), (1, 1))
_EARLY_ANC_100 = ((4, 14), (3, 7))
#: Late ICAHT (after day 30): ANC ≤ 1500 grade 1, ≤ 1000 grade 2, ≤ 500 grade 3, ≤ 100 grade 4, on at least two
#: counts (the consensus asks for two or more laboratory tests).
_LATE_ANC = ((4, Decimal(100)), (3, Decimal(500)), (2, Decimal(1000)), (1, Decimal(1500)))
#: A recovery lasting fewer than this many days between two neutropenic spells counts as neutropenic.
UNSTABLE_RECOVERY_DAYS = 3
#: "Never above 500/µL" (grade 4): neutropenia that began by this day after the infusion and never recovered
#: through day 30. The ANC of day 0 is still falling from the lymphodepletion, so a count above 500 before
#: the nadir is not a recovery (the automated grading of Liang et al. reads it so: onset on days 0–3).
NEVER_RECOVERED_ONSET_LAST_DAY = 3


def _anc_by_day(anc: Iterable[Sample]) -> list[Sample]:
    """The ANC from day 0 on, one per day: the lower of two counts on one day (the day was neutropenic)."""
    return _one_per_day(anc, keep=min)


def _neutropenic_by_day(anc: Iterable[Sample], *, threshold: Decimal, last_day: int) -> tuple[int, list[bool]]:
    """(first count's day, whether each day from it to ``last_day`` was neutropenic), as `neutropenic_days`
    counts them."""
    series = [sample for sample in _anc_by_day(anc) if sample.day <= last_day]
    if not series:
        return 0, []
    daily: list[bool] = []  # from the first count's day
    for index, sample in enumerate(series):
        until = series[index + 1].day if index + 1 < len(series) else last_day + 1
        daily.extend([sample.value <= threshold] * (until - sample.day))
    low_days = [day for day, low in enumerate(daily) if low]
    for before, after in zip(low_days, low_days[1:], strict=False):
        if 1 < after - before <= UNSTABLE_RECOVERY_DAYS:  # fewer than 3 days above, low on both sides
            for day in range(before + 1, after):
                daily[day] = True
    return series[0].day, daily


def neutropenic_days(anc: Iterable[Sample], *, threshold: Decimal, last_day: int = EARLY_ICAHT_LAST_DAY) -> int:
    """Days 0…last_day with ANC ≤ threshold, counted cumulatively over every spell. Between counts a count holds
    until the next one (the last until ``last_day``); days before the first count are not counted; of two counts
    on one day the lower counts. A spell above the threshold shorter than 3 days between two neutropenic spells
    (an unstable recovery) counts as neutropenic."""
    return sum(_neutropenic_by_day(anc, threshold=threshold, last_day=last_day)[1])


def never_recovered(anc: Iterable[Sample], *, threshold: Decimal = Decimal(500),
                    last_day: int = EARLY_ICAHT_LAST_DAY) -> bool:
    """ANC "never above" the threshold: ≤ threshold from an onset on day 0–3 through ``last_day``, no recovery
    of 3 days or more in between (an unstable recovery of 1–2 days does not end it)."""
    first_day, daily = _neutropenic_by_day(anc, threshold=threshold, last_day=last_day)
    onset = next((index for index, low in enumerate(daily) if low), None)
    return (onset is not None and first_day + onset <= NEVER_RECOVERED_ONSET_LAST_DAY
            and all(daily[onset:]))


def icaht_early_grade(anc: Iterable[Sample], *, last_day: int = EARLY_ICAHT_LAST_DAY) -> int:
    """Early ICAHT grade (0–4) from the ANC series of days 0–``last_day`` (Rejeski 2023, Table 2; ``last_day``
    30, or the stop day of `icaht_grades` when the course ends earlier): the higher of the grade by days
    ≤ 500/µL (grade 4: never above 500/µL through ``last_day``, `never_recovered`) and the grade by days
    ≤ 100/µL."""
    anc = list(anc)
    at_500 = neutropenic_days(anc, threshold=Decimal(500), last_day=last_day)
    at_100 = neutropenic_days(anc, threshold=Decimal(100), last_day=last_day)
    by_500 = (4 if never_recovered(anc, last_day=last_day)
              else next((grade for grade, days in _EARLY_ANC_500 if at_500 >= days), 0))
    by_100 = next((grade for grade, days in _EARLY_ANC_100 if at_100 >= days), 0)
    return max(by_500, by_100)


def icaht_late_grade(anc: Iterable[Sample]) -> int:
    """Late ICAHT grade (0–4): the highest grade whose ANC bound at least two counts after day 30, on two days,
    reach (of two counts on one day the lower)."""
    late = [sample.value for sample in _anc_by_day(anc) if sample.day > EARLY_ICAHT_LAST_DAY]
    return next((grade for grade, bound in _LATE_ANC if sum(value <= bound for value in late) >= 2), 0)


def icaht_stop_day(infusion_date: datetime.date, *, relapse_date: datetime.date | None,
                   hsct_date: datetime.date | None, death_date: datetime.date | None) -> int | None:
    """The last day (from the infusion, day 0) whose ANC is graded: the first of relapse, allogeneic HSCT (the
    next line of therapy the CRFs date) and death; None while none is recorded. ICAHT grades the cytopenia of
    the CAR-T, not of the leukemia come back, of the conditioning for a transplant or of dying (docs/
    clinical-rules.md, "ICAHT")."""
    events = [event for event in (relapse_date, hsct_date, death_date) if event is not None]
    return (min(events) - infusion_date).days if events else None


@dataclass(frozen=True)
class IcahtGrades:
    early: int | None  # None: no ANC graded in days 0–30
    late: int | None  # None: no ANC graded after day 30


def icaht_grades(anc: Iterable[Sample], *, stop_day: int | None) -> IcahtGrades:
    """Early and late ICAHT from a patient's ANC series by day from the infusion, graded up to ``stop_day``
    (`icaht_stop_day`; None: no event, every count graded). A count on the stop day is graded, the later ones
    are not; the last count holds to day 30 or to the stop day, whichever comes first, so an early window cut
    short grades only its observed days, and "never above 500/µL" is no recovery through the stop day."""
    graded = [sample for sample in anc if sample.day >= 0 and (stop_day is None or sample.day <= stop_day)]
    early = [sample for sample in graded if sample.day <= EARLY_ICAHT_LAST_DAY]
    late = [sample for sample in graded if sample.day > EARLY_ICAHT_LAST_DAY]
    last_day = EARLY_ICAHT_LAST_DAY if stop_day is None else min(stop_day, EARLY_ICAHT_LAST_DAY)
    return IcahtGrades(early=icaht_early_grade(early, last_day=last_day) if early else None,
                       late=icaht_late_grade(late) if late else None)
