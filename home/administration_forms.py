"""Forms of the administrator's pages. They collect values; `trial.accounts` checks and writes."""
from django import forms
from django.contrib.auth import get_user_model

from trial.accounts import AMENDABLE_FIELDS
from trial.models import Protocol, Role, Site

_DATE = forms.DateInput(attrs={"type": "date"})


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=1000, widget=forms.Textarea(attrs={"rows": 2}), label="Reason",
        help_text="Kept on the audit trail with your name and the time.")


class MembershipFields(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    site = forms.ModelChoiceField(
        queryset=Site.objects.all(), required=False, empty_label="— (all sites: data manager, administrator)",
        help_text="Coordinators, investigators and monitors work at a site.")


class UserInviteForm(MembershipFields, ReasonForm):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField(label="E-mail", help_text="The invitation with a link to choose a password goes here.")

    field_order = ["username", "first_name", "last_name", "email", "role", "site", "reason"]

    def clean_username(self):
        username = self.cleaned_data["username"]
        get_user_model().username_validator(username)
        return username


class UserDetailsForm(ReasonForm):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    email = forms.EmailField(label="E-mail", required=False)

    field_order = ["first_name", "last_name", "email", "reason"]


class MembershipGrantForm(MembershipFields, ReasonForm):
    field_order = ["role", "site", "reason"]


class SiteForm(ReasonForm):
    code = forms.CharField(max_length=8, help_text="Prefix of the subject IDs enrolled here, such as SZ.")
    name = forms.CharField(max_length=200)
    location = forms.CharField(max_length=200, required=False)
    require_two_factor_for_signing = forms.BooleanField(
        required=False, label="Investigators sign with an authenticator code as well as their password")

    field_order = ["code", "name", "location", "require_two_factor_for_signing", "reason"]


class ProtocolAmendmentForm(ReasonForm):
    """A new version: every amendable number, pre-filled from the version it amends."""

    version = forms.CharField(max_length=20)
    effective_date = forms.DateField(widget=_DATE)

    def __init__(self, *args, base: Protocol, **kwargs):
        super().__init__(*args, **kwargs)
        for name in AMENDABLE_FIELDS:
            model_field = Protocol._meta.get_field(name)
            self.fields[name] = model_field.formfield()
            self.initial.setdefault(name, getattr(base, name))
        self.order_fields(["version", "effective_date", *AMENDABLE_FIELDS, "reason"])

    def amended_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in AMENDABLE_FIELDS}

