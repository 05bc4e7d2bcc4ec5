from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crf.forms import REASON_MAX_LENGTH


class QueryRaiseForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"))
    text = forms.CharField(label=_("Query"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, rows=(), correctable=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Only the form's data-entry fields: a key, the status or a derived value is asked about
        # through the value it comes from.
        self.fields["field"].choices = [(row["name"], row["label"]) for row in rows
                                        if row["name"] in correctable]


class QueryAnswerForm(forms.Form):
    text = forms.CharField(label=pgettext_lazy("query", "Answer"), widget=forms.Textarea(attrs={"rows": 2}),
                           max_length=2000)
    correct_value = forms.BooleanField(label=_("Correct the value"), required=False)
    new_value = forms.CharField(label=_("New value"), required=False, max_length=200,
                                help_text=_("Dates as YYYY-MM-DD; coded fields by their code."))
    reason = forms.CharField(label=_("Reason for change"), required=False, max_length=300,
                             help_text=_("Also the reason for a protocol deviation the new value causes."))
    acknowledge_deviation = forms.BooleanField(
        label=_("I acknowledge the protocol deviation the new value causes"), required=False)

    def __init__(self, *args, value_field: forms.Field | None = None, value: object = None,
                 value_label: object = None, **kwargs):
        """``value_field``: the queried field's own widget, for a list or a table (eligibility answers,
        seriousness criteria, CAPD items), or a count of cells in ×10⁶ (``value_label`` names the unit), shown
        with the stored ``value`` to edit."""
        super().__init__(*args, **kwargs)
        if value_field is not None:
            value_field.label, value_field.help_text, value_field.required = value_label or _("New value"), "", False
            value_field.initial = value
            self.fields["new_value"] = value_field

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("correct_value"):  # no correction: whatever the value widgets hold is not read
            self.errors.pop("new_value", None)
            cleaned["new_value"] = None
        return cleaned


class QueryCloseForm(forms.Form):
    text = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class QueryReopenForm(forms.Form):
    text = forms.CharField(label=_("Why re-open"), widget=forms.Textarea(attrs={"rows": 2}))


class SignForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Re-entering your password signs with the meaning “Reviewed and approved”."),
    )
    otp_token = forms.CharField(
        label=_("Authenticator code"), required=False, max_length=12,
        help_text=_("Needed where the site requires two-factor signatures, unless you signed in with your code."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class LockForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300)


class UnlockForm(forms.Form):
    reason = forms.CharField(label=_("Reason for unlocking"), max_length=300)


class CasebookBatchForm(forms.Form):
    site = forms.ChoiceField(label=_("Site"), required=False)
    study_ids = forms.CharField(
        label=_("Subject IDs"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Separated by spaces or commas; leave empty for every patient of the site."))

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", _("All visible sites"))] + [(s.code, str(s)) for s in sites]


class RemovalForm(forms.Form):
    """Removing a form or a row recorded in error: the reason, and the acknowledgement of a soft check the
    removal makes fail (a dose now missed, a CAR-T dose now outside the range), shown only then."""

    reason = forms.CharField(
        label=_("Reason for removal"), max_length=REASON_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept with the record: it stays in the audit trail, the casebook and the exports, struck through."))
    acknowledge_deviation = forms.BooleanField(label=_("I acknowledge the protocol deviation(s) above"), required=False)
    deviation_reason = forms.CharField(
        label=_("Reason for the deviation"), required=False, max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}), help_text=_("The reason for removal when left empty."))

    @property
    def show_deviation(self) -> bool:
        return bool(self.errors.get("acknowledge_deviation")) or self.data.get("acknowledge_deviation") in (
            "on", "true", "1")
