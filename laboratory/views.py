"""Pages: the laboratory form (new draw, and a stored draw with its results, flags, grades and the adverse
events a grade ≥ 3 result suggests)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_GET

from crf.checks import errors_onto_form
from crf.forms import crf_form_read_only, crf_page_may_edit
from patients.models import Patient
from patients.selectors import patient_for_user, patient_record_version, visit_from_query

from . import cache, cohort
from .figures import patient_kinetics_figure
from .forms import LaboratoryForm
from .models import Laboratory
from .rules import Analyte
from .selectors import ae_suggestions, patient_series
from .selectors import patient_kinetics as patient_kinetics_of
from .services import laboratory_record


def _laboratory_page(request, *, patient: Patient, laboratory: Laboratory | None = None):
    editing = laboratory is not None
    may_edit = crf_page_may_edit(request, site=patient.site, editing=editing)
    visit = visit_from_query(request, patient)
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
                messages.success(request, gettext("Laboratory results saved."))
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


def _patient_series(patient, series) -> dict:
    """The two CAR-T curves the figure draws, with their LLOQs: the series alone, not the whole kinetics (whose
    ICAHT grades read the patient's course)."""
    protocol = patient.protocol
    return {  # drawn in the reader's language
        str(Analyte.CAR_QPCR.label): (series[Analyte.CAR_QPCR], protocol.car_transgene_lloq_copies_per_ug,
                                      gettext("copies/µg genomic DNA")),
        str(Analyte.CAR_T_FLOW.label): (series[Analyte.CAR_T_FLOW], protocol.car_t_cells_lloq_per_ul,
                                        gettext("cells/µL")),
    }


@login_required
@require_GET
def patient_kinetics(request, study_id):
    """The patient's CAR-T kinetics (NCA), B-cell aplasia and ICAHT, with the log-scale plot."""
    patient = patient_for_user(user=request.user, study_id=study_id)
    found = patient_kinetics_of(patient)
    measured_days = {sample.day for sample in found.series[Analyte.CAR_QPCR]}
    return render(request, "laboratory/patient_kinetics.html", {
        "patient": patient, "kinetics": found, "lloq": patient.protocol.car_transgene_lloq_copies_per_ug,
        "recovery_per_ul": patient.protocol.b_cell_recovery_per_ul,
        "schedule": [(day, day in measured_days) for day in found.sampling_days],
    })


def _image(content: bytes) -> HttpResponse:
    response = HttpResponse(content, content_type="image/png")
    response["Cache-Control"] = "private, no-store"  # patient data
    return response


@login_required
@require_GET
def patient_kinetics_png(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    protocol = patient.protocol
    # Drawing takes a few hundred milliseconds: cached until any record of the patient changes (every save
    # writes a history row: patient_record_version), per assay limits and language.
    key = (f"laboratory:patient-png:{patient.pk}:{patient_record_version(patient)}:"
           f"{protocol.car_transgene_lloq_copies_per_ug}:{protocol.car_t_cells_lloq_per_ul}:{get_language()}")
    return _image(cache.cached(key, lambda: patient_kinetics_figure(
        _patient_series(patient, patient_series(patient)))))


@login_required
@require_GET
def cohort_kinetics(request):
    return render(request, "laboratory/cohort_kinetics.html", {"counts": cohort.counts_for(request.user)})


@login_required
@require_GET
def cohort_kinetics_png(request):
    return _image(cohort.figure_for(request.user))
