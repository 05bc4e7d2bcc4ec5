from django import template

register = template.Library()


@register.filter
def code_label(code: str) -> str:
    """`not_expected` → `Not expected`: a status code as a reader sees it."""
    return str(code or "").replace("_", " ").capitalize()
