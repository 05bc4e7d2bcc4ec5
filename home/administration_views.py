"""The administrator's pages: users, their roles at sites, sites and protocol
versions. Thin: `trial.accounts` checks and writes, with the reason on the
audit trail; every page refuses anyone but an administrator."""
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crf.audit import audit_trail
from crf.checks import errors_onto_form
from trial import accounts, services
from trial.middleware import user_language as saved_language
from trial.models import AccountEvent, Protocol, Site, SiteMembership

from .administration_forms import (
    MembershipGrantForm,
    ProtocolAmendmentForm,
    ReasonForm,
    SiteForm,
    UserDetailsForm,
    UserInviteForm,
    UserLanguageForm,
)

User = get_user_model()


def administrator_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        accounts.require_administrator(request.user)
        return view(request, *args, **kwargs)
    return wrapper


def _base_url(request) -> str:
    return request.build_absolute_uri("/")


@administrator_required
def index(request):
    return render(request, "trial/administration/index.html", {
        "n_users": User.objects.filter(is_active=True).count(),
        "n_inactive": User.objects.filter(is_active=False).count(),
        "sites": Site.objects.all(),
        "protocol": Protocol.objects.current(),
        "events": AccountEvent.objects.select_related("user", "by")[:15],
    })


# --- users -------------------------------------------------------------------------------


@administrator_required
def user_list(request):
    users = User.objects.order_by("username").prefetch_related(
        Prefetch("memberships", queryset=SiteMembership.objects.select_related("site")))
    search = request.GET.get("q", "").strip()
    if search:
        users = users.filter(Q(username__icontains=search) | Q(first_name__icontains=search)
                             | Q(last_name__icontains=search) | Q(email__icontains=search))
    state = request.GET.get("state", "active")
    if state == "active":
        users = users.filter(is_active=True)
    elif state == "inactive":
        users = users.filter(is_active=False)
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(request, "trial/administration/user_list.html", {"page": page, "q": search, "state": state})


@administrator_required
def user_invite(request):
    form = UserInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = accounts.user_invite(
                username=data["username"], first_name=data["first_name"], last_name=data["last_name"],
                email=data["email"], role=data["role"], site=data["site"], by=request.user,
                reason=data["reason"], base_url=_base_url(request), language=data["language"])
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, _("%(user)s is invited: an e-mail with a link to choose a password went to "
                                        "%(email)s.") % {"user": user.username, "email": user.email})
            return redirect("administration:user_detail", user.pk)
    return render(request, "trial/administration/form.html", {
        "form": form, "title": _("Invite a user"), "submit": _("Invite"), "back": "administration:users"})


def _user_page(request, user, *, failed_action: str = "", **forms):
    """The user's page; after a refused action, its form again with the message (and a 400)."""
    two_factor = accounts.user_has_two_factor(user)
    language = saved_language(user)
    offered = [
        ("details", _("Change name or e-mail"), _("Save details"), True),
        ("language", _("Change the language"), _("Save the language"), True),
        ("password", _("Send a password reset link"), _("Send the link"), user.is_active),
        ("two_factor", _("Reset two-factor authentication"), _("Remove the authenticator"), two_factor),
        ("deactivate", _("Deactivate the account"), _("Deactivate"), user.is_active and user.pk != request.user.pk),
        ("reactivate", _("Reactivate the account"), _("Reactivate"), not user.is_active),
    ]
    own_url = {"details": "administration:user_details", "language": "administration:user_language"}
    actions = []
    for key, title, button, shown in offered:
        form = forms.get(f"{key}_form")
        if form is None and key == "details":
            form = UserDetailsForm(prefix="details", initial={
                "first_name": user.first_name, "last_name": user.last_name, "email": user.email})
        elif form is None and key == "language":
            form = UserLanguageForm(prefix="language", initial={"language": language})
        elif form is None:
            form = ReasonForm(prefix=key)
        if shown or key == failed_action:
            url = (reverse(own_url[key], args=[user.pk]) if key in own_url
                   else reverse("administration:user_action", args=[user.pk, key]))
            actions.append({"key": key, "title": title, "button": button, "form": form, "url": url,
                            "open": key == failed_action})
    memberships = []
    for membership in user.memberships.select_related("site").order_by("role", "site__code"):
        form = forms.get("remove_form") if forms.get("remove_pk") == membership.pk else None
        memberships.append((membership, form or ReasonForm(prefix=f"remove-{membership.pk}")))
    context = {
        "account": user, "memberships": memberships, "actions": actions, "two_factor": two_factor,
        "language_name": dict(settings.LANGUAGES).get(language, ""),
        "events": user.account_events.select_related("by")[:100],
        "grant_form": forms.get("grant_form") or MembershipGrantForm(prefix="grant"),
        "failed_action": failed_action,
    }
    return render(request, "trial/administration/user_detail.html", context, status=400 if failed_action else 200)


@administrator_required
def user_detail(request, pk):
    return _user_page(request, get_object_or_404(User, pk=pk))


# One POST endpoint per action; a refused action shows the user's page again with the message.
_USER_ACTIONS = {
    "deactivate": (services.user_deactivate, gettext_lazy("%(user)s is deactivated: they can no longer sign in.")),
    "reactivate": (services.user_reactivate, gettext_lazy("%(user)s is active again.")),
    "password": (accounts.user_password_reset, gettext_lazy("A link to choose a new password went to %(email)s.")),
    "two_factor": (accounts.user_two_factor_reset,
                   gettext_lazy("%(user)s's authenticator is removed; they sign in with their password until they "
                                "enrol a new one.")),
}


@require_POST
@administrator_required
def user_action(request, pk, action):
    user = get_object_or_404(User, pk=pk)
    if action not in _USER_ACTIONS:
        raise Http404(_("No such action."))
    service, done = _USER_ACTIONS[action]
    form = ReasonForm(request.POST, prefix=action)
    if form.is_valid():
        extra = {"base_url": _base_url(request)} if action == "password" else {}
        try:
            service(user=user, by=request.user, reason=form.cleaned_data["reason"], **extra)
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, str(done) % {"user": user.username, "email": user.email})
            return redirect("administration:user_detail", user.pk)
    return _user_page(request, user, failed_action=action, **{f"{action}_form": form})


@require_POST
@administrator_required
def user_details(request, pk):
    user = get_object_or_404(User, pk=pk)
    form = UserDetailsForm(request.POST, prefix="details")
    if form.is_valid():
        data = form.cleaned_data
        try:
            accounts.user_update(user=user, first_name=data["first_name"], last_name=data["last_name"],
                                 email=data["email"], by=request.user, reason=data["reason"])
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, _("%(user)s's details are saved.") % {"user": user.username})
            return redirect("administration:user_detail", user.pk)
    return _user_page(request, user, details_form=form, failed_action="details")


@require_POST
@administrator_required
def user_language(request, pk):
    """An administrator sets a user's language (blank: follow the browser), with a reason on the account's
    trail; the user's own session takes it at their next sign-in."""
    user = get_object_or_404(User, pk=pk)
    form = UserLanguageForm(request.POST, prefix="language")
    if form.is_valid():
        try:
            accounts.user_language_set(user=user, language=form.cleaned_data["language"], by=request.user,
                                       reason=form.cleaned_data["reason"], request=request)
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, _("%(user)s's language is saved.") % {"user": user.username})
            return redirect("administration:user_detail", user.pk)
    return _user_page(request, user, language_form=form, failed_action="language")


@require_POST
@administrator_required
def membership_grant(request, pk):
    user = get_object_or_404(User, pk=pk)
    form = MembershipGrantForm(request.POST, prefix="grant")
    if form.is_valid():
        data = form.cleaned_data
        try:
            membership = accounts.membership_grant(user=user, site=data["site"], role=data["role"],
                                                   by=request.user, reason=data["reason"])
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, _("%(user)s is now %(role)s at %(site)s.") % {
                "user": user.username, "role": membership.get_role_display().lower(),
                "site": membership.site or _("all sites")})
            return redirect("administration:user_detail", user.pk)
    return _user_page(request, user, grant_form=form, failed_action="grant")


@require_POST
@administrator_required
def membership_remove(request, pk):
    membership = get_object_or_404(SiteMembership.objects.select_related("user", "site"), pk=pk)
    form = ReasonForm(request.POST, prefix=f"remove-{membership.pk}")
    if form.is_valid():
        try:
            accounts.membership_remove(membership=membership, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, _("Role removed: %(role)s at %(site)s.") % {
                "role": membership.get_role_display(), "site": membership.site or _("all sites")})
            return redirect("administration:user_detail", membership.user_id)
    return _user_page(request, membership.user, remove_form=form, remove_pk=membership.pk, failed_action="remove")


# --- sites -------------------------------------------------------------------------------


@administrator_required
def site_list(request):
    return render(request, "trial/administration/site_list.html", {"sites": Site.objects.all()})


@administrator_required
def site_edit(request, pk=None):
    site = get_object_or_404(Site, pk=pk) if pk else None
    initial = {name: getattr(site, name) for name in ("code", "name", "location", "require_two_factor_for_signing")
               } if site else {}
    form = SiteForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            site = accounts.site_save(
                site=site, code=data["code"], name=data["name"], location=data["location"],
                require_two_factor_for_signing=data["require_two_factor_for_signing"], by=request.user,
                reason=data["reason"])
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, _("Site %(code)s is saved.") % {"code": site.code})
            return redirect("administration:sites")
    return render(request, "trial/administration/form.html", {
        "form": form, "title": _("Site %(code)s") % {"code": site.code} if site else _("New site"),
        "submit": _("Save site"),
        "back": "administration:sites",
        "history": ("trial.site", site.pk) if site else None})


# --- protocol versions -------------------------------------------------------------------


@administrator_required
def protocol_list(request):
    protocols = Protocol.objects.order_by("-effective_date", "-pk")
    current = protocols.first()
    return render(request, "trial/administration/protocol_list.html", {"protocols": protocols, "current": current})


@administrator_required
def protocol_detail(request, pk):
    protocol = get_object_or_404(Protocol, pk=pk)
    return render(request, "trial/administration/protocol_detail.html", {
        "protocol": protocol, "criteria": protocol.eligibility_criteria.all(),
        "visits": protocol.visit_definitions.all(),
        # The registry record's own title in the reader's language (a typed one as typed).
        "numbers": [(Protocol._meta.get_field(name).verbose_name,
                     protocol.display_title if name == "title" else getattr(protocol, name))
                    for name in accounts.AMENDABLE_FIELDS],
    })


@administrator_required
def protocol_amend(request, pk):
    base = get_object_or_404(Protocol, pk=pk)
    form = ProtocolAmendmentForm(request.POST or None, base=base)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            protocol = accounts.protocol_amend(
                base=base, amendment=accounts.ProtocolAmendment(
                    version=data["version"], effective_date=data["effective_date"], values=form.amended_values()),
                by=request.user, reason=data["reason"])
        except ValidationError as error:
            errors_onto_form(form, error)
        else:
            messages.success(request, _("Protocol version %(version)s is saved; new patients are screened under it "
                                        "from %(date)s.") % {"version": protocol.version,
                                                             "date": f"{protocol.effective_date:%Y-%m-%d}"})
            return redirect("administration:protocol_detail", protocol.pk)
    return render(request, "trial/administration/form.html", {
        "form": form, "title": _("Amend %(protocol)s (a new version)") % {"protocol": base},
        "submit": _("Save the new version"),
        "back": "administration:protocols",
        "intro": _("An amendment is a new version: the records already collected keep the version they were "
                   "collected under. The eligibility criteria and visit schedule are copied.")})


# --- audit trail -------------------------------------------------------------------------

_AUDITED = {"trial.site": Site, "trial.protocol": Protocol, "trial.sitemembership": SiteMembership}


@administrator_required
def history(request, model_label, pk):
    model = _AUDITED.get(model_label)
    if model is None:
        raise Http404(_("No audit trail here."))
    instance = model.objects.filter(pk=pk).first()
    if instance is None:
        raise Http404(_("No such record."))
    return render(request, "trial/administration/history.html", {
        "label": f"{capfirst(model._meta.verbose_name)} {instance}", "entries": audit_trail(instance)})
