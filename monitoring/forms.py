from django import forms


class QueryRaiseForm(forms.Form):
    field = forms.ChoiceField(label="Field")
    text = forms.CharField(label="Query", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)

    def __init__(self, *args, rows=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [(row["name"], row["label"]) for row in rows]


class QueryAnswerForm(forms.Form):
    text = forms.CharField(label="Answer", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    correct_value = forms.BooleanField(label="Correct the value", required=False)
    new_value = forms.CharField(label="New value", required=False, max_length=200,
                                help_text="Dates as YYYY-MM-DD; coded fields by their code.")
    reason = forms.CharField(label="Reason for change", required=False, max_length=300)


class QueryCloseForm(forms.Form):
    text = forms.CharField(label="Comment", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class QueryReopenForm(forms.Form):
    text = forms.CharField(label="Why re-open", widget=forms.Textarea(attrs={"rows": 2}))


class SignForm(forms.Form):
    password = forms.CharField(
        label="Your password", widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Re-entering your password signs with the meaning “Reviewed and approved”.",
    )
    otp_token = forms.CharField(
        label="Authenticator code", required=False, max_length=12,
        help_text="Needed where the site requires two-factor signatures, unless you signed in with your code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class LockForm(forms.Form):
    reason = forms.CharField(label="Reason", required=False, max_length=300)


class UnlockForm(forms.Form):
    reason = forms.CharField(label="Reason for unlocking", max_length=300)


class CasebookBatchForm(forms.Form):
    site = forms.ChoiceField(label="Site", required=False)
    study_ids = forms.CharField(label="Subject IDs", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                help_text="Separated by spaces or commas; leave empty for every patient of the site.")

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "All visible sites")] + [(s.code, str(s)) for s in sites]


class CrfVersionMixin:
    """Every CRF edit form carries, hidden, the version of the form the user
    loaded (0 for a new entry); `crf_save` refuses the save when the stored
    version has moved on since (optimistic concurrency).

    A ModelForm passes it to its instance (`instance.version`); other forms
    are given the record as ``crf`` and the view reads `loaded_version()`."""

    def __init__(self, *args, crf=None, **kwargs):
        super().__init__(*args, **kwargs)
        if crf is None:
            crf = getattr(self, "instance", None)
        self.fields["version"] = forms.IntegerField(
            widget=forms.HiddenInput, required=False, min_value=0,
            initial=crf.version if crf is not None and crf.pk is not None else 0,
        )

    def loaded_version(self) -> int | None:
        """None when the page did not send one (no check beyond the record in hand)."""
        return self.cleaned_data.get("version")

    def _post_clean(self):
        super()._post_clean()
        instance = getattr(self, "instance", None)
        if instance is not None and self.cleaned_data.get("version") is not None:
            instance.version = self.cleaned_data["version"]
