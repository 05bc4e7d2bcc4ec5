"""API tokens: created, checked, listed and revoked here (the model is `trial.models.ApiToken`)."""
import datetime
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .models import ApiToken

# Why a token was revoked, stored in English (the record) and shown in the reader's language
# (`ApiToken.revoked_reason_display`).
REVOKED_BY_OWNER = gettext_noop("Revoked by its owner")
REVOKED_PASSWORD_CHANGED = gettext_noop("Password changed")
REVOKED_DEACTIVATED = gettext_noop("Account deactivated")

# last_used_at is written at most this often, not on every request.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=5)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(*, user, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`: the record, and the key — shown to the user this once, never stored."""
    if not user.is_active:
        raise ValidationError(_("A deactivated account gets no API token."))
    key = secrets.token_hex(20)  # 40 characters, as DRF's tokens were: clients need no change
    now = timezone.now()
    token = ApiToken(user=user, name=name.strip(), prefix=key[:8], digest=_digest(key), created_at=now,
                     expires_at=now + datetime.timedelta(days=settings.API_TOKEN_TTL_DAYS))
    token.full_clean()
    token.save()
    return token, key


def api_tokens_active(*, user):
    """The user's tokens that still work, newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=timezone.now())


def api_token_revoke(*, token: ApiToken, by, reason: str = REVOKED_BY_OWNER) -> ApiToken:
    """A user revokes one of their own tokens (an administrator, anyone's)."""
    if token.user_id != by.pk and not by.is_superuser:
        raise PermissionDenied(_("You may revoke only your own tokens."))
    if token.revoked_at is None:
        token.revoked_at, token.revoked_reason = timezone.now(), reason[:200]
        token.full_clean()
        token.save(update_fields=["revoked_at", "revoked_reason"])
    return token


def api_tokens_revoke_all(*, user, reason: str) -> int:
    """Revoke every working token of a user (password changed, account deactivated)."""
    tokens = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True))
    now = timezone.now()
    for token in tokens:
        token.revoked_at, token.revoked_reason = now, reason[:200]
        token.save(update_fields=["revoked_at", "revoked_reason"])
    return len(tokens)


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's `Authorization: Token <key>` header, checked against the stored digests; an expired or
    revoked token, or one of a deactivated user, is refused (401)."""

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=_digest(key)).first()
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(
                _("Token expired: ask for a new one at /api/v1/auth/token/."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # not audited: a usage stamp
        return token.user, token


class RevokeApiTokensOnPasswordChange:
    """Listed in AUTH_PASSWORD_VALIDATORS for Django's documented `password_changed` hook, called
    after every save of a new password (set_password: a page, the admin, `changepassword`), and not
    when Django merely re-hashes the same password: a new password revokes every API token. It
    refuses no password."""

    def validate(self, password, user=None):
        return None

    def password_changed(self, password, user=None):
        if user is not None and user.pk is not None:
            api_tokens_revoke_all(user=user, reason=REVOKED_PASSWORD_CHANGED)

    def get_help_text(self):
        return _("A new password revokes your API tokens.")
