"""Login sessions end after a period without activity, every response
carries a minimal Content-Security-Policy, and a signed-in user sees the
language they chose."""
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.utils import translation
from django.utils.translation import gettext as _

LAST_ACTIVITY_KEY = "edc_last_activity"
# Writing the timestamp on every request would save the session on every request; a minute is precise enough.
ACTIVITY_RESOLUTION_SECONDS = 60


# The signed-in user's own language, kept in the session from sign-in (one read of the profile per session,
# not per request): "" follows the browser. `trial.accounts.user_language_set` updates it.
LANGUAGE_SESSION_KEY = "edc_language"


def user_language(user) -> str:
    """The language the user chose ("" when they follow the browser)."""
    from .models import UserProfile

    return UserProfile.objects.filter(user=user).values_list("language", flat=True).first() or ""


def session_language_start(sender, request, user, **kwargs):
    """Signing in reads the user's language into the session."""
    if request is not None and hasattr(request, "session"):
        request.session[LANGUAGE_SESSION_KEY] = user_language(user)


class UserLanguageMiddleware:
    """A signed-in user's own language (their profile setting) before the login page's switch (a cookie)
    and the browser's Accept-Language, which LocaleMiddleware has already weighed (docs/i18n.md, "Which
    language a person sees"). After AuthenticationMiddleware; a user without a setting keeps LocaleMiddleware's
    choice. LocaleMiddleware's response step then names the language in Content-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = request.session.get(LANGUAGE_SESSION_KEY)
            if language is None:  # a session from before the setting existed
                language = request.session[LANGUAGE_SESSION_KEY] = user_language(user)
            if language and translation.check_for_language(language):
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


def session_activity_start(sender, request, user, **kwargs):
    """Signing in is activity: the first pages after it need not write the session again."""
    if request is not None and hasattr(request, "session"):
        request.session[LAST_ACTIVITY_KEY] = time.time()


class IdleSessionTimeoutMiddleware:
    """Signs out a user whose session has been idle longer than
    SESSION_IDLE_TIMEOUT_MINUTES (30 by default) and sends them to the login
    page with a message. Django's SESSION_COOKIE_AGE stays the absolute limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - last > settings.SESSION_IDLE_TIMEOUT_MINUTES * 60:
                logout(request)
                messages.info(request, _("You were signed out after %(minutes)s minutes without activity. Sign in "
                                         "again to continue.") % {"minutes": settings.SESSION_IDLE_TIMEOUT_MINUTES})
                return redirect_to_login(request.get_full_path())
            if last is None or now - last >= ACTIVITY_RESOLUTION_SECONDS:
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Django 5.2 has no CSP of its own. The policy is minimal on purpose — no
    framing, no plugins, forms post only here — so that the pages' and the API
    docs' inline scripts and styles keep working."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class FriendlyNotFoundMiddleware:
    """A page that is not there answers the application's own 404 page, also
    under DEBUG (where Django would show its technical page listing every URL
    pattern). Only HTML pages: the API answers its JSON 404 as before."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (settings.DEBUG and response.status_code == 404
                and response.get("Content-Type", "").startswith("text/html")
                and not request.path.startswith("/api/")):
            from django.shortcuts import render

            message = getattr(request, "_edc_not_found", "")
            return render(request, "404.html", {"exception": message, "request_path": request.path}, status=404)
        return response

    def process_exception(self, request, exception):
        from django.http import Http404

        if isinstance(exception, Http404):
            request._edc_not_found = str(exception)  # shown on the page; Django then answers 404 as usual
        return None
