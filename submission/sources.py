"""The EDC's records as plain values: what `submission.selectors` reads from the clinical apps and
the mapping functions (`submission.sdtm`, `submission.adam`) turn into dataset rows. No Django here,
so that every mapping is tested with values written in the test."""
import datetime
import functools
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from outcomes.statistics import PatientCourse


@dataclass(frozen=True)
class Criterion:
    code: str
    kind: str  # inclusion / exclusion
    text: str
    order: int


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    name: str
    target_day: int  # protocol day, 0 = infusion
    window_before_days: int
    window_after_days: int


@dataclass(frozen=True)
class Study:
    code: str
    version: str
    title: str
    planned_enrollment: int
    fludarabine_mg_per_m2: Decimal
    cyclophosphamide_mg_per_m2: Decimal
    lymphodepletion_first_day: int
    lymphodepletion_last_day: int
    cart_dose_min_million_per_kg: Decimal
    cart_dose_max_million_per_kg: Decimal
    primary_assessment_day: int
    follow_up_months: int
    sponsor: str
    location: str
    criteria: tuple[Criterion, ...] = ()
    visits: tuple[PlannedVisit, ...] = ()

    @functools.cached_property
    def visit_numbers(self) -> dict[str, int]:
        """Visit code → VISITNUM: the visit's place in the schedule (by target day), from 1."""
        ordered = sorted(self.visits, key=lambda v: (v.target_day, v.code))
        return {visit.code: number for number, visit in enumerate(ordered, start=1)}

    @functools.cached_property
    def visit_names(self) -> dict[str, str]:
        return {visit.code: visit.name for visit in self.visits}

    @functools.cached_property
    def visit_target_days(self) -> dict[str, int]:
        return {visit.code: visit.target_day for visit in self.visits}


@dataclass(frozen=True)
class Dose:
    """One lymphodepletion agent on one protocol day."""

    agent: str  # fludarabine / cyclophosphamide
    protocol_day: int
    planned_date: datetime.date
    planned_mg: Decimal
    administered_mg: Decimal | None  # None or 0: missed
    administration_date: datetime.date | None
    verdict: str

    @property
    def given(self) -> bool:
        return bool(self.administered_mg)

    @property
    def date(self) -> datetime.date:
        return self.administration_date or self.planned_date


@dataclass(frozen=True)
class Fraction:
    date: datetime.date
    cells: int  # CAR+ viable cells


@dataclass(frozen=True)
class AdverseEventRecord:
    pk: int
    term: str
    system_organ_class: str
    meddra_code: str
    grade: int
    onset_date: datetime.date
    resolution_date: datetime.date | None
    serious: bool
    seriousness_criteria: tuple[str, ...]
    relatedness_cart: str
    relatedness_lymphodepletion: str
    action_taken: str
    action_taken_other: str
    outcome: str
    astct_grade: int | None = None  # the worst ASTCT grade of the syndrome's assessments (CRS, ICANS)


@dataclass(frozen=True)
class CrsRecord:
    pk: int
    date: datetime.date
    visit_code: str
    max_temperature_c: Decimal | None
    fever_masked: bool
    hypotension: str
    hypoxia: str
    tocilizumab_dose_mg: Decimal | None
    corticosteroid: str
    corticosteroid_dose_mg: Decimal | None
    grade: int


@dataclass(frozen=True)
class IcansRecord:
    pk: int
    date: datetime.date
    visit_code: str
    ice_score: int | None
    capd_score: int | None
    unable_to_assess: bool
    consciousness: str
    seizure: str
    motor_weakness: bool
    cerebral_edema: str
    grade: int


@dataclass(frozen=True)
class AssessmentRecord:
    pk: int
    date: datetime.date
    visit_code: str
    response: str  # outcomes.rules.Response
    mrd_negative: bool | None
    # MRD by flow cytometry in the marrow (% of nucleated cells) and the assay's sensitivity, as entered.
    mrd_flow_percent: Decimal | None = None
    mrd_sensitivity_percent: Decimal | None = None


class LabRecord(NamedTuple):
    """One laboratory result in force (a `laboratory.LabResult` of a draw not removed): the value and unit as the
    site reported it, what the service derived and stored (canonical value, H/L flag, CTCAE grade), and the
    normal range that applies to the patient on the collection date, in the canonical unit. A named tuple, not a
    frozen dataclass like the other records: the package reads half a million of them at 10,000 patients, and a
    tuple is made five times faster."""

    pk: int
    date: datetime.date
    visit_code: str
    analyte: str  # laboratory.rules.Analyte
    value: Decimal
    unit: str
    canonical_value: Decimal
    flag: str  # "H", "L" or ""
    ctcae_grade: int | None
    range_lower: Decimal | None = None
    range_upper: Decimal | None = None
    has_range: bool = False


@dataclass(frozen=True)
class KineticsLimits:
    """The patient's protocol version's kinetics parameters (trial.Protocol), as `laboratory` reads them."""

    qpcr_lloq: Decimal
    flow_lloq: Decimal
    b_cell_recovery_per_ul: Decimal
    sampling_days: tuple[int, ...] = ()


@dataclass(frozen=True)
class VisitRecord:
    code: str
    done_date: datetime.date


@dataclass(frozen=True)
class DeviationRecord:
    pk: int
    date: datetime.date | None
    rule: str
    form: str
    field: str
    message: str


@dataclass(frozen=True)
class Subject:
    """One screened subject with a decision (enrolled or screen failure) and everything recorded."""

    subject_id: str  # the subject ID, or the screening number of a screen failure
    site_code: str
    enrolled: bool
    screening_date: datetime.date
    consent_date: datetime.date | None
    enrollment_date: datetime.date | None = None
    screen_failure_reason: str = ""
    sex: str = ""
    birth_date: datetime.date | None = None
    baseline_date: datetime.date | None = None
    off_study_date: datetime.date | None = None
    off_study_reason: str = ""
    infusion_weight_kg: Decimal | None = None
    death_date: datetime.date | None = None
    death_cause: str = ""
    # The End of study CRF: its date, reason code (outcomes.models.EndOfStudyReason) and reason as written.
    end_date: datetime.date | None = None
    end_reason: str = ""
    end_reason_text: str = ""
    doses: tuple[Dose, ...] = ()
    fractions: tuple[Fraction, ...] = ()
    adverse_events: tuple[AdverseEventRecord, ...] = ()
    crs: tuple[CrsRecord, ...] = ()
    icans: tuple[IcansRecord, ...] = ()
    assessments: tuple[AssessmentRecord, ...] = ()
    visits: tuple[VisitRecord, ...] = ()
    deviations: tuple[DeviationRecord, ...] = ()
    labs: tuple[LabRecord, ...] = ()
    kinetics_limits: KineticsLimits | None = None
    # The endpoints' course (outcomes.selectors.patient_courses, cut at the package's cut-off), infused only.
    course: PatientCourse | None = None
    extra: dict = field(default_factory=dict)

    @functools.cached_property
    def given_doses(self) -> list[Dose]:
        return [d for d in self.doses if d.given]

    @functools.cached_property
    def first_treatment_date(self) -> datetime.date | None:
        """RFSTDTC: the first lymphodepletion dose given (or the first CAR-T fraction without one)."""
        dates = [d.date for d in self.given_doses] + [f.date for f in self.fractions]
        return min(dates, default=None)

    @functools.cached_property
    def infusion_date(self) -> datetime.date | None:
        return min((f.date for f in self.fractions), default=None)

    @functools.cached_property
    def last_infusion_date(self) -> datetime.date | None:
        return max((f.date for f in self.fractions), default=None)

    @functools.cached_property
    def last_treatment_date(self) -> datetime.date | None:
        dates = [d.date for d in self.given_doses] + [f.date for f in self.fractions]
        return max(dates, default=None)
