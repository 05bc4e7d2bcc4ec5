from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

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
    query (and a ping of the cache), no login. It reads request.user, so a request that carries a session
    cookie pays the same session and user look-ups as every page (and nothing
    more): the cost any logged-in page has before its own work."""
    from django.db import connection
    from django.http import JsonResponse

    from trial.cache import cache_available

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    # The cache is an optimisation: without it pages answer, slower, so the service is degraded, not down.
    cache_ok = cache_available()
    return JsonResponse({"status": "ok" if cache_ok else "degraded", "database": "ok",
                         "cache": "ok" if cache_ok else "degraded", "authenticated": request.user.is_authenticated})


@login_required
def api_tokens(request):
    """The signed-in user's API tokens: list them, make one (its key shown this once), revoke one."""
    from django import forms as django_forms
    from django.contrib import messages
    from django.core.exceptions import ValidationError

    from trial.auth import SESSION_NOT_VERIFIED
    from trial.models import ApiToken
    from trial.tokens import api_token_create
    from trial.two_factor import session_second_factor_missing

    class NewTokenForm(django_forms.Form):
        name = django_forms.CharField(max_length=100, required=False, label=gettext_lazy("What is it for?"),
                                      help_text=gettext_lazy("Such as 'lab system' or 'statistics scripts'."))

    new_key = None
    form = NewTokenForm(request.POST or None)
    if request.method == "POST" and session_second_factor_missing(request.user):
        # A token outlives the session: it is made only in a session that passed the second factor.
        messages.error(request, SESSION_NOT_VERIFIED)
    elif request.method == "POST" and form.is_valid():
        try:
            _token, new_key = api_token_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        form = NewTokenForm()
    return render(request, "home/api_tokens.html", {
        "tokens": ApiToken.objects.filter(user=request.user), "form": form, "new_key": new_key,
        "now": timezone.now(), "ttl_days": settings.API_TOKEN_TTL_DAYS,
    })


@login_required
@require_POST
def api_token_revoke(request, token_id: int):
    from django.contrib import messages
    from django.shortcuts import get_object_or_404, redirect

    from trial.models import ApiToken
    from trial.tokens import api_token_revoke as revoke

    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    revoke(token=token, by=request.user)
    messages.success(request, _("Token %(prefix)s… is revoked: it no longer works.") % {"prefix": token.prefix})
    return redirect("api_tokens")


@login_required
def account_preferences(request):
    """The signed-in user's own language (docs/i18n.md): saved on their profile, on the account's trail, and
    in the language cookie too, so that the login page speaks it after they sign out."""
    from django.conf import settings
    from django.contrib import messages
    from django.shortcuts import redirect
    from django.utils import translation

    from trial.accounts import user_language_set
    from trial.middleware import user_language

    from .administration_forms import OwnLanguageForm

    form = OwnLanguageForm(request.POST or None, initial={"language": user_language(request.user)})
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        user_language_set(user=request.user, language=language, by=request.user, request=request)
        shown = language or translation.get_language_from_request(request)
        with translation.override(shown):  # the message in the language the next page is in
            messages.success(request, _("Your language is saved."))
        response = redirect("account_preferences")
        if language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                                path=settings.LANGUAGE_COOKIE_PATH, domain=settings.LANGUAGE_COOKIE_DOMAIN,
                                secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                                samesite=settings.LANGUAGE_COOKIE_SAMESITE)
        else:  # following the browser again: the switch's old choice would stand in its way
            response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH,
                                   domain=settings.LANGUAGE_COOKIE_DOMAIN)
        return response
    return render(request, "home/preferences.html", {"form": form})
