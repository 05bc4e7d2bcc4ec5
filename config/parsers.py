"""The API's JSON parser: DRF's, with a limit on nesting.

Python's json module parses nested arrays and objects recursively: a body nested about a thousand
levels deep raises RecursionError, which DRF's parser does not catch (a 500), and anything that
walks a deep value afterwards (validation, history, JSON fields) risks the same. No request of
this API nests more than a few levels, so deeper bodies are refused with a 400 before any view sees
them — on every endpoint, including the unauthenticated token endpoint."""
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from trial.i18n import lazy_message

MAX_JSON_DEPTH = 32
TOO_DEEP = lazy_message(_("JSON parse error - nested more than %(depth)s levels deep."), depth=MAX_JSON_DEPTH)


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether arrays and objects in `value` nest deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data
