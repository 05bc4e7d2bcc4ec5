"""Operations on safety records. Views, the API, the demo loader, the daily job
and tests all save through these; the grades come from `safety.rules` only."""
from __future__ import annotations

import datetime
import sys
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from crf.checks import SoftCheck, first_error_per_field, visit_window_check
from crf.models import CrfStatus
from crf.services import CrfT, audited_save, crf_record, crf_remove, crf_save
from monitoring.services.queries import query_raise_automatic
from patients.models import Patient
from patients.rules import age_years
from patients.services import patient_death_recorded
from trial.i18n import stored_language
from trial.models import Role, SiteMembership

from .models import (
    AdverseEvent,
    CrsAssessment,
    IcansAssessment,
    SaeOverdueNotice,
    SaeReport,
)
from .rules import (
    CAPD_AGE_LIMIT_YEARS,
    ICANS_RULE_OTHER_TOOL,
    CrsCourse,
    CrsGrading,
    CrsInput,
    action_taken_errors,
    awareness_errors,
    capd_score,
    crs_course,
    events_overlap,
    fatal_event_errors,
    icans_grading,
    icans_rule,
    ice_score,
    is_expected,
    is_susar,
    resolution_errors,
    rule_text,
    sae_initial_report_due,
    sae_report_overdue,
    seriousness_errors,
    susar_report_days,
    susar_report_due,
    susar_report_overdue,
    syndrome_grade_disagreement,
    syndrome_of_term,
    uses_capd,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import QuerySet

    from crf.models import CaseReportForm

#: Plausible body temperatures; outside is a typing error, refused on the field.
TEMPERATURE_C_LIMITS = (Decimal("30.0"), Decimal("45.0"))
#: Labelled maximum single dose of tocilizumab for CRS; above it is a soft check.
TOCILIZUMAB_MAX_DOSE_MG = Decimal("800")

ICE_ITEMS = ("ice_orientation", "ice_naming", "ice_following_commands", "ice_writing", "ice_attention")


def _translated_later(template: str, params: dict[str, Any]) -> str:
    return gettext(template) % params


#: A message translated when it is read, not when it is made: a soft check's message is shown to the user in their
#: language and stored with the deviation in English (the deviation code reads it under English).
lazy_message = lazy(_translated_later, str)


# --- shared ------------------------------------------------------------------------

def patient_age_years_on(*, patient: Patient, on_date: datetime.date | None) -> int | None:
    """The patient's age in whole years on ``on_date`` (None without a birth date or a date)."""
    birth_date = patient.birth_date  # from the Baseline CRF, read through the patient
    if birth_date is None or on_date is None or on_date < birth_date:
        return None
    return age_years(birth_date=birth_date, on_date=on_date)


def patient_uses_capd(*, patient: Patient, on_date: datetime.date | None = None) -> bool:
    """Whether ICANS encephalopathy is scored with CAPD on ``on_date`` (default today): under 12 on that date."""
    return uses_capd(patient_age_years_on(patient=patient, on_date=on_date or timezone.localdate()))


def _date_checks(*, patient: Patient, field: str, value: datetime.date | None, label: str) -> dict[str, str]:
    """Hard checks every dated safety entry shares: not before consent, not in the future."""
    errors: dict[str, str] = {}
    if value is None:
        return errors
    consent_date = patient.consent_date  # from the Screening CRF; None until it is entered
    if consent_date is not None and value < consent_date:
        errors[field] = gettext("%(label)s %(date)s is before informed consent (%(consent)s).") % {
            "label": label, "date": f"{value:%Y-%m-%d}", "consent": f"{consent_date:%Y-%m-%d}"}
    elif value > timezone.localdate():
        errors[field] = gettext("%(label)s %(date)s is in the future.") % {
            "label": label, "date": f"{value:%Y-%m-%d}"}
    return errors


def _visit_checks(*, crf: CaseReportForm, on_date: datetime.date) -> list[SoftCheck]:
    visit = crf.visit
    if visit is not None and visit.patient_id != crf.patient_id:
        raise ValidationError({"visit": gettext("This visit belongs to another patient.")})
    return visit_window_check(visit=visit, on_date=on_date, field="assessment_date")


def _typed_fields(crf: CaseReportForm) -> None:
    """Field validation and type conversion (a "39.4" becomes Decimal) before the rules read values."""
    crf.clean_fields(exclude=["patient", "protocol", "visit", "created_by"])


def _protocol(crf: CaseReportForm) -> None:
    if crf.protocol_id is None:
        crf.protocol = crf.patient.protocol


# --- CRS -------------------------------------------------------------------------

#: The key of a form not yet saved in `patient_crs_course`.
UNSAVED = "unsaved"


def _crs_input(assessment: CrsAssessment, *, key: Hashable) -> CrsInput:
    temperature = assessment.max_temperature_c
    return CrsInput(
        key=key, assessment_date=assessment.assessment_date,
        max_temperature_c=float(temperature) if temperature is not None else None,
        hypotension=assessment.hypotension, hypoxia=assessment.hypoxia, treatment_given=assessment.fever_masked,
        tocilizumab_given_on=assessment.tocilizumab_given_on,
        corticosteroid_given_on=assessment.corticosteroid_given_on,
    )


def patient_crs_course(*, patient: Patient, candidate: CrsAssessment | None = None,
                       assessments: list[CrsAssessment] | None = None) -> CrsCourse:
    """The patient's CRS course graded by `rules.crs_course`: the stored assessments (not removed),
    with ``candidate`` — a form being entered or corrected — in place of its stored version (key
    ``UNSAVED`` when it has no id yet). Same-day assessments keep the order they were entered in."""
    if assessments is None:
        assessments = list(CrsAssessment.objects.filter(patient=patient, removed=False))
    entries = [(a.assessment_date, a.pk, _crs_input(a, key=a.pk)) for a in assessments
               if candidate is None or a.pk != candidate.pk]
    if candidate is not None and not candidate.removed and candidate.assessment_date is not None:
        key = candidate.pk if candidate.pk is not None else UNSAVED
        entries.append((candidate.assessment_date, candidate.pk or sys.maxsize, _crs_input(candidate, key=key)))
    entries.sort(key=lambda entry: (entry[0], entry[1]))
    return crs_course(entry[2] for entry in entries)


def crs_assessment_grading(*, assessment: CrsAssessment) -> CrsGrading:
    """The grade this form gets within the patient's course (shown before saving, stored on saving)."""
    course = patient_crs_course(patient=assessment.patient, candidate=assessment)
    return course.gradings[assessment.pk if assessment.pk is not None else UNSAVED]


def _signed_and_confirmed(form: CrsAssessment | IcansAssessment, grade: int | None) -> bool:
    """A signed or source-verified form whose grade the rule gives again: only the rule's wording would be
    written, and writing it would void the signature (or clear the SDV mark) for no clinical change."""
    return form.status in (CrfStatus.SIGNED, CrfStatus.VERIFIED) and form.grade == grade


def crs_assessments_regrade(*, patient: Patient, by: User | None, cause: str,
                            keep_signed_confirmed: bool = False) -> list[CrsAssessment]:
    """Grade every CRS assessment of the patient again over the whole course after ``cause`` (an
    assessment entered or corrected): an earlier fever or tocilizumab changes how a later afebrile
    assessment is graded. Each changed one is saved with a reason naming the cause (its signature is
    void: a derived value changed; a locked one stops the change). ``keep_signed_confirmed``: a signed or
    source-verified form whose grade is confirmed is left as stored (`syndromes_regrade`)."""
    assessments = list(CrsAssessment.objects.select_for_update().filter(patient=patient, removed=False)
                       .order_by("assessment_date", "pk"))
    course = patient_crs_course(patient=patient, assessments=assessments)
    changed = []
    for assessment in assessments:
        grading = course.gradings[assessment.pk]
        if (grading.grade, grading.driver, grading.rule) == (
                assessment.grade, assessment.grading_driver, assessment.grading_rule):
            continue
        if keep_signed_confirmed and _signed_and_confirmed(assessment, grading.grade):
            continue
        before = assessment.grade
        assessment.grade, assessment.grading_driver, assessment.grading_rule = (
            grading.grade, grading.driver, grading.rule)
        # A reason the system writes into the audit trail: English, whatever the user reads (docs/i18n.md).
        crf_save(crf=assessment, by=by, submit=False, reason=(
            f"CRS grade re-derived ({before} → {grading.grade}) because {cause}")[:300])
        changed.append(assessment)
    return changed


def _assessment_date_errors(*, assessment: CrsAssessment | IcansAssessment, syndrome: str) -> dict[str, str]:
    """A CRS or ICANS assessment is dated on or after day 0 (and after consent)."""
    _typed_fields(assessment)
    patient = assessment.patient
    errors = _date_checks(patient=patient, field="assessment_date", value=assessment.assessment_date,
                          label=gettext("Assessment date"))
    if "assessment_date" not in errors and assessment.assessment_date is not None:
        if patient.infusion_date is None:
            errors["assessment_date"] = gettext(
                "No CAR-T infusion is recorded for this patient: %(syndrome)s follows the infusion.") % {
                "syndrome": syndrome}
        elif assessment.assessment_date < patient.infusion_date:
            errors["assessment_date"] = gettext(
                "%(syndrome)s is assessed from day 0; %(date)s is before the infusion (%(infusion)s).") % {
                "syndrome": syndrome, "date": f"{assessment.assessment_date:%Y-%m-%d}",
                "infusion": f"{patient.infusion_date:%Y-%m-%d}"}
    return errors


def crs_assessment_hard_checks(*, assessment: CrsAssessment) -> None:
    patient = assessment.patient
    errors = _assessment_date_errors(assessment=assessment, syndrome="CRS")
    temperature = assessment.max_temperature_c
    low, high = TEMPERATURE_C_LIMITS
    if temperature is not None and not low <= temperature <= high:
        errors["max_temperature_c"] = gettext(
            "A body temperature of %(temperature)s °C is impossible (%(low)s–%(high)s °C).") % {
            "temperature": temperature, "low": low, "high": high}
    for drug, dose_field, date_field in (
        (_("Tocilizumab"), "tocilizumab_dose_mg", "tocilizumab_given_on"),
        (_("Corticosteroid"), "corticosteroid_dose_mg", "corticosteroid_given_on"),
    ):
        dose, given_on = getattr(assessment, dose_field), getattr(assessment, date_field)
        if dose is not None and dose <= 0:
            errors[dose_field] = gettext("%(drug)s dose must be more than 0 mg.") % {"drug": drug}
        if (dose is None) != (given_on is None):
            errors.setdefault(date_field if given_on is None else dose_field,
                              gettext("Give both the %(drug)s dose (mg) and the date it was given.") % {
                                  "drug": str(drug).lower()})
        if given_on is not None and patient.infusion_date and given_on < patient.infusion_date:
            errors[date_field] = gettext("%(drug)s for CRS cannot be given before the infusion (%(infusion)s).") % {
                "drug": drug, "infusion": patient.infusion_date}
        if given_on is not None and given_on > timezone.localdate():
            errors[date_field] = gettext("%(drug)s date %(date)s is in the future.") % {
                "drug": drug, "date": f"{given_on:%Y-%m-%d}"}
    if assessment.corticosteroid_dose_mg is not None and not assessment.corticosteroid:
        errors["corticosteroid"] = gettext("Name the corticosteroid given.")
    if errors:
        raise ValidationError(errors)


def crs_assessment_soft_checks(*, assessment: CrsAssessment) -> list[SoftCheck]:
    checks = _visit_checks(crf=assessment, on_date=assessment.assessment_date)
    dose = assessment.tocilizumab_dose_mg
    if dose is not None and dose > TOCILIZUMAB_MAX_DOSE_MG:
        checks.append(SoftCheck(
            rule="tocilizumab_max_dose", field="tocilizumab_dose_mg",
            message=lazy_message(
                gettext_noop("Tocilizumab %(dose)s mg is above the %(maximum)s mg maximum single dose."),
                {"dose": dose, "maximum": TOCILIZUMAB_MAX_DOSE_MG}),
            value=str(dose),
        ))
    return checks


@transaction.atomic
def crs_assessment_save(*, assessment: CrsAssessment, by: User, reason: str = "", acknowledge_deviation: bool = False,
                        deviation_reason: str = "") -> CrsAssessment:
    """Hard checks, then the ASTCT grade within the patient's course (whatever grade was set), then
    save; the patient's other assessments are graded again, since this one may open an episode or
    record a treatment that later afebrile assessments depend on."""
    _protocol(assessment)
    crs_assessment_hard_checks(assessment=assessment)
    grading = crs_assessment_grading(assessment=assessment)
    assessment.grade, assessment.grading_driver, assessment.grading_rule = grading.grade, grading.driver, grading.rule
    entered = assessment.pk is None
    crf_record(crf=assessment, by=by, reason=reason,
               soft_checks=crs_assessment_soft_checks(assessment=assessment),
               acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)
    crs_assessments_regrade(patient=assessment.patient, by=by, cause=(
        f"the assessment of {assessment.assessment_date:%Y-%m-%d} was {'entered' if entered else 'corrected'}"
        f"{f' ({reason.strip()})' if reason.strip() else ''}"))
    syndrome_grades_compare(patient=assessment.patient)
    return assessment


# --- ICANS -----------------------------------------------------------------------

def icans_assessment_scores(*, assessment: IcansAssessment) -> None:
    """Fill ice_score / capd_score from the items (items win over a typed total); hard errors per field."""
    errors: dict[str, str] = {}
    ice_items = [getattr(assessment, name) for name in ICE_ITEMS]
    if assessment.unable_to_assess:
        for name in ICE_ITEMS:
            if getattr(assessment, name) is not None:
                errors[name] = gettext("Leave the ICE items empty when the patient cannot be assessed.")
        if any(item is not None for item in assessment.capd_items or []):
            errors["unable_to_assess"] = gettext("Leave the CAPD items empty when the child cannot be assessed.")
        if errors:
            raise ValidationError(errors)
        assessment.ice_score = assessment.capd_score = assessment.capd_items = None
        return
    if assessment.capd_items is not None:
        try:
            assessment.capd_score = capd_score(assessment.capd_items)
        except (ValueError, TypeError) as error:
            raise ValidationError({"capd_items": str(error)}) from error
    if any(item is not None for item in ice_items):
        missing = [name for name, item in zip(ICE_ITEMS, ice_items, strict=True) if item is None]
        if missing:
            raise ValidationError({name: gettext("Score every ICE item, or tick 'unable to assess'.")
                                   for name in missing})
        try:
            orientation, naming, following_commands, writing, attention = ice_items  # ICE_ITEMS' order
            assessment.ice_score = ice_score(orientation=orientation, naming=naming,
                                             following_commands=following_commands, writing=writing,
                                             attention=attention)
        except ValueError as error:
            raise ValidationError({"ice_score": str(error)}) from error
    if assessment.ice_score is None and assessment.capd_score is None:
        raise ValidationError({"ice_score": gettext("Score the ICE (or CAPD for a child under 12), or tick "
                                                    "'unable to assess'.")})


def icans_assessment_hard_checks(*, assessment: IcansAssessment) -> None:
    errors = _assessment_date_errors(assessment=assessment, syndrome="ICANS")
    if errors:
        raise ValidationError(errors)
    icans_assessment_scores(assessment=assessment)
    on_date = assessment.assessment_date
    age = patient_age_years_on(patient=assessment.patient, on_date=on_date)
    if uses_capd(age) and assessment.ice_score is not None:
        raise ValidationError({"ice_score": gettext(
            "The patient is %(age)s on %(date)s: a child under %(limit)s is assessed with CAPD, not ICE. Score the "
            "eight CAPD items, or tick 'unable to assess'.") % {
            "age": age, "date": f"{on_date:%Y-%m-%d}", "limit": CAPD_AGE_LIMIT_YEARS}})
    if not uses_capd(age) and (assessment.capd_score is not None or assessment.capd_items is not None):
        raise ValidationError({"capd_items": gettext(
            "CAPD is for children under 12; this patient is graded with ICE.")})


@dataclass(frozen=True)
class IcansGrading:
    """An ICANS grade with the domain(s) that set it, the rule applied and the age that chose the tool."""

    grade: int
    driver: str
    rule: str
    age_years: int | None


def icans_assessment_grading(*, assessment: IcansAssessment) -> IcansGrading:
    """The ASTCT grade of the form with the age on its assessment date (hard checks already passed)."""
    age = patient_age_years_on(patient=assessment.patient, on_date=assessment.assessment_date)
    child = uses_capd(age)
    ice = None if assessment.unable_to_assess or child else assessment.ice_score
    capd = None if assessment.unable_to_assess or not child else assessment.capd_score
    grading = icans_grading(ice_score=ice, capd_score=capd, consciousness=assessment.consciousness,
                            seizure=assessment.seizure, motor_weakness=assessment.motor_weakness,
                            cerebral_edema=assessment.cerebral_edema, age_years=age)
    stored_other_tool = (assessment.ice_score is not None if child else assessment.capd_score is not None)
    rule = icans_rule(age_years=age, score_done=(capd if child else ice) is not None)
    if stored_other_tool and not assessment.unable_to_assess:
        # Only after a corrected birth date: the score entered belongs to the other tool.
        rule = f"{rule} {rule_text(ICANS_RULE_OTHER_TOOL, tool='ICE' if child else 'CAPD')}"
    return IcansGrading(grade=grading.grade, driver=grading.driver, rule=rule[:300], age_years=age)


@transaction.atomic
def icans_assessment_save(*, assessment: IcansAssessment, by: User, reason: str = "",
                          acknowledge_deviation: bool = False, deviation_reason: str = "") -> IcansAssessment:
    """Scores from items, hard checks, the ASTCT grade from the rules (a typed grade is ignored), save."""
    _protocol(assessment)
    icans_assessment_hard_checks(assessment=assessment)
    grading = icans_assessment_grading(assessment=assessment)
    assessment.grade, assessment.grading_driver, assessment.grading_rule = grading.grade, grading.driver, grading.rule
    assessment.age_years_at_assessment = grading.age_years
    crf_record(crf=assessment, by=by, reason=reason,
               soft_checks=_visit_checks(crf=assessment, on_date=assessment.assessment_date),
               acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)
    syndrome_grades_compare(patient=assessment.patient)
    return assessment


def icans_assessments_rederive(*, patient: Patient, by: User | None, cause: str,
                               keep_signed_confirmed: bool = False) -> list[IcansAssessment]:
    """Grade the patient's ICANS assessments again after ``cause`` (the birth date or day 0 corrected):
    the age on each assessment date picks ICE or CAPD. Each changed one is saved with a reason naming
    the cause; a form whose score belongs to the other tool at the corrected age is graded from the
    other domains and gets an automatic query on its score. ``keep_signed_confirmed``: a signed or
    source-verified form whose grade is confirmed, by the same tool, is left as stored."""
    patient = Patient.objects.select_related("baseline", "screening").get(pk=patient.pk)
    assessments = list(IcansAssessment.objects.select_for_update().filter(patient=patient, removed=False)
                       .select_related("patient").order_by("assessment_date", "pk"))
    changed = []
    for assessment in assessments:
        assessment.patient = patient
        grading = icans_assessment_grading(assessment=assessment)
        if (grading.grade, grading.driver, grading.rule, grading.age_years) == (
                assessment.grade, assessment.grading_driver, assessment.grading_rule,
                assessment.age_years_at_assessment):
            continue
        if (keep_signed_confirmed and _signed_and_confirmed(assessment, grading.grade)
                and "does not apply at this age" not in grading.rule):
            continue
        before = assessment.grade
        assessment.grade, assessment.grading_driver, assessment.grading_rule = (
            grading.grade, grading.driver, grading.rule)
        assessment.age_years_at_assessment = grading.age_years
        crf_save(crf=assessment, by=by, submit=False, reason=(
            f"ICANS grade re-derived ({before} → {grading.grade}, age {grading.age_years}) because {cause}")[:300])
        if "does not apply at this age" in grading.rule:
            child = uses_capd(grading.age_years)
            query_raise_automatic(crf=assessment, field="unable_to_assess", text=(
                f"After the correction ({cause}) the patient is {grading.age_years} on "
                f"{assessment.assessment_date:%Y-%m-%d}: "
                f"encephalopathy is scored with {'CAPD' if child else 'ICE'}. Enter that score (the "
                f"{'ICE' if child else 'CAPD'} score is not counted)."))
        changed.append(assessment)
    return changed


# --- Adverse events --------------------------------------------------------------

def _adverse_event_date_errors(*, event: AdverseEvent) -> dict[str, str]:
    """Onset, resolution and death dates: not before consent, not in the future, not before the onset."""
    patient = event.patient
    errors = _date_checks(patient=patient, field="onset_date", value=event.onset_date, label=gettext("Onset"))
    onset = event.onset_date
    for field, label in (("resolution_date", gettext("Resolution")), ("death_date", gettext("Death date"))):
        value = getattr(event, field)
        errors.update(_date_checks(patient=patient, field=field, value=value, label=label))
        if value is not None and onset is not None and value < onset and field not in errors:
            errors[field] = gettext("%(label)s %(date)s is before the onset (%(onset)s).") % {
                "label": label, "date": f"{value:%Y-%m-%d}", "onset": f"{onset:%Y-%m-%d}"}
    return errors


def adverse_event_hard_checks(*, event: AdverseEvent) -> None:
    """Every hard check of an adverse event, each a rule of `safety.rules`; a field shows the first
    message that concerns it."""
    _typed_fields(event)
    criteria = list(event.seriousness_criteria or [])
    errors = first_error_per_field(
        _adverse_event_date_errors(event=event),
        seriousness_errors(serious=event.serious, criteria=criteria),
        awareness_errors(serious=event.serious, aware_at=event.aware_at, onset_date=event.onset_date,
                         now=timezone.localtime()),
        fatal_event_errors(grade=event.grade, outcome=event.outcome, death_date=event.death_date, criteria=criteria),
        resolution_errors(outcome=event.outcome, resolution_date=event.resolution_date),
        action_taken_errors(action_taken=event.action_taken, action_taken_other=event.action_taken_other),
    )
    if errors:
        raise ValidationError(errors)


def adverse_event_overlap_checks(*, event: AdverseEvent) -> list[SoftCheck]:
    """Soft check: a CRS or ICANS event overlapping another event of the same syndrome of the
    patient. Usually one episode entered twice (or a wrong date): the safety summary would join them
    into one long episode. Can be true (a second episode starting the day the first resolved)."""
    syndrome = syndrome_of_term(event.term)
    if syndrome is None or event.onset_date is None:
        return []
    others = (AdverseEvent.objects.filter(patient_id=event.patient_id, removed=False)
              .exclude(pk=event.pk).order_by("onset_date", "pk"))
    checks = []
    for other in others:
        if syndrome_of_term(other.term) != syndrome or not events_overlap(
                event.onset_date, event.resolution_date, other.onset_date, other.resolution_date):
            continue
        template = (gettext_noop(
            "Another %(syndrome)s event of this patient overlaps this one (onset %(onset)s, resolved %(resolution)s, "
            "grade %(grade)s). If it is the same episode, correct that event instead; the safety summary counts "
            "overlapping events as one episode.") if other.resolution_date else gettext_noop(
            "Another %(syndrome)s event of this patient overlaps this one (onset %(onset)s, not resolved, grade "
            "%(grade)s). If it is the same episode, correct that event instead; the safety summary counts "
            "overlapping events as one episode."))
        checks.append(SoftCheck(
            rule="overlapping_syndrome_event", field="onset_date",
            message=lazy_message(template, {
                "syndrome": syndrome, "onset": f"{other.onset_date:%Y-%m-%d}", "grade": other.grade,
                "resolution": f"{other.resolution_date:%Y-%m-%d}" if other.resolution_date else ""}),
            value=f"{event.onset_date:%Y-%m-%d} overlaps event {other.pk}",
        ))
    return checks


@transaction.atomic
def adverse_event_save(*, event: AdverseEvent, by: User, reason: str = "", acknowledge_deviation: bool = False,
                       deviation_reason: str = "") -> AdverseEvent:
    _protocol(event)
    death_before = (AdverseEvent.objects.filter(pk=event.pk).values_list("death_date", "grade").first()
                    if event.pk else None)
    event.seriousness_criteria = sorted(set(event.seriousness_criteria or []))
    adverse_event_hard_checks(event=event)
    if event.visit is not None and event.visit.patient_id != event.patient_id:
        raise ValidationError({"visit": gettext("This visit belongs to another patient.")})
    # Expectedness against the reference safety information of the version the event is recorded under.
    event.expected = is_expected(event.term, event.protocol.expected_adverse_events)
    event.susar = is_susar(serious=event.serious, relatedness_cart=event.relatedness_cart, expected=event.expected)
    # No window check: an AE reported at a visit may have begun any time before it.
    crf_record(crf=event, by=by, reason=reason, soft_checks=lambda: adverse_event_overlap_checks(event=event),
               acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)
    syndrome_grades_compare(patient=event.patient)
    cause = ""
    if death_before is not None and death_before[0] is not None and death_before[0] != event.death_date:
        now = f"grade {event.grade}" if event.death_date is None else f"{event.death_date:%Y-%m-%d}"
        cause = (f"death of {death_before[0]:%Y-%m-%d} on the adverse event {event.term} (grade {death_before[1]}) "
                 f"corrected to {now}: {reason.strip()}")
    if event.death_date is not None or cause:
        # A death recorded only here is the patient's death: off study, in OS (outcomes keeps the one death);
        # one corrected away leaves the end of study to the forms that remain.
        patient_death_recorded(patient=event.patient, by=by, cause=cause)
    return event


# --- removal (CaseReportForm.removal_service) ---------------------------------------


@transaction.atomic
def crs_assessment_remove(*, crf: CrsAssessment, by: User, reason: str) -> CrsAssessment:
    """Remove a CRS assessment and grade the rest of the course again: an episode it opened with a fever
    no longer covers a later afebrile assessment."""
    crf_remove(crf=crf, by=by, reason=reason)
    crs_assessments_regrade(patient=crf.patient, by=by, cause=(
        f"the assessment of {crf.assessment_date:%Y-%m-%d} was removed ({reason.strip()})"))
    return crf


def icans_assessment_remove(*, crf: IcansAssessment, by: User, reason: str) -> IcansAssessment:
    """Remove an ICANS assessment (each is graded on its own: nothing else follows)."""
    return crf_remove(crf=crf, by=by, reason=reason)


@transaction.atomic
def adverse_event_remove(*, crf: AdverseEvent, by: User, reason: str) -> AdverseEvent:
    """Remove an adverse event; a death it recorded that another form also records is reconciled from the
    forms that remain (the only record of a death is not removed: `crf_remove`)."""
    crf_remove(crf=crf, by=by, reason=reason)
    if crf.death_date is not None:
        patient_death_recorded(patient=crf.patient, by=by, cause=(
            f"death of {crf.death_date:%Y-%m-%d} on the adverse event {crf.term} removed: {reason.strip()}"))
    return crf


def syndrome_grades_compare(*, patient: Patient) -> list[AdverseEvent]:
    """CRS graded twice agrees: an adverse event "Cytokine release syndrome" (or ICANS) whose CTCAE grade differs
    from the worst ASTCT grade on the patient's CRS (ICANS) forms dated within the event (onset to resolution,
    death or today) gets an automatic query on its grade. Run after the event or an assessment is saved."""
    today = timezone.localdate()
    queried = []
    for event in AdverseEvent.objects.filter(patient=patient, removed=False):
        syndrome = syndrome_of_term(event.term)
        if syndrome is None:
            continue
        model: type[CrsAssessment] | type[IcansAssessment] = CrsAssessment if syndrome == "CRS" else IcansAssessment
        end = event.resolution_date or event.death_date or today
        forms = list(model.objects.filter(patient=patient, removed=False,
                                          assessment_date__range=(event.onset_date, end))
                     .values_list("assessment_date", "grade"))
        worst = syndrome_grade_disagreement(ctcae_grade=event.grade, astct_grades=[grade for _day, grade in forms])
        if worst is None:
            continue
        # The automatic query's text is clinical record: stored in English, the same for every auditor.
        query_raise_automatic(crf=event, field="grade", text=(
            f"This {syndrome} event is CTCAE grade {event.grade}, but the worst ASTCT grade on the {syndrome} "
            f"assessments of {event.onset_date:%Y-%m-%d} to {end:%Y-%m-%d} ({len(forms)} form(s)) is {worst}. "
            f"Grade the event as the assessments do, or correct the assessments."))
        queried.append(event)
    return queried


# --- corrections through a query (CaseReportForm.correction_service) ---------------

def _corrected(crf: CrfT, *, field: str, value: Any) -> CrfT:
    """A fresh copy of the stored form with one value changed (the caller's instance stays as stored)."""
    fresh = type(crf).objects.select_related("patient", "visit").get(pk=crf.pk)
    setattr(fresh, field, value)
    return fresh


def crs_assessment_correct(*, crf: CrsAssessment, field: str, value: Any, by: User, reason: str,
                           acknowledge_deviation: bool = False, deviation_reason: str = "") -> CrsAssessment:
    """One value corrected through the form's service: the hard checks and the grade follow."""
    return crs_assessment_save(assessment=_corrected(crf, field=field, value=value), by=by, reason=reason,
                               acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)


def icans_assessment_correct(*, crf: IcansAssessment, field: str, value: Any, by: User, reason: str,
                             acknowledge_deviation: bool = False, deviation_reason: str = "") -> IcansAssessment:
    """One value corrected through the form's service: the ICE score, the checks and the grade follow."""
    return icans_assessment_save(assessment=_corrected(crf, field=field, value=value), by=by, reason=reason,
                                 acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)


def adverse_event_correct(*, crf: AdverseEvent, field: str, value: Any, by: User, reason: str,
                          acknowledge_deviation: bool = False, deviation_reason: str = "") -> AdverseEvent:
    """One value corrected through the form's service: seriousness, grade 5 and dates are checked again."""
    return adverse_event_save(event=_corrected(crf, field=field, value=value), by=by, reason=reason,
                              acknowledge_deviation=acknowledge_deviation, deviation_reason=deviation_reason)


# --- SAE reports and the 24-hour clock -------------------------------------------

@transaction.atomic
def sae_report_record(*, event: AdverseEvent, kind: str, sent_at: datetime.datetime, by: User,
                      notes: str = "") -> SaeReport:
    errors = {}
    if not event.serious:
        errors["kind"] = gettext("Only a serious adverse event is reported to the sponsor.")
    if kind == SaeReport.Kind.INITIAL and event.sae_reports.filter(kind=SaeReport.Kind.INITIAL).exists():
        errors["kind"] = gettext("The initial report is already recorded; add a follow-up report.")
    if kind == SaeReport.Kind.FOLLOW_UP and not event.sae_reports.filter(kind=SaeReport.Kind.INITIAL).exists():
        errors["kind"] = gettext("Record the initial report first.")
    if kind == SaeReport.Kind.SUSAR and not event.susar:
        errors["kind"] = gettext("Only a SUSAR (serious, related to CAR-T, not in the reference safety information) "
                                 "has an expedited SUSAR report.")
    elif kind == SaeReport.Kind.SUSAR and event.sae_reports.filter(kind=SaeReport.Kind.SUSAR).exists():
        errors["kind"] = gettext("The expedited SUSAR report is already recorded; add a follow-up report.")
    if sent_at > timezone.now():
        errors["sent_at"] = gettext("The report cannot be sent in the future.")
    elif event.aware_at and sent_at < event.aware_at:
        errors["sent_at"] = gettext("The report cannot precede the site's awareness of the event.")
    if errors:
        raise ValidationError(errors)
    report = SaeReport(adverse_event=event, kind=kind, sent_at=sent_at, sent_by=by, notes=notes)
    with stored_language():  # the audit reason is stored in English, whatever the user reads
        reason = f"SAE {report.get_kind_display().lower()} sent"
    audited_save(instance=report, by=by, reason=reason)
    return report


def sae_initial_report(event: AdverseEvent) -> SaeReport | None:
    reports = [report for report in event.sae_reports.all() if report.kind == SaeReport.Kind.INITIAL]
    return reports[0] if reports else None


def sae_events_overdue(*, patients: QuerySet[Patient], now: datetime.datetime) -> list[AdverseEvent]:
    """Serious events whose initial report is missing past its 24-hour deadline."""
    candidates = (
        AdverseEvent.objects.filter(patient__in=patients, serious=True, removed=False, aware_at__isnull=False)
        .exclude(sae_reports__kind=SaeReport.Kind.INITIAL)
        .select_related("patient", "patient__site")
        .order_by("aware_at")
    )
    return [
        event for event in candidates
        if sae_report_overdue(aware_at=event.aware_at, reported_at=None, now=now)
    ]


def susar_report(event: AdverseEvent) -> SaeReport | None:
    reports = [report for report in event.sae_reports.all() if report.kind == SaeReport.Kind.SUSAR]
    return reports[0] if reports else None


@dataclass(frozen=True)
class SusarClock:
    event: AdverseEvent
    due: datetime.datetime
    days: int
    overdue: bool


def susar_clocks(*, patients: QuerySet[Patient], now: datetime.datetime) -> list[SusarClock]:
    """SUSARs whose expedited report is not yet recorded, soonest deadline first (7 or 15 days, ICH E2A)."""
    events = (AdverseEvent.objects.filter(patient__in=patients, susar=True, removed=False, aware_at__isnull=False)
              .exclude(sae_reports__kind=SaeReport.Kind.SUSAR).select_related("patient", "patient__site"))
    clocks = [SusarClock(event=event, days=susar_report_days(event.seriousness_criteria),
                         due=susar_report_due(aware_at=timezone.localtime(event.aware_at),
                                              seriousness_criteria=event.seriousness_criteria),
                         overdue=susar_report_overdue(aware_at=event.aware_at,
                                                      seriousness_criteria=event.seriousness_criteria,
                                                      reported_at=None, now=now))
              for event in events]
    return sorted(clocks, key=lambda clock: clock.due)


def _user_language(user: User) -> str:
    """The language a user reads e-mails in: their own choice (trial's user profile), else the default."""
    profile = getattr(user, "profile", None)  # absent until the user picks a language
    return getattr(profile, "language", "") or settings.LANGUAGE_CODE


def sae_overdue_notify(*, now: datetime.datetime | None = None) -> list[AdverseEvent]:
    """E-mail each site's investigators and monitors about SAE reports newly overdue.

    Idempotent: an event is e-mailed once (a SaeOverdueNotice row records it);
    the home pages keep flagging it until the initial report is recorded.
    """
    now = now or timezone.now()
    newly = []
    for event in sae_events_overdue(patients=Patient.objects.all(), now=now):
        with transaction.atomic():
            # The notice row is the idempotency key: created once, under the unique constraint.
            notice, created = SaeOverdueNotice.objects.get_or_create(
                adverse_event=event, defaults={"notified_at": now}
            )
            if not created:
                continue
            users = {membership.user.email: membership.user for membership in
                     SiteMembership.objects.filter(site=event.patient.site,
                                                   role__in=[Role.INVESTIGATOR, Role.MONITOR])
                     .exclude(user__email="").select_related("user")}
            recipients = sorted(users)
            notice.recipients = recipients
            notice.save(update_fields=["recipients"])
            due = sae_initial_report_due(timezone.localtime(event.aware_at))
            by_language: dict[str, list[str]] = {}
            for email in recipients:
                by_language.setdefault(_user_language(users[email]), []).append(email)
            for language, emails in sorted(by_language.items()):
                with translation.override(language):  # each recipient reads the e-mail in their own language
                    send_mail(
                        subject=gettext("Overdue SAE report: %(subject)s %(term)s") % {
                            "subject": event.patient.study_id, "term": event.term},
                        message=gettext(
                            "The initial report of the serious adverse event %(term)s (grade %(grade)s) of "
                            "%(subject)s was due %(due)s and has not been recorded.\nRecord it in the EDC once it "
                            "is sent to the sponsor.") % {
                            "term": event.term, "grade": event.grade, "subject": event.patient.study_id,
                            "due": f"{due:%Y-%m-%d %H:%M %Z}"},
                        from_email=settings.DEFAULT_FROM_EMAIL,
                        recipient_list=emails,
                    )
            newly.append(event)
    return newly


# --- forms graded before the course rule (issue 16) ---------------------------------------------------------

#: The audit causes of `syndromes_regrade` ("CRS grade re-derived (2 → 1) because …"): stored, in English.
CRS_REGRADE_CAUSE = "it was graded before the course rule: re-graded under the course rule (issue 16)"
ICANS_REGRADE_CAUSE = ("it was graded before issue 16: re-graded with the age on the assessment date choosing "
                       "ICE or CAPD (issue 16)")


@dataclass(frozen=True)
class Regraded:
    """One form whose stored grading changed: the grade (or only the rule applied, now recorded)."""

    subject_id: str
    syndrome: str
    pk: int
    assessment_date: datetime.date
    grade_before: int | None
    grade_after: int | None
    status_before: str  # signed or verified: the signature is void, the SDV mark cleared (crf_save)


@dataclass
class RegradeReport:
    graded_before_rule: dict[str, int]  # syndrome → forms in force with no rule stored, before the run
    regraded: list[Regraded]
    not_regraded: list[tuple[str, str]]  # (subject ID, why): a locked form stops its patient's change
    # syndrome → signed or source-verified forms whose grade the rule confirmed, left as stored (no rule written)
    kept_signed: dict[str, int]

    @property
    def grade_changes(self) -> list[Regraded]:
        return [form for form in self.regraded if form.grade_before != form.grade_after]


def syndromes_regrade(*, by: User | None = None) -> RegradeReport:
    """Grade every patient's CRS course and ICANS assessments again through the forms' own services
    (`crs_assessments_regrade`, `icans_assessments_rederive`), so that forms saved before issue 16 — graded
    each on its own, ICE or CAPD chosen by the age at infusion, no rule stored (`grading_rule` blank) — hold
    what the current rules give. Each form that changes is saved with the reason "CRS grade re-derived (2 → 1)
    because it was graded before the course rule: re-graded under the course rule (issue 16)" (a signature
    on it is void: its values changed); the CRS/ICANS adverse events are compared again. A signed or
    source-verified form whose grade the rule gives again is left as stored, its rule unwritten: recording the
    wording alone would void the investigator's signature (or the monitor's SDV) with no clinical change, and on
    an upgrade that could be most of the trial's signed forms. One transaction per
    patient: a locked form stops its patient's re-grade (reported), not the others'. Idempotent: a second run
    changes nothing. `manage.py safety_regrade` and migration safety/0010 run it."""
    graded_before_rule = {
        "CRS": CrsAssessment.objects.filter(removed=False, grading_rule="").count(),
        "ICANS": IcansAssessment.objects.filter(removed=False, grading_rule="").count(),
    }
    patient_ids = (set(CrsAssessment.objects.filter(removed=False).values_list("patient_id", flat=True))
                   | set(IcansAssessment.objects.filter(removed=False).values_list("patient_id", flat=True)))
    report = RegradeReport(graded_before_rule=graded_before_rule, regraded=[], not_regraded=[], kept_signed={})
    for patient in Patient.objects.filter(pk__in=patient_ids).order_by("pk"):
        before = {
            (syndrome, pk): (grade, status)
            for syndrome, model in (("CRS", CrsAssessment), ("ICANS", IcansAssessment))
            for pk, grade, status in model.objects.filter(patient=patient, removed=False).values_list(
                "pk", "grade", "status")
        }
        try:
            with transaction.atomic():
                changed: list[tuple[str, CrsAssessment | IcansAssessment]] = [
                    ("CRS", form) for form in crs_assessments_regrade(
                        patient=patient, by=by, cause=CRS_REGRADE_CAUSE, keep_signed_confirmed=True)]
                changed += [("ICANS", form) for form in icans_assessments_rederive(
                    patient=patient, by=by, cause=ICANS_REGRADE_CAUSE, keep_signed_confirmed=True)]
                if changed:
                    syndrome_grades_compare(patient=patient)
        except ValidationError as error:  # crf_save refuses a locked form: nothing of this patient changed
            report.not_regraded.append((patient.study_id, "; ".join(error.messages)))
            continue
        for syndrome, form in changed:
            grade_before, status_before = before[(syndrome, form.pk)]
            report.regraded.append(Regraded(
                subject_id=patient.study_id, syndrome=syndrome, pk=form.pk, assessment_date=form.assessment_date,
                grade_before=grade_before, grade_after=form.grade, status_before=status_before))
    kept = (CrfStatus.SIGNED, CrfStatus.VERIFIED)
    report.kept_signed = {
        "CRS": CrsAssessment.objects.filter(removed=False, grading_rule="", status__in=kept).count(),
        "ICANS": IcansAssessment.objects.filter(removed=False, grading_rule="", status__in=kept).count(),
    }
    return report
