"""Messages that are both shown and stored (docs/i18n.md).

A soft check's message is shown to the person who typed the value, in their language, and stored on the
protocol deviation and its automatic query, in English (clinical record: it reads the same to every auditor).
`lazy_message` gives such a message as a lazy string: it is put into words, with its values, only when it is
read — on a page or in an API answer in the reader's language, and in English where the record is written
(`crf.services.crf_record` files the deviations under `stored_language()`).

    message = lazy_message(_("%(date)s is outside the %(visit)s window."), date="2025-01-02", visit="D7")

`_` is `gettext_lazy` here: the message is looked up when it is read, not when it is made.
"""
from contextlib import AbstractContextManager
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.functional import lazy


def _formatted(message: Any, values: dict[str, Any]) -> str:
    # A value that is itself lazy (a choice label, another message) is put into words by %s, at the same time.
    return str(message) % values


_lazy_formatted = lazy(_formatted, str)


def lazy_message(message: Any, **values: Any) -> str:
    """``message % values``, put into words in the language active when it is read."""
    return _lazy_formatted(message, values)


def stored_language() -> AbstractContextManager[None]:
    """The language of what the system writes into the record (English): `with stored_language(): …`."""
    return translation.override(settings.LANGUAGE_CODE)
