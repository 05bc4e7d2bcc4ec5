"""Forms of screening, baseline and the patient list. They collect input;
the services decide (eligibility, enrollment, hard checks)."""
from django import forms
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from crf.forms import CrfEntryForm, LabelledMultiWidget, reason_for_change_field

from .models import BaselineCRF, PatientStatus, PhStatus

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
YES_NO = [("", "—"), ("true", _("Yes")), ("false", _("No"))]


def _answer_to_bool(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value)


def _bool_to_answer(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def criterion_choices(criterion) -> list[tuple[str, str]]:
    """The answers to one eligibility criterion, worded for its kind."""
    if criterion.kind == "inclusion":
        return [("true", _("Met")), ("false", _("Not met")), ("", _("Not yet assessed"))]
    return [("false", _("Absent")), ("true", _("Present")), ("", _("Not yet assessed"))]


def criterion_label(criterion) -> str:
    # The protocol's own criteria (seeded in English) in the reader's language; a criterion typed for an
    # amendment as typed (`EligibilityCriterion.display_text`).
    return _("%(kind)s: %(text)s") % {"kind": criterion.get_kind_display(), "text": criterion.display_text}


def _reason_when_submitted(form: CrfEntryForm, *, required: bool) -> None:
    """A submitted form changes with a reason, required here as `crf_save` requires it; a new or draft
    form has none to give."""
    if required:
        form.fields["reason"] = reason_for_change_field(required=True)
    else:
        del form.fields["reason"]


class ScreeningForm(CrfEntryForm):
    """Consent and one yes/no/not-yet question per eligibility criterion of
    the protocol version (trial.EligibilityCriterion), built from the data;
    the CRF entry base gives the loaded version, the reason for change and
    the acknowledgement of a failed soft check."""

    site = forms.ModelChoiceField(queryset=None, empty_label=None, label=_("Site"))
    screening_date = forms.DateField(widget=DATE_INPUT, label=_("Screening date"))
    consent_date = forms.DateField(widget=DATE_INPUT, label=_("Consent date"),
                                   help_text=_("Date written informed consent was signed."))

    def __init__(self, *args, criteria, sites=None, reason_required=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        if sites is None:
            del self.fields["site"]
        else:
            self.fields["site"].queryset = sites
        for criterion in self.criteria:
            self.fields[f"criterion_{criterion.code}"] = forms.ChoiceField(
                label=criterion_label(criterion), choices=criterion_choices(criterion),
                widget=forms.RadioSelect, required=False, initial="",
            )
        _reason_when_submitted(self, required=reason_required)

    @staticmethod
    def initial_from(screening) -> dict:
        initial = {"screening_date": screening.screening_date, "consent_date": screening.consent_date}
        for code, answer in screening.eligibility.items():
            initial[f"criterion_{code}"] = _bool_to_answer(answer)
        return initial

    def eligibility(self) -> dict[str, bool | None]:
        return {c.code: _answer_to_bool(self.cleaned_data.get(f"criterion_{c.code}", "")) for c in self.criteria}

    def criterion_fields(self):
        return [self[f"criterion_{criterion.code}"] for criterion in self.criteria]


class EligibilityAnswersField(forms.MultiValueField):
    """The eligibility answers as one value, criterion code → True / False / None (not yet assessed), for a
    query's correction: on the page one row of choices per criterion of the protocol version, in the API the
    object the screening takes (`{"code": true, …}`). Criteria not given are not yet assessed."""

    def __init__(self, *, criteria, **kwargs):
        criteria = list(criteria)
        self.codes = [criterion.code for criterion in criteria]
        fields = [forms.ChoiceField(choices=criterion_choices(criterion), required=False) for criterion in criteria]
        widget = LabelledMultiWidget([forms.RadioSelect(choices=field.choices, attrs={"class": "form-check-input"})
                                      for field in fields],
                                     labels=[criterion_label(criterion) for criterion in criteria],
                                     decompress=self.answer_choices)
        super().__init__(fields=fields, widget=widget, require_all_fields=False, required=False, **kwargs)

    def answer_choices(self, answers: dict | None) -> list[str]:
        return [_bool_to_answer((answers or {}).get(code)) for code in self.codes]

    def clean(self, value):
        if isinstance(value, dict):
            unknown = sorted(str(code) for code in value if code not in self.codes)
            if unknown:
                raise forms.ValidationError(_("Unknown eligibility criteria: %(codes)s."),
                                            params={"codes": ", ".join(unknown)})
            if any(not (answer is None or isinstance(answer, bool)) for answer in value.values()):
                raise forms.ValidationError(_("Answer each criterion with true, false or null (not yet assessed)."))
            value = self.answer_choices(value)
        return super().clean(value)

    def compress(self, data_list):
        answers = list(data_list) + [""] * (len(self.codes) - len(data_list))
        return {code: _answer_to_bool(answer) for code, answer in zip(self.codes, answers, strict=True)}


def eligibility_correction_field(crf) -> forms.Field:
    """`ScreeningCRF.structured_fields`: the answers to the criteria of the form's protocol version."""
    return EligibilityAnswersField(criteria=crf.protocol.eligibility_criteria.all())


class BaselineForm(CrfEntryForm, forms.ModelForm):
    """Demographics, weight and height, disease status. The disease status is
    required here (the API may send it later; the CRF is a draft until then)."""

    prior_hsct = forms.TypedChoiceField(label=_("Prior allogeneic HSCT"), choices=YES_NO, coerce=_answer_to_bool)
    prior_blinatumomab = forms.TypedChoiceField(label=_("Prior blinatumomab"), choices=YES_NO, coerce=_answer_to_bool)
    prior_inotuzumab = forms.TypedChoiceField(
        label=_("Prior inotuzumab ozogamicin"), choices=YES_NO, coerce=_answer_to_bool)
    ph_status = forms.ChoiceField(label=_("Ph / BCR-ABL1 status"), choices=[("", "—"), *PhStatus.choices])

    class Meta:
        model = BaselineCRF
        fields = [
            "assessment_date", "sex", "birth_date", "weight_kg", "height_cm", "bone_marrow_blasts_percent",
            "mrd_percent",
            "extramedullary_sites", "ph_status", "prior_lines_of_therapy", "prior_hsct", "prior_blinatumomab",
            "prior_inotuzumab",
        ]
        widgets = {"birth_date": DATE_INPUT, "assessment_date": DATE_INPUT}
        labels = {"weight_kg": _("Weight (kg)"), "height_cm": _("Height (cm)")}

    def __init__(self, *args, reason_required=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bone_marrow_blasts_percent"].required = True
        self.fields["prior_lines_of_therapy"].required = True
        for name in ("prior_hsct", "prior_blinatumomab", "prior_inotuzumab"):
            value = getattr(self.instance, name, None)
            self.initial[name] = "" if value is None else ("true" if value else "false")
        _reason_when_submitted(self, required=reason_required)

    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


SORTS = {
    "subject": ("site__code", "subject_id", "screening_number"),
    "site": ("site__code", "status", "subject_id", "screening_number"),
    "status": ("status", "site__code", "subject_id", "screening_number"),
    "consent": ("screening__consent_date", "pk"),
    "day0": ("infusion_date", "pk"),
}


SORT_COLUMNS = [("subject", _("Subject")), ("site", _("Site")), ("status", _("Status")), ("consent", _("Consent")),
                ("day0", _("Day 0 (infusion)"))]


class PatientListFilter(forms.Form):
    q = forms.CharField(label=_("Subject or screening ID"), required=False)
    site = forms.ModelChoiceField(queryset=None, required=False, to_field_name="code", empty_label=_("All sites"),
                                  label=_("Site"))
    status = forms.ChoiceField(choices=[("", _("All statuses")), *PatientStatus.choices], required=False,
                               label=_("Status"))
    sort = forms.ChoiceField(
        choices=[(key, key) for key in SORTS] + [(f"-{key}", f"-{key}") for key in SORTS], required=False)
    per_page = forms.TypedChoiceField(choices=[(25, 25), (50, 50), (100, 100)], coerce=int, required=False,
                                      empty_value=50)

    def __init__(self, data=None, *, sites, **kwargs):
        if data is not None and not data.get("per_page"):
            data = data.copy()
            data["per_page"] = "50"
        super().__init__(data, **kwargs)
        self.fields["site"].queryset = sites
        for field in self.fields.values():
            css = ("form-select form-select-sm" if isinstance(field.widget, forms.Select)
                   else "form-control form-control-sm")
            field.widget.attrs["class"] = css

    def apply(self, patients):
        data = self.cleaned_data if self.is_valid() else {}
        if query := (data.get("q") or "").strip():
            from django.db.models import Q

            patients = patients.filter(Q(subject_id__icontains=query) | Q(screening_number__icontains=query))
        if site := data.get("site"):
            patients = patients.filter(site=site)
        if status := data.get("status"):
            patients = patients.filter(status=status)
        sort = data.get("sort") or "subject"
        descending = sort.startswith("-")
        # Blanks (no subject ID yet, no infusion yet) last either way, on every database.
        order = [
            F(name).desc(nulls_last=True) if descending else F(name).asc(nulls_last=True)
            for name in SORTS[sort.lstrip("-")]
        ]
        return patients.order_by(*order)
