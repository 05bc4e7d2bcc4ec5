"""Entry forms of the safety CRFs. They collect and shape input; the checks
and the grades are the services' and the rules' (safety/services.py, rules.py)."""
from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf.forms import CrfEntryForm as BaseCrfEntryForm
from crf.forms import LabelledMultiWidget

from .models import AdverseEvent, CrsAssessment, IcansAssessment, SaeReport
from .rules import CAPD_ITEM_COUNT, CTCAE_SOC_BY_TERM, CTCAE_TERMS, SeriousnessCriterion, ctcae_term_display
from .services import ICE_ITEMS

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

#: CAPD items as (label, reverse-scored). Items 1–4 score never = 4 … always = 0.
CAPD_ITEMS = (
    (_("Does the child make eye contact with the caregiver?"), True),
    (_("Are the child's actions purposeful?"), True),
    (_("Is the child aware of his/her surroundings?"), True),
    (_("Does the child communicate needs and wants?"), True),
    (_("Is the child restless?"), False),
    (_("Is the child inconsolable?"), False),
    (_("Is the child underactive — very little movement while awake?"), False),
    (_("Does it take the child a long time to respond to interactions?"), False),
)
_FREQUENCIES = (_("Never"), _("Rarely"), _("Sometimes"), _("Often"), _("Always"))


def capd_field_name(number: int) -> str:
    return f"capd_item_{number}"


def capd_item_choices(*, reverse: bool) -> list[tuple[int | str, str]]:
    """One CAPD item's answers with their scores (items 1–4 scored in reverse: never = 4 … always = 0)."""
    scores = range(4, -1, -1) if reverse else range(5)
    return [("", "—")] + [(score, f"{word} ({score})") for word, score in zip(_FREQUENCIES, scores, strict=True)]


class CapdItemsField(forms.MultiValueField):
    """The eight CAPD item scores as one value (a list of 0–4), for a query's correction: on the page one
    choice per item, in the API the list of eight scores."""

    def __init__(self, **kwargs):
        fields = [forms.TypedChoiceField(coerce=int, choices=capd_item_choices(reverse=reverse), required=False)
                  for _label, reverse in CAPD_ITEMS]
        widget = LabelledMultiWidget([forms.Select(choices=field.choices, attrs={"class": "form-select"})
                                      for field in fields],
                                     labels=[f"{number}. {label}" for number, (label, _reverse)
                                             in enumerate(CAPD_ITEMS, start=1)],
                                     decompress=lambda items: list(items or [None] * CAPD_ITEM_COUNT))
        super().__init__(fields=fields, widget=widget, require_all_fields=False, required=False, **kwargs)

    def clean(self, value):
        if isinstance(value, list | tuple) and len(value) != CAPD_ITEM_COUNT:
            raise ValidationError(gettext("CAPD has %(expected)s items: give a score for each (%(given)s given).")
                                  % {"expected": CAPD_ITEM_COUNT, "given": len(value)})
        return super().clean(value)

    def compress(self, data_list):
        items = [None if item in (None, "") else item for item in data_list] or [None] * CAPD_ITEM_COUNT
        if None in items:
            raise ValidationError(gettext("Score every CAPD item (0–4)."))
        return items


def capd_items_correction_field(crf) -> forms.Field:
    """`IcansAssessment.structured_fields`: the eight CAPD item scores."""
    return CapdItemsField()


def seriousness_criteria_field() -> forms.Field:
    """The ICH E2A seriousness criteria an event meets, as ticks (the AE form's field and a query's correction)."""
    return forms.TypedMultipleChoiceField(label=_("Seriousness criteria"), choices=SeriousnessCriterion.choices,
                                          widget=forms.CheckboxSelectMultiple, required=False)


def seriousness_criteria_correction_field(crf) -> forms.Field:
    """`AdverseEvent.structured_fields`."""
    return seriousness_criteria_field()


class CrfEntryForm(BaseCrfEntryForm, forms.ModelForm):
    """A safety CRF form: the reason for change hidden on a new entry."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.fields["reason"].widget = forms.HiddenInput()


class GradedEntryForm(CrfEntryForm):
    # The grade the user was shown; saving needs it to equal the recomputed grade.
    previewed_grade = forms.IntegerField(required=False, widget=forms.HiddenInput())


class CrsAssessmentForm(GradedEntryForm):
    class Meta:
        model = CrsAssessment
        fields = [
            "assessment_date", "max_temperature_c", "fever_masked", "hypotension", "hypoxia",
            "tocilizumab_dose_mg", "tocilizumab_given_on", "corticosteroid", "corticosteroid_dose_mg",
            "corticosteroid_given_on",
        ]
        widgets = {
            "assessment_date": DATE, "tocilizumab_given_on": DATE, "corticosteroid_given_on": DATE,
            "hypotension": forms.RadioSelect, "hypoxia": forms.RadioSelect,
        }


class IcansAssessmentForm(GradedEntryForm):
    """ICE items for patients 12 and over; CAPD's eight items for children under 12."""

    class Meta:
        model = IcansAssessment
        fields = [
            "assessment_date", *ICE_ITEMS, "unable_to_assess", "consciousness", "seizure", "motor_weakness",
            "cerebral_edema",
        ]
        widgets = {"assessment_date": DATE, "consciousness": forms.RadioSelect, "seizure": forms.RadioSelect,
                   "cerebral_edema": forms.RadioSelect}

    def __init__(self, *args, child: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.child = child
        maxima = {"ice_orientation": 4, "ice_naming": 3, "ice_following_commands": 1, "ice_writing": 1,
                  "ice_attention": 1}
        for name, maximum in maxima.items():
            field = self.fields[name]
            field.widget.attrs.update({"min": 0, "max": maximum})
            field.help_text = f"0–{maximum}"
        if child:
            for name in ICE_ITEMS:
                del self.fields[name]
            stored = self.instance.capd_items or [None] * CAPD_ITEM_COUNT
            for number, (label, reverse) in enumerate(CAPD_ITEMS, start=1):
                self.fields[capd_field_name(number)] = forms.TypedChoiceField(
                    label=f"{number}. {label}", coerce=int, required=False,
                    choices=capd_item_choices(reverse=reverse), initial=stored[number - 1],
                )
            self.fields["unable_to_assess"].label = _("Unable to perform CAPD (unarousable)")
        else:
            self.fields["unable_to_assess"].label = _("Unable to assess ICE (unarousable)")
        # Keep the page's order: the score items, then the other domains.
        order = list(self.fields)
        self.order_fields(
            ["assessment_date"] + [name for name in order if name.startswith(("ice_", "capd_"))]
            + [name for name in order if not name.startswith(("ice_", "capd_")) and name != "assessment_date"]
        )

    def clean(self):
        cleaned = super().clean()
        if self.child:
            items = [cleaned.get(capd_field_name(number)) for number in range(1, CAPD_ITEM_COUNT + 1)]
            given = [item for item in items if item not in (None, "")]
            if given and len(given) < CAPD_ITEM_COUNT:
                for number, item in enumerate(items, start=1):
                    if item in (None, ""):
                        self.add_error(capd_field_name(number),
                                       gettext("Score every CAPD item, or tick 'unable to perform'."))
            self.instance.capd_items = items if len(given) == CAPD_ITEM_COUNT else None
            if not given:
                self.instance.capd_score = None
        else:
            # Recomputed from the items by the service; a stale total must not survive an edit.
            self.instance.ice_score = None
        return cleaned


def _datalist_label(term: str, soc: str) -> str:
    """What the list shows beside a term: its system organ class; in Chinese the term's name first."""
    shown = ctcae_term_display(term)
    return gettext(soc) if shown == term else f"{shown} · {gettext(soc)}"


class CtcaeTermInput(forms.TextInput):
    """A text box with the CTCAE terms as an HTML datalist: searchable without JavaScript."""

    def __init__(self, attrs=None):
        super().__init__({"list": "ctcae-terms", "autocomplete": "off", **(attrs or {})})

    def render(self, name, value, attrs=None, renderer=None):
        options = format_html_join("", '<option value="{}">{}</option>',
                                   ((term, _datalist_label(term, soc)) for term, soc in CTCAE_TERMS))
        datalist = format_html('<datalist id="ctcae-terms">{}</datalist>', options)
        return super().render(name, value, attrs, renderer) + datalist


class AdverseEventForm(CrfEntryForm):
    term = forms.CharField(
        label=_("CTCAE v5 term"), widget=CtcaeTermInput,
        help_text=_("Type to search the CTCAE v5 terms; the system organ class follows from the term."),
    )
    seriousness_criteria = seriousness_criteria_field()

    class Meta:
        model = AdverseEvent
        fields = [
            "term", "meddra_code", "grade", "onset_date", "resolution_date", "serious", "seriousness_criteria",
            "aware_at", "relatedness_cart", "relatedness_lymphodepletion", "action_taken", "action_taken_other",
            "outcome", "death_date",
        ]
        widgets = {
            "onset_date": DATE, "resolution_date": DATE, "death_date": DATE, "aware_at": DATETIME,
            "grade": forms.Select(choices=[("", "—")] + [(grade, grade) for grade in range(1, 6)]),
        }

    def clean_term(self):
        typed = self.cleaned_data["term"].strip()
        by_lower = {term.lower(): term for term in CTCAE_SOC_BY_TERM}
        if typed.lower() not in by_lower:
            raise ValidationError(gettext("'%(term)s' is not a CTCAE v5 term of this study's list; pick one from the "
                                          "list.") % {"term": typed})
        return by_lower[typed.lower()]


class SaeReportForm(forms.ModelForm):
    class Meta:
        model = SaeReport
        fields = ["kind", "sent_at", "notes"]
        widgets = {"sent_at": DATETIME, "notes": forms.Textarea(attrs={"rows": 2})}
