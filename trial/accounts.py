"""User accounts, sites, memberships and protocol versions, as an administrator
manages them. Every change carries a reason: users on `AccountEvent`, the
trial's records on their simple-history rows.

Accounts are deactivated, never deleted, so that every audit-trail row keeps
its author's name.
"""
import re
from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import devices_for_user

from .middleware import LANGUAGE_SESSION_KEY, user_language
from .models import TRIAL_WIDE_ROLES, AccountEvent, Protocol, Role, Site, SiteMembership, UserProfile
from .roles import has_role
from .services import active_administrators
from .two_factor import enrolled_authenticator

User = get_user_model()


def require_administrator(user) -> None:
    """Refuse (403) anyone but an administrator."""
    if not has_role(user, Role.ADMINISTRATOR):
        raise PermissionDenied(_("Only administrators manage users, sites and protocol versions."))


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason; it is kept on the audit trail.")})
    return reason


def _event(*, user, action: str, by, reason: str, detail: str = "") -> AccountEvent:
    event = AccountEvent(user=user, action=action, by=by, reason=reason, detail=detail[:300])
    event.full_clean()
    event.save()
    return event


def _audited(instance, *, by, reason: str) -> None:
    """The author and reason simple-history writes on the next history row."""
    instance._change_reason = reason
    instance._history_user = by


# --- users -------------------------------------------------------------------------------


def password_link(*, user, base_url: str) -> str:
    """A one-time link where the user sets their own password (Django's reset token:
    it stops working once the password changes or after PASSWORD_RESET_TIMEOUT)."""
    path = reverse("password_reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user)})
    return urljoin(base_url, path)


def _send_password_link(*, user, base_url: str, invitation: bool, language: str) -> None:
    """The e-mail in the user's own language, else in the language of the administrator who sent it."""
    with translation.override(language):
        context = {"user": user, "link": password_link(user=user, base_url=base_url), "invitation": invitation}
        subject = _("Your CAR-T EDC account") if invitation else _("Reset your CAR-T EDC password")
        send_mail(subject, render_to_string("trial/administration/password_email.txt", context), None, [user.email])


def _email_language(user) -> str:
    return user_language(user) or translation.get_language() or settings.LANGUAGE_CODE


@transaction.atomic
def user_invite(*, username: str, first_name: str, last_name: str, email: str, role: str,
                site: Site | None, by, reason: str, base_url: str, language: str = ""):
    """A new account with no password and its first role (and its language, if the administrator
    knows it: blank follows the browser); the user gets an e-mail, in that language, with a link
    to choose their password."""
    reason = _reason(reason)
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This username is taken.")})
    if not email:
        raise ValidationError({"email": _("The invitation is sent by e-mail; give the address.")})
    user = User(username=username, first_name=first_name, last_name=last_name, email=email)
    user.set_unusable_password()
    user.full_clean()
    user.save()
    _event(user=user, action=AccountEvent.Action.CREATED, by=by, reason=reason, detail=f"Invited at {email}")
    membership_grant(user=user, site=site, role=role, by=by, reason=reason)
    if language:
        user_language_set(user=user, language=language, by=by, reason=reason)
    email_language = _email_language(user)
    transaction.on_commit(lambda: _send_password_link(user=user, base_url=base_url, invitation=True,
                                                      language=email_language))
    return user


@transaction.atomic
def user_update(*, user, first_name: str, last_name: str, email: str, by, reason: str):
    reason = _reason(reason)
    changes = [f"{label}: {getattr(user, name) or '—'} → {value or '—'}"
               for name, label, value in (("first_name", "first name", first_name),
                                          ("last_name", "last name", last_name), ("email", "e-mail", email))
               if getattr(user, name) != value]
    if not changes:
        return user
    user.first_name, user.last_name, user.email = first_name, last_name, email
    user.full_clean()
    user.save(update_fields=["first_name", "last_name", "email"])
    _event(user=user, action=AccountEvent.Action.UPDATED, by=by, reason=reason, detail="; ".join(changes))
    return user


def _language_name(language: str) -> str:
    return dict(settings.LANGUAGES).get(language, language) if language else "browser language"


@transaction.atomic
def user_language_set(*, user, language: str, by, reason: str = "", request=None) -> UserProfile:
    """The language the user sees (blank: follow the browser), on the account's trail. A user changes
    their own without a reason; an administrator gives one. With the user's own ``request``, the session
    takes it at once (another user's session takes it at their next sign-in)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the languages offered.")})
    own = (reason or "").strip() or "Changed by the user"  # stored: English
    reason = own if by.pk == user.pk else _reason(reason)
    profile, _created = UserProfile.objects.get_or_create(user=user)
    if profile.language != language:
        detail = f"Language: {_language_name(profile.language)} → {_language_name(language)}"
        profile.language = language
        profile.full_clean()
        profile.save()
        _event(user=user, action=AccountEvent.Action.LANGUAGE_CHANGED, by=by, reason=reason, detail=detail)
    if request is not None and request.user.pk == user.pk:
        request.session[LANGUAGE_SESSION_KEY] = language
    return profile


# Deactivation and reactivation are trial.services.user_deactivate / user_reactivate (they also
# revoke API tokens and write the account's trail); the administration pages call them directly.


@transaction.atomic
def user_password_reset(*, user, by, reason: str, base_url: str):
    """E-mail the user a link to choose a new password. The administrator never
    sees or sets the password; the old one works until the new one is chosen."""
    reason = _reason(reason)
    if not user.is_active:
        raise ValidationError(_("Reactivate the account first."))
    if not user.email:
        raise ValidationError(_("The account has no e-mail address; add one first."))
    _event(user=user, action=AccountEvent.Action.PASSWORD_RESET, by=by, reason=reason, detail=f"Sent to {user.email}")
    email_language = _email_language(user)
    transaction.on_commit(lambda: _send_password_link(user=user, base_url=base_url, invitation=False,
                                                      language=email_language))
    return user


@transaction.atomic
def user_two_factor_reset(*, user, by, reason: str) -> int:
    """Remove the user's authenticator devices (a lost phone): they sign in with
    their password alone until they enrol a new one. Returns how many were removed."""
    reason = _reason(reason)
    devices = list(devices_for_user(user, confirmed=None))
    if not devices:
        raise ValidationError(_("This user has no authenticator enrolled."))
    for device in devices:
        device.delete()
    _event(user=user, action=AccountEvent.Action.TWO_FACTOR_RESET, by=by, reason=reason,
           detail=f"{len(devices)} device(s) removed")
    return len(devices)


# The details `AccountEvent` stores are written in English (the account's trail is record); these patterns
# show them in the reader's language. A detail that matches none is shown as stored.
_DETAIL_PATTERNS = (
    (re.compile(r"Invited at (?P<email>.+)"), gettext_lazy("Invited at %(email)s")),
    (re.compile(r"Sent to (?P<email>.+)"), gettext_lazy("Sent to %(email)s")),
    (re.compile(r"(?P<count>\d+) device\(s\) removed"), gettext_lazy("%(count)s device(s) removed")),
    (re.compile(r"Language: (?P<old>.+) → (?P<new>.+)"), gettext_lazy("Language: %(old)s → %(new)s")),
    (re.compile(r"(?P<role>[A-Z][a-z ]+) at all sites"), gettext_lazy("%(role)s at all sites")),
    (re.compile(r"(?P<role>[A-Z][a-z ]+) at (?P<site>\S+)"), gettext_lazy("%(role)s at %(site)s")),
)
_DETAIL_WORDS = {
    "browser language": gettext_lazy("browser language"), "all sites": gettext_lazy("all sites"),
    "first name": gettext_lazy("first name"), "last name": gettext_lazy("last name"),
    "e-mail": gettext_lazy("e-mail"), **{str(label): label for label in Role.labels},
}


def _detail_word(text: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        english = {str(key): value for key, value in _DETAIL_WORDS.items()}
    return str(english.get(text, text))


def account_event_detail_display(detail: str) -> str:
    """An account trail's stored (English) detail in the reader's language."""
    changes = detail.split("; ")
    if all(re.fullmatch(r"(first name|last name|e-mail): .* → .*", change) for change in changes):
        return "; ".join(f"{_detail_word(change.split(': ', 1)[0])}: {change.split(': ', 1)[1]}"
                         for change in changes)
    for pattern, message in _DETAIL_PATTERNS:
        match = pattern.fullmatch(detail)
        if match:
            return str(message) % {key: _detail_word(value) for key, value in match.groupdict().items()}
    return detail


def user_has_two_factor(user) -> bool:
    return enrolled_authenticator(user) is not None


# --- site memberships --------------------------------------------------------------------


@transaction.atomic
def membership_grant(*, user, site: Site | None, role: str, by, reason: str) -> SiteMembership:
    reason = _reason(reason)
    if role in TRIAL_WIDE_ROLES:
        site = None  # data managers and administrators work at every site
    elif site is None:
        raise ValidationError({"site": _("A coordinator, investigator or monitor works at a site; choose it.")})
    if SiteMembership.objects.filter(user=user, site=site, role=role).exists():
        raise ValidationError({"role": _("The user already has this role here.")})
    membership = SiteMembership(user=user, site=site, role=role)
    membership.full_clean()
    _audited(membership, by=by, reason=reason)
    membership.save()
    _event(user=user, action=AccountEvent.Action.ROLE_GRANTED, by=by, reason=reason,
           detail=_membership_text(membership))
    return membership


@transaction.atomic
def membership_remove(*, membership: SiteMembership, by, reason: str) -> None:
    """The membership row goes (its history keeps it, with the reason)."""
    reason = _reason(reason)
    if membership.role == Role.ADMINISTRATOR and membership.user.is_active and (
            not active_administrators().exclude(pk=membership.user_id).exists()):
        raise ValidationError(_("This is the last active administrator; make another one first."))
    detail = _membership_text(membership)
    _audited(membership, by=by, reason=reason)
    membership.delete()
    _event(user=membership.user, action=AccountEvent.Action.ROLE_REMOVED, by=by, reason=reason, detail=detail)


def _membership_text(membership: SiteMembership) -> str:
    """The account trail's detail, stored in English whatever the administrator's language (clinical record)."""
    with translation.override(settings.LANGUAGE_CODE):
        return f"{membership.get_role_display()} at {membership.site.code if membership.site else 'all sites'}"


# --- sites -------------------------------------------------------------------------------


@transaction.atomic
def site_save(*, site: Site | None, code: str, name: str, location: str,
              require_two_factor_for_signing: bool, by, reason: str) -> Site:
    """Create a site or change its details. The code prefixes subject IDs, so it
    is fixed once the site has a patient."""
    reason = _reason(reason)
    if site is None:
        site = Site(code=code)
    elif code != site.code:
        if site.patients.exists():
            raise ValidationError({"code": _("The site has patients; their subject IDs carry this code.")})
        site.code = code
    site.name, site.location = name, location
    site.require_two_factor_for_signing = require_two_factor_for_signing
    site.full_clean()
    _audited(site, by=by, reason=reason)
    site.save()
    return site


# --- protocol versions -------------------------------------------------------------------

#: The protocol numbers an amendment may change on the web page.
AMENDABLE_FIELDS = (
    "title", "planned_enrollment", "fludarabine_mg_per_m2", "cyclophosphamide_mg_per_m2", "dose_tolerance_percent",
    "min_days_last_lymphodepletion_to_infusion", "cart_dose_min_cells_per_kg", "cart_dose_max_cells_per_kg",
    "primary_assessment_day", "follow_up_months", "visit_overdue_grace_days", "fraction_spread_max_days",
    "car_transgene_lloq_copies_per_ug", "car_t_cells_lloq_per_ul", "b_cell_recovery_per_ul",
    "infusion_weight_change_percent",
)


@dataclass(frozen=True)
class ProtocolAmendment:
    version: str
    effective_date: object
    values: dict


@transaction.atomic
def protocol_amend(*, base: Protocol, amendment: ProtocolAmendment, by, reason: str) -> Protocol:
    """A new protocol version: a copy of `base` with the amended numbers, its
    eligibility criteria and visit schedule. Records keep pointing at the
    version they were collected under; new patients get the newest."""
    reason = _reason(reason)
    if Protocol.objects.filter(code=base.code, version=amendment.version).exists():
        raise ValidationError({"version": _("This version exists already; amendments are new versions.")})
    if amendment.effective_date < base.effective_date:
        raise ValidationError({"effective_date": _(
            "An amendment takes effect on or after the version it amends (%(date)s).")
            % {"date": f"{base.effective_date:%Y-%m-%d}"}})
    criteria, visits = list(base.eligibility_criteria.all()), list(base.visit_definitions.all())
    new = Protocol.objects.get(pk=base.pk)
    new.pk = new.id = None
    new._state.adding = True
    new.version, new.effective_date = amendment.version, amendment.effective_date
    for name, value in amendment.values.items():
        if name not in AMENDABLE_FIELDS:
            raise ValueError(f"{name} is not amendable here")
        setattr(new, name, value)
    new.full_clean()
    _audited(new, by=by, reason=reason)
    new.save()
    for row in criteria + visits:
        row.pk = row.id = None
        row._state.adding = True
        row.protocol = new
        row.full_clean()
        _audited(row, by=by, reason=reason)
        row.save()
    return new
