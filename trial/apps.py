from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def refuse_user_delete(sender, instance, **kwargs):
    """pre_delete receiver of the user model: a user's name is on the audit trail of everything they
    entered, verified or signed, so an account is deactivated (`trial.services.user_deactivate`),
    never deleted — by the admin, a queryset or code."""
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied(f"User {instance.get_username()} is never deleted: deactivate the account instead.")


def revoke_tokens_on_deactivation(sender, instance, update_fields=None, **kwargs):
    """pre_save receiver of the user model: a deactivation revokes every API token of the user,
    whichever page, command or code made it (a new password does too: trial.tokens.RevokeApiTokensOnPasswordChange)."""
    from .tokens import REVOKED_DEACTIVATED, api_tokens_revoke_all

    if instance.pk is None or instance.is_active or (update_fields is not None and "is_active" not in update_fields):
        return
    if type(instance).objects.filter(pk=instance.pk, is_active=True).exists():
        api_tokens_revoke_all(user=instance, reason=REVOKED_DEACTIVATED)


class TrialConfig(AppConfig):
    name = "trial"
    verbose_name = _("Trial")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in
        from django.db.models.signals import pre_delete, pre_save

        from . import datetimes, history
        from .middleware import session_activity_start, session_language_start

        datetimes.install()  # every datetime field refuses the years no clinical time has
        history.connect()  # the history rows' author username
        user_logged_in.connect(session_activity_start, dispatch_uid="trial.session_activity_start")
        user_logged_in.connect(session_language_start, dispatch_uid="trial.session_language_start")
        pre_delete.connect(refuse_user_delete, sender=get_user_model(), dispatch_uid="trial.refuse_user_delete")
        pre_save.connect(revoke_tokens_on_deactivation, sender=get_user_model(),
                         dispatch_uid="trial.revoke_tokens_on_deactivation")
