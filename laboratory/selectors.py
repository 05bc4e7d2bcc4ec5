"""Reads for the laboratory pages and API."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from crf.models import crf_model
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
