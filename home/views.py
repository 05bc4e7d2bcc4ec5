from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_safe

from monitoring.selectors import forms_to_sign, forms_to_verify
from patients.models import Patient, PatientStatus, Visit
from trial.hooks import app_modules
from trial.models import Protocol, Role
from trial.roles import user_roles, visible_sites


@login_required
def home(request):
    """One home page, with a section for each role the user holds."""
    user = request.user
    roles = user_roles(user)
    patients = Patient.objects.visible_to(user)
    context = {
        "roles": roles,
        "sites": visible_sites(user),
        "protocol": Protocol.objects.order_by("-effective_date").first(),
        "status_counts": patients.values("status").annotate(n=Count("pk")).order_by("status"),
        "status_labels": dict(PatientStatus.choices),
        "is_coordinator": Role.COORDINATOR in roles,
        "is_investigator": Role.INVESTIGATOR in roles,
        "is_monitor": Role.MONITOR in roles or Role.DATA_MANAGER in roles,
        "is_admin": bool(roles & {Role.ADMINISTRATOR, Role.DATA_MANAGER}),
    }
    if context["is_coordinator"] or context["is_admin"]:
        context["my_patients"] = patients.select_related("site").order_by("-created_at")[:15]
        context["visits_due"] = (
            Visit.objects.filter(patient__in=patients, status__in=["due", "overdue"])
            .select_related("patient", "definition")
            .order_by("window_end")[:20]
        )
    if context["is_investigator"]:
        context["patients_to_review"] = (
            patients.filter(status__in=[PatientStatus.INFUSED, PatientStatus.FOLLOW_UP, PatientStatus.ENROLLED,
                                        PatientStatus.LYMPHODEPLETION])
            .select_related("site").order_by("infusion_date")[:15]
        )
        context["forms_to_sign"] = forms_to_sign(user, limit=20)
    if context["is_monitor"]:
        context["forms_to_verify"] = forms_to_verify(user, limit=20)
    # Apps add their own panels (open queries, overdue SAE reports, …).
    context["panels"] = [
        panel for module in app_modules("home") for panel in module.home_panels(request, roles)
    ]
    return render(request, "home/home.html", context)


@require_safe
def healthz(request):
    """Liveness for load balancers and the floor of bench/run.py: one trivial
    query, no login. It reads request.user, so a request that carries a session
    cookie pays the same session and user look-ups as every page (and nothing
    more): the cost any logged-in page has before its own work."""
    from django.db import connection
    from django.http import JsonResponse

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return JsonResponse({"status": "ok", "authenticated": request.user.is_authenticated})
