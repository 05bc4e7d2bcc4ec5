"""Pages for lymphodepletion, the CAR-T infusion and the protocol-deviation list.
Thin: the services compute and check; these collect input and show results."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from crf.checks import SoftChecksNotAcknowledged, errors_onto_form
from crf.forms import crf_form_read_only
from monitoring.models import ProtocolDeviation
from monitoring.selectors import crf_deviations
from patients.models import Patient
from patients.selectors import patient_for_user
from trial.roles import can_enter_data, require_data_entry, visible_sites

from . import services
from .forms import InfusionForm, LymphodepletionForm, agent_label, style
from .models import Infusion, InfusionFraction, Lymphodepletion, LymphodepletionDose

PLANNED_DOSE_RULE = gettext_lazy(
    "Planned dose per day = mg/m² × BSA (Mosteller, rounded half up to 0.01 m²), rounded half up to the "
    "nearest whole mg; no dose banding or capping."
)


# --- lymphodepletion ------------------------------------------------------------------


@login_required
def lymphodepletion_detail(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    course = Lymphodepletion.objects.filter(patient=patient).prefetch_related("doses").first()
    return render(request, "infusions/lymphodepletion_detail.html", {
        "patient": patient, "course": course, "doses": course.doses.all() if course else [],
        "removed_doses": LymphodepletionDose.all_rows.filter(course=course, removed=True) if course else [],
        "deviations": _deviations_shown(crf_deviations(course)),
        "can_enter": can_enter_data(request.user, patient.site),
        "rounding_rule": PLANNED_DOSE_RULE, "protocol": patient.protocol,
    })


@login_required
def lymphodepletion_entry(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    require_data_entry(request.user, patient.site)
    protocol = patient.protocol
    course = Lymphodepletion.objects.filter(patient=patient).prefetch_related("doses").first()
    evaluation, soft_checks = None, []
    if request.method == "POST":
        form = style(LymphodepletionForm(request.POST, protocol=protocol, crf=course))
        if form.is_valid():
            data = form.cleaned_data
            try:
                evaluation = services.lymphodepletion_evaluate(
                    protocol=protocol, start_date=data["start_date"], weight_kg=data["weight_kg"],
                    height_cm=data["height_cm"], doses=form.dose_entries(),
                    creatinine_clearance_ml_min=data.get("creatinine_clearance_ml_min"),
                )
            except ValueError:
                evaluation = None
            if evaluation is not None and "as_planned" in request.POST:
                form, evaluation = _given_as_planned(form, evaluation, which=request.POST["as_planned"], course=course)
            elif "calculate" not in request.POST:
                try:
                    services.lymphodepletion_record(
                        patient=patient, by=request.user, start_date=data["start_date"],
                        weight_kg=data["weight_kg"], height_cm=data["height_cm"], doses=form.dose_entries(),
                        creatinine_clearance_ml_min=data.get("creatinine_clearance_ml_min"),
                        acknowledge_deviation=data["acknowledge_deviation"],
                        deviation_reason=data["deviation_reason"], reason=data["reason"],
                        version=form.loaded_version(),
                    )
                except SoftChecksNotAcknowledged as refused:
                    soft_checks = refused.checks
                    form.add_error("acknowledge_deviation", refused.messages[-1])
                except ValidationError as error:
                    errors_onto_form(form, error)
                else:
                    messages.success(request, _("Lymphodepletion saved."))
                    return redirect("infusions:lymphodepletion_detail", patient.study_id)
    else:
        form = style(LymphodepletionForm(
            initial=LymphodepletionForm.initial_from(course) if course else _from_baseline(patient),
            protocol=protocol, crf=course))
        if course:
            evaluation = services.lymphodepletion_evaluate(
                protocol=protocol, start_date=course.start_date, weight_kg=course.weight_kg,
                height_cm=course.height_cm, creatinine_clearance_ml_min=course.creatinine_clearance_ml_min,
                doses=[services.DoseEntry(d.study_day, d.agent, d.administered_mg, d.administration_date)
                       for d in course.doses.all()],
            )
    # "Calculate the plan" before the doses are typed: an empty cell is not entered yet, not missed.
    rows = _dose_rows(form, protocol, evaluation,
                      empty_is_missed=not ({"calculate", "as_planned"} & set(request.POST)))
    return render(request, "infusions/lymphodepletion_form.html", {
        "patient": patient, "form": form, "course": course, "evaluation": evaluation, "rows": rows,
        "soft_checks": soft_checks, "rounding_rule": PLANNED_DOSE_RULE, "protocol": protocol,
        "agents": [agent_label(agent) for agent in form.agents],
        "lock_reason": crf_form_read_only(form, course or Lymphodepletion(patient=patient)),
    })


def _from_baseline(patient) -> dict:
    """A new course starts from the weight and height of the baseline form (usually the same
    days); the coordinator corrects them if the patient was weighed again."""
    baseline = patient.baseline_crf
    if baseline is None or getattr(baseline, "removed", False):
        return {}
    return {"weight_kg": baseline.weight_kg, "height_cm": baseline.height_cm}


def _given_as_planned(form, evaluation, *, which: str, course):
    """The form again with the administered doses of one study day (`which`), or of every day
    ("all"), set to the planned mg: most doses are given as planned. Nothing is saved."""
    data = form.data.copy()
    for line in evaluation.lines:
        if which == "all" or which == str(line.study_day):
            data[form.add_prefix(services.dose_field(study_day=line.study_day, agent=line.agent))] = str(
                line.planned_mg)
    refilled = style(LymphodepletionForm(data, protocol=form.protocol, crf=course))
    if not refilled.is_valid():
        return refilled, evaluation
    cleaned = refilled.cleaned_data
    return refilled, services.lymphodepletion_evaluate(
        protocol=form.protocol, start_date=cleaned["start_date"], weight_kg=cleaned["weight_kg"],
        height_cm=cleaned["height_cm"], doses=refilled.dose_entries(),
        creatinine_clearance_ml_min=cleaned.get("creatinine_clearance_ml_min"))


def _dose_rows(form, protocol, evaluation, *, empty_is_missed: bool = True):
    """One table row per study day: its date field and, per agent, the plan, the entry and the verdict
    (none for an empty cell unless `empty_is_missed`: the form was saved or is shown as saved)."""
    lines = {(line.study_day, line.agent): line for line in evaluation.lines} if evaluation else {}
    rows = []
    for day in protocol.lymphodepletion_study_days:
        cells = []
        for agent in protocol.lymphodepletion_regimen:
            line = lines.get((day, agent))
            show_verdict = line is not None and (empty_is_missed or line.administered_mg is not None)
            cells.append({"agent": agent, "field": form[services.dose_field(study_day=day, agent=agent)],
                          "line": line, "show_verdict": show_verdict})
        planned_date = cells[0]["line"].planned_date if cells[0]["line"] else None
        rows.append({"study_day": day, "label": services.day_label(day),
                     "date_field": form[services.day_date_field(study_day=day)],
                     "planned_date": planned_date, "cells": cells})
    return rows


# --- CAR-T infusion ----------------------------------------------------------------------


@login_required
def infusion_detail(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    infusion = Infusion.objects.filter(patient=patient).prefetch_related("fractions").first()
    return render(request, "infusions/infusion_detail.html", {
        "patient": patient, "infusion": infusion, "deviations": _deviations_shown(crf_deviations(infusion)),
        "removed_fractions": InfusionFraction.all_rows.filter(infusion=infusion, removed=True) if infusion else [],
        "can_enter": can_enter_data(request.user, patient.site), "protocol": patient.protocol,
        "dose_million": services.rules.dose_million_cells_per_kg(cells_per_kg=infusion.dose_cells_per_kg)
        if infusion else None,
    })


@login_required
def infusion_entry(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    require_data_entry(request.user, patient.site)
    protocol = patient.protocol
    infusion = Infusion.objects.filter(patient=patient).prefetch_related("fractions").first()
    evaluation, soft_checks = None, []
    if request.method == "POST":
        form = style(InfusionForm(request.POST, crf=infusion))
        if form.is_valid():
            data = form.cleaned_data
            try:
                evaluation = services.infusion_evaluate(
                    protocol=protocol, weight_kg=data["weight_kg"], product=form.product(),
                    fractions=form.fractions(), patient=patient)
            except (ValueError, TypeError, ArithmeticError):
                evaluation = None
            if "calculate" not in request.POST:  # "Calculate the dose" shows it (above) and saves nothing
                try:
                    services.infusion_record(
                        patient=patient, by=request.user, weight_kg=data["weight_kg"], product=form.product(),
                        fractions=form.fractions(), acknowledge_deviation=data["acknowledge_deviation"],
                        deviation_reason=data["deviation_reason"], reason=data["reason"],
                        version=form.loaded_version(),
                        on_scheduling=lambda queued: _scheduling_message(request, queued),
                    )
                except SoftChecksNotAcknowledged as refused:
                    soft_checks = refused.checks
                    form.add_error("acknowledge_deviation", refused.messages[-1])
                except ValidationError as error:
                    errors_onto_form(form, error, renamed=InfusionForm.SERVICE_FIELDS)
                else:
                    messages.success(request, _("CAR-T infusion saved."))
                    return redirect("infusions:cart_infusion_detail", patient.study_id)
    else:
        form = style(InfusionForm(initial=InfusionForm.initial_from(infusion) if infusion else {}, crf=infusion))
    # The dose per kg beside the cells: computed on each submit (live as one types: static/infusions/dose-per-kg.js).
    if evaluation is not None:
        dose_million = evaluation.dose_million_cells_per_kg
    elif request.method == "GET" and infusion is not None:
        dose_million = services.rules.dose_million_cells_per_kg(cells_per_kg=infusion.dose_cells_per_kg)
    else:
        dose_million = None
    return render(request, "infusions/infusion_form.html", {
        "patient": patient, "form": form, "infusion": infusion, "evaluation": evaluation,
        "soft_checks": soft_checks, "protocol": protocol, "dose_million": dose_million,
        "lock_reason": crf_form_read_only(form, infusion or Infusion(patient=patient)),
    })


VISITS_NOT_QUEUED = gettext_lazy(
    "The follow-up visits were not scheduled now because the task queue is unavailable; they will be scheduled "
    "automatically within minutes of its return. The infusion itself is saved."
)


def _scheduling_message(request, queued: bool) -> None:
    """Told after the commit (the request's transaction), before the redirect is sent."""
    if queued:
        messages.info(request, _("The follow-up visits are being scheduled."))
    else:
        messages.warning(request, VISITS_NOT_QUEUED)


# --- protocol deviations ------------------------------------------------------------------

#: What each soft check of these forms (and the visit-window check every dated form runs) is about. The page
#: shows a deviation's rule by its code (the record's, as in the exports and the API); a language other than
#: English names it in words, its catalogue translating the code (context "protocol deviation rule"). The
#: deviation's stored message stays in English (the record) and is shown as stored. (The context is written
#: out in each call: xgettext reads literals only.)
RULE_CONTEXT = "protocol deviation rule"
RULES_NAMED = (
    pgettext_lazy("protocol deviation rule", "cart_dose_range"),
    pgettext_lazy("protocol deviation rule", "infusion_weight_change"),
    pgettext_lazy("protocol deviation rule", "lymphodepletion_schedule"),
    pgettext_lazy("protocol deviation rule", "fraction_spread"),
    pgettext_lazy("protocol deviation rule", "lymphodepletion_dose_missed"),
    pgettext_lazy("protocol deviation rule", "lymphodepletion_dose_tolerance"),
    pgettext_lazy("protocol deviation rule", "lymphodepletion_dose_date"),
    pgettext_lazy("protocol deviation rule", "fludarabine_renal_not_recommended"),
    pgettext_lazy("protocol deviation rule", "visit_window"),
)


def _deviations_shown(deviations):
    deviations = list(deviations)
    for deviation in deviations:
        deviation_display(deviation)
    return deviations


def deviation_display(deviation) -> None:
    """The deviation's form and rule as the reader sees them: the form's label (stored in English, marked for
    the catalogues) and the rule (above) translated; the message, value and reason as stored."""
    deviation.crf_label_display = _(deviation.crf_label) if deviation.crf_label else ""
    deviation.rule_title = pgettext(RULE_CONTEXT, deviation.rule) if deviation.rule else ""



@login_required
def deviation_list(request):
    """Every protocol deviation of the patients the user may see, newest first."""
    patients = Patient.objects.visible_to(request.user)
    deviations = (ProtocolDeviation.objects.filter(patient__in=patients)
                  .select_related("patient", "patient__site", "created_by").prefetch_related("crf")
                  .order_by("-created_at", "-pk"))
    site, study_id = request.GET.get("site", "").strip(), request.GET.get("patient", "").strip()
    if site:
        deviations = deviations.filter(patient__site__code=site)
    if study_id:
        deviations = deviations.filter(patient__in=Patient.objects.by_study_id(study_id))
    page = Paginator(deviations, 50).get_page(request.GET.get("page"))
    for deviation in page:
        deviation_display(deviation)
    return render(request, "infusions/deviation_list.html", {
        "page": page, "sites": visible_sites(request.user), "site": site, "study_id": study_id,
    })
