from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def percent(value, digits=1):
    """0.775 -> '77.5 %'; None -> '—' (not estimable)."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def months(value):
    """A duration in months, or 'not reached' for None."""
    if value is None:
        return gettext("not reached")
    return f"{float(value):.1f}"


@register.filter
def get(mapping, key):
    return mapping.get(str(key)) if mapping else None
