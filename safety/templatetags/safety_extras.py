from django import template
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from safety.rules import ctcae_term_display, grading_driver_display, grading_rule_display

register = template.Library()


@register.filter
def model_label(instance) -> str:
    """`app_label.modelname`, as the audit-trail URL takes it."""
    return instance._meta.label_lower


@register.filter
def grade_class(grade) -> str:
    """Bootstrap badge colour for a grade: grey none, yellow 1–2, red 3 and above."""
    if not grade:
        return "text-bg-secondary"
    return "text-bg-warning" if grade < 3 else "text-bg-danger"


#: A choice code in a table cell: a word or two (the form shows the full label).
SHORT_LABELS = {
    "none": _("none"),
    "fluids": _("fluids"),
    "one_vasopressor": _("one vasopressor"),
    "multiple_vasopressors": _("multiple vasopressors"),
    "low_flow": _("low flow"),
    "high_flow": _("high flow"),
    "positive_pressure": _("positive pressure"),
    "normal": _("normal"),
    "spontaneous": _("spontaneous"),
    "voice": _("voice"),
    "tactile": _("tactile"),
    "unarousable": _("unarousable"),
    "rapidly_resolving": _("rapidly resolving"),
    "prolonged_or_repetitive": _("prolonged or repetitive"),
    "focal": _("focal"),
    "diffuse": _("diffuse"),
}


@register.filter
def words(code) -> str:
    """A choice code as words in the reader's language: one_vasopressor → one vasopressor."""
    label = SHORT_LABELS.get(str(code))
    return str(label) if label is not None else str(code).replace("_", " ")


@register.filter
def rule_text(rule) -> str:
    """A stored grading rule (English) in the reader's language."""
    return grading_rule_display(rule or "")


@register.filter
def driver_text(driver) -> str:
    """A stored grading driver (English) in the reader's language."""
    return grading_driver_display(driver or "")


@register.filter
def ctcae_term(term) -> str:
    """A CTCAE term as shown: bilingual in Chinese, as stored in English."""
    return ctcae_term_display(term or "")


@register.filter
def treatment_text(treatment) -> str:
    """A CRS episode's treatment (stored in English) in the reader's language."""
    return gettext(treatment) if treatment else ""
