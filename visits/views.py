"""Visit pages: a patient's schedule, one visit with its expected CRFs, and the coordinator's dashboard."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_safe

from patients.models import Patient, Visit
from patients.selectors import patient_for_user
from trial.roles import can_enter_data

from .selectors import visit_calendar, visit_expected_forms
from .services import REMINDER_HORIZON_DAYS, visit_window_warning, visits_needing_attention


@login_required
def patient_visits(request, study_id):
    patient = patient_for_user(user=request.user, study_id=study_id)
    visits = Visit.objects.filter(patient=patient).select_related("definition").order_by("target_date")
    return render(request, "visits/patient_visits.html", {"patient": patient, "visits": visits})


@login_required
def visit_detail(request, pk):
    visit = get_object_or_404(
        Visit.objects.select_related("patient", "patient__site", "definition"),
        pk=pk, patient__in=Patient.objects.visible_to(request.user),
    )
    today = timezone.localdate()
    return render(request, "visits/visit_detail.html", {
        "visit": visit, "patient": visit.patient, "forms": visit_expected_forms(visit),
        "window_warning": visit_window_warning(visit, today),
        "can_enter": can_enter_data(request.user, visit.patient.site), "today": today,
    })


@login_required
def dashboard(request):
    """Visits due this week and overdue at the user's sites, most urgent first."""
    today = timezone.localdate()
    visits = visits_needing_attention(
        visits=Visit.objects.filter(patient__in=Patient.objects.visible_to(request.user)), today=today)
    return render(request, "visits/dashboard.html", {
        "visits": visits[:500], "today": today, "horizon_days": REMINDER_HORIZON_DAYS,
    })


@require_safe
@login_required
def calendar(request):
    """The visits of the user's sites by target day, a month at a time (`?month=YYYY-MM`)."""
    import datetime

    today = timezone.localdate()
    try:
        shown = datetime.datetime.strptime(request.GET.get("month", ""), "%Y-%m").date()
    except ValueError:
        shown = today.replace(day=1)
    previous = (shown - datetime.timedelta(days=1)).replace(day=1)
    following = (shown + datetime.timedelta(days=32)).replace(day=1)
    weeks = visit_calendar(visits=Visit.objects.filter(patient__in=Patient.objects.visible_to(request.user)),
                           year=shown.year, month=shown.month)
    return render(request, "visits/calendar.html", {
        "weeks": weeks, "month": shown, "previous": previous, "following": following, "today": today,
    })
