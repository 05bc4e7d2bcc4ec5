"""Texts the system writes into a record and also shows (docs/i18n.md): the record keeps the English, so that it
reads the same to every auditor; the reader sees it in their language.

A text is given as a string, a lazy string or a callable returning one (for a message with values:
``lambda: _("... %(grade)s ...") % {"grade": 3}``). `english` renders it in English for the record;
`in_languages` renders it in each other language of the application too, kept beside the record
(`DataQuery.text_translations`, `ProtocolDeviation.message_translations`); `shown` picks the reader's.
"""
from collections.abc import Callable

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise

Text = str | Promise | Callable[[], str]

#: The language of what the system writes into a record (trial.i18n.stored_language uses the same).
RECORD_LANGUAGE = settings.LANGUAGE_CODE


def _render(text: Text) -> str:
    return str(text() if callable(text) else text)


def english(text: Text) -> str:
    """The text as the record keeps it."""
    with translation.override(RECORD_LANGUAGE):
        return _render(text)


def in_languages(text: Text) -> tuple[str, dict[str, str]]:
    """The English text, and its rendering in every other language of the application where it differs."""
    stored = english(text)
    others = {}
    for code, _name in settings.LANGUAGES:
        if code == RECORD_LANGUAGE:
            continue
        with translation.override(code):
            rendered = _render(text)
        if rendered != stored:
            others[code] = rendered
    return stored, others


def shown(stored: str, translations: dict | None = None) -> str:
    """The text in the reader's language: its kept rendering, else the catalogue's translation of the stored
    English (a fixed text), else the text as stored."""
    language = (translation.get_language() or RECORD_LANGUAGE).lower()
    if translations and translations.get(language):
        return translations[language]
    return translation.gettext(stored) if stored else stored
