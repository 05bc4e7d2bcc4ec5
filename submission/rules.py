"""Pure rules of the submission datasets: the SDTM study day, epochs, ISO 8601 dates, sequence
numbers, and text as SAS XPORT v5 can hold it. Plain values in, plain values out: no database."""
import dataclasses
import datetime
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from .sources import Subject

SCREENING, TREATMENT, FOLLOW_UP = "SCREENING", "TREATMENT", "FOLLOW-UP"


def iso_date(value: datetime.date | None) -> str:
    """ISO 8601 for an --DTC variable; empty when the date is unknown (SDTM's null is an empty string)."""
    return value.isoformat() if value is not None else ""


def study_day(value: datetime.date | None, reference_start: datetime.date | None) -> int | None:
    """SDTM --DY: days from RFSTDTC, day 1 on RFSTDTC itself and day −1 the day before; there is no day 0.

    (The protocol counts from the infusion, day 0 included; SDTM counts from RFSTDTC, the first
    lymphodepletion dose, so the infusion on protocol day 0 is SDTM day 6 when the course began on
    day −5.)"""
    if value is None or reference_start is None:
        return None
    days = (value - reference_start).days
    return days + 1 if days >= 0 else days


def protocol_day_to_study_day(protocol_day: int, lymphodepletion_first_day: int) -> int:
    """A planned protocol day (day 0 = infusion) on the --DY scale, RFSTDTC being planned on
    ``lymphodepletion_first_day`` (−5): protocol day 28 is SDTM day 34, day −5 is day 1."""
    days = protocol_day - lymphodepletion_first_day
    return days + 1 if days >= 0 else days


def epoch(value: datetime.date | None, *, reference_start: datetime.date | None,
          last_treatment: datetime.date | None) -> str:
    """SCREENING before the first lymphodepletion dose, TREATMENT from it to the last CAR-T fraction,
    FOLLOW-UP after; empty when the date is unknown. A subject never treated is in SCREENING."""
    if value is None:
        return ""
    if reference_start is None or value < reference_start:
        return SCREENING
    if last_treatment is None or value <= last_treatment:
        return TREATMENT
    return FOLLOW_UP


def age_years(birth_date: datetime.date | None, on_date: datetime.date | None) -> int | None:
    """Whole years of age on ``on_date``."""
    if birth_date is None or on_date is None or on_date < birth_date:
        return None
    return on_date.year - birth_date.year - ((on_date.month, on_date.day) < (birth_date.month, birth_date.day))


def yes_no(value: bool | None) -> str:
    """The NY codelist: Y, N, or empty when not known."""
    if value is None:
        return ""
    return "Y" if value else "N"


# XPORT v5 holds ASCII only: the characters the EDC's texts use, written as a reader expects.
_ASCII = str.maketrans({
    "−": "-", "–": "-", "—": "-", "×": "x", "⁶": "^6", "⁹": "^9", "⁺": "+", "⁻": "-", "µ": "u", "μ": "u",
    "≥": ">=", "≤": "<=", "°": "", "’": "'", "‘": "'", "“": '"', "”": '"', "₂": "2", "²": "2", "…": "...",
})


def ascii_text(value: Any, *, max_length: int = 200) -> str:
    """Text for a character variable: ASCII (symbols spelled out, accents dropped), one line, at most
    ``max_length`` characters (the XPORT v5 limit is 200)."""
    if value is None:
        return ""
    text = " ".join(str(value).translate(_ASCII).split())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text[:max_length]


def numbered(rows: list[dict], *, seq: str, key: Callable[[dict], Any]) -> list[dict]:
    """Sort ``rows`` by USUBJID then ``key`` and number them 1, 2, … within each subject in ``seq``."""
    ordered = sorted(rows, key=lambda row: (row["USUBJID"], key(row)))
    counters: dict[str, int] = {}
    for row in ordered:
        counters[row["USUBJID"]] = counters.get(row["USUBJID"], 0) + 1
        row[seq] = counters[row["USUBJID"]]
    return ordered


def date_key(value: datetime.date | None) -> datetime.date:
    """Sort key for a date that may be unknown (unknown last)."""
    return value if value is not None else datetime.date.max


def first_date(values: Iterable[datetime.date | None]) -> datetime.date | None:
    return min((v for v in values if v is not None), default=None)


def last_date(values: Iterable[datetime.date | None]) -> datetime.date | None:
    return max((v for v in values if v is not None), default=None)


def worst_grade_during(onset: datetime.date, resolution: datetime.date | None,
                       graded: Iterable[tuple[datetime.date, int]]) -> int | None:
    """The worst grade of the assessments dated from an event's onset to its resolution (open-ended while it
    lasts): the ASTCT grade of a CRS adverse event, from its CRS assessments. None when none was assessed."""
    return max((grade for on, grade in graded if on >= onset and (resolution is None or on <= resolution)),
               default=None)


def last_before(dates: list[datetime.date | None], reference: datetime.date | None) -> int | None:
    """Index of the latest date strictly before the reference (the last observation before exposure: the EDC
    records dates without times, so a result on the infusion day is not known to precede it); None when none."""
    if reference is None:
        return None
    before = [(value, index) for index, value in enumerate(dates) if value is not None and value < reference]
    return max(before)[1] if before else None


def subject_at_cutoff(subject: Subject, cutoff: datetime.date) -> Subject:
    """The subject's records as they stood on ``cutoff``, as `outcomes.statistics.at_cutoff` cuts the course:
    whatever is dated after it is left out (doses, fractions, events, assessments, laboratory results, visits,
    deviations, the death and the end of study), and an adverse event still going on that day has no resolution
    yet and is "not recovered" as of the cut-off."""
    def known(value: datetime.date | None) -> datetime.date | None:
        return value if value is not None and value <= cutoff else None

    events = []
    for event in subject.adverse_events:
        if event.onset_date > cutoff:
            continue
        if event.resolution_date is not None and event.resolution_date > cutoff:
            event = dataclasses.replace(event, resolution_date=None, outcome="not_recovered")
        events.append(event)
    return dataclasses.replace(
        subject,
        enrollment_date=known(subject.enrollment_date),
        doses=tuple(d for d in subject.doses if d.date <= cutoff),
        fractions=tuple(f for f in subject.fractions if f.date <= cutoff),
        adverse_events=tuple(events),
        crs=tuple(c for c in subject.crs if c.date <= cutoff),
        icans=tuple(i for i in subject.icans if i.date <= cutoff),
        assessments=tuple(a for a in subject.assessments if a.date <= cutoff),
        visits=tuple(v for v in subject.visits if v.done_date <= cutoff),
        deviations=tuple(d for d in subject.deviations if d.date is None or d.date <= cutoff),
        labs=tuple(lab for lab in subject.labs if lab.date <= cutoff),
        death_date=known(subject.death_date), death_cause=subject.death_cause if known(subject.death_date) else "",
        end_date=known(subject.end_date), end_reason=subject.end_reason if known(subject.end_date) else "",
        end_reason_text=subject.end_reason_text if known(subject.end_date) else "",
        off_study_date=known(subject.off_study_date),
        off_study_reason=subject.off_study_reason if known(subject.off_study_date) else "",
    )
