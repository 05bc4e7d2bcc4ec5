from django import template
from django.utils.translation import gettext, gettext_noop

from .. import display

register = template.Library()

#: The status codes a timeline event carries (a CRF's or a visit's), as `code_label` shows them.
STATUS_LABELS = (
    gettext_noop("Draft"), gettext_noop("Submitted"), gettext_noop("Verified"), gettext_noop("Signed"),
    gettext_noop("Locked"), gettext_noop("Scheduled"), gettext_noop("Due"), gettext_noop("Overdue"),
    gettext_noop("Missed"), gettext_noop("Done"), gettext_noop("Not expected"),
)


@register.filter
def code_label(code: str) -> str:
    """`not_expected` → `Not expected`: a status code as a reader sees it, in the reader's language."""
    code = str(code or "")
    return gettext(code.replace("_", " ").capitalize()) if code else ""


@register.filter
def visit_name(name: str) -> str:
    """A protocol visit's name ("Day 28") in the reader's language."""
    return display.visit_name(name)


@register.filter
def visit_status_reason(reason: str) -> str:
    """The reason the system wrote beside a visit's status, in the reader's language."""
    return display.visit_status_reason(reason)
