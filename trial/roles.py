"""Who may do what, read from site memberships. One place for every view,
form, API endpoint and admin page to ask."""
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .models import TRIAL_WIDE_ROLES, Role, Site, SiteMembership


def user_roles(user, *, site: Site | None = None) -> set[str]:
    """The roles a user holds at a site (or anywhere when site is None).

    Trial-wide roles count at every site; a superuser is an administrator
    of every site (api.md).
    """
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_superuser:
        return {Role.ADMINISTRATOR}
    # Cached per user object: pages ask this many times per request.
    cache = user.__dict__.setdefault("_edc_memberships", None)
    if cache is None:
        cache = list(SiteMembership.objects.filter(user=user).values_list("site_id", "role"))
        user.__dict__["_edc_memberships"] = cache
    return {
        role
        for site_id, role in cache
        if site is None or site_id is None or site_id == site.pk or role in TRIAL_WIDE_ROLES
    }


def role_labels(roles) -> list[str]:
    """The roles as a clinician reads them ("Data manager", not the code "data_manager"), in the
    order of `Role`; the menu and every page that names a user's roles show these."""
    return [str(label) for code, label in Role.choices if code in roles]


def has_role(user, *roles: str, site: Site | None = None) -> bool:
    return bool(user_roles(user, site=site) & set(roles))


def is_trial_wide(user) -> bool:
    return has_role(user, *TRIAL_WIDE_ROLES)


def visible_sites(user) -> QuerySet[Site]:
    if is_trial_wide(user):
        return Site.objects.all()
    if not user.is_authenticated:
        return Site.objects.none()
    return Site.objects.filter(memberships__user=user).distinct()


def can_enter_data(user, site: Site) -> bool:
    """Coordinators and investigators enter CRFs at their own sites."""
    return has_role(user, Role.COORDINATOR, Role.INVESTIGATOR, Role.ADMINISTRATOR, site=site)


def require_data_entry(user, site: Site) -> None:
    """Refuse (403) a user who may not enter clinical data at the site."""
    if not can_enter_data(user, site):
        raise PermissionDenied(_("Only coordinators, investigators and administrators of this site enter data; "
                                 "monitors and data managers are read-only on clinical data."))
