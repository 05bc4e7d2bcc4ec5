"""Pure rules about the subject: body-surface area, age, study day, hard limits.

Numbers in, verdicts out: no models (the status choices only), no database. Forms, serializers and
services call these; none of them re-implements the arithmetic.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.db import models
from django.utils.translation import gettext_lazy as _

Number = Decimal | float | int

# --- Hard-check limits (inclusive), kept in one place ------------------------
# Values outside these are impossible data and are refused on the field, not
# merely flagged. They are deliberately wide: the trial may enrol children,
# and a plausible-but-unusual value must never be blocked by a hard check.
#: Weight: 2 kg (a small infant) to 250 kg; 0 kg and 400 kg are refused.
WEIGHT_KG_LIMITS: tuple[Decimal, Decimal] = (Decimal("2"), Decimal("250"))
#: Height: 40 cm (a newborn) to 230 cm.
HEIGHT_CM_LIMITS: tuple[Decimal, Decimal] = (Decimal("40"), Decimal("230"))
#: Any percentage (blasts, viability, CAR-positive fraction): 0–100 %.
PERCENT_LIMITS: tuple[Decimal, Decimal] = (Decimal("0"), Decimal("100"))

_CENTI = Decimal("0.01")


class PatientStatus(models.TextChoices):
    SCREENING = "screening", _("Screening")
    SCREEN_FAILED = "screen_failed", _("Screen failure")
    ENROLLED = "enrolled", _("Enrolled")
    LYMPHODEPLETION = "lymphodepletion", _("Lymphodepletion")
    INFUSED = "infused", _("Infused")
    FOLLOW_UP = "follow_up", _("In follow-up")
    OFF_STUDY = "off_study", _("Off study")


def in_follow_up(*, infusion_date: datetime.date | None, follow_up_opens_day: int,
                 contact_dates: Iterable[datetime.date]) -> bool:
    """Whether the record shows the patient past the 1-month (primary) assessment and so in follow-up: infused,
    and a response assessment or follow-up contact in force is dated on or after study day
    ``follow_up_opens_day`` — the day the primary-assessment visit's window opens (D28 − 4 = day 24 under
    protocol 1.0). Earlier contacts (a day-7 check, a day-14 marrow) are the treatment period."""
    if infusion_date is None:
        return False
    opens = infusion_date + datetime.timedelta(days=follow_up_opens_day)
    return any(day >= opens for day in contact_dates)


def status_on_study(*, enrolled: bool, screen_failed: bool, lymphodepleted: bool, infused: bool,
                    followed_up: bool) -> PatientStatus:
    """The patient's status as the record gives it when no end of study (no death, no End-of-study form)
    stands: the furthest step recorded — in follow-up (infused and seen on or after the 1-month assessment:
    `in_follow_up`), infused (day 0 set by the infusion CRF), lymphodepleted (a lymphodepletion course
    recorded), enrolled (a subject ID), else screen failure or screening. One rule on the way forward (a
    course, day 0, an assessment recorded) and on the way back (an assessment removed, a death corrected away:
    `patients.services.patient_status_follow_record`, `patient_on_study`)."""
    if infused and followed_up:
        return PatientStatus.FOLLOW_UP
    if infused:
        return PatientStatus.INFUSED
    if lymphodepleted:
        return PatientStatus.LYMPHODEPLETION
    if enrolled:
        return PatientStatus.ENROLLED
    if screen_failed:
        return PatientStatus.SCREEN_FAILED
    return PatientStatus.SCREENING


def to_decimal(value: Number) -> Decimal:
    """Convert without binary-float noise: 70.1 becomes Decimal('70.1'), not 70.09999…"""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a measurement")
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def within_limits(*, value: Number, limits: tuple[Decimal, Decimal]) -> bool:
    """True when ``value`` lies inside the inclusive hard-check ``limits``."""
    number = to_decimal(value)
    if not number.is_finite():
        return False
    low, high = limits
    return low <= number <= high


def body_surface_area_m2(*, height_cm: Number, weight_kg: Number) -> Decimal:
    """Mosteller BSA, sqrt(height_cm × weight_kg / 3600), rounded half-up to 0.01 m².

    The rounded value is what pharmacy doses from, so every planned dose is
    computed from exactly the figure shown on the form.
    """
    height, weight = to_decimal(height_cm), to_decimal(weight_kg)
    for name, number in (("height_cm", height), ("weight_kg", weight)):
        if not number.is_finite() or number <= 0:
            raise ValueError(f"{name} must be a positive number, got {number}")
    with localcontext() as ctx:
        ctx.prec = 50  # Decimal sqrt is correctly rounded; ample digits for the half-up step
        bsa = (height * weight / Decimal(3600)).sqrt()
        return bsa.quantize(_CENTI, rounding=ROUND_HALF_UP)


def age_years(*, birth_date: datetime.date, on_date: datetime.date) -> int:
    """Completed years on ``on_date``.

    Someone born on 29 February completes a year on 1 March in common years
    (the birthday has not yet passed on 28 February).
    """
    if on_date < birth_date:
        raise ValueError("on_date is before birth_date")
    before_birthday = (on_date.month, on_date.day) < (birth_date.month, birth_date.day)
    return on_date.year - birth_date.year - int(before_birthday)


def study_day(*, on_date: datetime.date, infusion_date: datetime.date) -> int:
    """Days from CAR-T infusion: day 0 is the infusion, the day before is −1.

    Plain date difference, so there is no "day −0" and no gap at zero;
    lymphodepletion falls on days −5 to −3.
    """
    return (on_date - infusion_date).days


# --- Eligibility ---------------------------------------------------------------
# Criteria come from the protocol version (trial.EligibilityCriterion) as
# (code, kind, text); answers map each code to True (inclusion met / exclusion
# present), False, or None (not yet assessed).

INCLUSION = "inclusion"
EXCLUSION = "exclusion"


class EligibilityVerdict:
    PENDING = "pending"  # some criterion not yet assessed
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"


def failed_criteria(
    *, criteria: list[tuple[str, str, str]], answers: dict[str, bool | None]
) -> list[tuple[str, str, str]]:
    """The criteria that exclude the patient: an inclusion criterion answered
    not met, or an exclusion criterion answered present. Unanswered ones are
    not failures (yet)."""
    failed = []
    for code, kind, text in criteria:
        answer = answers.get(code)
        if answer is None:
            continue
        if (kind == INCLUSION and answer is False) or (kind == EXCLUSION and answer is True):
            failed.append((code, kind, text))
    return failed


def eligibility_verdict(*, criteria: list[tuple[str, str, str]], answers: dict[str, bool | None]) -> str:
    """Ineligible as soon as one answered criterion fails (a single failure
    decides, even with others still open); eligible only when every criterion
    is answered and none fails; otherwise pending."""
    if failed_criteria(criteria=criteria, answers=answers):
        return EligibilityVerdict.INELIGIBLE
    if any(answers.get(code) is None for code, _kind, _text in criteria):
        return EligibilityVerdict.PENDING
    return EligibilityVerdict.ELIGIBLE


def screen_failure_reason(*, failed: list[tuple[str, str, str]]) -> str:
    """What the registry records for a screen failure, one line per criterion. Stored on the patient and
    kept in English like every text the system writes into the record (docs/i18n.md)."""
    lines = []
    for _code, kind, text in failed:
        prefix = "Inclusion criterion not met" if kind == INCLUSION else "Exclusion criterion present"
        lines.append(f"{prefix}: {text}")
    return "\n".join(lines)
