"""For other apps' CRF pages: highlight fields with open queries.

    {% load monitoring_tags %}
    {% query_highlight crf %}             {# CSS outlining crispy's #div_id_<field> + a list of open queries #}
    {% if crf|open_query_fields|has_item:"weight_kg" %}…{% endif %}
"""
from django import template

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


@register.inclusion_tag("monitoring/includes/query_highlight.html")
def query_highlight(crf):
    """Works without JavaScript: a <style> outlining each queried field's
    wrapper (crispy-forms names it div_id_<field>) and a list of the queries."""
    if crf is None or getattr(crf, "pk", None) is None:
        return {"queries": []}
    queries = [q for q in crf_queries(crf) if q.is_open]
    return {"queries": queries, "fields": sorted({q.field for q in queries}), "crf": crf,
            "model_label": crf_model_label(crf)}
