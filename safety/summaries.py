"""Pure summaries of graded safety data: worst grade, onset day and duration per
patient; incidence over the trial. Plain values in, plain values out."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Episode:
    """A syndrome (CRS or ICANS) in one patient: the worst grade, the study day
    of the first graded assessment, and the days from first to last graded
    assessment, both ends included."""

    worst_grade: int
    onset_day: int | None
    duration_days: int | None
    worst_day: int | None


def episode(graded_days: Iterable[tuple[int, int]]) -> Episode:
    """From (study day, grade) pairs. Grade 0 days do not count as the syndrome."""
    present = sorted((day, grade) for day, grade in graded_days if grade > 0)
    if not present:
        return Episode(worst_grade=0, onset_day=None, duration_days=None, worst_day=None)
    worst_grade = max(grade for _day, grade in present)
    worst_day = min(day for day, grade in present if grade == worst_grade)
    onset, last = present[0][0], present[-1][0]
    return Episode(worst_grade=worst_grade, onset_day=onset, duration_days=last - onset + 1, worst_day=worst_day)


@dataclass(frozen=True)
class Incidence:
    patients: int
    n: int

    @property
    def percent(self) -> float | None:
        return None if self.n == 0 else 100 * self.patients / self.n


def incidence(worst_grades: Iterable[int], *, n: int, at_least: int) -> Incidence:
    """Patients whose worst grade is ``at_least`` or more, over ``n`` patients at risk."""
    return Incidence(patients=sum(1 for grade in worst_grades if grade >= at_least), n=n)


def worst_grade_by_term(events: Iterable[tuple[int, str, int]]) -> dict[str, dict[int, int]]:
    """(patient id, term, grade) → {term: {patient id: worst grade}}."""
    worst: dict[str, dict[int, int]] = defaultdict(dict)
    for patient_id, term, grade in events:
        worst[term][patient_id] = max(grade, worst[term].get(patient_id, 0))
    return dict(worst)


@dataclass(frozen=True)
class TermRow:
    term: str
    by_grade: tuple[int, int, int, int, int]  # patients whose worst grade of the term is 1, 2, 3, 4, 5
    any_grade: Incidence
    grade_3_or_more: Incidence


def term_table(events: Iterable[tuple[int, str, int]], *, n: int) -> list[TermRow]:
    """One row per AE term, patients counted once at their worst grade; most frequent first."""
    rows = []
    for term, worst in worst_grade_by_term(events).items():
        grades = list(worst.values())
        rows.append(TermRow(
            term=term,
            by_grade=tuple(grades.count(grade) for grade in range(1, 6)),
            any_grade=incidence(grades, n=n, at_least=1),
            grade_3_or_more=incidence(grades, n=n, at_least=3),
        ))
    return sorted(rows, key=lambda row: (-row.any_grade.patients, row.term))
