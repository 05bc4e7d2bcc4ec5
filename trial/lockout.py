"""Throttled password guessing, with django-axes.

- Every failure counts: a wrong password or a missing or wrong authenticator code at the login page
  or the API token endpoint (`trial.two_factor.sign_in_second_factor`), a wrong e-signature password or
  authenticator code (`signature_password_valid`, `second_factor_failed`).
- Five failures lock the username from that address for an hour (axes' own limit, per (username,
  address)); AXES_USERNAME_FAILURE_LIMIT failures from any addresses lock the username for
  AXES_USERNAME_WINDOW_HOURS (`AxesHandler`), so that spreading the guesses over many addresses
  does not help.
- Axes writes a failure as it happens, inside the request's transaction (ATOMIC_REQUESTS). A
  raised error rolls that transaction back, and the record with it (DRF rolls back on every error
  it turns into a 400). So a refused password is *answered*, not raised: the token view and the
  signing API return their 400, the pages their message, and the request's transaction commits
  the record. The signing services check the password and the authenticator code before they
  open their own transaction, so that the signing's rollback cannot undo the count either (nor
  django-otp's throttle on the device).
"""
import datetime
import ipaddress
import logging

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username
from axes.models import AccessFailureLog, AccessLog
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)

LOCKED_OUT = _("Too many failed attempts for this account: it is locked for a while. Try again later, or ask an "
               "administrator to unlock it.")


def client_ip_address(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: REMOTE_ADDR, or, behind a reverse proxy, the one header the proxy
    overwrites with the address it saw (CLIENT_IP_HEADER). One trusted header, not a parse of
    X-Forwarded-For chains (which a client can pre-fill): django-ipware would do that parse, and is
    not needed here. A value that is not an IP address is ignored."""
    header = settings.CLIENT_IP_HEADER
    if header:
        value = request.META.get("HTTP_" + header.upper().replace("-", "_"), "").split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            pass
    return request.META.get("REMOTE_ADDR")


def username_failures_in_window(username: str | None) -> int:
    """Failures recorded for a username from any address within AXES_USERNAME_WINDOW_HOURS."""
    if not username:
        return 0
    since = timezone.now() - datetime.timedelta(hours=settings.AXES_USERNAME_WINDOW_HOURS)
    return AccessFailureLog.objects.filter(username=username, attempt_time__gte=since).count()


class AxesHandler(AxesDatabaseHandler):
    """axes' database handler (per username and address), plus the per-username limit over its
    longer window, counted on axes' failure log (AXES_ENABLE_ACCESS_FAILURE_LOG)."""

    def _username_locked(self, request, credentials) -> bool:
        username = get_client_username(request, credentials)
        return username_failures_in_window(username) >= settings.AXES_USERNAME_FAILURE_LIMIT

    def is_locked(self, request, credentials=None) -> bool:
        return super().is_locked(request, credentials) or (
            settings.AXES_LOCK_OUT_AT_FAILURE and self._username_locked(request, credentials))

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if settings.AXES_LOCK_OUT_AT_FAILURE and self._username_locked(request, credentials):
            username = get_client_username(request, credentials)
            log.warning("AXES: Locking out username %s after failures from several addresses.", username)
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send("axes", request=request, username=username, ip_address=request.axes_ip_address)

    def reset_attempts(self, *, ip_address=None, username=None, ip_or_username=False) -> int:
        """`manage.py axes_reset_username NAME` (and the admin's reset) also restarts the username's window."""
        count = super().reset_attempts(ip_address=ip_address, username=username, ip_or_username=ip_or_username)
        if username:
            AccessFailureLog.objects.filter(username=username).delete()
        return count


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: 429, in JSON for the API."""
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": str(LOCKED_OUT)}, status=429)
    return HttpResponse(str(LOCKED_OUT), status=429, content_type="text/plain; charset=utf-8")


def _http_request(request):
    return getattr(request, "_request", request)  # DRF's Request wraps Django's; axes marks the latter


def signature_password_valid(*, user, password: str, request=None) -> bool:
    """Is `password` the signer's? With the request (every page and API call passes it), the check
    goes through django's authenticate(), so django-axes refuses it while the account is locked out
    and counts a wrong one like a failed login (ValidationError when locked). Without a request (a
    shell, a test of the rule) it is a plain password check."""
    if request is None:
        return bool(password) and user.check_password(password)
    http_request = _http_request(request)
    authenticated = authenticate(http_request, username=user.get_username(), password=password or "")
    if getattr(http_request, "axes_locked_out", False):
        raise ValidationError({"password": LOCKED_OUT})
    return authenticated is not None and authenticated.pk == user.pk


def second_factor_failed(*, user, request=None) -> None:
    """A refused authenticator code (at sign-in or signing) counts like a failed login (django-otp's
    own throttle on the device counts a wrong one too); ValidationError once that locks the account."""
    if request is None:
        return
    http_request = _http_request(request)
    user_login_failed.send(sender=__name__, credentials={"username": user.get_username()}, request=http_request)
    if getattr(http_request, "axes_locked_out", False):
        raise ValidationError({"otp_token": LOCKED_OUT})


def api_sign_in_record(*, user, request) -> None:
    """An API token issued is a sign-in, recorded as the login page's are: the user's last login (the
    administration pages show it) and axes' access log. Not through the `user_logged_in` signal, which
    the login page sends: its receivers would open a session the API has no use for."""
    update_last_login(type(user), user)
    if getattr(settings, "AXES_DISABLE_ACCESS_LOG", False):  # axes' default, False, is set on import
        return
    http_request = _http_request(request)
    AxesProxyHandler.update_request(http_request)  # the client's address, agent and path, as axes reads them
    AccessLog.objects.create(
        username=user.get_username(), ip_address=http_request.axes_ip_address,
        user_agent=http_request.axes_user_agent, http_accept=http_request.axes_http_accept,
        path_info=http_request.axes_path_info,
    )
