"""Reads across every CRF model, for home pages and lists."""
from itertools import chain

from patients.models import Patient

from .crf import CrfStatus, crf_models


def crfs_with_status(*, user, statuses: list[str], limit: int = 50) -> list:
    """CRFs of the user's visible patients in the given statuses, oldest change
    first (the longest waiting). One query per CRF model, not per row."""
    patients = Patient.objects.visible_to(user)
    found = chain.from_iterable(
        model.objects.filter(status__in=statuses, removed=False, patient__in=patients)
        .select_related("patient", "patient__site")
        .order_by("updated_at")[:limit]
        for model in crf_models()
    )
    return sorted(found, key=lambda crf: crf.updated_at)[:limit]


def forms_to_verify(user, limit: int = 50) -> list:
    return crfs_with_status(user=user, statuses=[CrfStatus.SUBMITTED], limit=limit)


def forms_to_sign(user, limit: int = 50) -> list:
    return crfs_with_status(user=user, statuses=[CrfStatus.SUBMITTED, CrfStatus.VERIFIED], limit=limit)
