from django import template

from laboratory.rules import ctcae_term_display, flag_display
from laboratory.selectors import response_group_label

register = template.Library()


@register.filter
def lab_flag(flag) -> str:
    """A stored H/L flag in the reader's language."""
    return flag_display(flag or "")


@register.filter
def response_group(group) -> str:
    """A response group's key (CR/CRi, No response) in the reader's language."""
    return response_group_label(group)


@register.filter
def ctcae_term(term) -> str:
    """A CTCAE term as shown: bilingual in Chinese, as stored in English."""
    return ctcae_term_display(term or "")
