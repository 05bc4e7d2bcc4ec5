from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from crf.audit import audit_trail
from patients.models import Patient, Visit
from patients.selectors import patient_for_user


@login_required
def history(request, model_label: str, pk: int):
    """The audit trail of one record, as a readable diff."""
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        raise Http404(_("No such form.")) from None
    if not hasattr(model, "history"):
        raise Http404(_("This record has no audit trail."))
    instance = get_object_or_404(model._base_manager, pk=pk)  # a removed dose or fraction has its trail too
    patient = getattr(instance, "patient", None)
    if patient is None or not Patient.objects.visible_to(request.user).filter(pk=patient.pk).exists():
        # Only patient records have a history page; another site's is a 404.
        raise Http404(_("No such form."))
    crf_label = getattr(instance, "crf_label", "")
    return render(request, "monitoring/history.html", {
        "instance": instance,
        "patient": patient,
        "label": _(str(crf_label)) if crf_label else capfirst(model._meta.verbose_name),
        "entries": audit_trail(instance),
    })


# --- Queries, verification, signatures and locks -------------------------------

from decimal import Decimal  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

from django.contrib import messages  # noqa: E402
from django.core.exceptions import PermissionDenied, ValidationError  # noqa: E402
from django.shortcuts import redirect  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils.html import format_html  # noqa: E402
from django.utils.text import capfirst  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402

from crf.checks import SoftChecksNotAcknowledged, errors_onto_form  # noqa: E402
from crf.display import cells_from_millions, cells_in_millions, is_cell_count  # noqa: E402
from crf.forms import correction_form_field, million_cells_field  # noqa: E402
from crf.models import CrfChildRow, CrfStatus  # noqa: E402
from crf.services import (  # noqa: E402
    crf_child_row_remove,
    crf_lock_reason,
    crf_remove_through_form,
    row_form,
)
from trial.roles import can_enter_data, require_data_entry, visible_sites  # noqa: E402

from . import selectors, services  # noqa: E402
from .forms import (  # noqa: E402
    LockForm,
    QueryAnswerForm,
    QueryCloseForm,
    QueryRaiseForm,
    QueryReopenForm,
    RemovalForm,
    SignForm,
    UnlockForm,
)
from .models import DataLock, DataQuery, LockScope  # noqa: E402
from .roles import can_lock, can_monitor, can_sign  # noqa: E402


def _queries_url(patient=None) -> str:
    url = reverse("monitoring:query_list")
    return f"{url}?{urlencode({'patient': patient.study_id})}" if patient is not None else url


def _error_text(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return " ".join(message for messages_ in error.message_dict.values() for message in messages_)
    return " ".join(error.messages)


def _attempt(request, action, success: str, *, queries_url: str = "") -> bool:
    """Run a service; its refusal becomes a message on the page, never a 500. A lock refused for
    open queries links to them (`queries_url`)."""
    try:
        action()
    except ValidationError as error:
        if queries_url and getattr(error, "code", None) == services.OPEN_QUERIES_BEFORE_LOCK:
            messages.error(request, format_html('{} <a href="{}">{}</a>.', _error_text(error), queries_url,
                                                _("Open the queries")))
        else:
            messages.error(request, _error_text(error))
        return False
    except PermissionDenied as error:
        messages.error(request, str(error) or _("You may not do that."))
        return False
    messages.success(request, success)
    return True


def _otp_verified(request) -> bool:
    """Signed in with the authenticator's code this session (django-otp's OTPMiddleware)."""
    return bool(getattr(request.user, "is_verified", lambda: False)())


def _crf_or_404(request, model_label, pk):
    return selectors.crf_for_user(user=request.user, model_label=model_label, pk=pk)


@login_required
def crf_detail(request, model_label: str, pk: int):
    """Any CRF's values with its status, SDV marks, queries and signatures, and
    the actions the user's role allows."""
    crf = _crf_or_404(request, model_label, pk)
    site = crf.patient.site
    review = selectors.crf_review(crf)
    crf_awaits_signature = (crf.status in (CrfStatus.SUBMITTED, CrfStatus.VERIFIED) and not crf.removed
                            and not crf_lock_reason(crf))
    return render(request, "monitoring/crf_detail.html", {
        **review,
        "patient": crf.patient,
        "lock_reason": crf_lock_reason(crf),
        "active_lock": selectors.crf_active_lock(crf),
        "can_monitor": can_monitor(request.user, site),
        "can_sign": can_sign(request.user, site) and crf_awaits_signature,
        "signature_voided": crf_awaits_signature and any(not s.is_valid for s in review["signatures"]),
        "can_lock": can_lock(request.user),
        "can_remove": (can_enter_data(request.user, site) and not crf.removed and not crf_lock_reason(crf)
                       and bool(type(crf).removal_service)),
        "can_remove_rows": can_enter_data(request.user, site) and not crf.removed and not crf_lock_reason(crf),
        "raise_form": QueryRaiseForm(rows=review["rows"], correctable=type(crf).correctable_fields),
        "sign_form": SignForm(),
        "lock_form": LockForm(),
        "unlock_form": UnlockForm(),
    })


def _removal_page(request, *, crf, what: str, remove, row=None):
    """The removal page of a form or a row: the reason (and the acknowledgement when the removal makes a soft
    check fail); the form's own service does the rest, and its refusal is shown on the page."""
    require_data_entry(request.user, crf.patient.site)
    form = RemovalForm(request.POST or None)
    soft_checks = []
    if request.method == "POST" and form.is_valid():
        try:
            remove(form.cleaned_data)
        except SoftChecksNotAcknowledged as refused:
            soft_checks = refused.checks
            form.add_error("acknowledge_deviation", refused.messages[-1])
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, _("%(what)s removed. It stays in the audit trail and the casebook.")
                             % {"what": what})
            return redirect("monitoring:crf_detail", type(crf)._meta.label_lower, crf.pk)
    return render(request, "monitoring/crf_remove.html", {
        "crf": crf, "row": row, "what": what, "patient": crf.patient, "form": form, "soft_checks": soft_checks,
        "model_label": type(crf)._meta.label_lower, "lock_reason": crf_lock_reason(crf),
        "removable": bool(type(row if row is not None else crf).removal_service),
    })


@login_required
def crf_remove(request, model_label: str, pk: int):
    """Remove a form recorded in error (a status with a reason, never a delete) through its removal service."""
    crf = _crf_or_404(request, model_label, pk)
    return _removal_page(request, crf=crf,
                         what=_("The %(form)s form #%(pk)s") % {"form": _(str(crf.crf_label)), "pk": crf.pk},
                         remove=lambda data: crf_remove_through_form(crf=crf, by=request.user,
                                                                     reason=data["reason"]))


@login_required
def crf_row_remove(request, model_label: str, pk: int):
    """Remove one row of a form (a lymphodepletion dose, an infusion fraction) through the form's service."""
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        raise Http404(_("No such row.")) from None
    if not (isinstance(model, type) and issubclass(model, CrfChildRow)):
        raise Http404(_("No such row."))
    row = get_object_or_404(model.all_rows, pk=pk)
    crf = row_form(row)
    if not Patient.objects.visible_to(request.user).filter(pk=crf.patient_id).exists():
        raise Http404(_("No such row."))
    return _removal_page(
        request, crf=crf, row=row, what=_("%(row_kind)s #%(pk)s (%(row)s)") % {
            "row_kind": capfirst(model._meta.verbose_name), "pk": row.pk, "row": row},
        remove=lambda data: crf_child_row_remove(
            row=row, by=request.user, reason=data["reason"], acknowledge_deviation=data["acknowledge_deviation"],
            deviation_reason=data["deviation_reason"]))


@login_required
@require_POST
def crf_query_raise(request, model_label: str, pk: int):
    crf = _crf_or_404(request, model_label, pk)
    form = QueryRaiseForm(request.POST, rows=selectors.crf_rows(crf), correctable=type(crf).correctable_fields)
    if not form.is_valid():
        messages.error(request, _("Choose a field and write the query."))
    else:
        _attempt(request, lambda: services.query_raise(crf=crf, field=form.cleaned_data["field"],
                                                       text=form.cleaned_data["text"], by=request.user),
                 _("Query raised."))
    return redirect("monitoring:crf_detail", model_label, pk)


@login_required
@require_POST
def crf_verify(request, model_label: str, pk: int):
    crf = _crf_or_404(request, model_label, pk)
    fields = request.POST.getlist("field")
    _attempt(request, lambda: services.crf_verify(crf=crf, by=request.user, fields=fields or None),
             _("Source-data verification recorded."))
    return redirect("monitoring:crf_detail", model_label, pk)


@login_required
@require_POST
def crf_sign(request, model_label: str, pk: int):
    crf = _crf_or_404(request, model_label, pk)
    form = SignForm(request.POST)
    if form.is_valid():
        _attempt(request, lambda: services.crf_sign(crf=crf, by=request.user, password=form.cleaned_data["password"],
                                                    otp_token=form.cleaned_data["otp_token"],
                                                    otp_verified=_otp_verified(request), request=request),
                 _("Form signed."))
    else:
        messages.error(request, _("Enter your password to sign."))
    return redirect("monitoring:crf_detail", model_label, pk)


@login_required
@require_POST
def crf_lock(request, model_label: str, pk: int):
    crf = _crf_or_404(request, model_label, pk)
    reason = request.POST.get("reason", "")
    if request.POST.get("unlock"):
        _attempt(request, lambda: services.crf_unlock(crf=crf, by=request.user, reason=reason), _("Form unlocked."))
    else:
        _attempt(request, lambda: services.crf_lock(crf=crf, by=request.user, reason=reason), _("Form locked."),
                 queries_url=_queries_url(crf.patient))
    return redirect("monitoring:crf_detail", model_label, pk)


@login_required
def query_list(request):
    """Open queries per site and per patient, with their age."""
    site_code = request.GET.get("site", "")
    study_id = request.GET.get("patient", "")
    return render(request, "monitoring/query_list.html", {
        "queries": selectors.open_queries(request.user, site_code=site_code, study_id=study_id)[:500],
        "counts": selectors.open_query_counts(request.user),
        "site_code": site_code, "study_id": study_id,
    })


def _query_or_404(request, pk):
    return get_object_or_404(
        DataQuery.objects.filter(patient__in=Patient.objects.visible_to(request.user)).select_related(
            "patient", "patient__site"), pk=pk)


def _answer_value_widget(query) -> dict:
    """For a list or table field (eligibility answers, seriousness criteria, CAPD items), the answer form
    offers the field's own widget with the stored value; a count of cells is typed in ×10⁶ as on the form
    and the CRF page (the API keeps whole cells); any other one-value field is typed as text."""
    crf = query.crf
    if crf is None:
        return {}
    if query.field in type(crf).structured_fields:
        return {"value_field": correction_form_field(crf, query.field), "value": getattr(crf, query.field)}
    model_field = type(crf)._meta.get_field(query.field)
    if is_cell_count(model_field):  # "300" on this page was 300 cells, not 300 ×10⁶, before
        stored = getattr(crf, query.field)
        return {"value_field": million_cells_field(label=_("New value (×10⁶)")),
                "value": cells_in_millions(stored) if stored is not None else None,
                "value_label": _("New value (×10⁶)")}
    return {}


def _answer_new_value(query, cleaned: dict):
    """The answer's new value as `query_answer` types it: a count typed in ×10⁶ is sent in whole cells."""
    if not cleaned["correct_value"]:
        return None
    value = cleaned["new_value"]
    if isinstance(value, Decimal) and query.crf is not None and is_cell_count(
            type(query.crf)._meta.get_field(query.field)):
        return str(cells_from_millions(value))
    return value


@login_required
def query_detail(request, pk: int):
    query = _query_or_404(request, pk)
    answer_form = QueryAnswerForm(request.POST or None, **_answer_value_widget(query))
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "answer" and answer_form.is_valid():
            data = answer_form.cleaned_data
            try:
                services.query_answer(query=query, by=request.user, text=data["text"],
                                      new_value=_answer_new_value(query, data),
                                      reason=data["reason"], acknowledge_deviation=data["acknowledge_deviation"])
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for field, errors in error.message_dict.items():
                        answer_form.add_error(field if field in answer_form.fields else None, errors)
                else:
                    answer_form.add_error(None, error)
            except PermissionDenied as error:
                answer_form.add_error(None, str(error))
            else:
                messages.success(request, _("Answer recorded."))
                return redirect("monitoring:query_detail", pk)
        elif action == "close":
            form = QueryCloseForm(request.POST)
            form.is_valid()
            if _attempt(request, lambda: services.query_close(query=query, by=request.user,
                                                              text=form.cleaned_data.get("text", "")),
                        _("Query closed.")):
                return redirect("monitoring:query_detail", pk)
        elif action == "reopen":
            form = QueryReopenForm(request.POST)
            form.is_valid()
            if _attempt(request, lambda: services.query_reopen(query=query, by=request.user,
                                                               text=form.cleaned_data.get("text", "")),
                        _("Query re-opened.")):
                return redirect("monitoring:query_detail", pk)
    crf = query.crf
    return render(request, "monitoring/query_detail.html", {
        "query": query, "crf": crf, "patient": query.patient,
        "model_label": selectors.crf_model_label(crf),
        "messages_": query.messages.select_related("author"),
        "answer_form": answer_form, "close_form": QueryCloseForm(), "reopen_form": QueryReopenForm(),
        "can_answer": can_enter_data(request.user, query.patient.site) and query.is_open,
        "can_monitor": can_monitor(request.user, query.patient.site),
    })


def _visit_or_404(request, pk):
    return get_object_or_404(
        Visit.objects.filter(patient__in=Patient.objects.visible_to(request.user)).select_related(
            "patient", "patient__site", "definition"), pk=pk)


@login_required
def visit_review(request, pk: int):
    """A visit's forms for signing and locking as a whole, and its PDF report."""
    visit = _visit_or_404(request, pk)
    site = visit.patient.site
    lock = DataLock.objects.filter(scope=LockScope.VISIT, visit=visit, unlocked_at__isnull=True).first()
    return render(request, "monitoring/visit_review.html", {
        "visit": visit, "patient": visit.patient,
        "crfs": [(crf, selectors.crf_model_label(crf)) for crf in selectors.visit_crfs(visit)],
        "active_lock": lock,
        "can_sign": can_sign(request.user, site), "can_lock": can_lock(request.user),
        "sign_form": SignForm(), "lock_form": LockForm(), "unlock_form": UnlockForm(),
    })


@login_required
@require_POST
def visit_sign(request, pk: int):
    visit = _visit_or_404(request, pk)
    form = SignForm(request.POST)
    if form.is_valid():
        _attempt(request, lambda: services.visit_sign(visit=visit, by=request.user,
                                                      password=form.cleaned_data["password"],
                                                      otp_token=form.cleaned_data["otp_token"],
                                                      otp_verified=_otp_verified(request), request=request),
                 _("Every form of the visit is signed."))
    else:
        messages.error(request, _("Enter your password to sign."))
    return redirect("monitoring:visit_review", pk)


@login_required
@require_POST
def visit_lock(request, pk: int):
    visit = _visit_or_404(request, pk)
    reason = request.POST.get("reason", "")
    if request.POST.get("unlock"):
        lock = get_object_or_404(DataLock, scope=LockScope.VISIT, visit=visit, unlocked_at__isnull=True)
        _attempt(request, lambda: services.data_lock_release(lock=lock, by=request.user, reason=reason),
                 _("Visit unlocked."))
    else:
        _attempt(request, lambda: services.data_lock_create(scope=LockScope.VISIT, visit=visit, by=request.user,
                                                            reason=reason), _("Visit locked."))
    return redirect("monitoring:visit_review", pk)


@login_required
def patient_review(request, study_id: str):
    """The patient's casebook on screen: every form, its status, and the patient lock."""
    patient = patient_for_user(user=request.user, study_id=study_id)
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        if request.POST.get("unlock"):
            lock = get_object_or_404(DataLock, scope=LockScope.PATIENT, patient=patient, unlocked_at__isnull=True)
            _attempt(request, lambda: services.data_lock_release(lock=lock, by=request.user, reason=reason),
                     _("Patient unlocked."))
        else:
            _attempt(request, lambda: services.data_lock_create(scope=LockScope.PATIENT, patient=patient,
                                                                by=request.user, reason=reason), _("Patient locked."),
                     queries_url=_queries_url(patient))
        return redirect("monitoring:patient_review", study_id)
    return render(request, "monitoring/patient_review.html", {
        "patient": patient,
        "crfs": [(crf, selectors.crf_model_label(crf)) for crf in selectors.patient_crfs(patient)],
        "visits": patient.visits.select_related("definition"),
        "active_lock": DataLock.objects.filter(scope=LockScope.PATIENT, patient=patient,
                                               unlocked_at__isnull=True).first(),
        "can_lock": can_lock(request.user),
        "lock_form": LockForm(), "unlock_form": UnlockForm(),
    })


@login_required
def trial_lock(request):
    """Data managers: the database lock before analysis, and every active lock."""
    if not can_lock(request.user):
        raise PermissionDenied(_("Only data managers lock data."))
    active = DataLock.objects.filter(unlocked_at__isnull=True).select_related("patient", "visit", "locked_by")
    if request.method == "POST":
        reason = request.POST.get("reason", "")
        if request.POST.get("unlock"):
            lock = get_object_or_404(DataLock, pk=request.POST.get("lock"), unlocked_at__isnull=True)
            _attempt(request, lambda: services.data_lock_release(lock=lock, by=request.user, reason=reason),
                     _("Lock released."))
        else:
            _attempt(request, lambda: services.data_lock_create(scope=LockScope.TRIAL, by=request.user,
                                                                reason=reason), _("The trial database is locked."),
                     queries_url=_queries_url())
        return redirect("monitoring:locks")
    return render(request, "monitoring/locks.html", {
        "active": active, "trial_locked": active.filter(scope=LockScope.TRIAL).exists(),
        "lock_form": LockForm(), "unlock_form": UnlockForm(), "sites": visible_sites(request.user),
    })
