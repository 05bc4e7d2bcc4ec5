"""Pure rules for lymphodepletion and the CAR-T infusion.

Numbers in, verdicts out: no models, no database. Protocol numbers (regimen,
study days, tolerance, dose range) are arguments, read by the caller from the
``Protocol`` record; only clinical conventions that are not protocol data live
here as default constants.

All arithmetic is exact (``Decimal``, ``int``, ``Fraction``); floats are never used.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from math import floor
from typing import Protocol

from django.db.models import TextChoices
from django.utils.formats import number_format
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from crf.display import cells_in_millions
from patients.rules import PERCENT_LIMITS, to_decimal, within_limits
from trial.i18n import lazy_message

_ONE_MG = Decimal("1")
_CENTI = Decimal("0.01")
_MILLION = Decimal(1_000_000)

#: Infusion must fall at least this many days after the last lymphodepletion
#: dose (infusion_date − last_dose_date ≥ 2, i.e. at least one rest day between).
#: The protocol schedule itself (day −3 → day 0) leaves 3 days.
MIN_DAYS_LYMPHODEPLETION_TO_INFUSION = 2


class Agent(TextChoices):
    FLUDARABINE = "fludarabine", _("Fludarabine")
    CYCLOPHOSPHAMIDE = "cyclophosphamide", _("Cyclophosphamide")


#: The agents as a sentence names them ("Day −5 fludarabine: …"), in the reader's language.
AGENT_NAMES = {Agent.FLUDARABINE: _("fludarabine"), Agent.CYCLOPHOSPHAMIDE: _("cyclophosphamide")}


class DoseVerdict(TextChoices):
    WITHIN_TOLERANCE = "within_tolerance", _("Within tolerance")
    OUTSIDE_TOLERANCE = "outside_tolerance", _("Outside tolerance")
    MISSED = "missed", pgettext_lazy("lymphodepletion dose verdict", "Missed")


class CellDoseVerdict(TextChoices):
    WITHIN_RANGE = "within_range", pgettext_lazy("CAR-T dose verdict", "Within range")
    BELOW_RANGE = "below_range", _("Below range")
    ABOVE_RANGE = "above_range", _("Above range")


# --- lymphodepletion -------------------------------------------------------------


def planned_dose_mg(*, dose_mg_per_m2: Decimal, bsa_m2: Decimal) -> Decimal:
    """Planned daily dose: ``dose_mg_per_m2 × bsa_m2``, rounded half up to a whole mg.

    Pharmacy rule (same for both agents): multiply by the BSA as already
    rounded to 0.01 m², then round half up to the nearest 1 mg. A whole mg is
    measurable from the usual concentrations (fludarabine 25 mg/mL,
    cyclophosphamide 20 mg/mL) and the rounding error (≤ 0.5 mg, under 2 % of
    the smallest paediatric fludarabine dose) is far inside the 10 % tolerance.
    No dose banding or capping is applied.
    """
    dose, bsa = to_decimal(dose_mg_per_m2), to_decimal(bsa_m2)
    if dose <= 0 or bsa <= 0:
        raise ValueError("dose_mg_per_m2 and bsa_m2 must be positive")
    return (dose * bsa).quantize(_ONE_MG, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class PlannedDose:
    study_day: int
    date: datetime.date
    agent: str
    planned_mg: Decimal


def planned_course(
    *,
    start_date: datetime.date,
    bsa_m2: Decimal,
    regimen: Mapping[str, Decimal],
    study_days: tuple[int, ...],
) -> list[PlannedDose]:
    """Every planned dose of the course, by study day then in regimen order.

    ``start_date`` is the date of the first (lowest) study day, e.g. day −5;
    the other days follow on consecutive calendar offsets from it. ``regimen``
    maps agent to mg/m² and ``study_days`` comes from the Protocol record.
    """
    if not study_days or not regimen:
        raise ValueError("a course needs at least one study day and one agent")
    days = sorted(set(study_days))
    first = days[0]
    per_agent = {agent: planned_dose_mg(dose_mg_per_m2=mg_m2, bsa_m2=bsa_m2) for agent, mg_m2 in regimen.items()}
    return [
        PlannedDose(
            study_day=day,
            date=start_date + datetime.timedelta(days=day - first),
            agent=str(agent),
            planned_mg=planned_mg,
        )
        for day in days
        for agent, planned_mg in per_agent.items()
    ]


def dose_verdict(*, planned_mg: Decimal, administered_mg: Decimal | None, tolerance_percent: Decimal) -> str:
    """Soft check of one administered dose against its plan.

    Nothing given (``None`` or 0) is ``missed``. Otherwise the relative
    deviation |administered − planned| / planned is ``outside_tolerance`` only
    when strictly greater than the tolerance: exactly 10.00 % is within.
    Compared by cross-multiplication so no division can round the boundary.
    """
    if planned_mg <= 0:
        raise ValueError("planned_mg must be positive")
    if tolerance_percent < 0:
        raise ValueError("tolerance_percent must not be negative")
    if administered_mg is None or administered_mg == 0:
        return DoseVerdict.MISSED
    if administered_mg < 0:
        raise ValueError("administered_mg must not be negative")
    if abs(administered_mg - planned_mg) * 100 > tolerance_percent * planned_mg:
        return DoseVerdict.OUTSIDE_TOLERANCE
    return DoseVerdict.WITHIN_TOLERANCE


@dataclass(frozen=True)
class RenalBand:
    """A creatinine-clearance band of the fludarabine label, as the Protocol stores it
    (`Protocol.fludarabine_renal_bands`): [min, max) mL/min, its dose reduction, or not recommended."""

    crcl_min_ml_min: Decimal
    crcl_max_ml_min: Decimal | None
    reduction_percent: Decimal | None
    not_recommended: bool

    @classmethod
    def from_protocol(cls, row: Mapping) -> RenalBand:
        def number(value):
            return None if value is None else Decimal(str(value))
        return cls(crcl_min_ml_min=Decimal(str(row.get("crcl_min_ml_min", 0))),
                   crcl_max_ml_min=number(row.get("crcl_max_ml_min")),
                   reduction_percent=number(row.get("reduction_percent")),
                   not_recommended=bool(row.get("not_recommended", False)))

    @property
    def label(self) -> str:
        """"creatinine clearance 30–70 mL/min", lazy: in the reader's language where it is shown."""
        low = self.crcl_min_ml_min.normalize()
        if self.crcl_max_ml_min is None:
            return lazy_message(_("creatinine clearance %(low)s or more mL/min"), low=f"{low:f}")
        high = f"{self.crcl_max_ml_min.normalize():f}"
        if low == 0:
            return lazy_message(_("creatinine clearance < %(high)s mL/min"), high=high)
        return lazy_message(_("creatinine clearance %(low)s–%(high)s mL/min"), low=f"{low:f}", high=high)


def fludarabine_renal_band(*, creatinine_clearance_ml_min: Decimal | None,
                           bands: Sequence[Mapping]) -> RenalBand | None:
    """The protocol's band the clearance falls in (lower bound included, upper excluded), or None."""
    if creatinine_clearance_ml_min is None:
        return None
    for band in map(RenalBand.from_protocol, bands):
        if band.crcl_min_ml_min <= creatinine_clearance_ml_min and (
                band.crcl_max_ml_min is None or creatinine_clearance_ml_min < band.crcl_max_ml_min):
            return band
    return None


def renal_adjusted_dose_mg(*, planned_mg: Decimal, band: RenalBand | None) -> Decimal:
    """The fludarabine dose the label plans at this clearance: reduced by the band's percentage, rounded half
    up to a whole mg like every planned dose; unchanged outside a reducing band."""
    if band is None or band.reduction_percent is None or band.not_recommended:
        return planned_mg
    return (planned_mg * (100 - band.reduction_percent) / 100).quantize(_ONE_MG, rounding=ROUND_HALF_UP)


# --- dosing cross-checks ------------------------------------------------------------


def lymphodepletion_off_schedule(*, last_dose_date: datetime.date, infusion_date: datetime.date,
                                 first_day: int, last_day: int) -> bool:
    """True when the last lymphodepletion dose does not fall on the protocol's study days (−5 to −3) of
    the infusion: day 0 two days or twelve days after the last dose is not the protocol's schedule."""
    day = (last_dose_date - infusion_date).days
    return not first_day <= day <= last_day


def weight_change_exceeds(*, weight_kg: Decimal, earlier_weight_kg: Decimal, limit_percent: Decimal) -> bool:
    """True when the infusion weight is further than ``limit_percent`` from the latest earlier weight, as a
    share of that earlier weight: 35 kg typed against 70 kg is 50 % and would double the dose per kg.
    Exactly the limit is within; compared by cross-multiplication so no division rounds the boundary."""
    if earlier_weight_kg <= 0:
        raise ValueError("earlier_weight_kg must be positive")
    return abs(weight_kg - earlier_weight_kg) * 100 > limit_percent * earlier_weight_kg


def weight_change_percent(*, weight_kg: Decimal, earlier_weight_kg: Decimal) -> Decimal:
    """The change as shown in the message: a signed percentage of the earlier weight, to 0.1 %."""
    return ((weight_kg - earlier_weight_kg) * 100 / earlier_weight_kg).quantize(Decimal("0.1"),
                                                                                 rounding=ROUND_HALF_UP)


def fraction_spread_days(fractions: Iterable[InfusionFractionLike]) -> int:
    """Days from the first to the last fraction of one infusion (0 for a single fraction)."""
    dates = [fraction.infusion_date for fraction in fractions]
    return (max(dates) - min(dates)).days if dates else 0


# --- CAR-T cell dose ---------------------------------------------------------------


def cell_dose_per_kg(*, cart_cells_infused: int, weight_kg: Decimal) -> Decimal:
    """CAR⁺ viable cells per kg of recipient weight, unrounded.

    Decimal division at 40 significant digits: exact whenever the quotient
    terminates, and otherwise far finer than any boundary that is compared.
    """
    if isinstance(cart_cells_infused, bool) or not isinstance(cart_cells_infused, int):
        raise TypeError("cart_cells_infused must be an int (a count of cells)")
    if cart_cells_infused < 0:
        raise ValueError("cart_cells_infused must not be negative")
    weight = to_decimal(weight_kg)
    if not weight.is_finite() or weight <= 0:
        raise ValueError("weight_kg must be positive")
    with localcontext() as ctx:
        ctx.prec = 40
        return Decimal(cart_cells_infused) / weight


def dose_million_cells_per_kg(*, cells_per_kg: Decimal) -> Decimal:
    """The dose as shown to people: ×10⁶ cells/kg, rounded half up to 0.01."""
    return (Decimal(cells_per_kg) / _MILLION).quantize(_CENTI, rounding=ROUND_HALF_UP)


def cell_dose_verdict(*, cells_per_kg: Decimal, min_cells_per_kg: Decimal, max_cells_per_kg: Decimal) -> str:
    """Soft check of the CAR-T dose against the protocol range, inclusive.

    Judged on the displayed value (rounded half up to 0.01 ×10⁶/kg), so the
    verdict never contradicts the number on the form, the API or the PDF:
    4.995 ×10⁶/kg shows as 5.00 and is within range; 4.994 shows as 4.99 and
    is below. That precision (10 000 cells/kg, 0.1 % of the lower bound) is
    far below the uncertainty of a cell count.
    """
    if min_cells_per_kg > max_cells_per_kg:
        raise ValueError("min_cells_per_kg is above max_cells_per_kg")
    shown = dose_million_cells_per_kg(cells_per_kg=cells_per_kg) * _MILLION
    if shown < min_cells_per_kg:
        return CellDoseVerdict.BELOW_RANGE
    if shown > max_cells_per_kg:
        return CellDoseVerdict.ABOVE_RANGE
    return CellDoseVerdict.WITHIN_RANGE


# --- product lot ---------------------------------------------------------------------


def car_positive_viable_cells(*, total_viable_cells: int, car_positive_percent: Decimal) -> int:
    """CAR⁺ viable cells available in the lot: total viable × CAR⁺ %, rounded down.

    Rounded down because a lot's capacity must never be overstated.
    """
    if total_viable_cells < 0:
        raise ValueError("total_viable_cells must not be negative")
    if not within_limits(value=car_positive_percent, limits=PERCENT_LIMITS):
        raise ValueError("car_positive_percent must be within 0–100")
    return floor(Fraction(total_viable_cells) * Fraction(Decimal(car_positive_percent)) / 100)


def cells_exceed_lot(*, cart_cells_infused: int, total_viable_cells: int, car_positive_percent: Decimal) -> bool:
    """Hard check: more CAR⁺ cells recorded as infused than the lot contains.

    For split dosing pass ``total_cells(fractions)`` as ``cart_cells_infused``.
    """
    capacity = car_positive_viable_cells(
        total_viable_cells=total_viable_cells, car_positive_percent=car_positive_percent
    )
    return cart_cells_infused > capacity


# --- infusion timing and split dosing ------------------------------------------------


def earliest_infusion_date(
    *, last_lymphodepletion_date: datetime.date, min_gap_days: int = MIN_DAYS_LYMPHODEPLETION_TO_INFUSION
) -> datetime.date:
    """First permissible infusion date: last lymphodepletion dose + ``min_gap_days``.

    The rule is infusion_date − last_dose_date ≥ ``min_gap_days`` (2 by
    default: a last dose on the 1st allows infusion on the 3rd, not the 2nd).
    """
    if min_gap_days < 0:
        raise ValueError("min_gap_days must not be negative")
    return last_lymphodepletion_date + datetime.timedelta(days=min_gap_days)


def infusion_too_early(
    *,
    infusion_date: datetime.date,
    last_lymphodepletion_date: datetime.date,
    min_gap_days: int = MIN_DAYS_LYMPHODEPLETION_TO_INFUSION,
) -> bool:
    """Hard check: the infusion falls before ``earliest_infusion_date``."""
    earliest = earliest_infusion_date(last_lymphodepletion_date=last_lymphodepletion_date, min_gap_days=min_gap_days)
    return infusion_date < earliest


class InfusionFractionLike(Protocol):
    """Anything with these attributes: a dataclass, a model instance, a namedtuple."""

    @property
    def infusion_date(self) -> datetime.date: ...

    @property
    def cart_cells_infused(self) -> int: ...


@dataclass(frozen=True, slots=True)
class InfusionFraction:
    infusion_date: datetime.date
    cart_cells_infused: int


def total_cells(fractions: Iterable[InfusionFractionLike]) -> int:
    """All CAR⁺ cells given over a split dose; the dose per kg uses this total."""
    items = list(fractions)
    if not items:
        raise ValueError("a split dose needs at least one fraction")
    if any(fraction.cart_cells_infused < 0 for fraction in items):
        raise ValueError("cart_cells_infused must not be negative")
    return sum(fraction.cart_cells_infused for fraction in items)


def first_fraction_date(fractions: Iterable[InfusionFractionLike]) -> datetime.date:
    """Earliest fraction date: study day 0 for a split dose."""
    dates = [fraction.infusion_date for fraction in fractions]
    if not dates:
        raise ValueError("a split dose needs at least one fraction")
    return min(dates)


# --- hard checks of the infusion form (each answers field -> messages) ------------------


def product_errors(
    *, lot: str, total_viable_cells: int, viability_percent: Decimal, car_positive_percent: Decimal
) -> dict[str, list[str]]:
    """The lot as entered: named, holding cells, its percentages within 0–100."""
    errors: dict[str, list[str]] = {}
    if not lot.strip():
        errors["product_lot"] = [gettext("Enter the product lot.")]
    if total_viable_cells <= 0:
        errors["total_viable_cells"] = [gettext("The lot must hold a positive number of viable cells.")]
    for name, value in (("viability_percent", viability_percent), ("car_positive_percent", car_positive_percent)):
        if not value.is_finite() or not within_limits(value=value, limits=PERCENT_LIMITS):
            errors[name] = [gettext("A percentage must be between 0 and 100.")]
    return errors


def fraction_errors(*, fractions: Sequence[InfusionFractionLike], today: datetime.date) -> dict[str, list[str]]:
    """The fractions as entered: at least one, none in the future, each with cells, one per day."""
    errors: dict[str, list[str]] = {}
    if not fractions:
        errors["fractions"] = [gettext("Enter at least one infusion date and its cells.")]
    for fraction in fractions:
        if fraction.infusion_date > today:
            errors.setdefault("infusion_date", []).append(
                gettext("The infusion date %(date)s is in the future: record an infusion once it is given.")
                % {"date": f"{fraction.infusion_date:%Y-%m-%d}"})
    if any(fraction.cart_cells_infused <= 0 for fraction in fractions):
        errors["cart_cells_infused"] = [gettext("The number of CAR⁺ cells infused must be positive.")]
    dates = [fraction.infusion_date for fraction in fractions]
    if len(set(dates)) != len(dates):
        errors.setdefault("fractions", []).append(
            gettext("Two fractions on the same day: enter one fraction per day with its total cells."))
    return errors


def lot_errors(
    *, manufacture_date: datetime.date, total_viable_cells: int, car_positive_percent: Decimal,
    fractions: Sequence[InfusionFractionLike],
) -> dict[str, list[str]]:
    """The fractions against their lot: not infused before it was made, no more CAR⁺ cells than it
    holds. For entries that passed `product_errors` and `fraction_errors`."""
    errors: dict[str, list[str]] = {}
    if manufacture_date > first_fraction_date(fractions):
        errors["manufacture_date"] = [gettext("The product cannot be manufactured after it was infused.")]
    if car_positive_percent == 0:
        errors["car_positive_percent"] = [gettext("A lot with no CAR⁺ cells cannot be infused.")]
    elif cells_exceed_lot(cart_cells_infused=total_cells(fractions), total_viable_cells=total_viable_cells,
                          car_positive_percent=car_positive_percent):
        capacity = car_positive_viable_cells(total_viable_cells=total_viable_cells,
                                             car_positive_percent=car_positive_percent)
        # In ×10⁶ as the form takes cells, and in whole cells as the API sends them.
        errors["cart_cells_infused"] = [gettext(
            "More CAR⁺ cells infused than the lot holds (%(capacity_million)s ×10⁶ = %(capacity)s CAR⁺ viable "
            "cells).") % {"capacity_million": number_format(cells_in_millions(capacity), force_grouping=True),
                          "capacity": number_format(capacity, force_grouping=True)}]
    return errors
