"""Pages: the laboratory form (new draw, and a stored draw with its results, flags, grades and the adverse
events a grade ≥ 3 result suggests)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from crf.checks import errors_onto_form
from crf.forms import crf_form_read_only
from patients.models import Patient, Visit
from patients.selectors import patient_for_user
from trial.roles import can_enter_data

from .forms import LaboratoryForm
from .models import Laboratory
from .selectors import ae_suggestions
from .services import laboratory_record


def _visit_from_query(request, patient: Patient) -> Visit | None:
    visit_pk = request.GET.get("visit") or request.POST.get("visit")
    if not visit_pk or not str(visit_pk).isdigit():
        return None
    return get_object_or_404(Visit.objects.select_related("definition"), pk=visit_pk, patient=patient)


def _laboratory_page(request, *, patient: Patient, laboratory: Laboratory | None = None):
    editing = laboratory is not None
    may_edit = can_enter_data(request.user, patient.site)
    if request.method == "POST" and not may_edit:
        raise PermissionDenied("Monitors and data managers are read-only on clinical data.")
    if not editing and not may_edit:
        raise PermissionDenied("Only coordinators and investigators of this site enter data.")
    visit = _visit_from_query(request, patient)
    if request.method == "POST":
        form = LaboratoryForm(request.POST, laboratory=laboratory, editing=editing)
        if form.is_valid():
            try:
                saved = laboratory_record(
                    patient=patient, by=request.user, collection_date=form.cleaned_data["collection_date"],
                    results=form.results(), laboratory=laboratory, visit=visit,
                    reason=form.cleaned_data.get("reason", ""), version=form.loaded_version(),
                    acknowledge_deviation=form.cleaned_data["acknowledge_deviation"],
                    deviation_reason=form.cleaned_data["deviation_reason"])
            except ValidationError as error:
                errors_onto_form(form, error, renamed=LaboratoryForm.renamed())
            else:
                messages.success(request, f"{saved.crf_label} saved.")
                return redirect(saved.get_absolute_url())
    else:
        form = LaboratoryForm(laboratory=laboratory, editing=editing)
    lock_reason = crf_form_read_only(form, laboratory or Laboratory(patient=patient, visit=visit))
    return render(request, "laboratory/laboratory_form.html", {
        "patient": patient, "form": form if may_edit else None, "crf": laboratory, "visit": visit,
        "results": laboratory.results.all() if laboratory else [], "lock_reason": lock_reason,
        "suggestions": ae_suggestions(laboratory) if laboratory else [],
    })


@login_required
def laboratory_new(request, study_id):
    return _laboratory_page(request, patient=patient_for_user(user=request.user, study_id=study_id))


@login_required
def laboratory_detail(request, pk):
    laboratory = get_object_or_404(
        Laboratory.objects.select_related("patient", "patient__site", "visit__definition"),
        pk=pk, patient__in=Patient.objects.visible_to(request.user))
    return _laboratory_page(request, patient=laboratory.patient, laboratory=laboratory)
