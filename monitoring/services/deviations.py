"""Protocol deviations: an acknowledged soft check saved anyway, with the reason given."""
from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from crf.checks import SoftCheck
from crf.models import CaseReportForm
from crf.services import audited_save, crf_content_type

from ..models import ProtocolDeviation
from ..texts import english, in_languages
from .queries import query_raise_automatic

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def deviations_record(*, crf: CaseReportForm, checks: list[SoftCheck], reason: str,
                      by: User | None) -> list[ProtocolDeviation]:
    """File a protocol deviation for each acknowledged soft check of a saved CRF.

    The deviation keeps the check's message in English (clinical record) and its rendering in the other
    languages for the pages: a check whose message is a lazy string (gettext_lazy, or a callable) gives both;
    a plain string is kept as it is."""
    content_type = crf_content_type(crf)
    deviations = []
    for check in checks:
        message, translations = in_languages(check.message)
        deviation = ProtocolDeviation(
            patient=crf.patient, content_type=content_type, object_id=crf.pk,
            crf_label=english(crf.crf_label), rule=check.rule, field=check.field, message=message,
            message_translations=translations,
            value=check.value, severity=check.severity, reason=reason.strip(), created_by=by,
        )
        audited_save(instance=deviation, by=by, reason=reason.strip())
        deviations.append(deviation)
        # The edit check asks the site to confirm the unexpected value against source.
        query_raise_automatic(crf=crf, field=check.field, text=partial(_deviation_query_text, check))
    return deviations


def _deviation_query_text(check: SoftCheck) -> str:
    """The edit check's query, in the active language (the query keeps the English: monitoring/texts.py)."""
    return _("Protocol deviation recorded: %(message)s Please confirm the value against the source "
             "documents.") % {"message": check.message}
