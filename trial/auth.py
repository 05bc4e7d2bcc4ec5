"""The login page: a password, plus a one-time code for users who enrolled an
authenticator — the rule is `trial.two_factor.sign_in_second_factor`, shared with
the API token endpoint. Failed sign-ins are throttled by django-axes
(trial/lockout.py): a wrong password through its authentication backend, a
missing or wrong code through the rule."""
import drf_spectacular.authentication
import rest_framework.authentication
from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login
from django_otp.models import Device
from rest_framework import exceptions

from .two_factor import session_second_factor_missing, sign_in_second_factor

SESSION_NOT_VERIFIED = gettext_lazy(
    "This session was signed in without your authenticator code (it was enrolled since): sign out, and sign "
    "in again with the code.")


class LoginForm(AuthenticationForm):
    otp_token = forms.CharField(
        required=False, label=gettext_lazy("Authenticator code"),
        help_text=gettext_lazy("Only if you have enrolled an authenticator app."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    otp_device: Device | None = None

    def clean(self):
        cleaned = super().clean()  # the password: a wrong one stops here, counted by axes
        user = self.get_user()
        if user is not None:
            self.otp_device = sign_in_second_factor(user=user, otp_token=cleaned.get("otp_token", ""),
                                                    request=self.request)
        return cleaned


class LoginView(auth_views.LoginView):
    form_class = LoginForm

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.otp_device is not None:
            otp_login(self.request, form.otp_device)  # the session is now OTP-verified
        return response


class SessionAuthentication(rest_framework.authentication.SessionAuthentication):
    """DRF's session authentication (the API from a signed-in browser), refusing a session that did not
    pass the second factor its user now has (trial.two_factor.session_second_factor_missing)."""

    def authenticate(self, request):
        authenticated = super().authenticate(request)
        if authenticated is not None and session_second_factor_missing(authenticated[0]):
            raise exceptions.AuthenticationFailed(SESSION_NOT_VERIFIED)
        return authenticated


class SessionScheme(drf_spectacular.authentication.SessionScheme):
    """The schema names this session authentication as DRF's (a cookie)."""

    target_class = "trial.auth.SessionAuthentication"
