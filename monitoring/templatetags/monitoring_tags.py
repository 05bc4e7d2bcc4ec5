"""For other apps' CRF pages: highlight fields with open queries.

    {% load monitoring_tags %}
    {% query_highlight crf %}             {# CSS outlining crispy's #div_id_<field> + a list of open queries #}
    {% if crf|open_query_fields|has_item:"weight_kg" %}…{% endif %}
"""
from django import template
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist
from django.utils.translation import gettext

from crf.display import kept_text_display

from ..models import DataQuery, QueryMessage
from ..selectors import crf_model_label, crf_open_query_fields, crf_queries

register = template.Library()


@register.filter
def open_query_fields(crf) -> set[str]:
    if crf is None or getattr(crf, "pk", None) is None:
        return set()
    return crf_open_query_fields(crf)


@register.filter
def has_item(collection, item) -> bool:
    return item in collection


@register.filter
def translated(text) -> str:
    """A stored English label (a form's or a field's, as a query or a signature keeps it) in the reader's
    language, through the catalogue of the app that owns it; a text with no translation reads as stored."""
    text = str(text or "")
    return gettext(text) if text else ""


@register.filter
def message_author(message: QueryMessage) -> str:
    """Who wrote a step of a query's conversation: the person, or the edit check."""
    author = message.author
    if author is None:
        return gettext("edit check")
    return author.get_full_name() or author.get_username()


@register.filter
def message_text(message: QueryMessage, query: DataQuery | None = None) -> str:
    """A step's text as shown: an automatic query's raising text in the reader's language (the stored text
    stays English), anything a person typed as typed."""
    query = query if query is not None else message.query
    if query.automatic and message.action == QueryMessage.Action.RAISE and message.text == query.text:
        return query.text_shown
    return message.text


@register.filter
def query_value(text, query: DataQuery) -> str:
    """An old or new value on the query's trail as the CRF page reads it (a count of cells in ×10⁶ with its
    unit, `crf.display.kept_text_display`); the message keeps it as stored."""
    text = str(text or "")
    model = ContentType.objects.get_for_id(query.content_type_id).model_class()  # cached: no query per row
    try:
        model_field = model._meta.get_field(query.field) if model is not None else None
    except FieldDoesNotExist:
        model_field = None
    return kept_text_display(model_field, text) if model_field is not None else text


@register.inclusion_tag("monitoring/includes/query_highlight.html")
def query_highlight(crf):
    """Works without JavaScript: a <style> outlining each queried field's
    wrapper (crispy-forms names it div_id_<field>) and a list of the queries."""
    if crf is None or getattr(crf, "pk", None) is None:
        return {"queries": []}
    queries = [q for q in crf_queries(crf) if q.is_open]
    return {"queries": queries, "fields": sorted({q.field for q in queries}), "crf": crf,
            "model_label": crf_model_label(crf)}
