"""Reads for the laboratory pages and API."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crf.models import crf_model
from trial.hooks import app_modules
from trial.rules import Crf

from . import rules
from .models import Laboratory, LabResult


@dataclass(frozen=True)
class AeSuggestion:
    """A grade ≥ 3 result no adverse event covers: the coordinator may record one (nothing is created here)."""

    result: LabResult
    term: str
    url: str  # the adverse-event form, prefilled with the term, grade and onset date


def judged(row: LabResult) -> rules.JudgedResult:
    return rules.JudgedResult(
        analyte=row.analyte, value=row.value, unit=row.unit, canonical_value=row.canonical_value,
        canonical_unit=rules.ANALYTES[row.analyte].canonical_unit, flag=row.flag, ctcae_grade=row.ctcae_grade)


def ae_suggestions(laboratory: Laboratory) -> list[AeSuggestion]:
    """The draw's grade ≥ 3 results not covered by an adverse event of their CTCAE term on the collection
    date, each with the link to the adverse-event form prefilled. The adverse events are read through the
    CRF registry (the safety app is beside this one, not below)."""
    if laboratory.removed:
        return []
    rows = {row.analyte: row for row in laboratory.results.all()}
    events = [
        rules.RecordedEvent(term=event.term, grade=event.grade, onset_date=event.onset_date,
                            resolution_date=event.resolution_date)
        for event in crf_model(Crf.ADVERSE_EVENTS).objects.filter(patient_id=laboratory.patient_id, removed=False)
    ]
    uncovered = rules.uncovered_severe_results([judged(row) for row in rows.values()],
                                               on_date=laboratory.collection_date, events=events)
    new_event = reverse("safety:adverse_events_new", args=[laboratory.patient.study_id])
    suggestions = []
    for result in uncovered:
        term = rules.CTCAE_TERM[result.analyte]
        query = urlencode({"term": term, "grade": result.ctcae_grade,
                           "onset_date": f"{laboratory.collection_date:%Y-%m-%d}"})
        suggestions.append(AeSuggestion(result=rows[result.analyte], term=term, url=f"{new_event}?{query}"))
    return suggestions


@dataclass(frozen=True)
class PatientKinetics:
    """A patient's CAR-T kinetics, B-cell aplasia and ICAHT, from the laboratory results in force."""

    sampling_days: list[int]
    series: dict[str, list[rules.Sample]]  # analyte → samples by study day
    qpcr: rules.Kinetics
    flow: rules.Kinetics
    b_cell_aplasia: rules.BCellAplasia | None
    icaht_early_grade: int | None  # None: no ANC graded in days 0–30
    icaht_late_grade: int | None  # None: no ANC graded after day 30
    icaht_stop_day: int | None  # the grades' last day: first relapse, HSCT or death (None: none recorded)


KINETICS_ANALYTES = (rules.Analyte.CAR_QPCR, rules.Analyte.CAR_T_FLOW, rules.Analyte.CD19_B, rules.Analyte.ANC)


def patient_series(patient, analytes=KINETICS_ANALYTES) -> dict[str, list[rules.Sample]]:
    """Each analyte's values (canonical unit) by study day, from the rows in force of draws in force; empty
    lists before the infusion (no day 0)."""
    found: dict[str, list[rules.Sample]] = {analyte: [] for analyte in analytes}
    if patient.infusion_date is None:
        return found
    rows = (LabResult.objects.filter(laboratory__patient=patient, laboratory__removed=False, analyte__in=analytes)
            .values_list("analyte", "laboratory__collection_date", "canonical_value")
            .order_by("laboratory__collection_date", "pk"))
    for analyte, on, value in rows:
        found[analyte].append(rules.Sample((on - patient.infusion_date).days, value))
    return found


def icaht_stop_day(patient) -> int | None:
    """The day ICAHT grading stops (`rules.icaht_stop_day`) on the patient's course as the endpoints read it
    (the first relapse, HSCT and death of `outcomes.course`, reached through `trial.hooks`: outcomes sits beside
    this app, not below it), so the page and the API stop where ADSL does (submission/kinetics.py reads the same
    course). None before the infusion or without the outcomes app."""
    if patient.infusion_date is None:
        return None
    for module in app_modules("course"):
        course = module.patient_course(patient)
        if course is not None:
            return rules.icaht_stop_day(patient.infusion_date, relapse_date=course.relapse_date,
                                        hsct_date=course.hsct_date, death_date=course.death_date)
    return None


def patient_kinetics(patient) -> PatientKinetics:
    protocol = patient.protocol
    series = patient_series(patient)
    stop_day = icaht_stop_day(patient)
    icaht = rules.icaht_grades(series[rules.Analyte.ANC], stop_day=stop_day)
    return PatientKinetics(
        sampling_days=list(protocol.kinetics_sampling_days),
        series=series,
        qpcr=rules.kinetics(series[rules.Analyte.CAR_QPCR], lloq=protocol.car_transgene_lloq_copies_per_ug),
        flow=rules.kinetics(series[rules.Analyte.CAR_T_FLOW], lloq=protocol.car_t_cells_lloq_per_ul),
        b_cell_aplasia=rules.b_cell_aplasia(series[rules.Analyte.CD19_B],
                                            recovery_per_ul=protocol.b_cell_recovery_per_ul),
        icaht_early_grade=icaht.early,
        icaht_late_grade=icaht.late,
        icaht_stop_day=stop_day,
    )


RESPONDERS, NON_RESPONDERS = "CR/CRi", "No response"
#: The response groups as a person reads them (the codes above are the groups' keys).
RESPONSE_GROUP_LABELS = {RESPONDERS: _("CR/CRi"), NON_RESPONDERS: _("No response")}


def response_group_label(group: str) -> str:
    """A response group's name in the active language."""
    return str(RESPONSE_GROUP_LABELS.get(group, group))
#: The response-assessment codes of a complete remission (outcomes' Response; read through the CRF registry).
COMPLETE_REMISSION = ("CR", "CRi")


def _responders(patients) -> dict[int, bool]:
    """Infused patient → CR/CRi at any response assessment (True) or assessed without reaching it (False);
    patients not yet assessed are absent. One query."""
    responses: dict[int, bool] = {}
    assessments = (crf_model("response_assessment").objects
                   .filter(patient__in=patients.filter(infusion_date__isnull=False), removed=False)
                   .values_list("patient_id", "response"))
    for patient_id, response in assessments:
        responses[patient_id] = responses.get(patient_id, False) or response in COMPLETE_REMISSION
    return responses


def cohort_counts_by_response(patients) -> dict[str, int]:
    """How many patients each group of `cohort_series_by_response` holds, without reading their series."""
    responses = _responders(patients)
    responders = sum(responses.values())
    return {RESPONDERS: responders, NON_RESPONDERS: len(responses) - responders}


def cohort_series_by_response(patients, analyte: str = rules.Analyte.CAR_QPCR) -> dict[str, list[list[rules.Sample]]]:
    """Each infused patient's series of ``analyte`` by study day, grouped by response: CR/CRi at any
    assessment, or assessed without ever reaching it (no response). Patients not yet assessed are left out.
    Three queries, whatever the number of patients."""
    infused = patients.filter(infusion_date__isnull=False)
    responses = _responders(patients)
    curves: dict[int, list[rules.Sample]] = {patient_id: [] for patient_id in responses}
    rows = (LabResult.objects.filter(laboratory__patient__in=infused, laboratory__removed=False, analyte=analyte)
            .values_list("laboratory__patient_id", "laboratory__collection_date", "laboratory__patient__infusion_date",
                         "canonical_value")
            .order_by("laboratory__patient_id", "laboratory__collection_date"))
    for patient_id, on, day_0, value in rows:
        if patient_id in curves:
            curves[patient_id].append(rules.Sample((on - day_0).days, value))
    return {
        RESPONDERS: [curve for patient_id, curve in curves.items() if responses[patient_id]],
        NON_RESPONDERS: [curve for patient_id, curve in curves.items() if not responses[patient_id]],
    }


def cohort_b_cell_aplasia(patients, *, cutoff: datetime.date | None = None) -> list[rules.BCellAplasia]:
    """The duration of B-cell aplasia (or its censoring) of every infused patient with a CD19⁺ count after the
    infusion, each under the threshold of the patient's protocol version; with a ``cutoff``, counts drawn after
    it are ignored (the endpoints' data cut-off). One query."""
    infused = patients.filter(infusion_date__isnull=False)
    rows = LabResult.objects.filter(laboratory__patient__in=infused, laboratory__removed=False,
                                    analyte=rules.Analyte.CD19_B)
    if cutoff is not None:
        rows = rows.filter(laboratory__collection_date__lte=cutoff)
    rows = (rows
            .values_list("laboratory__patient_id", "laboratory__collection_date", "laboratory__patient__infusion_date",
                         "laboratory__patient__protocol__b_cell_recovery_per_ul", "canonical_value")
            .order_by("laboratory__patient_id"))
    counts: dict[int, tuple[list[rules.Sample], Decimal]] = {}
    for patient_id, on, day_0, threshold, value in rows:
        counts.setdefault(patient_id, ([], threshold))[0].append(rules.Sample((on - day_0).days, value))
    found = (rules.b_cell_aplasia(samples, recovery_per_ul=threshold) for samples, threshold in counts.values())
    return [aplasia for aplasia in found if aplasia is not None]
