"""Forms of the administrator's pages. They collect values; `trial.accounts` checks and writes."""
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from trial.accounts import AMENDABLE_FIELDS
from trial.models import Protocol, Role, Site

_DATE = forms.DateInput(attrs={"type": "date"})


def language_choices(blank_label):
    """The languages, each named in itself (a reader finds theirs whatever the page's language), after the
    blank choice: follow the browser."""
    return [("", blank_label), *settings.LANGUAGES]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=1000, widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"),
        help_text=_("Kept on the audit trail with your name and the time."))


class MembershipFields(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.all(), required=False,
        empty_label=_("— (all sites: data manager, administrator)"),
        help_text=_("Coordinators, investigators and monitors work at a site."))


class UserInviteForm(MembershipFields, ReasonForm):
    username = forms.CharField(label=_("Username"), max_length=150)
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False, help_text=_(
        "Blank for a name written in one piece (李娜), kept whole as the first name."))
    email = forms.EmailField(label=_("E-mail"),
                             help_text=_("The invitation with a link to choose a password goes here."))
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=language_choices(_("Follow the browser")),
        help_text=_("The language of the invitation and of the pages; the user can change it."))

    field_order = ["username", "first_name", "last_name", "email", "language", "role", "site", "reason"]

    def clean_username(self):
        username = self.cleaned_data["username"]
        get_user_model().username_validator(username)
        return username


class UserDetailsForm(ReasonForm):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False, help_text=_(
        "Blank for a name written in one piece (李娜), kept whole as the first name."))
    email = forms.EmailField(label=_("E-mail"), required=False)

    field_order = ["first_name", "last_name", "email", "reason"]


class UserLanguageForm(ReasonForm):
    language = forms.ChoiceField(label=_("Language"), required=False,
                                 choices=language_choices(_("Follow the browser")))

    field_order = ["language", "reason"]


class OwnLanguageForm(forms.Form):
    """A user's own language: no reason asked (the account's trail notes the change)."""

    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=language_choices(_("Follow the browser")),
        help_text=_("The language of the pages, e-mails and PDFs. Following the browser uses the language "
                    "your browser asks for (or the one chosen on the login page)."))


class MembershipGrantForm(MembershipFields, ReasonForm):
    field_order = ["role", "site", "reason"]


class SiteForm(ReasonForm):
    code = forms.CharField(label=_("Code"), max_length=8,
                           help_text=_("Prefix of the subject IDs enrolled here, such as SZ."))
    name = forms.CharField(label=_("Name"), max_length=200)
    location = forms.CharField(label=_("Location"), max_length=200, required=False)
    require_two_factor_for_signing = forms.BooleanField(
        required=False, label=_("Investigators sign with an authenticator code as well as their password"))

    field_order = ["code", "name", "location", "require_two_factor_for_signing", "reason"]


class ProtocolAmendmentForm(ReasonForm):
    """A new version: every amendable number, pre-filled from the version it amends."""

    version = forms.CharField(label=_("Version"), max_length=20)
    effective_date = forms.DateField(label=_("Effective date"), widget=_DATE)

    def __init__(self, *args, base: Protocol, **kwargs):
        super().__init__(*args, **kwargs)
        for name in AMENDABLE_FIELDS:
            model_field = Protocol._meta.get_field(name)
            self.fields[name] = model_field.formfield()
            self.initial.setdefault(name, getattr(base, name))
        self.order_fields(["version", "effective_date", *AMENDABLE_FIELDS, "reason"])

    def amended_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in AMENDABLE_FIELDS}
