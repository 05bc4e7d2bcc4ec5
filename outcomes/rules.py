"""Response derivation for the 1-month bone-marrow assessment.

Pure functions: numbers in, verdicts out. Forms, the API, services and the
endpoint statistics all call these; none of them re-implements a criterion.

The definitions are the registry record's:

* Complete remission: fewer than 5 % blasts in the bone marrow, no circulating
  blasts and no extramedullary disease, *regardless of count recovery*. The
  count recovery only splits the remission into CR and CRi.
* MRD response: fewer than 0.01 % marrow blasts by multiparameter flow
  cytometry, and no genetic aberration by karyotype or molecular testing.

Missing data give "not evaluable", never a guess. Evidence of disease is
decisive on its own, though: a marrow with 40 % blasts is not a remission
whether or not extramedullary disease was assessed, so a known failing
criterion wins over a missing one (three-valued logic, as in SQL).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf.checks import first_error_per_field

CR_BLAST_THRESHOLD_PERCENT = 5
MRD_NEGATIVE_THRESHOLD_PERCENT = 0.01
ANC_RECOVERY_PER_UL = 1000
PLATELET_RECOVERY_PER_UL = 100_000

Percent = Decimal | float | int


class Response(models.TextChoices):
    CR = "CR", _("Complete remission with full count recovery (CR)")
    CRI = "CRi", _("Complete remission with incomplete count recovery (CRi)")
    NO_RESPONSE = "no_response", _("No response (refractory disease)")
    RELAPSE = "relapse", _("Relapse")
    NOT_EVALUABLE = "not_evaluable", _("Not evaluable")


COMPLETE_REMISSION_RESPONSES = frozenset({Response.CR, Response.CRI})


def _decimal(value: Percent) -> Decimal:
    """Return ``value`` as a Decimal, converting floats through their repr.

    ``Decimal("0.01") < 0.01`` is True in Python because the float 0.01 is
    slightly above one hundredth; going through ``str`` compares the numbers a
    person typed, so the thresholds are exact whichever type a caller uses.
    """
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _check_percent(name: str, value: Percent | None) -> None:
    if value is not None and not 0 <= _decimal(value) <= 100:
        raise ValueError(f"{name} must be between 0 and 100 %, got {value}.")


def _check_count(name: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{name} cannot be negative, got {value}.")


def in_remission(
    *,
    bone_marrow_blasts_percent: Percent | None,
    circulating_blasts: bool | None,
    extramedullary_disease: bool | None,
) -> bool | None:
    """Return whether the morphological remission criteria are met.

    False as soon as one known criterion shows disease; None (not evaluable)
    when none shows disease but at least one was not assessed; True when all
    three were assessed and are clear. Counts play no part: the registry
    defines remission "regardless of cell count recovery".
    """
    _check_percent("Bone-marrow blasts", bone_marrow_blasts_percent)
    marrow_clear = (
        None
        if bone_marrow_blasts_percent is None
        else _decimal(bone_marrow_blasts_percent) < CR_BLAST_THRESHOLD_PERCENT
    )
    blood_clear = None if circulating_blasts is None else not circulating_blasts
    extramedullary_clear = (
        None if extramedullary_disease is None else not extramedullary_disease
    )
    criteria = (marrow_clear, blood_clear, extramedullary_clear)
    if False in criteria:
        return False
    if None in criteria:
        return None
    return True


def derive_response(
    *,
    bone_marrow_blasts_percent: Percent | None,
    circulating_blasts: bool | None,
    extramedullary_disease: bool | None,
    anc_per_ul: int | None,
    platelets_per_ul: int | None,
    prior_cr: bool = False,
) -> Response:
    """Return the response category (a ``Response`` value) of one assessment.

    * Not in remission: ``relapse`` after a prior CR/CRi (``prior_cr``),
      otherwise ``no_response``.
    * In remission: ``CR`` when ANC >= 1,000/uL *and* platelets >= 100,000/uL,
      ``CRi`` when at least one count is known to be below its threshold.
    * ``not_evaluable`` when a remission criterion was not assessed (and no
      other criterion shows disease), and also when the patient is in
      remission but a count is missing with no known low count: recovery can
      be neither confirmed (CR) nor refuted (CRi), and picking one would be a
      guess. Because such a patient is a remission either way, callers that
      only need "remission or not" should use ``in_remission()`` rather than
      this category.
    """
    _check_count("ANC", anc_per_ul)
    _check_count("Platelets", platelets_per_ul)
    remission = in_remission(
        bone_marrow_blasts_percent=bone_marrow_blasts_percent,
        circulating_blasts=circulating_blasts,
        extramedullary_disease=extramedullary_disease,
    )
    if remission is None:
        return Response.NOT_EVALUABLE
    if not remission:
        return Response.RELAPSE if prior_cr else Response.NO_RESPONSE

    counts = (
        (anc_per_ul, ANC_RECOVERY_PER_UL),
        (platelets_per_ul, PLATELET_RECOVERY_PER_UL),
    )
    if any(count is not None and count < threshold for count, threshold in counts):
        return Response.CRI
    if any(count is None for count, _threshold in counts):
        return Response.NOT_EVALUABLE
    return Response.CR


def is_complete_remission(response: str | None) -> bool:
    """Return whether a response category counts as complete remission (CR or CRi)."""
    return response in COMPLETE_REMISSION_RESPONSES


@dataclass(frozen=True)
class MrdVerdict:
    """MRD negativity (None: not evaluable) and, when it is not a plain verdict, why."""

    negative: bool | None
    reason: str


def mrd_verdict(
    *,
    mrd_flow_percent: Percent | None,
    genetic_aberration_detected: bool | None,
    mrd_assay_sensitivity_percent: Percent | None = None,
) -> MrdVerdict:
    """Whether the assessment is MRD-negative, and why when it is not evaluable.

    * MRD-positive when flow MRD is >= 0.01 % or a genetic aberration was detected (either is proof of
      residual disease, even if the other test is missing or the assay is coarse).
    * Not evaluable when flow MRD was not done; and, for a flow MRD below 0.01 %, when the assay's
      sensitivity is not recorded or is coarser than 0.01 %: "undetectable" on such an assay cannot show
      that the level is below the threshold.
    * MRD-negative otherwise. ``genetic_aberration_detected=None`` means karyotype and molecular testing
      were not done; the record asks for the *absence* of an aberration, and a test that was not done
      shows none, so it does not prevent an MRD-negative verdict (flow cytometry is the measurement the
      0.01 % criterion rests on).
    """
    _check_percent("MRD by flow", mrd_flow_percent)
    _check_percent("MRD assay sensitivity", mrd_assay_sensitivity_percent)
    threshold = _decimal(MRD_NEGATIVE_THRESHOLD_PERCENT)
    if genetic_aberration_detected:
        return MrdVerdict(False, "")
    if mrd_flow_percent is None:
        return MrdVerdict(None, gettext("Flow MRD not done."))
    if _decimal(mrd_flow_percent) >= threshold:
        return MrdVerdict(False, "")
    if mrd_assay_sensitivity_percent is None:
        return MrdVerdict(None, gettext("Assay sensitivity not recorded: MRD-negative needs an assay sensitive to "
                                        "%(threshold)s %% or finer.") % {"threshold": MRD_NEGATIVE_THRESHOLD_PERCENT})
    if _decimal(mrd_assay_sensitivity_percent) > threshold:
        return MrdVerdict(None, gettext(
            "Assay sensitivity %(sensitivity)s %% is coarser than %(threshold)s %%: below-threshold cannot be "
            "shown.") % {"sensitivity": f"{_decimal(mrd_assay_sensitivity_percent).normalize():f}",
                         "threshold": MRD_NEGATIVE_THRESHOLD_PERCENT})
    return MrdVerdict(True, "")


def derive_mrd_negative(
    *,
    mrd_flow_percent: Percent | None,
    genetic_aberration_detected: bool | None,
    mrd_assay_sensitivity_percent: Percent | None = None,
) -> bool | None:
    """MRD negativity by `mrd_verdict`: True, False, or None when not evaluable."""
    return mrd_verdict(mrd_flow_percent=mrd_flow_percent, genetic_aberration_detected=genetic_aberration_detected,
                       mrd_assay_sensitivity_percent=mrd_assay_sensitivity_percent).negative


# The 1-month assessment ------------------------------------------------------


def primary_assessment_index(
    study_days: list[int],
    *,
    target_day: int,
    window_before_days: int,
    window_after_days: int,
) -> int | None:
    """Return the index of the assessment that is the 1-month (primary) one, or None.

    The primary assessment is the one closest to the target day (day 28) among
    those inside the visit window (target - before ... target + after, both
    ends included). Of two equally close, the earlier wins: it is the one the
    protocol asked for, and a later marrow is a confirmation. An assessment
    outside the window is never the 1-month response.
    """
    best = None
    for index, day in enumerate(study_days):
        if not target_day - window_before_days <= day <= target_day + window_after_days:
            continue
        key = (abs(day - target_day), day)
        if best is None or key < best[0]:
            best = (key, index)
    return None if best is None else best[1]


def remission_counts_missing(
    *,
    bone_marrow_blasts_percent: Percent | None,
    circulating_blasts: bool | None,
    extramedullary_disease: bool | None,
    anc_per_ul: int | None,
    platelets_per_ul: int | None,
) -> list[str]:
    """Return the names of the counts that must be entered to tell CR from CRi.

    When the marrow, blood and extramedullary criteria show a remission, a
    missing ANC or platelet count would leave the response "not evaluable"
    (see ``derive_response``): the form refuses that, so that every remission
    entered on the form is a CR or a CRi and counts in the CR rate.
    """
    remission = in_remission(
        bone_marrow_blasts_percent=bone_marrow_blasts_percent,
        circulating_blasts=circulating_blasts,
        extramedullary_disease=extramedullary_disease,
    )
    if not remission:
        return []
    return [
        name
        for name, value in (("anc_per_ul", anc_per_ul), ("platelets_per_ul", platelets_per_ul))
        if value is None
    ]


# The data cut-off of an analysis -----------------------------------------------


def data_cutoff_error(cutoff: date, *, today: date) -> str | None:
    """Return why ``cutoff`` cannot be an analysis's data cut-off, or None.

    A cut-off after today would count every patient whose 1-month window
    closes before it as a non-responder (their assessment cannot be recorded
    yet) and censor nobody at it: the analysis would claim data it has not got.
    """
    if cutoff > today:
        return gettext("The data cut-off (%(cutoff)s) cannot be after today (%(today)s).") % {
            "cutoff": f"{cutoff:%Y-%m-%d}", "today": f"{today:%Y-%m-%d}"}
    return None


# Follow-up consistency (hard checks) -------------------------------------------


def follow_up_date_errors(
    *,
    infusion_date: date,
    contact_date: date,
    status: str,
    relapse_date: date | None,
    death_date: date | None,
    hsct_date: date | None,
    recorded_relapse_date: date | None = None,
    recorded_death_date: date | None = None,
    today: date | None = None,
) -> dict[str, str]:
    """Return field -> message for the impossible dates of one follow-up contact.

    ``recorded_*`` are the patient's first relapse and death already on other
    follow-up forms: a death before a recorded relapse, a relapse after a
    recorded death, or a second, different death date are refused too.
    ``status`` is a FollowUp status value (relapsed / dead need their date).
    ``today``, when given, refuses dates in the future. Each rule below
    answers on its own; a field shows the first rule's message.
    """
    dates = {"contact_date": contact_date, "relapse_date": relapse_date, "death_date": death_date,
             "hsct_date": hsct_date}
    return first_error_per_field(
        follow_up_date_range_errors(dates=dates, infusion_date=infusion_date, contact_date=contact_date,
                                    today=today),
        follow_up_status_errors(status=status, relapse_date=relapse_date, death_date=death_date),
        death_date_order_errors(death_date=death_date, relapse_dates=[relapse_date, recorded_relapse_date],
                                hsct_date=hsct_date, recorded_death_date=recorded_death_date),
        after_recorded_death_errors(relapse_date=relapse_date, hsct_date=hsct_date,
                                    recorded_death_date=recorded_death_date),
    )


def follow_up_date_range_errors(
    *, dates: dict[str, date | None], infusion_date: date, contact_date: date, today: date | None
) -> dict[str, str]:
    """Each date of the contact between the infusion and the contact date (the contact date itself:
    after the infusion), and none in the future."""
    errors: dict[str, str] = {}
    for name, value in dates.items():
        if value is None:
            continue
        if today is not None and value > today:
            errors[name] = gettext("This date (%(date)s) is in the future.") % {"date": f"{value:%Y-%m-%d}"}
        elif value < infusion_date:
            errors[name] = gettext("This date is before the CAR-T infusion (%(date)s).") % {
                "date": f"{infusion_date:%Y-%m-%d}"}
        elif name != "contact_date" and value > contact_date:
            errors[name] = gettext("This date is after the contact date: it cannot have been reported yet.")
    return errors


def follow_up_status_errors(*, status: str, relapse_date: date | None, death_date: date | None) -> dict[str, str]:
    """Relapsed and dead need their date; a death date needs the status Dead."""
    errors: dict[str, str] = {}
    if status == "relapsed" and relapse_date is None:
        errors["relapse_date"] = gettext("Give the date of the relapse.")
    if status == "dead" and death_date is None:
        errors["death_date"] = gettext("Give the date of death.")
    if status != "dead" and death_date is not None:
        errors["status"] = gettext("A death date is given: the status must be Dead.")
    return errors


def death_date_order_errors(
    *, death_date: date | None, relapse_dates: list[date | None], hsct_date: date | None,
    recorded_death_date: date | None,
) -> dict[str, str]:
    """A death is not before the first relapse (this form's or recorded) nor before the HSCT, and a
    patient dies once: a death date other than the recorded one is refused."""
    if death_date is None:
        return {}
    first_relapse = min((day for day in relapse_dates if day is not None), default=None)
    if first_relapse is not None and death_date < first_relapse:
        return {"death_date": gettext("The death date is before the relapse (%(date)s).") % {
            "date": f"{first_relapse:%Y-%m-%d}"}}
    if hsct_date is not None and death_date < hsct_date:
        return {"death_date": gettext("The death date is before the HSCT (%(date)s).") % {
            "date": f"{hsct_date:%Y-%m-%d}"}}
    if recorded_death_date is not None and death_date != recorded_death_date:
        return {"death_date": gettext("A death on %(date)s is already recorded for this patient.") % {
            "date": f"{recorded_death_date:%Y-%m-%d}"}}
    return {}


def after_recorded_death_errors(
    *, relapse_date: date | None, hsct_date: date | None, recorded_death_date: date | None
) -> dict[str, str]:
    """No relapse or HSCT after the patient's recorded death."""
    if recorded_death_date is None:
        return {}
    return {
        name: gettext("This date is after the patient's recorded death (%(date)s).") % {
            "date": f"{recorded_death_date:%Y-%m-%d}"}
        for name, value in (("relapse_date", relapse_date), ("hsct_date", hsct_date))
        if value is not None and value > recorded_death_date
    }


# One death, wherever it is recorded -----------------------------------------------------


@dataclass(frozen=True)
class DeathSource:
    """A form that records the patient's death: a follow-up (`follow_up`), a grade-5 adverse event
    (`adverse_events`) or an end of study for death (`end_of_study`)."""

    crf_code: str
    crf_label: str
    pk: int
    death_date: date
    cause: str = ""


@dataclass(frozen=True)
class PatientDeath:
    """The patient's one death: the earliest date recorded, its cause, and every source."""

    death_date: date
    cause: str
    sources: tuple[DeathSource, ...]

    @property
    def dates_agree(self) -> bool:
        return len({source.death_date for source in self.sources}) == 1

    @property
    def dates_text(self) -> str:
        return "; ".join(f"{source.crf_label} {source.death_date:%Y-%m-%d}" for source in self.sources)


#: Which source's cause is shown first when several give one: the follow-up's stated cause, then the
#: adverse event's term, then the end of study.
DEATH_SOURCE_ORDER = ("follow_up", "adverse_events", "end_of_study")


def patient_death_from(sources: Iterable[DeathSource]) -> PatientDeath | None:
    """One death from every source that records it (None when none does). Its date is the earliest
    recorded (a later date on another form cannot make the patient alive before it); sources that
    disagree are kept, so that the service raises a query on them."""
    ordered = sorted(sources, key=lambda s: (s.death_date, DEATH_SOURCE_ORDER.index(s.crf_code)
                                             if s.crf_code in DEATH_SOURCE_ORDER else 99, s.pk))
    if not ordered:
        return None
    by_preference = sorted(ordered, key=lambda s: DEATH_SOURCE_ORDER.index(s.crf_code)
                           if s.crf_code in DEATH_SOURCE_ORDER else 99)
    cause = next((s.cause for s in by_preference if s.cause), "")
    return PatientDeath(death_date=ordered[0].death_date, cause=cause, sources=tuple(ordered))
