"""Operations on the trial's own data, and on user accounts."""
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from .models import AccountEvent, EligibilityCriterion, Protocol, Role, SiteMembership, VisitDefinition
from .protocol_seed import ELIGIBILITY_V1, PROTOCOL_V1
from .rules import DEFAULT_VISIT_SCHEDULE


@transaction.atomic
def protocol_seed() -> Protocol:
    """Create protocol version 1.0 from the registry record, with its
    eligibility criteria and visit schedule. Idempotent: an existing version
    is returned untouched (amendments are new versions, not edits)."""
    protocol, created = Protocol.objects.get_or_create(
        code=PROTOCOL_V1["code"], version=PROTOCOL_V1["version"], defaults=PROTOCOL_V1
    )
    if not created:
        return protocol
    for order, (code, kind, text) in enumerate(ELIGIBILITY_V1):
        EligibilityCriterion.objects.create(protocol=protocol, code=code, kind=kind, text=text, order=order)
    for visit in DEFAULT_VISIT_SCHEDULE:
        VisitDefinition.objects.create(
            protocol=protocol,
            code=visit.code,
            name=visit.name,
            target_day=visit.target_day,
            window_before_days=visit.window_before_days,
            window_after_days=visit.window_after_days,
            forms=list(visit.forms),
            is_primary_assessment=visit.primary_assessment,
        )
    return protocol


# --- Users ----------------------------------------------------------------------------------

def user_deactivate(*, user: User, by: User | None, reason: str) -> User:
    """Deactivate a user account: they can no longer sign in, use the API or sign forms.

    Users are never deleted (`trial.apps`: a pre_delete receiver refuses it): their name stays on
    every record they entered, verified or signed. Their API tokens are revoked (the user's
    pre-save check in `trial.apps`, which also covers the admin's "active" box). Who deactivated
    them and why is kept on the admin's history of the user and, from the administration pages, on
    the account's own trail (AccountEvent)."""
    if by is not None and by.pk == user.pk:
        raise ValidationError(_("You cannot deactivate your own account; ask another administrator."))
    if user.is_active and not active_administrators().exclude(pk=user.pk).exists():
        raise ValidationError(_("This is the last active administrator; make another one first."))
    return _user_active_set(user=user, by=by, active=False, reason=reason)


def user_reactivate(*, user: User, by: User | None, reason: str) -> User:
    """Give a deactivated account its access back (not its revoked API tokens)."""
    return _user_active_set(user=user, by=by, active=True, reason=reason)


def active_administrators() -> QuerySet[User]:
    """Active users who can administer the trial: trial-wide administrators and superusers."""
    wide = SiteMembership.objects.filter(role=Role.ADMINISTRATOR, user__is_active=True).values("user")
    return (User.objects.filter(is_active=True).filter(pk__in=wide)
            | User.objects.filter(is_active=True, is_superuser=True)).distinct()


@transaction.atomic
def _user_active_set(*, user: User, by: User | None, active: bool, reason: str) -> User:
    from django.contrib.admin.models import CHANGE, LogEntry

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the change to the account.")})
    if user.is_active == active:
        return user
    user.is_active = active
    user.full_clean()
    user.save(update_fields=["is_active"])
    if by is not None:  # the admin's log needs a user; a management command passes by=None
        LogEntry.objects.log_actions(user_id=by.pk, queryset=[user], action_flag=CHANGE, single_object=True,
                                     change_message=f"{'Reactivated' if active else 'Deactivated'}: {reason}")
        event = AccountEvent(user=user, by=by, reason=reason,
                             action=AccountEvent.Action.REACTIVATED if active else AccountEvent.Action.DEACTIVATED)
        event.full_clean()
        event.save()
    return user
