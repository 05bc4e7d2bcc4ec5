"""The second factor of signing in: one rule for the login page (`trial.auth.LoginForm`) and the API
token endpoint (`trial.api.TokenObtainView`), and the one place that says which authenticator a user
has (django-otp TOTP devices, added in the admin; e-signatures ask for its code too)."""
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.models import Device

from .lockout import second_factor_failed


def enrolled_authenticator(user) -> Device | None:
    """The user's authenticator (a confirmed device; users have one), or None: the password alone then."""
    return next(devices_for_user(user, confirmed=True), None)


def sign_in_second_factor(*, user, otp_token: str, request=None) -> Device | None:
    """The second step of signing in, for `user` whose password was right: None when no authenticator
    is enrolled (the password suffices), the device when `otp_token` is its current code. Otherwise a
    ValidationError on `otp_token` — the code missing, wrong or already used, or django-otp's throttle
    on the device holding — and, with the request, the refusal counts as a failed sign-in for
    django-axes, as a wrong password does: guessing codes locks the account like guessing passwords.
    Callers answer the error (a form error, a 400), never let it roll the request back: the count would
    go with it (trial/lockout.py).

    The error is given only after the right password, as at the login page: a wrong password is
    refused as such whatever the code, so a code error tells a guesser that the password was right —
    and that guess has cost one of the few failures the lockout allows, like every other."""
    device = enrolled_authenticator(user)
    if device is None:
        return None
    code = (otp_token or "").strip()
    if not code:
        message = _("Enter the 6-digit code from your authenticator app.")
    elif not device.verify_is_allowed()[0]:
        message = _("Too many wrong authenticator codes: wait a little, then enter the current one.")
    elif device.verify_token(code):  # a code works once (django-otp keeps the last time step used)
        return device
    else:
        message = _("That authenticator code is wrong or expired; enter the current one.")
    second_factor_failed(user=user, request=request)
    raise ValidationError({"otp_token": message})


def session_second_factor_missing(user) -> bool:
    """A signed-in session of a user with an authenticator that was not verified with its code (the
    device was enrolled after the sign-in): it may not stand in for a sign-in (API session, new token)."""
    if not user.is_authenticated or getattr(user, "is_verified", lambda: False)():
        return False
    return enrolled_authenticator(user) is not None
