"""Source-data verification: a monitor's marks that a form or some of its
fields match the source documents; an edit of a value clears them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crf.audit import REQUEST_USER, history_note
from crf.models import CaseReportForm, CrfStatus
from crf.services import audited_save, crf_content_type, crf_field, crf_status_set

from ..models import SourceVerification
from ..roles import can_monitor

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def crf_verify(*, crf: CaseReportForm, by: User, fields: list[str] | None = None) -> list[SourceVerification]:
    """A monitor marks the whole form (fields None) or some fields as matching
    the source. Verifying the whole form moves a submitted form to verified."""

    if not can_monitor(by, crf.patient.site):
        raise PermissionDenied(_("Only monitors verify source data."))
    if crf.removed or crf.status == CrfStatus.DRAFT:
        raise ValidationError(_("Only a submitted form can be source-verified."))
    names = [crf_field(crf, name).name for name in fields] if fields else [""]
    marks = []
    for name in names:
        mark = SourceVerification(patient=crf.patient, content_type=crf_content_type(crf), object_id=crf.pk,
                                  field=name, verified_by=by)
        audited_save(instance=mark, by=by, reason="Source-data verified")
        marks.append(mark)
    if not fields and crf.status == CrfStatus.SUBMITTED:
        crf_status_set(crf=crf, status=CrfStatus.VERIFIED, by=by, reason="Source-data verified")
    return marks


def sdv_clear(*, crf: CaseReportForm, fields: list[str], reason: str, by: User | None = None) -> int:
    """Clear the marks an edit invalidates: the whole-form mark and those of the changed fields."""
    cleared = 0
    for mark in SourceVerification.objects.filter(
        content_type=crf_content_type(crf), object_id=crf.pk, cleared_at__isnull=True, field__in=["", *fields],
    ):
        mark.cleared_at = timezone.now()
        mark.cleared_reason = f"Value changed: {reason}"[:300]
        # The editor (also over the API, where no session names them); else the request's user.
        history_note(mark, by=by if by is not None else REQUEST_USER, reason=mark.cleared_reason)
        mark.save()
        cleared += 1
    return cleared
