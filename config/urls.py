from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from home.views import api_token_revoke, api_tokens, healthz, home
from trial.auth import LoginView

urlpatterns = [
    path("", home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/tokens/", api_tokens, name="api_tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", api_token_revoke, name="api_token_revoke"),
    path("patients/", include("patients.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("", include("infusions.urls")),
    path("", include("visits.urls")),
    path("outcomes/", include("outcomes.urls")),
    path("safety/", include("safety.urls")),
    path("api/v1/", include("config.api")),
    path("admin/", admin.site.urls),
]
