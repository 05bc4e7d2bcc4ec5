from django import forms


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
