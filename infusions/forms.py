"""Entry forms. They collect values and turn service errors into field
errors; the plan, verdicts and checks all come from `infusions.services`."""
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from crf.display import cells_from_millions, cells_in_millions
from crf.forms import CrfEntryForm, million_cells_field
from trial.i18n import lazy_message

from . import services
from .rules import Agent, InfusionFraction

#: Fractions offered on the web form (split dosing over up to this many days).
MAX_FRACTIONS = 3

#: Cell counts are typed in ×10⁶ cells (240 for 240 000 000), as release certificates and the protocol's dose
#: state them (`crf.forms.million_cells_field`: six decimals keep every whole cell count exact both ways).


def cells_from_million(value: Decimal | None) -> int | None:
    """240.5 (×10⁶) → 240 500 000 cells (`crf.display.cells_from_millions`)."""
    return None if value is None else cells_from_millions(value)


def million_from_cells(cells: int | None) -> Decimal | None:
    """240 500 000 cells → 240.5 (×10⁶) for the form: the pages read counts the same way
    (`crf.display.cells_in_millions`)."""
    return None if cells is None else cells_in_millions(cells)


def _million_cells_field(*, label, required: bool = True) -> forms.DecimalField:
    return million_cells_field(label=lazy_message(_("%(label)s (×10⁶)"), label=label), required=required)

_DATE = forms.DateInput(attrs={"type": "date"})


class DeviationFields(CrfEntryForm):
    """Acknowledgement of failed soft checks, and the reason for changing a submitted form."""


class LymphodepletionForm(DeviationFields):
    start_date = forms.DateField(widget=_DATE, label=_("Start date (day −5)"))
    weight_kg = forms.DecimalField(max_digits=5, decimal_places=1, label=_("Weight used (kg)"))
    height_cm = forms.DecimalField(max_digits=5, decimal_places=1, label=_("Height used (cm)"))
    creatinine_clearance_ml_min = forms.DecimalField(
        max_digits=5, decimal_places=1, required=False, label=_("Creatinine clearance (mL/min)"),
        help_text=_("Record it when fludarabine is reduced for renal function."),
    )

    def __init__(self, *args, protocol, **kwargs):
        super().__init__(*args, **kwargs)
        self.protocol = protocol
        self.study_days = protocol.lymphodepletion_study_days
        self.agents = list(protocol.lymphodepletion_regimen)
        for day in self.study_days:
            self.fields[services.day_date_field(study_day=day)] = forms.DateField(
                required=False, widget=_DATE,
                label=lazy_message(_("Date given, day %(day)s"), day=services.day_label(day)),
                help_text=_("Leave empty when given on its study day."),
            )
            for agent in self.agents:
                self.fields[services.dose_field(study_day=day, agent=agent)] = forms.DecimalField(
                    required=False, min_value=Decimal("0"), max_digits=7, decimal_places=1,
                    label=lazy_message(_("%(agent)s given, day %(day)s (mg)"), agent=agent_label(agent),
                                       day=services.day_label(day)),
                )

    def dose_entries(self) -> list[services.DoseEntry]:
        data = self.cleaned_data
        return [
            services.DoseEntry(
                study_day=day, agent=agent,
                administered_mg=data.get(services.dose_field(study_day=day, agent=agent)),
                administration_date=data.get(services.day_date_field(study_day=day)),
            )
            for day in self.study_days for agent in self.agents
        ]

    @staticmethod
    def initial_from(course) -> dict:
        initial = {
            "start_date": course.start_date, "weight_kg": course.weight_kg, "height_cm": course.height_cm,
            "creatinine_clearance_ml_min": course.creatinine_clearance_ml_min,
        }
        for dose in course.doses.all():
            initial[services.dose_field(study_day=dose.study_day, agent=dose.agent)] = dose.administered_mg
            if dose.administration_date and dose.administration_date != dose.planned_date:
                initial[services.day_date_field(study_day=dose.study_day)] = dose.administration_date
        return initial


class InfusionForm(DeviationFields):
    product_lot = forms.CharField(max_length=40, label=_("Product lot"))
    manufacture_date = forms.DateField(widget=_DATE, label=_("Manufacture date"))
    total_viable_cells_million = _million_cells_field(label=_("Total viable cells in the lot"))
    viability_percent = forms.DecimalField(max_digits=5, decimal_places=2, label=_("Viability (%)"))
    car_positive_percent = forms.DecimalField(max_digits=5, decimal_places=2, label=_("CAR⁺ (%)"))
    weight_kg = forms.DecimalField(max_digits=5, decimal_places=1, label=_("Weight at infusion (kg)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for number in range(1, MAX_FRACTIONS + 1):
            first = number == 1
            self.fields[f"fraction_{number}_date"] = forms.DateField(
                required=first, widget=_DATE,
                label=_("Infusion date (day 0)") if first else lazy_message(_("Fraction %(number)s date"),
                                                                             number=number),
            )
            self.fields[f"fraction_{number}_cells_million"] = _million_cells_field(
                required=first,
                label=_("CAR⁺ viable cells infused") if first else lazy_message(
                    _("Fraction %(number)s CAR⁺ viable cells"), number=number),
            )

    def clean(self):
        data = super().clean()
        for number in range(2, MAX_FRACTIONS + 1):
            date, cells = data.get(f"fraction_{number}_date"), data.get(f"fraction_{number}_cells_million")
            if (date is None) != (cells is None) and f"fraction_{number}_date" not in self.errors:
                self.add_error(f"fraction_{number}_cells_million" if cells is None else f"fraction_{number}_date",
                               _("Enter both the date and the cells of a fraction, or neither."))
        return data

    def fractions(self) -> list[InfusionFraction]:
        data = self.cleaned_data
        return [
            InfusionFraction(infusion_date=data[f"fraction_{n}_date"],
                             cart_cells_infused=cells_from_million(data[f"fraction_{n}_cells_million"]))
            for n in range(1, MAX_FRACTIONS + 1)
            if data.get(f"fraction_{n}_date") is not None and data.get(f"fraction_{n}_cells_million") is not None
        ]

    def product(self) -> services.ProductEntry:
        data = self.cleaned_data
        return services.ProductEntry(
            lot=data["product_lot"], manufacture_date=data["manufacture_date"],
            total_viable_cells=cells_from_million(data["total_viable_cells_million"]),
            viability_percent=data["viability_percent"],
            car_positive_percent=data["car_positive_percent"],
        )

    @staticmethod
    def initial_from(infusion) -> dict:
        initial = {name: getattr(infusion, name) for name in (
            "product_lot", "manufacture_date", "viability_percent", "car_positive_percent", "weight_kg")}
        initial["total_viable_cells_million"] = million_from_cells(infusion.total_viable_cells)
        for number, fraction in enumerate(infusion.fractions.all(), start=1):
            initial[f"fraction_{number}_date"] = fraction.infusion_date
            initial[f"fraction_{number}_cells_million"] = million_from_cells(fraction.cart_cells_infused)
        return initial

    #: The services' field names for the form's own, so their errors show on the field typed.
    SERVICE_FIELDS = {"total_viable_cells": "total_viable_cells_million"}


def agent_label(agent: str):
    """An agent's name as a label starts it ("Fludarabine"), in the reader's language."""
    try:
        return Agent(agent).label
    except ValueError:
        return agent.capitalize()


def style(form: forms.Form) -> forms.Form:
    """Bootstrap classes for forms laid out by hand (the dose table)."""
    for bound in form.fields.values():
        css = "form-check-input" if isinstance(bound.widget, forms.CheckboxInput) else "form-control form-control-sm"
        bound.widget.attrs.setdefault("class", css)
    return form
