from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from outcomes.rules import data_cutoff_error

from .models import SubmissionPackage


class PackageForm(forms.Form):
    standard = forms.ChoiceField(label=_("Package"), choices=SubmissionPackage.Standard.choices)
    cutoff = forms.DateField(label=_("Data cut-off"), input_formats=["%Y-%m-%d"],
                             widget=forms.DateInput(attrs={"type": "date"}),
                             help_text=_("Data dated after it are left out and follow-up is censored at it, as "
                                         "on the endpoints page."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cutoff"].initial = timezone.localdate()

    def clean_cutoff(self):
        cutoff = self.cleaned_data["cutoff"]
        if error := data_cutoff_error(cutoff, today=timezone.localdate()):
            raise forms.ValidationError(error)
        return cutoff
