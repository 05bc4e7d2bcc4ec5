from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from crf.checks import errors_onto_form
from crf.forms import crf_form_read_only
from trial.models import Protocol, Site
from trial.roles import can_enter_data, require_data_entry, visible_sites

from .forms import SORT_COLUMNS, BaselineForm, PatientListFilter, ScreeningForm
from .models import BaselineCRF, Patient, PatientStatus, ScreeningCRF
from .selectors import patient_for_user, patient_progress, patient_record_version
from .services import baseline_save, patient_screen, screening_update
from .timeline import axis_layout, patient_events


@login_required
def patient_list(request):
    sites = visible_sites(request.user)
    filters = PatientListFilter(request.GET, sites=sites)  # always bound: an empty query is valid
    # The Screening CRF (consent date) is prefetched for the page's rows (one query), not joined: the
    # join made PostgreSQL scan every screening row, and kept a day-0 sort off patient_day0_*_idx.
    patients = filters.apply(Patient.objects.visible_to(request.user).select_related("site")
                             .prefetch_related("screening"))
    per_page = (filters.cleaned_data.get("per_page") or 50) if filters.is_valid() else 50
    page = Paginator(patients, per_page).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    return render(request, "patients/patient_list.html", {
        "page": page, "progress": patient_progress(page.object_list), "filters": filters,
        "query": query.urlencode(), "sort_query": sort_query.urlencode(),
        # A patient's page is <list URL><study ID>/ (patients/urls.py): joined in the template rather
        # than reversed for each of the rows, which cost a tenth of the page.
        "list_url": reverse("patients:list"),
        "sort": request.GET.get("sort") or "subject", "sort_columns": SORT_COLUMNS,
        "can_screen": any(can_enter_data(request.user, site) for site in sites),
    })


@login_required
def patient_detail(request, study_id):
    """The patient's timeline: every event of every app on one study-day axis."""
    patient = patient_for_user(user=request.user, study_id=study_id)
    return render(request, "patients/patient_timeline.html", {
        "patient": patient,
        "screening": patient.screening_crf,
        "baseline": patient.baseline_crf,
        "course_html": _timeline_course_html(patient),
        "progress": patient_progress([patient])[patient.pk],
        "can_edit": can_enter_data(request.user, patient.site),
    })


def _timeline_course_html(patient) -> str:
    """The axis and the events table. Gathering and drawing years of events is most of the page's
    cost, so they are cached under the patient's record version (any audited change moves it),
    today's date (the axis of a patient still followed runs to today) and the language."""
    today = timezone.localdate()
    key = f"patients:timeline:{patient.pk}:{patient_record_version(patient)}:{today.isoformat()}:{get_language()}"
    html = cache.get(key)
    if html is None:
        events = patient_events(patient)
        html = render_to_string("patients/_timeline_course.html", {
            "patient": patient,
            "rows": [(event, event.study_day(patient)) for event in events],
            # A patient still followed after infusion: the axis runs to today.
            "axis": axis_layout(events, infusion_date=patient.infusion_date,
                                until=patient.off_study_date or (today if patient.infusion_date else None)),
        })
        cache.set(key, html)
    return mark_safe(html)  # rendered (and escaped) by our own template


def _entry_sites(user):
    return Site.objects.filter(pk__in=[site.pk for site in visible_sites(user) if can_enter_data(user, site)])


@login_required
def screening_new(request):
    sites = _entry_sites(request.user)
    if not sites.exists():
        raise PermissionDenied(_("You may not screen patients at any site."))
    protocol = Protocol.objects.current()
    criteria = protocol.eligibility_criteria.all()
    form = ScreeningForm(request.POST or None, criteria=criteria, sites=sites,
                         initial={"screening_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                patient = patient_screen(
                    site=form.cleaned_data["site"], consent_date=form.cleaned_data["consent_date"],
                    screening_date=form.cleaned_data["screening_date"], eligibility=form.eligibility(),
                    by=request.user,
                )
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            _announce(request, patient)
            if patient.status == PatientStatus.ENROLLED:
                return redirect("patients:baseline_new", study_id=patient.study_id)
            return redirect(patient)
    lock_reason = crf_form_read_only(form, ScreeningCRF(protocol=protocol))  # a locked trial screens no one
    return render(request, "patients/screening_form.html", {"form": form, "protocol": protocol, "patient": None,
                                                            "lock_reason": lock_reason})


@login_required
def screening_edit(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    require_data_entry(request.user, patient.site)
    screening = patient.screening_crf
    if screening is None:
        raise PermissionDenied(_("This patient has no screening form."))
    criteria = patient.protocol.eligibility_criteria.all()
    reason_required = screening.status != "draft"
    form = ScreeningForm(request.POST or None, criteria=criteria, reason_required=reason_required,
                         initial=ScreeningForm.initial_from(screening), crf=screening)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                screening_update(
                    patient=patient, consent_date=form.cleaned_data["consent_date"],
                    screening_date=form.cleaned_data["screening_date"], eligibility=form.eligibility(),
                    by=request.user, reason=form.cleaned_data.get("reason", ""), version=form.loaded_version(),
                    acknowledge_deviation=form.cleaned_data["acknowledge_deviation"],
                    deviation_reason=form.cleaned_data["deviation_reason"],
                )
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            patient.refresh_from_db()
            _announce(request, patient)
            return redirect(patient)
    return render(request, "patients/screening_form.html",
                  {"form": form, "protocol": patient.protocol, "patient": patient, "crf": screening,
                   "lock_reason": crf_form_read_only(form, screening)})


def _announce(request, patient: Patient) -> None:
    if patient.status == PatientStatus.ENROLLED:
        messages.success(request, _("Eligible: enrolled as %(subject_id)s. Enter the baseline form next.")
                         % {"subject_id": patient.subject_id})
    elif patient.status == PatientStatus.SCREEN_FAILED:
        # The reason is the record's (stored in English, with the protocol's criteria): shown as stored.
        messages.warning(request, _("Screen failure recorded for %(number)s: %(reason)s")
                         % {"number": patient.screening_number, "reason": patient.screen_failure_reason})
    elif patient.status == PatientStatus.SCREENING:
        messages.info(request, _("%(number)s saved; eligibility still open (draft).")
                      % {"number": patient.screening_number})
    else:
        messages.success(request, _("Screening form saved."))


@login_required
def baseline_new(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    require_data_entry(request.user, patient.site)
    if patient.baseline_crf is not None:
        return redirect("patients:baseline_edit", study_id=patient.study_id)
    return _baseline_form(request, patient, BaselineCRF(patient=patient, protocol=patient.protocol,
                                                        assessment_date=timezone.localdate()))


@login_required
def baseline_edit(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    require_data_entry(request.user, patient.site)
    if patient.baseline_crf is None:
        return redirect("patients:baseline_new", study_id=patient.study_id)
    return _baseline_form(request, patient, patient.baseline_crf)


def _baseline_form(request, patient, baseline):
    reason_required = baseline.pk is not None and baseline.status != "draft"
    form = BaselineForm(request.POST or None, instance=baseline, reason_required=reason_required)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                saved = baseline_save(patient=patient, by=request.user, reason=form.cleaned_data.get("reason", ""),
                                      version=form.loaded_version(),
                                      acknowledge_deviation=form.cleaned_data["acknowledge_deviation"],
                                      deviation_reason=form.cleaned_data["deviation_reason"], **form.values())
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, _("Baseline saved: body-surface area %(bsa)s m² (Mosteller).")
                             % {"bsa": number_format(saved.bsa_m2)})
            return redirect(patient)
    return render(request, "patients/baseline_form.html",
                  {"form": form, "patient": patient, "crf": baseline if baseline.pk else None,
                   "lock_reason": crf_form_read_only(form, baseline)})
