from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_safe
from django.views.generic import RedirectView

from home.views import account_preferences, api_token_revoke, api_tokens, healthz, home
from trial.auth import LoginView

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    # Pages name the icon in <head>; this answers browsers and tools that ask for the old default path.
    path("favicon.ico", require_safe(lambda request: redirect(static("favicon.svg"), permanent=True)),
         name="favicon"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Invitations and password resets sent by an administrator (trial.accounts) land here.
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("administration/", include("home.administration_urls")),
    path("accounts/tokens/", api_tokens, name="api_tokens"),
    path("accounts/preferences/", account_preferences, name="account_preferences"),
    # The login page's language switch (Django's set_language: a cookie, then back to the page).
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/tokens/<int:token_id>/revoke/", api_token_revoke, name="api_token_revoke"),
    path("patients/", include("patients.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("", include("infusions.urls")),
    path("", include("visits.urls")),
    path("outcomes/", include("outcomes.urls")),
    path("", include("laboratory.urls")),
    path("safety/", include("safety.urls")),
    path("submission/", include("submission.urls")),
    path("api/v1/", include("config.api")),
    # The admin signs in at the login page, which asks for the authenticator's code (the admin's own form
    # does not): a password alone must not open the admin, nor a session the pages and the API accept.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True), name="admin_login"),
    path("admin/", admin.site.urls),
]
