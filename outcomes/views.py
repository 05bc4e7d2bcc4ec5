"""Pages: the response-assessment and follow-up CRFs, and the endpoints."""
import base64
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from crf.checks import errors_onto_form
from crf.forms import crf_form_read_only, crf_page_may_edit
from patients.models import Patient
from patients.selectors import patient_for_user, visit_from_query
from trial.hooks import app_modules

from . import reports
from .forms import EndOfStudyForm, EndpointsQueryForm, FollowUpForm, ResponseAssessmentForm
from .models import EndOfStudy, FollowUp, ResponseAssessment, end_of_study_reason_display
from .roles import can_view_endpoints
from .services import (
    end_of_study_save,
    follow_up_save,
    response_assessment_derive,
    response_assessment_save,
    response_mrd_reason_display,
    response_values,
)


def _crf_for_user(model, user, pk):
    return get_object_or_404(
        model.objects.select_related("patient", "patient__site", "visit__definition"),
        pk=pk, patient__in=Patient.objects.visible_to(user),
    )


def _crf_page(request, *, patient, form_class, save, instance_kwarg, template, instance=None, preview=None):
    """Shared GET/POST handling of a CRF entry or edit page."""
    editing = instance is not None
    may_edit = crf_page_may_edit(request, site=patient.site, editing=editing)
    visit = visit_from_query(request, patient)
    derived = None
    if request.method == "POST":
        form = form_class(request.POST, instance=instance, editing=editing)
        if form.is_valid():
            values = form.crf_values()
            if "preview" in request.POST and preview is not None:
                try:
                    derived = preview(patient=patient, values=values,
                                      exclude_pk=instance.pk if instance else None)
                except ValidationError as error:
                    errors_onto_form(form, error)
            else:
                try:
                    saved = save(
                        patient=patient, values=values, by=request.user, visit=visit,
                        reason=form.cleaned_data.get("reason", ""),
                        acknowledge_deviation=form.cleaned_data["acknowledge_deviation"],
                        deviation_reason=form.cleaned_data["deviation_reason"],
                        **{instance_kwarg: instance},
                    )
                except ValidationError as error:
                    errors_onto_form(form, error)
                else:
                    messages.success(request, gettext("%(form)s saved.") % {"form": gettext(saved.crf_label)})
                    return redirect(saved.get_absolute_url())
    else:
        form = form_class(instance=instance, editing=editing)
    if not may_edit:
        form = None
    lock_reason = crf_form_read_only(form, instance or form_class._meta.model(patient=patient, visit=visit))
    # Texts stored in English (clinical record), shown in the reader's language.
    shown = {"off_study_reason": end_of_study_reason_display(patient.off_study_reason or "")}
    if isinstance(instance, ResponseAssessment):
        shown["mrd_reason"] = response_mrd_reason_display(response_values(instance))
    return render(request, template, {
        "patient": patient, "form": form, "crf": instance, "visit": visit, "derived": derived,
        "may_edit": may_edit, "lock_reason": lock_reason, "shown": shown,
    })


def _derived_response(*, patient, values, exclude_pk):
    response, mrd_negative = response_assessment_derive(patient=patient, values=values, exclude_pk=exclude_pk)
    return {"response": ResponseAssessment(response=response).get_response_display(),
            "response_code": response, "mrd_negative": mrd_negative,
            "mrd_reason": response_mrd_reason_display(values)}


@login_required
def response_assessment_new(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    return _crf_page(request, patient=patient, form_class=ResponseAssessmentForm,
                     save=response_assessment_save, instance_kwarg="assessment", preview=_derived_response,
                     template="outcomes/response_assessment_form.html")


@login_required
def response_assessment_detail(request, pk):
    assessment = _crf_for_user(ResponseAssessment, request.user, pk)
    return _crf_page(request, patient=assessment.patient, form_class=ResponseAssessmentForm,
                     save=response_assessment_save, instance_kwarg="assessment", preview=_derived_response,
                     instance=assessment, template="outcomes/response_assessment_form.html")


@login_required
def follow_up_new(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    return _crf_page(request, patient=patient, form_class=FollowUpForm, save=follow_up_save, instance_kwarg="follow_up",
                     template="outcomes/follow_up_form.html")


@login_required
def follow_up_detail(request, pk):
    follow_up = _crf_for_user(FollowUp, request.user, pk)
    return _crf_page(request, patient=follow_up.patient, form_class=FollowUpForm, save=follow_up_save,
                     instance_kwarg="follow_up", instance=follow_up, template="outcomes/follow_up_form.html")


@login_required
def end_of_study_new(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    existing = EndOfStudy.objects.filter(patient=patient, removed=False).first()
    if existing is not None and request.method == "GET":  # one per patient: its page corrects it
        return redirect(existing.get_absolute_url())
    return _crf_page(request, patient=patient, form_class=EndOfStudyForm, save=end_of_study_save,
                     instance_kwarg="end_of_study", template="outcomes/end_of_study_form.html")


@login_required
def end_of_study_detail(request, pk):
    end_of_study = _crf_for_user(EndOfStudy, request.user, pk)
    return _crf_page(request, patient=end_of_study.patient, form_class=EndOfStudyForm, save=end_of_study_save,
                     instance_kwarg="end_of_study", instance=end_of_study, template="outcomes/end_of_study_form.html")


# Endpoints -----------------------------------------------------------------


def _endpoints_query(request) -> EndpointsQueryForm:
    """The page's cut-off and censoring choices, for a user who may read the endpoints."""
    if not can_view_endpoints(request.user):
        raise PermissionDenied(gettext("The endpoints are for investigators, monitors and data managers."))
    # "1", "true", "yes", "on": what the links and the checkbox send.
    data = request.GET.copy()
    if data.get("censor_at_hsct", "").lower() in {"1", "true", "yes", "on"}:
        data["censor_at_hsct"] = "on"
    else:
        data.pop("censor_at_hsct", None)
    return EndpointsQueryForm(data, today=timezone.localdate())


def _query_string(*, censor_at_hsct: bool, cutoff, today) -> str:
    """The query that repeats the page's choices on its figures, PDF, JSON and CSV links."""
    params = {}
    if censor_at_hsct:
        params["censor_at_hsct"] = "true"
    if cutoff != today:
        params["cutoff"] = cutoff.isoformat()
    return "?" + urlencode(params) if params else ""


@login_required
def endpoints_page(request):
    form = _endpoints_query(request)
    if not form.is_valid():  # the form says what is wrong; no numbers for a cut-off nobody asked for
        return render(request, "outcomes/endpoints.html", {"form": form}, status=400)
    choices = form.cleaned_data
    endpoints = reports.endpoints_for(user=request.user, **choices)
    query = _query_string(**choices, today=form.today)
    sections = _app_sections(
        request.user, cutoff=choices["cutoff"],
        figure_src=lambda name: reverse("outcomes:endpoint_figure", args=[name]) + query)
    return render(request, "outcomes/endpoints.html", {
        **reports.TABLE_CONTEXT, "form": form, "endpoints": endpoints, "figure_titles": reports.FIGURES,
        **choices, "query": query, "sections": sections,
    })


# Other apps' sections of the endpoints page and PDF (`<app>/endpoints.py`, trial/hooks.py): B-cell recovery
# from laboratory/, which sits beside this app and is not imported.

def _app_sections(user, *, cutoff, figure_src) -> list[tuple[str, dict]]:
    return [section for module in app_modules("endpoints")
            for section in module.endpoint_sections(user=user, cutoff=cutoff, figure_src=figure_src)]


def _app_figure(user, *, name, cutoff) -> bytes | None:
    for module in app_modules("endpoints"):
        if name in module.endpoint_figures():
            return module.endpoint_figure_bytes(user=user, name=name, cutoff=cutoff)
    return None


def _bad_query(form) -> HttpResponse:
    messages_ = "; ".join(error for errors in form.errors.values() for error in errors)
    return HttpResponse(messages_, status=400, content_type="text/plain; charset=utf-8")


@login_required
def endpoint_figure(request, name):
    if name not in reports.FIGURES and not any(name in module.endpoint_figures()
                                               for module in app_modules("endpoints")):
        raise Http404(gettext("No such figure."))
    form = _endpoints_query(request)
    if not form.is_valid():
        return _bad_query(form)
    if name in reports.FIGURES:
        image = reports.figure_bytes_for(user=request.user, name=name, **form.cleaned_data)
    else:
        image = _app_figure(request.user, name=name, cutoff=form.cleaned_data["cutoff"])
    response = HttpResponse(image, content_type="image/png")
    response["Cache-Control"] = "private, no-store"  # patient data
    return response


@login_required
def endpoints_pdf(request):
    form = _endpoints_query(request)
    if not form.is_valid():
        return _bad_query(form)
    choices = form.cleaned_data
    courses, endpoints = reports.endpoint_report_for(user=request.user, **choices)

    def embedded(name: str) -> str:  # the PDF carries its figures as data: URIs
        image = _app_figure(request.user, name=name, cutoff=choices["cutoff"]) or b""
        return "data:image/png;base64," + base64.b64encode(image).decode("ascii")

    sections = _app_sections(request.user, cutoff=choices["cutoff"], figure_src=embedded)
    pdf = reports.endpoints_pdf(
        courses=courses, endpoints=endpoints, **choices,
        context={"user": request.user, "sections": sections}, base_url=request.build_absolute_uri("/"),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    suffix = "-censored-at-hsct" if choices["censor_at_hsct"] else ""
    response["Content-Disposition"] = f'attachment; filename="endpoints-{choices["cutoff"].isoformat()}{suffix}.pdf"'
    return response
