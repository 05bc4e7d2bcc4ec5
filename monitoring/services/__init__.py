"""Monitoring's writes, one module per concern: data queries, source-data
verification, e-signatures, locks, protocol deviations and export batches.
The CRF's own save and life cycle are the floor's (`crf.services`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .deviations import deviations_record
from .export_jobs import export_job_create, export_job_run, export_record
from .locks import (
    crf_lock,
    crf_unlock,
    data_lock_create,
    data_lock_reason,
    data_lock_release,
)
from .queries import (
    query_answer,
    query_close,
    query_raise,
    query_raise_automatic,
    query_reopen,
)
from .sdv import crf_verify, sdv_clear
from .signatures import crf_sign, signature_is_intact, signatures_void, visit_sign

__all__ = [
    "crf_lock", "crf_sign", "crf_unlock", "crf_verify", "data_lock_create", "data_lock_reason", "data_lock_release",
    "deviations_record", "export_job_create", "export_job_run", "export_record", "query_answer", "query_close",
    "query_raise", "query_raise_automatic", "query_reopen", "sdv_clear", "signature_is_intact", "signatures_void",
    "visit_sign",
]

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from crf.models import CaseReportForm


def crf_values_changed(*, crf: CaseReportForm, fields: list[str], reason: str, by: User | None) -> None:
    """The floor's callback after a save that changed values (monitoring/apps.py): the
    SDV marks of those values (and of the whole form) are cleared, the signatures voided."""
    sdv_clear(crf=crf, fields=fields, reason=reason, by=by)
    signatures_void(crf=crf, reason=f"Form changed after signing: {reason}", by=by)
