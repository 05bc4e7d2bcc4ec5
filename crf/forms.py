from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from trial.roles import can_enter_data


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


# One length for both reasons a CRF page asks for (the history keeps the reason for change as text).
REASON_MAX_LENGTH = 300


def reason_for_change_field(*, required: bool = False) -> forms.CharField:
    """The reason for changing a submitted form: one name (`reason`), one label, one length, on every CRF page."""
    return forms.CharField(
        label=_("Reason for change"), required=required, max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("This form is submitted: say why it changes (the audit trail keeps it).") if required
        else _("Required when changing a submitted form."),
    )


class CrfEntryForm(CrfVersionMixin, forms.Form):
    """The base of every CRF entry form: the loaded version (`CrfVersionMixin`), the reason for
    change, and the acknowledgement of failed soft checks with its reason, which the service
    hands to `crf.services.crf_record`. A model form adds `forms.ModelForm` after it."""

    reason = reason_for_change_field()
    acknowledge_deviation = forms.BooleanField(
        label=_("I acknowledge the protocol deviation(s) above"), required=False,
    )
    deviation_reason = forms.CharField(
        label=_("Reason for the deviation"), required=False, max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    DEVIATION_FIELDS = ("acknowledge_deviation", "deviation_reason")

    @property
    def main_fields(self):
        return [field for field in self.visible_fields() if field.name not in self.DEVIATION_FIELDS]

    @property
    def deviation_fields(self):
        return [self[name] for name in self.DEVIATION_FIELDS]

    @property
    def show_deviation(self) -> bool:
        """The acknowledgement appears once a soft check has failed (or was already ticked)."""
        return bool(self.errors.get("acknowledge_deviation")) or self.data.get("acknowledge_deviation") in (
            "on", "true", "1")


def crf_page_may_edit(request, *, site, editing: bool) -> bool:
    """Whether the user may change a CRF page's record at the site (coordinators and investigators of the site,
    `trial.roles.can_enter_data`). The others read a stored form and nothing more: their POST, or their asking
    for a new form, is refused (403) with the message every CRF page gives."""
    may_edit = can_enter_data(request.user, site)
    if request.method == "POST" and not may_edit:
        raise PermissionDenied(gettext("Monitors and data managers are read-only on clinical data."))
    if not editing and not may_edit:
        raise PermissionDenied(gettext("Only coordinators and investigators of this site enter data."))
    return may_edit


def crf_form_read_only(form: forms.BaseForm | None, crf) -> str:
    """Why the form's record may not be changed now ("" when it may: `crf.services.crf_lock_reason`, which
    names who locked it and why). A locked form is shown read-only from the start: every field is disabled,
    so the page shows the stored values and a stale page's POST changes nothing; the template shows the
    reason (`crf/_lock_notice.html`) instead of its Save button. ``crf`` may be a new, unsaved form with its
    patient (and visit) set: a locked patient, visit or trial takes no new forms either."""
    from .services import crf_lock_reason

    reason = crf_lock_reason(crf)
    if reason and form is not None:
        for field in form.fields.values():
            field.disabled = True
    return reason


class LabelledMultiWidget(forms.MultiWidget):
    """One widget per part of a structured value (a criterion's answer, an item's score), each in a
    fieldset with its label, so a screen reader names the part a choice answers."""

    template_name = "crf/widgets/labelled_multiwidget.html"

    def __init__(self, widgets: Sequence[forms.Widget], *, labels: Sequence[str],
                 decompress: Callable[[Any], list[Any]], attrs: dict[str, Any] | None = None):
        self.labels = list(labels)
        self.parts = decompress
        super().__init__(widgets, attrs)

    def decompress(self, value: Any) -> list[Any]:
        return self.parts(value)

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        # The page's styling class for one input (crispy's form-control) fits no radio; each part keeps its own.
        attrs = {key: item for key, item in (attrs or {}).items() if key != "class"}
        context = super().get_context(name, value, attrs)
        for subwidget, label in zip(context["widget"]["subwidgets"], self.labels, strict=True):
            subwidget["label"] = label
        return context


def million_cells_field(*, label: Any, required: bool = True) -> forms.DecimalField:
    """A count of cells typed in ×10⁶ (240 for 240 000 000), as release certificates and the protocol's dose
    state them; six decimals keep every whole cell count exact both ways (`crf.display.cells_from_millions`,
    `cells_in_millions`). The infusion form and the query answer page type cells with it."""
    return forms.DecimalField(
        required=required, min_value=Decimal("0"), max_digits=18, decimal_places=6, label=label,
        widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
    )


def correction_form_field(crf: Any, field_name: str) -> forms.Field:
    """The form field that types a query's new value for one correctable field of ``crf``: the model
    field's own, or for a list or table the form's structured field (`CaseReportForm.structured_fields`).
    Refuses a field that may not be corrected (`crf.services.crf_correctable_field`)."""
    from .services import crf_correctable_field

    model_field = crf_correctable_field(crf, field_name)
    path = type(crf).structured_fields.get(field_name)
    field = import_string(path)(crf) if path else model_field.formfield()
    if field is None:
        raise forms.ValidationError({"new_value": gettext("This value cannot be corrected through a query.")})
    return field
