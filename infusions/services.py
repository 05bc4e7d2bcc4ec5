"""Recording lymphodepletion and the CAR-T infusion.

The only writers of these CRFs and of `Patient.infusion_date` (study day 0).
Each service computes the plan and verdicts with `infusions.rules`, refuses
impossible data (hard checks, ValidationError on the field), requires an
acknowledgement with a reason for soft checks, saves through the CRF recipe `crf_record`
files the protocol deviations, moves the patient's status forward, and —
for the infusion — schedules the follow-up visits once the transaction has
committed.
"""
from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crf.checks import SoftCheck, every_error_per_field
from crf.services import audited_save, crf_child_rows_save, crf_record
from patients.models import BaselineCRF, Patient, PatientStatus
from patients.rules import (
    HEIGHT_CM_LIMITS,
    WEIGHT_KG_LIMITS,
    body_surface_area_m2,
    to_decimal,
    within_limits,
)
from patients.services import patient_record_status, patient_status_follow_record
from trial.i18n import lazy_message
from trial.models import Protocol
from visits import tasks as visit_tasks

from . import rules
from .models import Infusion, InfusionFraction, Lymphodepletion, LymphodepletionDose

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Not enrolled: may not be treated (the status after enrollment is derived: patients.rules.status_on_study).
_NOT_ENROLLED = {PatientStatus.SCREENING, PatientStatus.SCREEN_FAILED}


#: The forms an infusion weight is compared with (`_latest_earlier_weight`), as a message names them.
WEIGHT_FORMS = {"lymphodepletion": gettext_lazy("lymphodepletion"), "baseline": gettext_lazy("baseline")}


def agent_name(agent: str) -> str:
    """An agent's name as a message shows it, in the reader's language (lower case in English)."""
    try:
        return lazy_message(rules.AGENT_NAMES[rules.Agent(agent)])
    except (ValueError, KeyError):
        return agent


def day_label(study_day: int) -> str:
    """Study day as clinicians write it: −5, 0, +28."""
    return f"{study_day:+d}".replace("-", "−") if study_day else "0"


def dose_field(*, study_day: int, agent: str) -> str:
    """The form field of one dose: `fludarabine_day_m5_mg` for day −5."""
    return f"{agent}_day_{'m' if study_day < 0 else 'p'}{abs(study_day)}_mg"


def day_date_field(*, study_day: int) -> str:
    return f"day_{'m' if study_day < 0 else 'p'}{abs(study_day)}_date"


# --- lymphodepletion ---------------------------------------------------------------


@dataclass(frozen=True)
class DoseEntry:
    study_day: int
    agent: str
    administered_mg: Decimal | None
    administration_date: datetime.date | None = None


@dataclass
class DoseLine:
    """One planned dose with what was given and its verdict, for forms and the API."""

    study_day: int
    agent: str
    planned_date: datetime.date
    planned_mg: Decimal
    administered_mg: Decimal | None
    administration_date: datetime.date | None
    verdict: str
    renal_adjustment: bool = False
    off_day: bool = False  # given on a date that is not its study day

    @property
    def field(self) -> str:
        return dose_field(study_day=self.study_day, agent=self.agent)

    @property
    def verdict_label(self) -> str:
        return str(rules.DoseVerdict(self.verdict).label)

    @property
    def day_label(self) -> str:
        return day_label(self.study_day)

    @property
    def deviation_percent(self) -> Decimal | None:
        if not self.administered_mg:
            return None
        return ((self.administered_mg - self.planned_mg) * 100 / self.planned_mg).quantize(Decimal("0.1"))


@dataclass
class LymphodepletionEvaluation:
    bsa_m2: Decimal
    lines: list[DoseLine]
    checks: list[SoftCheck] = field(default_factory=list)


def lymphodepletion_plan(
    *, protocol: Protocol, start_date: datetime.date, weight_kg: Decimal, height_cm: Decimal
) -> tuple[Decimal, list[rules.PlannedDose]]:
    """BSA and every planned dose of the course, from the protocol's regimen."""
    bsa = body_surface_area_m2(height_cm=height_cm, weight_kg=weight_kg)
    planned = rules.planned_course(
        start_date=start_date, bsa_m2=bsa, regimen=protocol.lymphodepletion_regimen,
        study_days=protocol.lymphodepletion_study_days,
    )
    return bsa, planned


def _lymphodepletion_hard_checks(
    *, patient: Patient, start_date: datetime.date, weight_kg: Decimal, height_cm: Decimal,
    creatinine_clearance_ml_min: Decimal | None, doses: list[DoseEntry],
) -> None:
    errors: dict[str, list[str]] = {}
    protocol = patient.protocol
    if patient.status in _NOT_ENROLLED:
        errors.setdefault("__all__", []).append(_("Only an enrolled patient can receive lymphodepletion."))
    if not within_limits(value=weight_kg, limits=WEIGHT_KG_LIMITS):
        errors["weight_kg"] = [_weight_limits_message()]
    if not within_limits(value=height_cm, limits=HEIGHT_CM_LIMITS):
        errors["height_cm"] = [_("Height must be between %(low)s and %(high)s cm.")
                               % {"low": HEIGHT_CM_LIMITS[0], "high": HEIGHT_CM_LIMITS[1]}]
    if start_date < patient.consent_date:
        errors["start_date"] = [_("Lymphodepletion cannot start before consent (%(date)s).")
                                % {"date": f"{patient.consent_date:%Y-%m-%d}"}]
    if creatinine_clearance_ml_min is not None and not (0 < creatinine_clearance_ml_min < 1000):
        errors["creatinine_clearance_ml_min"] = [_("Creatinine clearance must be a positive number of mL/min.")]
    known = {(day, agent) for day in protocol.lymphodepletion_study_days for agent in protocol.lymphodepletion_regimen}
    seen = set()
    for dose in doses:
        key = (dose.study_day, dose.agent)
        name = dose_field(study_day=dose.study_day, agent=dose.agent)
        if key not in known:
            errors.setdefault("doses", []).append(
                _("Day %(day)s %(agent)s is not a dose of this protocol's regimen.")
                % {"day": day_label(dose.study_day), "agent": dose.agent}
            )
        elif key in seen:
            errors.setdefault("doses", []).append(_("Day %(day)s %(agent)s is entered twice.")
                                                  % {"day": day_label(dose.study_day), "agent": agent_name(dose.agent)})
        seen.add(key)
        if dose.administered_mg is not None and (not dose.administered_mg.is_finite() or dose.administered_mg < 0):
            errors[name] = [_("An administered dose cannot be negative.")]
        if dose.administration_date is not None and dose.administration_date < patient.consent_date:
            errors[day_date_field(study_day=dose.study_day)] = [_("A dose cannot be given before consent.")]
    if errors:
        raise ValidationError(errors)


def lymphodepletion_evaluate(
    *,
    protocol: Protocol,
    start_date: datetime.date,
    weight_kg: Decimal,
    height_cm: Decimal,
    doses: Iterable[DoseEntry],
    creatinine_clearance_ml_min: Decimal | None = None,
) -> LymphodepletionEvaluation:
    """The plan, each dose's verdict and the soft checks that fail. No database writes."""
    bsa, planned = lymphodepletion_plan(
        protocol=protocol, start_date=start_date, weight_kg=weight_kg, height_cm=height_cm
    )
    given = {(dose.study_day, dose.agent): dose for dose in doses}
    tolerance = protocol.dose_tolerance_percent
    # Fludarabine by renal function, as the protocol's bands say (the fludarabine label's by default).
    band = rules.fludarabine_renal_band(creatinine_clearance_ml_min=creatinine_clearance_ml_min,
                                        bands=protocol.fludarabine_renal_bands)
    lines, checks = [], []
    for plan in planned:
        entry = given.get((plan.study_day, plan.agent))
        administered = entry.administered_mg if entry else None
        # A dose given without a date is taken to be given on its planned day.
        given_on = (entry.administration_date or plan.date) if entry and administered else None
        fludarabine = plan.agent == rules.Agent.FLUDARABINE
        planned_mg = rules.renal_adjusted_dose_mg(planned_mg=plan.planned_mg, band=band) if fludarabine \
            else plan.planned_mg
        verdict = rules.dose_verdict(planned_mg=planned_mg, administered_mg=administered,
                                     tolerance_percent=tolerance)
        line = DoseLine(
            study_day=plan.study_day, agent=plan.agent, planned_date=plan.date, planned_mg=planned_mg,
            administered_mg=administered, administration_date=given_on, verdict=verdict,
            renal_adjustment=planned_mg != plan.planned_mg, off_day=given_on is not None and given_on != plan.date,
        )
        lines.append(line)
        # Messages shown in the reader's language and stored on the deviation in English (lazy_message).
        where = lazy_message(gettext_lazy("Day %(day)s %(agent)s"), day=line.day_label,
                             agent=agent_name(plan.agent))
        not_recommended = fludarabine and band is not None and band.not_recommended
        if not_recommended and administered:
            checks.append(SoftCheck(
                rule="fludarabine_renal_not_recommended", field=line.field, severity="major",
                message=lazy_message(gettext_lazy(
                    "%(where)s: %(given)s mg given with a %(band)s (%(clearance)s mL/min): fludarabine is not "
                    "recommended there. A major deviation."),
                    where=where, given=administered, band=band.label if band else "",
                    clearance=creatinine_clearance_ml_min),
                value=f"{administered} mg",
            ))
        elif verdict == rules.DoseVerdict.MISSED and not not_recommended:
            checks.append(SoftCheck(
                rule="lymphodepletion_dose_missed", field=line.field,
                message=lazy_message(gettext_lazy("%(where)s: no dose recorded (plan %(planned)s mg)."),
                                     where=where, planned=planned_mg),
                value="missed",
            ))
        elif verdict == rules.DoseVerdict.OUTSIDE_TOLERANCE and not not_recommended:
            if line.renal_adjustment:
                message = gettext_lazy(
                    "%(where)s: %(given)s mg given, plan %(planned)s mg (renally adjusted from %(unadjusted)s mg) "
                    "(%(percent)s %%), more than %(tolerance)s %% from the plan.")
            else:
                message = gettext_lazy("%(where)s: %(given)s mg given, plan %(planned)s mg (%(percent)s %%), more "
                                       "than %(tolerance)s %% from the plan.")
            checks.append(SoftCheck(
                rule="lymphodepletion_dose_tolerance", field=line.field,
                message=lazy_message(message, where=where, given=administered, planned=planned_mg,
                                     unadjusted=plan.planned_mg, percent=f"{line.deviation_percent:+}",
                                     tolerance=f"{tolerance.normalize():f}"),
                value=f"{administered} mg",
            ))
        if line.off_day:
            checks.append(SoftCheck(
                rule="lymphodepletion_dose_date", field=day_date_field(study_day=plan.study_day),
                message=lazy_message(gettext_lazy("%(where)s: given on %(given_on)s, but day %(day)s is %(date)s."),
                                     where=where, given_on=f"{given_on:%Y-%m-%d}", day=line.day_label,
                                     date=f"{plan.date:%Y-%m-%d}"),
                value=f"{given_on:%Y-%m-%d}",
            ))
    return LymphodepletionEvaluation(bsa_m2=bsa, lines=lines, checks=checks)


def lymphodepletion_last_dose_date(course: Lymphodepletion) -> datetime.date:
    """The day of the last dose actually given (or planned, when none was recorded as given)."""
    given = [dose.administration_date for dose in course.doses.all()
             if dose.administration_date and dose.administered_mg]
    return max(given) if given else max(dose.planned_date for dose in course.doses.all())


@transaction.atomic
def lymphodepletion_record(
    *,
    patient: Patient,
    by: User,
    start_date: datetime.date,
    weight_kg: Decimal,
    height_cm: Decimal,
    doses: Iterable[DoseEntry],
    creatinine_clearance_ml_min: Decimal | None = None,
    acknowledge_deviation: bool = False,
    deviation_reason: str = "",
    reason: str = "",
    version: int | None = None,
    rows_removed: Collection[int] = (),
) -> Lymphodepletion:
    """Create or correct the patient's lymphodepletion course.

    Raises ValidationError for impossible data and SoftChecksNotAcknowledged
    when a dose is off plan, missed or off its day without an acknowledged
    reason. Each acknowledged soft check becomes a ProtocolDeviation.
    ``version``: the version of the course the editor loaded (0: none yet);
    a stale one raises CrfConflict (`crf_save`). ``rows_removed``: dose rows
    (pks) withdrawn with ``reason`` (`lymphodepletion_dose_remove`): marked
    removed, their day's dose then counts as not given.
    """
    patient = Patient.objects.select_for_update().select_related("protocol").get(pk=patient.pk)
    protocol = patient.protocol
    reason = (reason or "").strip()
    doses = list(doses)
    weight_kg, height_cm = to_decimal(weight_kg), to_decimal(height_cm)
    _lymphodepletion_hard_checks(
        patient=patient, start_date=start_date, weight_kg=weight_kg, height_cm=height_cm,
        creatinine_clearance_ml_min=creatinine_clearance_ml_min, doses=doses,
    )
    evaluation = lymphodepletion_evaluate(
        protocol=protocol, start_date=start_date, weight_kg=weight_kg, height_cm=height_cm, doses=doses,
        creatinine_clearance_ml_min=creatinine_clearance_ml_min,
    )
    today = timezone.localdate()
    future = {}
    if start_date > today:
        future["start_date"] = [_("The start date %(date)s is in the future.") % {"date": f"{start_date:%Y-%m-%d}"}]
    for line in evaluation.lines:
        if line.administration_date is not None and line.administration_date > today:
            future.setdefault(day_date_field(study_day=line.study_day), []).append(
                _("Day %(day)s %(agent)s: given on %(date)s, which is in the future. Record a dose once it is given.")
                % {"day": line.day_label, "agent": agent_name(line.agent),
                   "date": f"{line.administration_date:%Y-%m-%d}"})
    if future:
        raise ValidationError(future)
    infusion = Infusion.objects.filter(patient=patient, removed=False).first()
    if infusion is not None:
        given = [line.administration_date for line in evaluation.lines if line.administration_date]
        last = max(given) if given else max(line.planned_date for line in evaluation.lines)
        if rules.infusion_too_early(infusion_date=infusion.infusion_date, last_lymphodepletion_date=last,
                                    min_gap_days=protocol.min_days_last_lymphodepletion_to_infusion):
            raise ValidationError({"start_date": _(
                "The last dose (%(last)s) would be less than %(days)s days before the recorded infusion "
                "(%(infusion)s).") % {"last": f"{last:%Y-%m-%d}",
                                      "days": protocol.min_days_last_lymphodepletion_to_infusion,
                                      "infusion": f"{infusion.infusion_date:%Y-%m-%d}"}})
    course = Lymphodepletion.objects.filter(patient=patient).first() or Lymphodepletion(
        patient=patient, protocol=protocol
    )
    course.start_date = start_date
    course.weight_kg = weight_kg
    course.height_cm = height_cm
    course.bsa_m2 = evaluation.bsa_m2
    course.creatinine_clearance_ml_min = creatinine_clearance_ml_min
    crf_record(crf=course, by=by, reason=reason, expected_version=version, soft_checks=evaluation.checks,
               acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)
    # Removed rows too: a day that comes back takes its old row again (one row per day and agent).
    existing = {(dose.study_day, dose.agent): dose for dose in LymphodepletionDose.all_rows.filter(course=course)}
    rows, removed = [], []
    for line in evaluation.lines:
        dose = existing.pop((line.study_day, line.agent), None)
        if dose is not None and (dose.pk in rows_removed or (dose.removed and not line.administered_mg)):
            removed.append(dose)  # withdrawn now, or earlier and no dose entered since: kept as it was
            continue
        dose = dose or LymphodepletionDose(course=course, study_day=line.study_day, agent=line.agent)
        dose.planned_date, dose.planned_mg = line.planned_date, line.planned_mg
        dose.administered_mg, dose.administration_date = line.administered_mg, line.administration_date
        dose.verdict, dose.renal_adjustment = line.verdict, line.renal_adjustment
        dose.removed, dose.removal_reason = False, ""
        rows.append(dose)
    # A day the protocol version no longer has: marked removed, never deleted.
    crf_child_rows_save(crf=course, rows=rows, removed=removed + list(existing.values()), by=by, reason=reason)
    # enrolled → lymphodepletion, by the one status rule (patients.rules.status_on_study)
    patient_status_follow_record(patient=patient, by=by, cause="Lymphodepletion started")
    return course


# --- CAR-T product and infusion ----------------------------------------------------------


@dataclass(frozen=True)
class ProductEntry:
    lot: str
    manufacture_date: datetime.date
    total_viable_cells: int
    viability_percent: Decimal
    car_positive_percent: Decimal


@dataclass
class InfusionEvaluation:
    infusion_date: datetime.date
    cart_cells_infused: int
    dose_cells_per_kg: Decimal
    dose_million_cells_per_kg: Decimal
    verdict: str
    lot_car_positive_cells: int
    checks: list[SoftCheck] = field(default_factory=list)

    @property
    def verdict_label(self) -> str:
        return str(rules.CellDoseVerdict(self.verdict).label)


def _latest_earlier_weight(*, patient: Patient, course: Lymphodepletion | None
                           ) -> tuple[Decimal, datetime.date, str] | None:
    """The weight the infusion weight is checked against, with its date and form: the lymphodepletion
    course's (weighed for its BSA), or the baseline's when no course is recorded."""
    if course is not None:
        return course.weight_kg, course.start_date, "lymphodepletion"
    baseline = BaselineCRF.objects.filter(patient=patient, removed=False).first()
    if baseline is not None and baseline.weight_kg:
        return baseline.weight_kg, baseline.assessment_date, "baseline"
    return None


def _weight_change_check(*, protocol: Protocol, weight_kg: Decimal, day_0: datetime.date,
                         earlier: tuple[Decimal, datetime.date, str] | None) -> list[SoftCheck]:
    if earlier is None or not weight_kg.is_finite() or weight_kg <= 0:
        return []
    earlier_kg, earlier_date, form = earlier
    limit = protocol.infusion_weight_change_percent
    if not rules.weight_change_exceeds(weight_kg=weight_kg, earlier_weight_kg=earlier_kg, limit_percent=limit):
        return []
    change = rules.weight_change_percent(weight_kg=weight_kg, earlier_weight_kg=earlier_kg)
    if change < 0:
        message = gettext_lazy(
            "The weight at infusion (%(weight)s kg on %(day_0)s) is %(change)s %% below the %(form)s weight "
            "(%(earlier)s kg on %(earlier_date)s), more than the protocol's %(limit)s %%: the dose per kg rests on it.")
    else:
        message = gettext_lazy(
            "The weight at infusion (%(weight)s kg on %(day_0)s) is %(change)s %% above the %(form)s weight "
            "(%(earlier)s kg on %(earlier_date)s), more than the protocol's %(limit)s %%: the dose per kg rests on it.")
    return [SoftCheck(
        rule="infusion_weight_change", field="weight_kg",
        message=lazy_message(message, weight=f"{weight_kg.normalize():f}", day_0=f"{day_0:%Y-%m-%d}",
                             change=abs(change), form=WEIGHT_FORMS.get(form, form),
                             earlier=f"{earlier_kg.normalize():f}", earlier_date=f"{earlier_date:%Y-%m-%d}",
                             limit=f"{limit.normalize():f}"),
        value=f"{weight_kg.normalize():f} kg")]


def infusion_cross_checks(*, patient: Patient, fractions: list[rules.InfusionFraction],
                          weight_kg: Decimal | None = None) -> list[SoftCheck]:
    """The dosing cross-checks against the rest of the record (soft: acknowledgement + reason → deviation),
    with the protocol's parameters: the infusion weight against the latest earlier weight, the
    lymphodepletion's last dose on the protocol's days before day 0, and the fractions' spread."""
    protocol = patient.protocol
    checks: list[SoftCheck] = []
    if not fractions:
        return checks
    day_0 = rules.first_fraction_date(fractions)
    course = Lymphodepletion.objects.filter(patient=patient, removed=False).first()
    if weight_kg is not None:
        checks.extend(_weight_change_check(protocol=protocol, weight_kg=weight_kg, day_0=day_0,
                                           earlier=_latest_earlier_weight(patient=patient, course=course)))
    if course is not None:
        last = lymphodepletion_last_dose_date(course)
        if rules.lymphodepletion_off_schedule(last_dose_date=last, infusion_date=day_0,
                                             first_day=protocol.lymphodepletion_first_day,
                                             last_day=protocol.lymphodepletion_last_day):
            checks.append(SoftCheck(
                rule="lymphodepletion_schedule", field="infusion_date",
                message=lazy_message(gettext_lazy(
                    "The last lymphodepletion dose (%(last)s) is on day %(day)s of this infusion, not on days "
                    "%(first_day)s to %(last_day)s."),
                    last=f"{last:%Y-%m-%d}", day=(last - day_0).days, first_day=protocol.lymphodepletion_first_day,
                    last_day=protocol.lymphodepletion_last_day),
                value=f"{day_0:%Y-%m-%d}"))
    spread = rules.fraction_spread_days(fractions)
    if spread > protocol.fraction_spread_max_days:
        checks.append(SoftCheck(
            rule="fraction_spread", field="infusion_date",
            message=lazy_message(gettext_lazy(
                "The fractions of this infusion are spread over %(spread)s days, more than the protocol's "
                "%(limit)s."), spread=spread, limit=protocol.fraction_spread_max_days),
            value=f"{spread} days"))
    return checks


def infusion_evaluate(
    *, protocol: Protocol, weight_kg: Decimal, product: ProductEntry, fractions: list[rules.InfusionFraction],
    patient: Patient | None = None,
) -> InfusionEvaluation:
    """Day 0, total cells, dose per kg and its verdict; with ``patient``, the dosing cross-checks against the
    rest of the record too (`infusion_cross_checks`). Call after the hard checks."""
    total = rules.total_cells(fractions)
    per_kg = rules.cell_dose_per_kg(cart_cells_infused=total, weight_kg=weight_kg)
    shown = rules.dose_million_cells_per_kg(cells_per_kg=per_kg)
    verdict = rules.cell_dose_verdict(
        cells_per_kg=per_kg, min_cells_per_kg=Decimal(protocol.cart_dose_min_cells_per_kg),
        max_cells_per_kg=Decimal(protocol.cart_dose_max_cells_per_kg),
    )
    checks = []
    if verdict != rules.CellDoseVerdict.WITHIN_RANGE:
        if verdict == rules.CellDoseVerdict.BELOW_RANGE:
            message = gettext_lazy("CAR-T dose %(dose)s ×10⁶ cells/kg is below the protocol's %(low)s–%(high)s "
                                   "×10⁶ cells/kg.")
        else:
            message = gettext_lazy("CAR-T dose %(dose)s ×10⁶ cells/kg is above the protocol's %(low)s–%(high)s "
                                   "×10⁶ cells/kg.")
        checks.append(SoftCheck(
            rule="cart_dose_range", field="cart_cells_infused",
            message=lazy_message(message, dose=shown, low=f"{protocol.cart_dose_min_million_per_kg:.2f}",
                                 high=f"{protocol.cart_dose_max_million_per_kg:.2f}"),
            value=f"{shown} ×10⁶/kg",
        ))
    if patient is not None:
        checks.extend(infusion_cross_checks(patient=patient, fractions=fractions, weight_kg=weight_kg))
    return InfusionEvaluation(
        infusion_date=rules.first_fraction_date(fractions), cart_cells_infused=total, dose_cells_per_kg=per_kg,
        dose_million_cells_per_kg=shown, verdict=verdict,
        lot_car_positive_cells=rules.car_positive_viable_cells(
            total_viable_cells=product.total_viable_cells, car_positive_percent=product.car_positive_percent),
        checks=checks,
    )


def _weight_limits_message() -> str:
    return _("Weight must be between %(low)s and %(high)s kg.") % {"low": WEIGHT_KG_LIMITS[0],
                                                                    "high": WEIGHT_KG_LIMITS[1]}


def _weight_errors(weight_kg: Decimal) -> dict[str, list[str]]:
    if weight_kg.is_finite() and within_limits(value=weight_kg, limits=WEIGHT_KG_LIMITS):
        return {}
    return {"weight_kg": [_weight_limits_message()]}


def _lymphodepletion_gap_errors(*, patient: Patient, infusion_date: datetime.date) -> dict[str, list[str]]:
    """Lymphodepletion recorded, and its last dose at least the protocol's gap before day 0."""
    course = Lymphodepletion.objects.filter(patient=patient, removed=False).first()
    if course is None:
        return {"infusion_date": [_("Record lymphodepletion before the infusion.")]}
    last = lymphodepletion_last_dose_date(course)
    gap = patient.protocol.min_days_last_lymphodepletion_to_infusion
    if not rules.infusion_too_early(infusion_date=infusion_date, last_lymphodepletion_date=last, min_gap_days=gap):
        return {}
    earliest = rules.earliest_infusion_date(last_lymphodepletion_date=last, min_gap_days=gap)
    return {"infusion_date": [_("The infusion must be at least %(gap)s days after the last lymphodepletion dose "
                                "(%(last)s): %(earliest)s at the earliest.")
                              % {"gap": gap, "last": f"{last:%Y-%m-%d}", "earliest": f"{earliest:%Y-%m-%d}"}]}


def _infusion_hard_checks(
    *, patient: Patient, weight_kg: Decimal, product: ProductEntry, fractions: list[rules.InfusionFraction]
) -> None:
    """The entries themselves first (a patient who may be infused, the weight, the lot, the fractions);
    once they hold, what they contradict (the lot's date and cells, the lymphodepletion)."""
    errors = every_error_per_field(
        {"__all__": [_("Only an enrolled patient can be infused.")]} if patient.status in _NOT_ENROLLED else {},
        _weight_errors(weight_kg),
        rules.product_errors(lot=product.lot, total_viable_cells=product.total_viable_cells,
                             viability_percent=product.viability_percent,
                             car_positive_percent=product.car_positive_percent),
        rules.fraction_errors(fractions=fractions, today=timezone.localdate()),
    )
    if errors:
        raise ValidationError(errors)
    errors = every_error_per_field(
        rules.lot_errors(manufacture_date=product.manufacture_date, total_viable_cells=product.total_viable_cells,
                         car_positive_percent=product.car_positive_percent, fractions=fractions),
        _lymphodepletion_gap_errors(patient=patient, infusion_date=rules.first_fraction_date(fractions)),
    )
    if errors:
        raise ValidationError(errors)


def _fraction_rows(infusion: Infusion, fractions: list[rules.InfusionFraction]
                   ) -> tuple[list[InfusionFraction], list[InfusionFraction]]:
    """The rows that hold ``fractions`` and the rows left over (to be marked removed). A fraction keeps the
    row of its day; a fraction on a new day takes a row left over (a corrected date), in date order, or a
    new one. So the row of a fraction given up is the one marked removed."""
    existing = list(infusion.fractions.order_by("infusion_date", "pk")) if infusion.pk else []
    by_day = {row.infusion_date: row for row in existing}
    kept = [by_day.pop(fraction.infusion_date, None) for fraction in fractions]
    spare = [row for row in existing if by_day.get(row.infusion_date) is row]
    rows = []
    for row, fraction in zip(kept, fractions, strict=True):
        row = row or (spare.pop(0) if spare else InfusionFraction(infusion=infusion))
        row.infusion_date, row.cart_cells_infused = fraction.infusion_date, fraction.cart_cells_infused
        rows.append(row)
    return rows, spare


@transaction.atomic
def infusion_record(
    *,
    patient: Patient,
    by: User,
    weight_kg: Decimal,
    product: ProductEntry,
    fractions: Iterable[rules.InfusionFraction],
    acknowledge_deviation: bool = False,
    deviation_reason: str = "",
    reason: str = "",
    version: int | None = None,
    on_scheduling: Callable[[bool], None] | None = None,
) -> Infusion:
    """Create or correct the patient's CAR-T infusion; day 0 becomes the first fraction.

    After commit, the follow-up visits are scheduled (or re-targeted, when the
    infusion date was corrected) by a Celery task; ``on_scheduling(queued)``
    then learns whether the task was queued (False: the task queue is down,
    the beat sweep will schedule them). ``version``: the version the editor
    loaded (0: none yet); a stale one raises CrfConflict (`crf_save`).
    """
    patient = Patient.objects.select_for_update().select_related("protocol").get(pk=patient.pk)
    protocol = patient.protocol
    reason = (reason or "").strip()
    fractions = sorted(fractions, key=lambda fraction: fraction.infusion_date)
    weight_kg = to_decimal(weight_kg)
    _infusion_hard_checks(patient=patient, weight_kg=weight_kg, product=product, fractions=fractions)
    evaluation = infusion_evaluate(protocol=protocol, weight_kg=weight_kg, product=product, fractions=fractions,
                                   patient=patient)
    infusion = Infusion.objects.filter(patient=patient).first() or Infusion(patient=patient, protocol=protocol)
    infusion.product_lot = product.lot.strip()
    infusion.manufacture_date = product.manufacture_date
    infusion.total_viable_cells = product.total_viable_cells
    infusion.viability_percent = product.viability_percent
    infusion.car_positive_percent = product.car_positive_percent
    infusion.weight_kg = weight_kg
    infusion.infusion_date = evaluation.infusion_date
    infusion.cart_cells_infused = evaluation.cart_cells_infused
    infusion.dose_cells_per_kg = evaluation.dose_cells_per_kg.quantize(Decimal("0.01"))
    infusion.dose_verdict = evaluation.verdict
    crf_record(crf=infusion, by=by, reason=reason, expected_version=version, soft_checks=evaluation.checks,
               acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)
    rows, spare = _fraction_rows(infusion, fractions)
    # A fraction no longer entered is marked removed with the reason, never deleted.
    crf_child_rows_save(crf=infusion, rows=rows, removed=spare, by=by, reason=reason)

    changed = patient.infusion_date != evaluation.infusion_date
    if changed:
        previous = patient.infusion_date
        patient.infusion_date = evaluation.infusion_date
        # Day 0 makes the patient infused and places the 1-month window that decides "in follow-up": the one
        # status rule (patients.services.patient_record_status) on the day 0 in hand, saved with it.
        patient.status = patient_record_status(patient)
        day_0_reason = (f"Infusion date corrected from {previous:%Y-%m-%d}: {reason or 'Initial entry'}"
                        if previous else "CAR-T infused (day 0)")
        audited_save(instance=patient, by=by, reason=day_0_reason)
    else:
        saved = reason or "Initial entry"
        patient_status_follow_record(patient=patient, by=by, cause=f"the infusion form was saved ({saved})")
    if changed:
        patient_id = patient.pk

        def schedule() -> None:
            queued = visit_tasks.visits_schedule_enqueue(patient_id)  # looked up now: tests stand in for it
            if on_scheduling is not None:
                on_scheduling(queued)

        # After commit, so the worker sees day 0. robust: a broker that is down must not turn a saved
        # infusion into an error page; the beat sweep schedules what was not queued (idempotent).
        transaction.on_commit(schedule, robust=True)
    return infusion


# --- corrections through a query (CaseReportForm.correction_service) -----------------------


def lymphodepletion_correct(*, crf: Lymphodepletion, field: str, value: Any, by: User, reason: str,
                            acknowledge_deviation: bool = False, deviation_reason: str = "") -> Lymphodepletion:
    """The course recorded again with one value changed: the plan, verdicts and soft checks follow.
    A dose given on its planned day keeps following its day when the start date moves."""
    values = {name: getattr(crf, name) for name in Lymphodepletion.correctable_fields}
    values[field] = value
    return lymphodepletion_record(
        patient=crf.patient, by=by, doses=_dose_entries(crf), reason=reason, version=crf.version,
        acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason, **values,
    )


def infusion_correct(*, crf: Infusion, field: str, value: Any, by: User, reason: str,
                     acknowledge_deviation: bool = False, deviation_reason: str = "") -> Infusion:
    """The infusion recorded again with one value changed: day 0, the visits, the dose per kg and its
    verdict follow. The date and cells of a split infusion are corrected fraction by fraction on the form."""
    fractions = [rules.InfusionFraction(f.infusion_date, f.cart_cells_infused) for f in crf.fractions.all()]
    if field in ("infusion_date", "cart_cells_infused"):
        if len(fractions) != 1:
            raise ValidationError({field: _(
                "This infusion was given in %(number)s fractions: correct the fraction concerned on the infusion "
                "form.") % {"number": len(fractions)}})
        single = fractions[0]
        fractions = [rules.InfusionFraction(
            value if field == "infusion_date" else single.infusion_date,
            value if field == "cart_cells_infused" else single.cart_cells_infused,
        )]
    product: dict[str, Any] = {"lot": crf.product_lot, "manufacture_date": crf.manufacture_date,
               "total_viable_cells": crf.total_viable_cells, "viability_percent": crf.viability_percent,
               "car_positive_percent": crf.car_positive_percent}
    weight_kg = value if field == "weight_kg" else crf.weight_kg
    if field in ("manufacture_date", "total_viable_cells", "viability_percent", "car_positive_percent"):
        product[field] = value
    elif field == "product_lot":
        product["lot"] = value
    return infusion_record(
        patient=crf.patient, by=by, weight_kg=weight_kg, product=ProductEntry(**product), fractions=fractions,
        reason=reason, version=crf.version, acknowledge_deviation=acknowledge_deviation,
        deviation_reason=deviation_reason,
    )


# --- removing a row (CrfChildRow.removal_service) ---------------------------------------------


def _dose_entries(course: Lymphodepletion, *, without: LymphodepletionDose | None = None) -> list[DoseEntry]:
    """The course's doses in force as entered (a dose given on its planned day keeps following its day)."""
    return [
        DoseEntry(dose.study_day, dose.agent, dose.administered_mg,
                  None if dose.administration_date == dose.planned_date else dose.administration_date)
        for dose in course.doses.all() if without is None or dose.pk != without.pk
    ]


def lymphodepletion_dose_remove(*, row: LymphodepletionDose, by: User, reason: str,
                                acknowledge_deviation: bool = False, deviation_reason: str = "") -> Lymphodepletion:
    """A dose recorded in error: the course is recorded again without it — that day's dose counts as not
    given (a missed dose: acknowledgement and reason, a deviation), the infusion gap follows the doses that
    remain — and its row is marked removed with the reason, struck through in the casebook."""
    course = row.course
    return lymphodepletion_record(
        patient=course.patient, by=by, start_date=course.start_date, weight_kg=course.weight_kg,
        height_cm=course.height_cm, creatinine_clearance_ml_min=course.creatinine_clearance_ml_min,
        doses=_dose_entries(course, without=row), reason=reason, version=course.version, rows_removed=[row.pk],
        acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason or reason,
    )


def infusion_fraction_remove(*, row: InfusionFraction, by: User, reason: str, acknowledge_deviation: bool = False,
                             deviation_reason: str = "") -> Infusion:
    """A fraction recorded in error: the infusion is recorded again with the others — day 0, the cells, the
    dose per kg and its verdict follow (a dose now outside the range needs the acknowledgement) — and its row
    is marked removed with the reason. The last fraction is corrected, not removed."""
    infusion = row.infusion
    others = [rules.InfusionFraction(f.infusion_date, f.cart_cells_infused)
              for f in infusion.fractions.all() if f.pk != row.pk]
    if not others:
        raise ValidationError({"reason": _(
            "This is the infusion's only fraction: correct its date or cells on the infusion form instead.")})
    product = ProductEntry(lot=infusion.product_lot, manufacture_date=infusion.manufacture_date,
                           total_viable_cells=infusion.total_viable_cells,
                           viability_percent=infusion.viability_percent,
                           car_positive_percent=infusion.car_positive_percent)
    return infusion_record(
        patient=infusion.patient, by=by, weight_kg=infusion.weight_kg, product=product, fractions=others,
        reason=reason, version=infusion.version, acknowledge_deviation=acknowledge_deviation,
        deviation_reason=deviation_reason or reason,
    )
