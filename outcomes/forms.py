"""Entry forms for the response assessment and follow-up CRFs.

Forms only collect and shape input: the services derive the response, run
the hard and soft checks and save.
"""
from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf.forms import CrfEntryForm as BaseCrfEntryForm

from .models import EndOfStudy, FollowUp, ResponseAssessment
from .rules import data_cutoff_error, remission_counts_missing
from .services import END_OF_STUDY_FIELDS, FOLLOW_UP_FIELDS, RESPONSE_FIELDS

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class NullBooleanChoice(forms.NullBooleanSelect):
    """Yes / No / Not assessed: a criterion that was not assessed is not a 'No'."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", _("Not assessed")), ("true", _("Yes")), ("false", _("No"))]


class CrfEntryForm(BaseCrfEntryForm, forms.ModelForm):
    """An outcomes CRF form: the reason for change only when editing."""

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["reason"]

    def crf_values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}

    def show_deviation_fields(self) -> bool:
        return self.show_deviation


class ResponseAssessmentForm(CrfEntryForm):
    class Meta:
        model = ResponseAssessment
        fields = list(RESPONSE_FIELDS)
        widgets = {
            "assessment_date": DATE_INPUT,
            "circulating_blasts": NullBooleanChoice,
            "extramedullary_disease": NullBooleanChoice,
            "comments": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        cleaned = super().clean()
        # A remission on the form must say whether counts recovered (CR) or not (CRi):
        # otherwise the response would be "not evaluable" and the patient, who is in
        # remission, would count as a failure in the CR rate.
        try:
            missing = remission_counts_missing(
                bone_marrow_blasts_percent=cleaned.get("bone_marrow_blasts_percent"),
                circulating_blasts=cleaned.get("circulating_blasts"),
                extramedullary_disease=cleaned.get("extramedullary_disease"),
                anc_per_ul=cleaned.get("anc_per_ul"),
                platelets_per_ul=cleaned.get("platelets_per_ul"),
            )
        except ValueError:
            missing = []  # a percentage out of range: the model's validator names the field
        for name in missing:
            self.add_error(name, gettext("The marrow is in remission: enter this count to tell CR from CRi."))
        return cleaned


class FollowUpForm(CrfEntryForm):
    class Meta:
        model = FollowUp
        fields = list(FOLLOW_UP_FIELDS)
        widgets = {
            "contact_date": DATE_INPUT,
            "relapse_date": DATE_INPUT,
            "hsct_date": DATE_INPUT,
            "death_date": DATE_INPUT,
            "subsequent_therapy": forms.Textarea(attrs={"rows": 2}),
            "comments": forms.Textarea(attrs={"rows": 2}),
        }


class EndOfStudyForm(CrfEntryForm):
    class Meta:
        model = EndOfStudy
        fields = list(END_OF_STUDY_FIELDS)
        widgets = {"end_date": DATE_INPUT, "end_reason": forms.RadioSelect,
                   "comments": forms.Textarea(attrs={"rows": 2})}


class EndpointsQueryForm(forms.Form):
    """The endpoints page's choices: the data cut-off (default today) and censoring at HSCT."""

    cutoff = forms.DateField(
        label=_("Data cut-off"), required=False, input_formats=["%Y-%m-%d"], widget=DATE_INPUT,
        help_text=_("Data dated after it are ignored; follow-up is censored at it. Empty: today."),
    )
    censor_at_hsct = forms.BooleanField(label=_("Censor at allogeneic HSCT"), required=False)

    def __init__(self, data, *, today):
        super().__init__(data)
        self.today = today

    def clean_cutoff(self):
        cutoff = self.cleaned_data["cutoff"] or self.today
        if error := data_cutoff_error(cutoff, today=self.today):
            raise forms.ValidationError(error)
        return cutoff
