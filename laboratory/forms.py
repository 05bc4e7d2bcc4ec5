"""The laboratory entry page: the collection date and, per analyte, a value and the unit it was reported in
(an empty value: not measured in this draw)."""
from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crf.forms import CrfEntryForm

from .rules import ANALYTES, Analyte, unit_choices
from .services import ResultEntry

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def value_field(analyte: str) -> str:
    return f"{analyte}_value"


def unit_field(analyte: str) -> str:
    return f"{analyte}_unit"


class LaboratoryForm(CrfEntryForm):
    collection_date = forms.DateField(label=_("Collection date"), widget=DATE_INPUT,
                                      help_text=_("Date the blood was drawn."))

    def __init__(self, *args, laboratory=None, editing: bool = False, **kwargs):
        stored = {row.analyte: row for row in laboratory.results.all()} if laboratory is not None else {}
        initial = kwargs.pop("initial", {}) or {}
        if laboratory is not None:
            initial["collection_date"] = laboratory.collection_date
        for analyte, row in stored.items():
            initial[value_field(analyte)] = row.value.normalize() if row.value is not None else None
            initial[unit_field(analyte)] = row.unit
        super().__init__(*args, crf=laboratory, initial=initial, **kwargs)
        if not editing:
            del self.fields["reason"]
        for analyte in ANALYTES:
            label = Analyte(analyte).label
            self.fields[value_field(analyte)] = forms.DecimalField(
                label=label, required=False, max_digits=13, decimal_places=3, min_value=0)
            # The canonical unit is preselected, as the page's select shows it.
            self.fields[unit_field(analyte)] = forms.ChoiceField(
                label=gettext("%(analyte)s unit") % {"analyte": label},
                choices=[(unit, unit) for unit in unit_choices(analyte)], required=False,
                initial=ANALYTES[analyte].canonical_unit)

    def clean(self):
        cleaned = super().clean()
        for analyte, spec in ANALYTES.items():  # no unit chosen: the canonical one, as the select shows first
            cleaned[unit_field(analyte)] = cleaned.get(unit_field(analyte)) or spec.canonical_unit
        return cleaned

    def analyte_rows(self):
        """(analyte label, value field, unit field) for each analyte: one row of the page's table."""
        return [(Analyte(analyte).label, self[value_field(analyte)], self[unit_field(analyte)])
                for analyte in ANALYTES]

    def results(self) -> list[ResultEntry]:
        return [ResultEntry(analyte, self.cleaned_data[value_field(analyte)], self.cleaned_data[unit_field(analyte)])
                for analyte in ANALYTES if self.cleaned_data.get(value_field(analyte)) is not None]

    @staticmethod
    def renamed() -> dict[str, str]:
        """A service error on an analyte shows on its value."""
        return {analyte: value_field(analyte) for analyte in ANALYTES} | {"results": "__all__"}
