"""A subject's CAR-T kinetics, B-cell aplasia and ICAHT grades from its laboratory records, by the laboratory
app's own pure rules (`laboratory.rules`) on the same series `laboratory.selectors.patient_kinetics` reads: every
result in force by study day from the infusion (day 0), in the canonical unit, under the patient's protocol
version's LLOQs and recovery threshold. So PP, ADPP, ADTTE's BCREC and ADSL's ICAHT grades equal what
GET /api/v1/patients/{id}/kinetics/ answers (tests/submission/test_kinetics.py)."""
from dataclasses import dataclass

from laboratory import rules as lab_rules

from .sources import Subject

QPCR, FLOW, CD19_B, ANC = (lab_rules.Analyte.CAR_QPCR.value, lab_rules.Analyte.CAR_T_FLOW.value,
                           lab_rules.Analyte.CD19_B.value, lab_rules.Analyte.ANC.value)
SERIES_ANALYTES = (QPCR, FLOW, CD19_B, ANC)


@dataclass(frozen=True)
class SubjectKinetics:
    series: dict[str, list[lab_rules.Sample]]  # analyte → samples by protocol day (day 0 = infusion)
    qpcr: lab_rules.Kinetics
    flow: lab_rules.Kinetics
    b_cell_aplasia: lab_rules.BCellAplasia | None
    icaht_early_grade: int | None  # None: no ANC graded in days 0–30
    icaht_late_grade: int | None  # None: no ANC graded after day 30
    icaht_stop_day: int | None  # the grades' last day: first relapse, HSCT or death (None: none by the cut-off)

    def nca(self, analyte: str) -> lab_rules.Kinetics:
        return self.qpcr if analyte == QPCR else self.flow


def subject_series(subject: Subject) -> dict[str, list[lab_rules.Sample]]:
    """Each kinetics analyte's canonical values by protocol day; empty before the infusion."""
    found: dict[str, list[lab_rules.Sample]] = {analyte: [] for analyte in SERIES_ANALYTES}
    day_0 = subject.infusion_date
    if day_0 is None:
        return found
    for lab in subject.labs:
        if lab.analyte in found:
            found[lab.analyte].append(lab_rules.Sample((lab.date - day_0).days, lab.canonical_value))
    return found


def subject_kinetics(subject: Subject) -> SubjectKinetics | None:
    """None for a subject not infused (by the cut-off) or whose protocol is unknown."""
    limits = subject.kinetics_limits
    if subject.infusion_date is None or limits is None:
        return None
    series = subject_series(subject)
    # ICAHT stops at the course's first relapse, HSCT or death, the course the endpoints read (as the laboratory
    # page and API do, through outcomes.course).
    course = subject.course
    stop_day = None if course is None else lab_rules.icaht_stop_day(
        subject.infusion_date, relapse_date=course.relapse_date, hsct_date=course.hsct_date,
        death_date=course.death_date)
    icaht = lab_rules.icaht_grades(series[ANC], stop_day=stop_day)
    return SubjectKinetics(
        series=series,
        qpcr=lab_rules.kinetics(series[QPCR], lloq=limits.qpcr_lloq),
        flow=lab_rules.kinetics(series[FLOW], lloq=limits.flow_lloq),
        b_cell_aplasia=lab_rules.b_cell_aplasia(series[CD19_B], recovery_per_ul=limits.b_cell_recovery_per_ul),
        icaht_early_grade=icaht.early,
        icaht_late_grade=icaht.late,
        icaht_stop_day=stop_day,
    )


def auc_end_day(samples: list[lab_rules.Sample]) -> int | None:
    """The day the AUC0–28d ends on: the last sample on or before day 28 (from day 0), as `laboratory.rules.
    kinetics` integrates; None when there is none."""
    return max((sample.day for sample in samples if 0 <= sample.day <= lab_rules.AUC_LAST_DAY), default=None)
