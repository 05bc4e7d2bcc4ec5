"""Safety pages: the three CRFs (with a grade check before saving), the
patient's safety page, the SAE report log and the trial safety summary."""
import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from crf.checks import errors_onto_form
from crf.forms import crf_form_read_only
from patients.models import Patient, Visit
from patients.selectors import patient_for_user
from trial.roles import can_enter_data, require_data_entry

from . import services
from .forms import (
    AdverseEventForm,
    CrsAssessmentForm,
    IcansAssessmentForm,
    SaeReportForm,
)
from .models import AdverseEvent, CrsAssessment, IcansAssessment
from .plots import swimmer_png
from .rules import (
    ctcae_term_display,
    sae_initial_report_due,
    sae_report_late,
    sae_report_overdue,
    susar_report_days,
    susar_report_due,
    susar_report_overdue,
)
from .selectors import (
    crs_episode,
    death_record_link,
    icans_episode,
    infused_patients,
    patient_day,
    swimmer_lanes,
    trial_safety_summary,
)


def _instance(request, *, patient, model, pk):
    """The CRF being edited, or a new one for the patient (and ?visit=<pk>)."""
    if pk is not None:
        return get_object_or_404(model, patient=patient, pk=pk)
    instance = model(patient=patient, protocol=patient.protocol)
    visit_pk = request.GET.get("visit") or request.POST.get("visit")
    if visit_pk:
        if not str(visit_pk).isdigit():
            raise Http404(gettext("No such visit."))
        instance.visit = get_object_or_404(Visit, patient=patient, pk=visit_pk)
    return instance


def _graded_entry(request, study_id, pk, *, model, form_class, grading, save, template, saved_message,
                  form_kwargs=None):
    """Enter or edit a CRS/ICANS assessment in two steps without JavaScript:
    "Check grade" shows the ASTCT grade computed from the inputs; "Confirm and save"
    saves, and only when the grade the user saw is still the grade of the inputs."""
    patient = patient_for_user(user=request.user, study_id=study_id)
    instance = _instance(request, patient=patient, model=model, pk=pk)
    can_write = can_enter_data(request.user, patient.site)
    form_kwargs = form_kwargs or {}
    preview = None
    if request.method == "POST":
        require_data_entry(request.user, patient.site)
        form = form_class(request.POST, instance=instance, **form_kwargs)
        if form.is_valid():
            candidate = form.save(commit=False)
            try:
                preview = grading(candidate)
                confirmed = request.POST.get("action") == "save"
                if confirmed and form.cleaned_data.get("previewed_grade") == preview.grade:
                    saved = save(
                        candidate, by=request.user, reason=form.cleaned_data["reason"],
                        acknowledge_deviation=form.cleaned_data["acknowledge_deviation"],
                        deviation_reason=form.cleaned_data["deviation_reason"],
                    )
                    messages.success(request, saved_message % {"grade": saved.grade})
                    return redirect("safety:patient", study_id=patient.study_id)
                if confirmed:
                    messages.warning(request, gettext("The inputs changed since the grade was checked: check the "
                                                      "new grade and confirm."))
                data = request.POST.copy()
                data["previewed_grade"] = preview.grade
                form = form_class(data, instance=instance, **form_kwargs)
                form.is_valid()
            except ValidationError as error:
                preview = None
                errors_onto_form(form, error)
    else:
        form = form_class(instance=instance, **form_kwargs)
    return render(request, template, {
        "patient": patient, "form": form, "instance": instance, "preview": preview, "can_write": can_write,
        "lock_reason": crf_form_read_only(form, instance),
        "study_day": patient_day(patient, getattr(instance, "assessment_date", None)),
    })


def _crs_grading(candidate):
    services.crs_assessment_hard_checks(assessment=candidate)
    return services.crs_assessment_grading(assessment=candidate)


def _crs_save(candidate, **kwargs):
    return services.crs_assessment_save(assessment=candidate, **kwargs)


def _icans_grading(candidate):
    services.icans_assessment_hard_checks(assessment=candidate)
    return services.icans_assessment_grading(assessment=candidate)


def _icans_save(candidate, **kwargs):
    return services.icans_assessment_save(assessment=candidate, **kwargs)


@login_required
def crs_assessment_entry(request, study_id, pk=None):
    return _graded_entry(request, study_id, pk, model=CrsAssessment, form_class=CrsAssessmentForm,
                         grading=_crs_grading, save=_crs_save, template="safety/crs_form.html",
                         saved_message=gettext("CRS assessment saved: ASTCT grade %(grade)s."))


def _assessment_date(request, *, model, patient, pk):
    """The date the form is about: as posted, else as stored, else today (None: unreadable)."""
    posted = request.POST.get("assessment_date") if request.method == "POST" else None
    if posted:
        try:
            return datetime.date.fromisoformat(posted)
        except ValueError:
            return None
    if pk is not None:
        return model.objects.filter(patient=patient, pk=pk).values_list("assessment_date", flat=True).first()
    return None


@login_required
def icans_assessment_entry(request, study_id, pk=None):
    patient = patient_for_user(user=request.user, study_id=study_id)
    # ICE or CAPD by the age on the assessment date (ASTCT: CAPD under 12).
    child = services.patient_uses_capd(
        patient=patient, on_date=_assessment_date(request, model=IcansAssessment, patient=patient, pk=pk))
    return _graded_entry(request, study_id, pk, model=IcansAssessment, form_class=IcansAssessmentForm,
                         grading=_icans_grading, save=_icans_save, template="safety/icans_form.html",
                         saved_message=gettext("ICANS assessment saved: ASTCT grade %(grade)s."),
                         form_kwargs={"child": child})


@login_required
def adverse_event_entry(request, study_id, pk=None):
    patient = patient_for_user(user=request.user, study_id=study_id)
    event = _instance(request, patient=patient, model=AdverseEvent, pk=pk)
    can_write = can_enter_data(request.user, patient.site)
    if request.method == "POST":
        require_data_entry(request.user, patient.site)
        form = AdverseEventForm(request.POST, instance=event)
        if form.is_valid():
            try:
                saved = services.adverse_event_save(
                    event=form.save(commit=False), by=request.user, reason=form.cleaned_data["reason"],
                    acknowledge_deviation=form.cleaned_data["acknowledge_deviation"],
                    deviation_reason=form.cleaned_data["deviation_reason"],
                )
            except ValidationError as error:
                errors_onto_form(form, error)
            else:
                messages.success(request, gettext("Adverse event saved: %(term)s, grade %(grade)s.") % {
                    "term": ctcae_term_display(saved.term), "grade": saved.grade})
                return redirect(saved.get_absolute_url())
    else:
        # A new event may come prefilled from a link (a grade ≥ 3 laboratory result's suggestion); the
        # coordinator still reviews and saves it.
        prefill = {} if event.pk else {name: request.GET[name] for name in ("term", "grade", "onset_date")
                                       if name in request.GET}
        form = AdverseEventForm(instance=event, initial=prefill)
    context = {"patient": patient, "form": form, "instance": event, "can_write": can_write,
               "lock_reason": crf_form_read_only(form, event)}
    if event.pk:
        context.update(_sae_context(event))
        context["onset_day"] = patient_day(patient, event.onset_date)
        context["resolution_day"] = patient_day(patient, event.resolution_date)
        if event.grade == 5:
            context["death_record"] = death_record_link(patient)
    return render(request, "safety/adverse_event_form.html", context)


def _susar_context(event, now):
    """The expedited-report clock of a SUSAR (7 or 15 calendar days from awareness, ICH E2A)."""
    if not event.susar:
        return None
    report = services.susar_report(event)
    due = susar_report_due(aware_at=timezone.localtime(event.aware_at), seriousness_criteria=event.seriousness_criteria)
    return {"due": due, "days": susar_report_days(event.seriousness_criteria), "report": report,
            "overdue": susar_report_overdue(aware_at=event.aware_at, seriousness_criteria=event.seriousness_criteria,
                                            reported_at=report and report.sent_at, now=now),
            "late": report is not None and report.sent_at > due}


def _sae_context(event, report_form=None):
    if not event.serious or event.aware_at is None:
        return {}
    initial = services.sae_initial_report(event)
    now = timezone.now()
    return {
        "sae": {
            "due": sae_initial_report_due(timezone.localtime(event.aware_at)),
            "overdue": sae_report_overdue(aware_at=event.aware_at, reported_at=initial and initial.sent_at, now=now),
            "late": initial is not None and sae_report_late(aware_at=event.aware_at, reported_at=initial.sent_at),
            "initial": initial,
            "reports": list(event.sae_reports.select_related("sent_by")),
        },
        "susar": _susar_context(event, now),
        "report_form": report_form or SaeReportForm(initial={
            "kind": "follow_up" if initial else "initial", "sent_at": timezone.localtime(now).replace(second=0,
                                                                                                      microsecond=0),
        }),
    }


@login_required
@require_POST
def sae_report_new(request, study_id, pk):
    patient = patient_for_user(user=request.user, study_id=study_id)
    event = get_object_or_404(AdverseEvent, patient=patient, pk=pk)
    require_data_entry(request.user, patient.site)
    form = SaeReportForm(request.POST)
    if form.is_valid():
        try:
            report = services.sae_report_record(event=event, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, gettext("%(kind)s recorded.") % {"kind": report.get_kind_display()})
            return redirect(event.get_absolute_url())
    event_form = AdverseEventForm(instance=event)
    context = {"patient": patient, "form": event_form, "instance": event, "can_write": True,
               "lock_reason": crf_form_read_only(event_form, event), **_sae_context(event, report_form=form)}
    return render(request, "safety/adverse_event_form.html", context, status=400)


@login_required
def patient_safety(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    crs = list(patient.crs_assessments.filter(removed=False))
    icans = list(patient.icans_assessments.filter(removed=False))
    events = list(patient.adverse_events.filter(removed=False).prefetch_related("sae_reports"))
    return render(request, "safety/patient_safety.html", {
        "patient": patient,
        "can_write": can_enter_data(request.user, patient.site),
        "crs": [(a, patient_day(patient, a.assessment_date)) for a in crs],
        "icans": [(a, patient_day(patient, a.assessment_date)) for a in icans],
        "events": [(e, patient_day(patient, e.onset_date), patient_day(patient, e.resolution_date)) for e in events],
        "crs_episode": crs_episode(patient, crs),
        "crs_episodes": [(episode, patient_day(patient, episode.onset_date),
                          patient_day(patient, episode.resolution_date))
                         for episode in services.patient_crs_course(patient=patient, assessments=crs).episodes],
        "icans_episode": icans_episode(patient, icans),
    })


@login_required
def safety_summary(request):
    return render(request, "safety/summary.html", {
        "summary": trial_safety_summary(request.user),
        "susar_clocks": services.susar_clocks(patients=Patient.objects.visible_to(request.user), now=timezone.now()),
    })


@login_required
def swimmer_plot(request):
    lanes = swimmer_lanes(request.user)
    total = infused_patients(request.user).count()
    response = HttpResponse(swimmer_png(lanes, of_total=total), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    return response
