"""Reads for the submission package: the protocol and every decided subject (enrolled or screen
failure) with their records, as the plain values of `submission.sources`.

A fixed number of queries whatever the number of patients (one per kind of record, in chunks of
patients), so the whole trial is read once. Removed forms and rows are left out, as the endpoints
leave them out; the course of each infused patient is the endpoints' own
(`outcomes.selectors.patient_courses`, cut by `outcomes.statistics.at_cutoff`)."""
import datetime
from collections import defaultdict
from collections.abc import Iterator

from django.db.models import QuerySet

from infusions.models import Infusion, InfusionFraction, LymphodepletionDose
from laboratory import rules as lab_rules
from laboratory.models import LabResult, NormalRange
from monitoring.models import ProtocolDeviation
from outcomes.models import EndOfStudy, ResponseAssessment
from outcomes.selectors import patient_courses, patient_deaths
from outcomes.statistics import at_cutoff
from patients.models import BaselineCRF, Patient, PatientStatus, ScreeningCRF, Visit
from safety.models import AdverseEvent, CrsAssessment, IcansAssessment
from safety.rules import CTCAE_TERMS
from trial.models import Protocol
from trial.rules import VisitStatus

from .rules import age_years, subject_at_cutoff, worst_grade_during
from .sources import (
    AdverseEventRecord,
    AssessmentRecord,
    Criterion,
    CrsRecord,
    DeviationRecord,
    Dose,
    Fraction,
    IcansRecord,
    KineticsLimits,
    LabRecord,
    PlannedVisit,
    Study,
    Subject,
    VisitRecord,
)

SYSTEM_ORGAN_CLASS = dict(CTCAE_TERMS)
# The fields each record takes from its form, in the record's order after its key, date and visit.
ADVERSE_EVENT_FIELDS = ("pk", "term", "meddra_code", "grade", "onset_date", "resolution_date", "serious",
                        "seriousness_criteria", "relatedness_cart", "relatedness_lymphodepletion", "action_taken",
                        "action_taken_other", "outcome")
CRS_FIELDS = ("max_temperature_c", "fever_masked", "hypotension", "hypoxia", "tocilizumab_dose_mg", "corticosteroid",
              "corticosteroid_dose_mg", "grade")
ICANS_FIELDS = ("ice_score", "capd_score", "unable_to_assess", "consciousness", "seizure", "motor_weakness",
                "cerebral_edema", "grade")
# The AE terms whose ASTCT grade (the worst assessment during the event) goes to SUPPAE.
ASTCT_GRADED_TERMS = {"Cytokine release syndrome": "crs"}
LAB_FIELDS = ("analyte", "value", "unit", "canonical_value", "flag", "ctcae_grade")
# Date fields of a CRF, in the order a deviation's date is looked for (DVSTDTC).
DEVIATION_DATE_FIELDS = ("assessment_date", "onset_date", "infusion_date", "start_date", "contact_date",
                         "screening_date")


def study_for(protocol: Protocol) -> Study:
    return Study(
        code=protocol.code, version=protocol.version, title=protocol.title,
        planned_enrollment=protocol.planned_enrollment,
        fludarabine_mg_per_m2=protocol.fludarabine_mg_per_m2,
        cyclophosphamide_mg_per_m2=protocol.cyclophosphamide_mg_per_m2,
        lymphodepletion_first_day=protocol.lymphodepletion_first_day,
        lymphodepletion_last_day=protocol.lymphodepletion_last_day,
        cart_dose_min_million_per_kg=protocol.cart_dose_min_million_per_kg,
        cart_dose_max_million_per_kg=protocol.cart_dose_max_million_per_kg,
        primary_assessment_day=protocol.primary_assessment_day, follow_up_months=protocol.follow_up_months,
        sponsor=protocol.sponsor_site_name, location=protocol.sponsor_site_location,
        criteria=tuple(Criterion(c.code, c.kind, c.text, c.order) for c in protocol.eligibility_criteria.all()),
        visits=tuple(PlannedVisit(v.code, v.name, v.target_day, v.window_before_days, v.window_after_days)
                     for v in protocol.visit_definitions.all()),
    )


def decided_patients(patients: QuerySet[Patient], *, cutoff: datetime.date) -> QuerySet[Patient]:
    """The subjects of the package: screened by the cut-off and enrolled (a subject ID) or screen failures;
    screening still open is not."""
    decided = patients.filter(subject_id__isnull=False) | patients.filter(status=PatientStatus.SCREEN_FAILED)
    return decided.filter(screening_date__lte=cutoff)


def subjects(patients: QuerySet[Patient], *, cutoff: datetime.date, chunk: int = 2500) -> Iterator[Subject]:
    """Every decided subject of ``patients`` with their records as they stood on ``cutoff``
    (`rules.subject_at_cutoff`), ``chunk`` patients at a time."""
    ids = list(decided_patients(patients, cutoff=cutoff).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), chunk):
        yield from _subjects_of(ids[start:start + chunk], cutoff=cutoff)


def _grouped(rows, key="patient_id") -> defaultdict:
    grouped = defaultdict(list)
    for row in rows:
        grouped[row[key] if isinstance(row, dict) else getattr(row, key)].append(row)
    return grouped


def _subjects_of(ids: list[int], *, cutoff: datetime.date) -> Iterator[Subject]:
    patients = Patient.objects.filter(pk__in=ids).select_related("site", "protocol").order_by("pk")
    screening = {s["patient_id"]: s for s in ScreeningCRF.objects.filter(patient_id__in=ids, removed=False)
                 .values("patient_id", "consent_date")}
    baseline = {b["patient_id"]: b for b in BaselineCRF.objects.filter(patient_id__in=ids, removed=False)
                .values("patient_id", "sex", "birth_date", "assessment_date")}
    doses = _grouped(LymphodepletionDose.objects.filter(course__patient_id__in=ids, course__removed=False)
                     .values("course__patient_id", "agent", "study_day", "planned_date", "planned_mg",
                             "administered_mg", "administration_date", "verdict"), key="course__patient_id")
    weights = dict(Infusion.objects.filter(patient_id__in=ids, removed=False).values_list("patient_id", "weight_kg"))
    fractions = _grouped(InfusionFraction.objects.filter(infusion__patient_id__in=ids, infusion__removed=False)
                         .order_by("infusion_date", "pk").values("infusion__patient_id", "infusion_date",
                                                                 "cart_cells_infused"), key="infusion__patient_id")
    # Plain values, not model instances: the whole trial is read at once.
    events = _grouped(AdverseEvent.objects.filter(patient_id__in=ids, removed=False).order_by("onset_date", "pk")
                      .values("patient_id", *ADVERSE_EVENT_FIELDS))
    crs = _grouped(CrsAssessment.objects.filter(patient_id__in=ids, removed=False).order_by("assessment_date", "pk")
                   .values("patient_id", "pk", "assessment_date", "visit__definition__code", *CRS_FIELDS))
    icans = _grouped(IcansAssessment.objects.filter(patient_id__in=ids, removed=False)
                     .order_by("assessment_date", "pk")
                     .values("patient_id", "pk", "assessment_date", "visit__definition__code", *ICANS_FIELDS))
    assessments = _grouped(ResponseAssessment.objects.filter(patient_id__in=ids, removed=False)
                           .order_by("assessment_date", "pk")
                           .values("patient_id", "pk", "assessment_date", "visit__definition__code", "response",
                                   "mrd_negative", "mrd_flow_percent", "mrd_assay_sensitivity_percent"))
    # The patient's one death, as the endpoints read it (a follow-up, a grade-5 adverse event, an end of study).
    deaths = patient_deaths(ids)
    ends = {e.patient_id: e for e in EndOfStudy.objects.filter(patient_id__in=ids, removed=False)}
    visits = _grouped(Visit.objects.filter(patient_id__in=ids, status=VisitStatus.DONE, done_date__isnull=False)
                      .order_by("done_date", "pk").values("patient_id", "definition__code", "done_date"))
    deviations = _grouped(ProtocolDeviation.objects.filter(patient_id__in=ids).prefetch_related("crf")
                          .order_by("created_at", "pk"))
    courses = {c.subject_id: c for c in at_cutoff(patient_courses(Patient.objects.filter(pk__in=ids)), cutoff)}
    labs: defaultdict[int, list[tuple]] = defaultdict(list)  # tuples, not dicts: the most numerous records
    for row in (LabResult.objects.filter(laboratory__patient_id__in=ids, laboratory__removed=False, removed=False)
                .order_by("laboratory__collection_date", "laboratory_id", "pk")
                .values_list("laboratory__patient_id", "pk", "laboratory__collection_date",
                             "laboratory__visit__definition__code", *LAB_FIELDS)):
        labs[row[0]].append(row[1:])
    ranges = normal_ranges()
    intervals: dict[tuple, lab_rules.NormalRange | None] = {}  # the interval of (site, analyte, sex, age), once

    for patient in patients:
        pk = patient.pk
        own_crs, own_icans = crs[pk], icans[pk]
        death, end = deaths.get(pk), ends.get(pk)
        yield subject_at_cutoff(Subject(
            subject_id=patient.study_id, site_code=patient.site.code, enrolled=patient.subject_id is not None,
            screening_date=patient.screening_date, consent_date=screening.get(pk, {}).get("consent_date"),
            enrollment_date=patient.enrollment_date, screen_failure_reason=patient.screen_failure_reason,
            sex=baseline.get(pk, {}).get("sex", ""), birth_date=baseline.get(pk, {}).get("birth_date"),
            baseline_date=baseline.get(pk, {}).get("assessment_date"),
            off_study_date=patient.off_study_date, off_study_reason=patient.off_study_reason,
            infusion_weight_kg=weights.get(pk), death_date=death.death_date if death else None,
            death_cause=death.cause if death else "", end_date=end.end_date if end else None,
            end_reason=end.end_reason if end else "", end_reason_text=end.reason_text if end else "",
            doses=tuple(Dose(d["agent"], d["study_day"], d["planned_date"], d["planned_mg"], d["administered_mg"],
                             d["administration_date"], d["verdict"])
                        for d in sorted(doses[pk], key=lambda d: (d["study_day"], d["agent"]))),
            fractions=tuple(Fraction(f["infusion_date"], f["cart_cells_infused"]) for f in fractions[pk]),
            adverse_events=tuple(_adverse_event(e, own_crs) for e in events[pk]),
            crs=tuple(CrsRecord(c["pk"], c["assessment_date"], c["visit__definition__code"] or "",
                                *(c[name] for name in CRS_FIELDS)) for c in own_crs),
            icans=tuple(IcansRecord(i["pk"], i["assessment_date"], i["visit__definition__code"] or "",
                                    *(i[name] for name in ICANS_FIELDS)) for i in own_icans),
            assessments=tuple(AssessmentRecord(a["pk"], a["assessment_date"], a["visit__definition__code"] or "",
                                               a["response"], a["mrd_negative"], a["mrd_flow_percent"],
                                               a["mrd_assay_sensitivity_percent"]) for a in assessments[pk]),
            visits=tuple(VisitRecord(v["definition__code"], v["done_date"]) for v in visits[pk]),
            deviations=tuple(_deviation(d) for d in deviations[pk]),
            labs=tuple(_lab(row, ranges.get(patient.site_id, ranges[None]), sex=baseline.get(pk, {}).get("sex", ""),
                            birth_date=baseline.get(pk, {}).get("birth_date"),
                            found=intervals, site_id=patient.site_id) for row in labs[pk]),
            kinetics_limits=_kinetics_limits(patient.protocol),
            course=courses.get(patient.study_id),
        ), cutoff)


def normal_ranges() -> dict[int | None, list[lab_rules.NormalRange]]:
    """Site id → the normal ranges that may apply to its patients (the site's own and the defaults), as
    `laboratory.services.normal_ranges` gathers them; ``None`` → the defaults alone. One query."""
    rows = list(NormalRange.objects.all())
    defaults = [_range(row) for row in rows if row.site_id is None]
    found: dict[int | None, list[lab_rules.NormalRange]] = {None: defaults}
    for row in rows:
        if row.site_id is not None:
            found.setdefault(row.site_id, list(defaults)).append(_range(row))
    return found


def _range(row: NormalRange) -> lab_rules.NormalRange:
    return lab_rules.NormalRange(analyte=row.analyte, lower=row.lower, upper=row.upper, sex=row.sex,
                                 age_from_years=row.age_from_years, age_to_years=row.age_to_years,
                                 site_specific=row.site_id is not None)


def _lab(row: tuple, ranges: list[lab_rules.NormalRange], *, sex: str, birth_date: datetime.date | None,
         found: dict[tuple, lab_rules.NormalRange | None], site_id: int) -> LabRecord:
    """One result (pk, date, visit code, then LAB_FIELDS) with the normal range that applies to the patient on
    the collection date (the laboratory's own rule, `laboratory.rules.normal_range`; ``found`` remembers it by
    site, analyte, sex and age)."""
    pk, on, visit_code, analyte, value, unit, canonical, flag, grade = row
    key = (site_id, analyte, sex or "", age_years(birth_date, on))
    if key not in found:
        found[key] = lab_rules.normal_range(ranges, analyte=analyte, sex=key[2], age_years=key[3])
    interval = found[key]
    return LabRecord(pk, on, visit_code or "", analyte, value, unit, canonical, flag, grade,
                     interval.lower if interval else None, interval.upper if interval else None,
                     interval is not None)


def _kinetics_limits(protocol: Protocol) -> KineticsLimits:
    return KineticsLimits(qpcr_lloq=protocol.car_transgene_lloq_copies_per_ug,
                          flow_lloq=protocol.car_t_cells_lloq_per_ul,
                          b_cell_recovery_per_ul=protocol.b_cell_recovery_per_ul,
                          sampling_days=tuple(protocol.kinetics_sampling_days))


def _adverse_event(event: dict, crs: list[dict]) -> AdverseEventRecord:
    graded = ASTCT_GRADED_TERMS.get(event["term"])
    astct = None
    if graded == "crs":
        astct = worst_grade_during(event["onset_date"], event["resolution_date"],
                                   [(c["assessment_date"], c["grade"]) for c in crs])
    values = {name: event[name] for name in ADVERSE_EVENT_FIELDS}
    values["seriousness_criteria"] = tuple(values["seriousness_criteria"] or ())
    return AdverseEventRecord(**values, system_organ_class=SYSTEM_ORGAN_CLASS.get(event["term"], ""),
                              astct_grade=astct)


def _deviation(deviation: ProtocolDeviation) -> DeviationRecord:
    crf = deviation.crf
    on = next((getattr(crf, name) for name in DEVIATION_DATE_FIELDS if getattr(crf, name, None)), None)
    return DeviationRecord(pk=deviation.pk, date=on, rule=deviation.rule, form=deviation.crf_label,
                           field=deviation.field, message=deviation.message)
