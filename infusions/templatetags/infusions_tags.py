"""Cell counts on the infusion's pages read as the form takes them: in ×10⁶ cells."""
from django import template
from django.utils.formats import number_format

from crf.display import cells_in_millions

register = template.Library()


@register.filter
def millions(cells: int | None) -> str:
    """Stored whole cells as ×10⁶ (``350123456`` → ``350.123456``, every cell kept; storage and API keep the
    count), grouped as the reader's language groups numbers (``2,000`` in English, ``2000`` in Chinese)."""
    return "" if cells is None else number_format(cells_in_millions(cells), force_grouping=True)
