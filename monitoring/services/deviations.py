"""Protocol deviations: an acknowledged soft check saved anyway, with the reason given."""
from __future__ import annotations

from typing import TYPE_CHECKING

from crf.checks import SoftCheck
from crf.models import CaseReportForm
from crf.services import audited_save, crf_content_type

from ..models import ProtocolDeviation
from .queries import query_raise_automatic

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def deviations_record(*, crf: CaseReportForm, checks: list[SoftCheck], reason: str,
                      by: User | None) -> list[ProtocolDeviation]:
    """File a protocol deviation for each acknowledged soft check of a saved CRF."""
    content_type = crf_content_type(crf)
    deviations = []
    for check in checks:
        deviation = ProtocolDeviation(
            patient=crf.patient, content_type=content_type, object_id=crf.pk,
            crf_label=crf.crf_label, rule=check.rule, field=check.field, message=check.message,
            value=check.value, severity=check.severity, reason=reason.strip(), created_by=by,
        )
        audited_save(instance=deviation, by=by, reason=reason.strip())
        deviations.append(deviation)
        # The edit check asks the site to confirm the unexpected value against source.
        query_raise_automatic(
            crf=crf, field=check.field,
            text=f"Protocol deviation recorded: {check.message} Please confirm the value against the source "
                 f"documents.",
        )
    return deviations
