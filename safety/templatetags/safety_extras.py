from django import template

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


@register.filter
def words(code) -> str:
    """A choice code as words: one_vasopressor → one vasopressor."""
    return str(code).replace("_", " ")
