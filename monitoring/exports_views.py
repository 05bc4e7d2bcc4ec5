"""Downloads: PDF reports for monitors, data exports for data managers.
Every download of trial data is recorded (who, what, when)."""
from collections.abc import Iterable, Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from crf.models import crf_model, crf_models
from patients.models import Patient
from patients.selectors import patient_for_user
from trial.models import Protocol
from trial.roles import visible_sites

from . import exports, reports, services, tasks
from .forms import CasebookBatchForm
from .models import ExportJob, ExportRecord
from .record_exports import RECORD_EXPORTS
from .roles import can_lock
from .texts import RECORD_LANGUAGE, english
from .views import _visit_or_404


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@login_required
def visit_report(request, pk: int):
    visit = _visit_or_404(request, pk)
    content = reports.visit_report_pdf(visit=visit, by=request.user)
    services.export_record(user=request.user, kind="visit_report", description=lambda: _(
        "Visit report %(study_id)s %(visit)s") % {"study_id": visit.patient.study_id, "visit": visit.definition.code})
    return _pdf_response(content, f"visit-{visit.patient.study_id}-{visit.definition.code}.pdf")


@login_required
def casebook(request, study_id: str):
    patient = patient_for_user(user=request.user, study_id=study_id)
    content = reports.casebook_pdf(patient=patient, by=request.user)
    services.export_record(user=request.user, kind="casebook",
                           description=lambda: _("Casebook %(study_id)s") % {"study_id": patient.study_id})
    return _pdf_response(content, f"casebook-{patient.study_id}.pdf")


def _require_data_manager(request):
    if not can_lock(request.user):
        raise PermissionDenied(_("Exports are for data managers."))


@login_required
def export_index(request):
    _require_data_manager(request)
    sites = visible_sites(request.user)
    form = CasebookBatchForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        patients = Patient.objects.visible_to(request.user).select_related("site")
        if form.cleaned_data["site"]:
            patients = patients.filter(site__code=form.cleaned_data["site"])
        ids = form.cleaned_data["study_ids"].replace(",", " ").split()
        if ids:
            patients = patients.filter(pk__in=Patient.objects.filter(subject_id__in=ids).values("pk"))
        try:
            job = tasks.export_job_start(by=request.user, patients=patients)
        except ValidationError as error:
            form.add_error("study_ids", error.message_dict.get("study_ids", error.messages))
        else:
            messages.success(request, _("The casebooks are being generated; this page shows the link when ready."))
            return redirect("monitoring:export_job", job.pk)
    return render(request, "monitoring/exports.html", {
        "forms": crf_models(), "batch_form": form, "child_exports": exports.child_exports(),
        "record_exports": RECORD_EXPORTS.values(),
        "jobs": ExportJob.objects.filter(requested_by=request.user)[:20],
        "records": ExportRecord.objects.select_related("user")[:50],
    })


def in_english(lines: Iterable[str]) -> Iterator[str]:
    """The lines of an export, each written in English whatever the reader's language: CSV headers, labels and
    codes, the data dictionary and ODM do not change with the language (docs/i18n.md). Each line is made under
    the override, as the response is read (a streamed response is written after the view has returned)."""
    iterator = iter(lines)
    while True:
        with translation.override(RECORD_LANGUAGE):
            try:
                line = next(iterator)
            except StopIteration:
                return
        yield line


def _csv_response(lines, filename: str) -> StreamingHttpResponse:
    # Streamed line by line: a long export of the whole trial never sits in memory.
    response = StreamingHttpResponse(in_english(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def form_csv(request, crf_code: str):
    _require_data_manager(request)
    try:
        model = crf_model(crf_code)
    except LookupError:
        raise Http404(_("No such form.")) from None
    lines = exports.form_csv_lines(model, Patient.objects.visible_to(request.user))
    services.export_record(user=request.user, kind="form_csv",
                           description=lambda: _("CSV of %(form)s") % {"form": _(english(model.crf_label))})
    return _csv_response(lines, f"{crf_code}.csv")


@login_required
def child_csv(request, crf_code: str, child: str):
    """Every child row of one form (lymphodepletion doses, infusion fractions, SAE reports), each with the
    subject and its form's key."""
    _require_data_manager(request)
    try:
        model = crf_model(crf_code)
        child_model, fk = exports.crf_child(model, child)
    except LookupError:
        raise Http404(_("No such form.")) from None
    lines = exports.child_csv_lines(child_model, fk, Patient.objects.visible_to(request.user))
    services.export_record(user=request.user, kind="child_csv", description=lambda: _("CSV of %(rows)s (%(form)s)") % {
        "rows": child_model._meta.verbose_name_plural, "form": _(english(model.crf_label))})
    return _csv_response(lines, f"{crf_code}-{child}.csv")


@login_required
def record_csv(request, slug: str):
    """Deviations, queries with their messages, SDV marks, signatures, the audit trail."""
    _require_data_manager(request)
    export = RECORD_EXPORTS.get(slug)
    if export is None:
        raise Http404(_("No such export."))
    lines = export.lines(Patient.objects.visible_to(request.user))
    services.export_record(user=request.user, kind=f"{slug}_csv",
                           description=lambda: _("CSV of %(what)s") % {"what": str(export.title).lower()})
    return _csv_response(lines, f"{slug}.csv")


@login_required
def dictionary_csv(request):
    _require_data_manager(request)
    services.export_record(user=request.user, kind="data_dictionary", description=lambda: _("Data dictionary CSV"))
    with translation.override(RECORD_LANGUAGE):
        content = exports.dictionary_csv()
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="data-dictionary.csv"'
    return response


def odm_response(request) -> StreamingHttpResponse:
    protocol = Protocol.objects.current()
    services.export_record(user=request.user, kind="odm",
                           description=lambda: _("CDISC ODM 1.3.2 of %(protocol)s") % {"protocol": protocol})
    # Streamed: written patient by patient as the client reads, in constant memory (exports.odm_stream).
    response = StreamingHttpResponse(
        in_english(exports.odm_stream(patients=Patient.objects.visible_to(request.user), protocol=protocol)),
        content_type="application/xml; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{protocol.code}-odm.xml"'
    return response


@login_required
def odm_xml(request):
    _require_data_manager(request)
    return odm_response(request)


@login_required
def export_job_detail(request, pk: int):
    job = get_object_or_404(ExportJob, pk=pk, requested_by=request.user)
    return render(request, "monitoring/export_job.html", {"job": job})


@login_required
def export_job_download(request, pk: int):
    job = get_object_or_404(ExportJob, pk=pk, requested_by=request.user, status=ExportJob.Status.DONE)
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=f"casebooks-{job.pk}.zip")
