"""The CRF life cycle: every create and edit of a clinical record goes
through `crf_save`, so the audit trail always has who, when and why."""
from django.core.exceptions import ValidationError
from django.db import transaction

from .crf import CaseReportForm, CrfStatus

INITIAL_ENTRY_REASON = "Initial entry"


def crf_change_needs_reason(crf: CaseReportForm) -> bool:
    """A form that has left draft is part of the record: editing it needs a reason."""
    if crf.pk is None:
        return False
    stored_status = type(crf).objects.filter(pk=crf.pk).values_list("status", flat=True).first()
    return stored_status not in (None, CrfStatus.DRAFT)


def crf_assert_editable(crf: CaseReportForm) -> None:
    if crf.pk is not None:
        stored_status = type(crf).objects.filter(pk=crf.pk).values_list("status", flat=True).first()
        if stored_status == CrfStatus.LOCKED:
            raise ValidationError("This form is locked; a data manager must unlock it before it can be changed.")


@transaction.atomic
def crf_save(*, crf: CaseReportForm, by, reason: str = "", submit: bool = True) -> CaseReportForm:
    """Validate and save a CRF with its author and reason on the history row.

    Editing a submitted, verified or signed form needs a reason; the edit
    sends it back to submitted, which clears source verification and voids
    the signature (they covered the old values).
    """
    crf_assert_editable(crf)
    reason = (reason or "").strip()
    if crf_change_needs_reason(crf):
        if not reason:
            raise ValidationError({"reason": "Give a reason for changing a submitted form."})
        crf.status = CrfStatus.SUBMITTED
    elif submit:
        crf.status = CrfStatus.SUBMITTED
    if crf.pk is None and by is not None and getattr(crf, "created_by_id", None) is None:
        crf.created_by = by
    crf.full_clean()
    crf._change_reason = reason or INITIAL_ENTRY_REASON
    crf._history_user = by
    crf.save()
    return crf


def audited_save(*, instance, by, reason: str) -> None:
    """Save a non-CRF audited record (a patient, a visit) with who and why."""
    instance.full_clean()
    instance._change_reason = reason
    instance._history_user = by
    instance.save()


def deviations_record(*, crf, checks, reason: str, by) -> list:
    """File a protocol deviation for each acknowledged soft check of a saved CRF."""
    from django.contrib.contenttypes.models import ContentType

    from .models import ProtocolDeviation

    content_type = ContentType.objects.get_for_model(crf)
    deviations = []
    for check in checks:
        deviation = ProtocolDeviation(
            patient=crf.patient, content_type=content_type, object_id=crf.pk,
            crf_label=crf.crf_label, rule=check.rule, field=check.field, message=check.message,
            value=check.value, reason=reason.strip(), created_by=by,
        )
        deviation._history_user = by
        deviation.save()
        deviations.append(deviation)
    return deviations
