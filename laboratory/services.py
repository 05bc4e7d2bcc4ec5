"""Writes of the laboratory form, through the CRF recipe (`crf.services.crf_record`): the hard checks, the
visit-window soft check, the audited save, then the result rows with their derived values."""
from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from crf.checks import visit_window_check
from crf.services import audited_save, crf_child_rows_save, crf_lock_reason, crf_record, crf_remove, crf_save
from patients.models import Patient, Visit
from patients.rules import age_years

from . import rules
from .models import Laboratory, LabResult, NormalRange

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class ResultEntry:
    """One value as the site reported it."""

    analyte: str
    value: Decimal | None
    unit: str


def normal_ranges(patient: Patient) -> list[rules.NormalRange]:
    """The intervals that may apply to the patient: the site's own and the defaults."""
    return [
        rules.NormalRange(analyte=row.analyte, lower=row.lower, upper=row.upper, sex=row.sex,
                          age_from_years=row.age_from_years, age_to_years=row.age_to_years,
                          site_specific=row.site_id is not None)
        for row in NormalRange.objects.filter(site__isnull=True) | NormalRange.objects.filter(site=patient.site_id)
    ]


def patient_age_on(patient: Patient, on_date: datetime.date) -> int | None:
    birth_date = patient.birth_date
    if birth_date is None or on_date < birth_date:
        return None
    return age_years(birth_date=birth_date, on_date=on_date)


def results_judge(*, patient: Patient, on_date: datetime.date, results: Iterable[ResultEntry]
                  ) -> list[rules.JudgedResult]:
    """Each checked result with its canonical value, flag and CTCAE grade for this patient on that date."""
    ranges = normal_ranges(patient)
    sex, age = patient.sex or "", patient_age_on(patient, on_date)
    return [rules.judge(entry.analyte, Decimal(entry.value), entry.unit,  # type: ignore[arg-type]
                        rules.normal_range(ranges, analyte=entry.analyte, sex=sex, age_years=age))
            for entry in results]


def _as_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return Decimal("NaN")
    return number


def laboratory_hard_checks(*, patient: Patient, collection_date: datetime.date | None,
                           results: list[ResultEntry]) -> None:
    """Impossible data, on the field: no date, a date in the future or before consent, no result, an analyte
    twice, a value no blood holds or in a unit the analyte is not reported in (the analyte's code is the
    field)."""
    errors: dict[str, list[str]] = {}
    if collection_date is None:
        errors["collection_date"] = [gettext("Give the date the blood was drawn.")]
    elif collection_date > timezone.localdate():
        errors["collection_date"] = [gettext("The collection date %(date)s is in the future.") % {
            "date": f"{collection_date:%Y-%m-%d}"}]
    elif patient.consent_date is not None and collection_date < patient.consent_date:
        errors["collection_date"] = [gettext("The collection date is before consent (%(consent)s).") % {
            "consent": f"{patient.consent_date:%Y-%m-%d}"}]
    if not results:
        errors["results"] = [gettext("Give at least one result.")]
    seen: set[str] = set()
    for entry in results:
        if entry.analyte in seen:
            errors.setdefault(entry.analyte, []).append(gettext("This analyte is given twice."))
        seen.add(entry.analyte)
        value = entry.value
        if value is not None and not Decimal(value).is_finite():
            errors.setdefault(entry.analyte, []).append(gettext("Give the value as a number."))
        elif messages := rules.result_errors(entry.analyte, value, entry.unit):
            errors.setdefault(entry.analyte, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def laboratory_record(
    *,
    patient: Patient,
    by: User | None,
    collection_date: datetime.date | None,
    results: Iterable[ResultEntry],
    laboratory: Laboratory | None = None,
    visit: Visit | None = None,
    reason: str = "",
    version: int | None = None,
    acknowledge_deviation: bool = False,
    deviation_reason: str = "",
) -> Laboratory:
    """Record (or correct) one blood draw. ``results`` is the whole draw: on a correction, an analyte
    recorded before and not given now is marked removed with the reason (never deleted).

    Raises ValidationError for impossible data (`laboratory_hard_checks`) and SoftChecksNotAcknowledged for
    a date outside the linked visit's window without an acknowledged reason."""
    results = [ResultEntry(entry.analyte, _as_decimal(entry.value), entry.unit) for entry in results]
    if laboratory is None:
        laboratory = Laboratory(patient=patient, protocol=patient.protocol)
    elif laboratory.patient_id != patient.pk:
        raise ValidationError(gettext("These laboratory results belong to another patient."))
    if visit is not None:
        if visit.patient_id != patient.pk:
            raise ValidationError({"visit": gettext("This visit belongs to another patient.")})
        laboratory.visit = visit
    laboratory_hard_checks(patient=patient, collection_date=collection_date, results=results)
    assert collection_date is not None  # the hard checks refuse a missing date
    laboratory.collection_date = collection_date
    judged = results_judge(patient=patient, on_date=collection_date, results=results)
    crf_record(
        crf=laboratory, by=by, reason=reason, expected_version=version,
        soft_checks=visit_window_check(visit=laboratory.visit, on_date=collection_date, field="collection_date"),
        acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason,
    )
    # Removed rows too: an analyte that comes back takes its old row again.
    existing = {row.analyte: row for row in LabResult.all_rows.filter(laboratory=laboratory).order_by("pk")}
    rows = []
    for result in judged:
        row = existing.pop(result.analyte, None) or LabResult(laboratory=laboratory, analyte=result.analyte)
        row.value, row.unit = result.value, result.unit
        row.canonical_value, row.flag, row.ctcae_grade = result.canonical_value, result.flag, result.ctcae_grade
        row.removed, row.removal_reason = False, ""
        rows.append(row)
    crf_child_rows_save(crf=laboratory, rows=rows, removed=list(existing.values()), by=by, reason=reason)
    return laboratory


def _entries(laboratory: Laboratory, *, without: Collection[int] = ()) -> list[ResultEntry]:
    return [ResultEntry(row.analyte, row.value, row.unit) for row in laboratory.results.all()
            if row.pk not in without]


def laboratory_correct(*, crf: Laboratory, field: str, value: Any, by: User, reason: str,
                       acknowledge_deviation: bool = False, deviation_reason: str = "") -> Laboratory:
    """One value corrected through the form's service (`Laboratory.correction_service`): the checks and
    every result's flag and grade follow (an age or a range that applies on the new date)."""
    if field != "collection_date":
        raise ValidationError({field: gettext("This field is not corrected here.")})
    return laboratory_record(
        patient=crf.patient, by=by, collection_date=value, results=_entries(crf), laboratory=crf, reason=reason,
        version=crf.version, acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)


def laboratory_remove(*, crf: Laboratory, by: User, reason: str) -> Laboratory:
    """A draw recorded in error (`Laboratory.removal_service`): a status with a reason, never a delete."""
    return crf_remove(crf=crf, by=by, reason=reason)


def lab_result_remove(*, row: LabResult, by: User, reason: str, acknowledge_deviation: bool = False,
                      deviation_reason: str = "") -> Laboratory:
    """One result recorded in error: the draw is recorded again without it, its row marked removed."""
    laboratory = row.laboratory
    others = _entries(laboratory, without=[row.pk])
    if not others:
        raise ValidationError({"reason": gettext("This is the draw's only result: remove the whole form instead.")})
    return laboratory_record(
        patient=laboratory.patient, by=by, collection_date=laboratory.collection_date, results=others,
        laboratory=laboratory, reason=reason, version=laboratory.version,
        acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason or reason)


# Normal ranges ------------------------------------------------------------------------------------------------
# A stored result's flag and CTCAE grade were judged against the range that applied when it was saved. A range
# recorded, changed (limits, sex, ages) or taken over by a site changes what applies, so the results it covers,
# before and after the change, are judged again and each changed one saved through its form with the cause.

def _site_ranges(site_id: int | None, *, candidate: NormalRange | None = None) -> list[rules.NormalRange]:
    """The intervals a patient of the site may get: the defaults and the site's own; ``candidate`` (a range not
    yet saved) in place of its stored row."""
    rows = [row for row in NormalRange.objects.filter(site__isnull=True) | NormalRange.objects.filter(site=site_id)
            if candidate is None or row.pk != candidate.pk]
    if candidate is not None and candidate.site_id in (None, site_id):
        rows.append(candidate)
    return [rules.NormalRange(analyte=row.analyte, lower=row.lower, upper=row.upper, sex=row.sex,
                              age_from_years=row.age_from_years, age_to_years=row.age_to_years,
                              site_specific=row.site_id is not None) for row in rows]


def _results_covered(*, before: NormalRange | None, after: NormalRange) -> QuerySet[LabResult]:
    """The results in force the range may have covered before the change or covers after it."""
    analytes = {after.analyte} | ({before.analyte} if before else set())
    rows = (LabResult.objects.filter(analyte__in=analytes, laboratory__removed=False)
            .select_related("laboratory__patient__baseline").order_by("laboratory_id", "pk"))
    sites = {after.site_id} | ({before.site_id} if before else set())
    if None not in sites:  # a default range covers every site without its own
        rows = rows.filter(laboratory__patient__site_id__in=sites)
    return rows


def lab_results_rejudged(*, before: NormalRange | None, after: NormalRange, candidate: bool = False
                         ) -> dict[int, list[tuple[LabResult, rules.JudgedResult]]]:
    """Draw → its results whose flag or CTCAE grade the ranges now in force (with ``after`` not yet saved when
    ``candidate``) judge otherwise than stored, each with the new judgement."""
    ranges: dict[int, list[rules.NormalRange]] = {}
    changed: dict[int, list[tuple[LabResult, rules.JudgedResult]]] = {}
    for row in _results_covered(before=before, after=after):
        patient = row.laboratory.patient
        if patient.site_id not in ranges:
            ranges[patient.site_id] = _site_ranges(patient.site_id, candidate=after if candidate else None)
        interval = rules.normal_range(ranges[patient.site_id], analyte=row.analyte, sex=patient.sex or "",
                                      age_years=patient_age_on(patient, row.laboratory.collection_date))
        judged = rules.judge(row.analyte, row.value, row.unit, interval)
        if (judged.flag, judged.ctcae_grade) != (row.flag, row.ctcae_grade):
            changed.setdefault(row.laboratory_id, []).append((row, judged))
    return changed


def normal_range_change_blockers(*, normal_range: NormalRange) -> list[str]:
    """Why the change of ``normal_range`` (not yet saved) cannot be made: a locked form whose results it would
    judge again (a lock forbids any change, derived values included)."""
    before = NormalRange.objects.filter(pk=normal_range.pk).first() if normal_range.pk else None
    changes = lab_results_rejudged(before=before, after=normal_range, candidate=True)
    return [f"{changes_[0][0].laboratory}: {reason}" for changes_ in changes.values()
            if (reason := crf_lock_reason(changes_[0][0].laboratory))]


def _judgement_text(row: LabResult, judged: rules.JudgedResult) -> str:
    def flag(code: str) -> str:
        return code or "normal"

    def grade(value: int | None) -> str:
        return "none" if value is None else str(value)

    return (f"{row.analyte} flag {flag(row.flag)} → {flag(judged.flag)}, CTCAE grade {grade(row.ctcae_grade)} → "
            f"{grade(judged.ctcae_grade)}")


@transaction.atomic
def normal_range_save(*, normal_range: NormalRange, by: User | None, reason: str) -> list[LabResult]:
    """Record or change a normal range (with the reason, on its history row) and judge again the stored results
    it covered before or covers now: each draw whose flag or grade changes is saved through its form (a lock
    stops the whole change; signatures are void and SDV cleared, the values derived changed) with a reason
    naming the cause, kept in English as every reason the system writes. Returns the results changed."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give a reason for the change."})
    before = (NormalRange.objects.select_for_update(of=("self",)).filter(pk=normal_range.pk).order_by().first()
              if normal_range.pk else None)
    audited_save(instance=normal_range, by=by, reason=reason)
    normal_range.refresh_from_db()  # the limits as stored (0.900, as ``before`` reads them), for the cause
    site = normal_range.site
    where = f"at {site.code}" if site is not None else "by default (every site without its own)"
    limits = f"{normal_range.lower}–{normal_range.upper}"
    if before is None:
        cause = f"the {normal_range.analyte} normal range {where} was recorded ({limits}): {reason}"
    else:
        cause = (f"the {normal_range.analyte} normal range {where} was changed ({before.lower}–{before.upper} → "
                 f"{limits}): {reason}")
    changed: list[LabResult] = []
    for rows in lab_results_rejudged(before=before, after=normal_range).values():
        laboratory = rows[0][0].laboratory
        text = "; ".join(_judgement_text(row, judged) for row, judged in rows)
        why = f"Flags and grades re-derived ({text}) because {cause}"[:300]
        crf_save(crf=laboratory, by=by, submit=False, reason=why)  # the lock check; the form's history row
        for row, judged in rows:
            row.flag, row.ctcae_grade = judged.flag, judged.ctcae_grade
            changed.append(row)
        crf_child_rows_save(crf=laboratory, rows=[row for row, _judged in rows], by=by, reason=why)
    return changed
