"""Login: a password, plus a one-time code for users who enrolled an
authenticator (django-otp TOTP devices, added in the admin). Failed logins
are throttled by django-axes through its authentication backend."""
from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.forms import OTPAuthenticationFormMixin


class LoginForm(OTPAuthenticationFormMixin, AuthenticationForm):
    otp_token = forms.CharField(
        required=False, label=_("Authenticator code"),
        help_text=_("Only if you have enrolled an authenticator app."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    otp_error_messages = {
        **OTPAuthenticationFormMixin.otp_error_messages,
        "token_required": _("Enter the 6-digit code from your authenticator app."),
        "invalid_token": _("That authenticator code is wrong or expired; enter the current one."),
    }

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        device = next(devices_for_user(user, confirmed=True), None) if user else None
        if device is not None:
            # The mixin verifies against a chosen device; users have one authenticator.
            cleaned["otp_device"] = device.persistent_id
            self.clean_otp(user)
        return cleaned


class LoginView(auth_views.LoginView):
    form_class = LoginForm

    def form_valid(self, form):
        response = super().form_valid(form)
        device = getattr(form.get_user(), "otp_device", None)
        if device is not None:
            otp_login(self.request, device)  # the session is now OTP-verified
        return response
