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


# --- One CRF and its monitoring records ---------------------------------------

def crf_for_user(*, user, model_label: str, pk: int):
    """A CRF by model label and key, or 404 when it is not a CRF or the user may not see its patient."""
    from django.apps import apps
    from django.http import Http404

    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        raise Http404("No such form.")
    if model not in crf_models():
        raise Http404("No such form.")
    crf = model.objects.filter(pk=pk, patient__in=Patient.objects.visible_to(user)).select_related(
        "patient", "patient__site").first()
    if crf is None:
        raise Http404("No such form.")
    return crf


def crf_model_label(crf) -> str:
    return type(crf)._meta.label_lower


def _for_crf(queryset, crf):
    from django.contrib.contenttypes.models import ContentType

    return queryset.filter(content_type=ContentType.objects.get_for_model(type(crf)), object_id=crf.pk)


def crf_queries(crf):
    from .models import DataQuery

    return _for_crf(DataQuery.objects.select_related("raised_by").prefetch_related("messages__author"), crf)


def crf_open_query_fields(crf) -> set[str]:
    from .models import QueryStatus

    return set(crf_queries(crf).exclude(status=QueryStatus.CLOSED).values_list("field", flat=True))


def crf_verifications(crf):
    from .models import SourceVerification

    return _for_crf(SourceVerification.objects.select_related("verified_by"), crf)


def crf_signatures(crf):
    from .models import Signature

    return _for_crf(Signature.objects.select_related("signer"), crf)


def crf_active_lock(crf):
    from .models import DataLock, LockScope

    return _for_crf(DataLock.objects.filter(scope=LockScope.CRF, unlocked_at__isnull=True), crf).first()


def display_value(crf, model_field) -> str:
    """A field's value as a clinician reads it: choice labels, related records, Yes/No."""
    value = getattr(crf, model_field.name)
    if value is None or value == "":
        return "—"
    if model_field.choices:
        return str(getattr(crf, f"get_{model_field.name}_display")())
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if hasattr(value, "isoformat") and not hasattr(value, "hour"):
        return value.isoformat()
    if hasattr(value, "hour") and hasattr(value, "date"):
        from django.utils import timezone

        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def crf_rows(crf) -> list[dict]:
    """Every data field of the form with its verbose name, value, SDV mark and open queries."""
    from .models import QueryStatus
    from .services import crf_value_fields

    marks = {mark.field: mark for mark in crf_verifications(crf) if mark.is_active}
    open_queries: dict[str, list] = {}
    for query in crf_queries(crf).exclude(status=QueryStatus.CLOSED):
        open_queries.setdefault(query.field, []).append(query)
    return [
        {
            "name": f.name, "label": str(f.verbose_name), "value": display_value(crf, f),
            "verified": marks.get(f.name), "open_queries": open_queries.get(f.name, []),
        }
        for f in crf_value_fields(type(crf))
        # Shown in the heading and the status line instead.
        if f.name not in ("protocol", "patient", "removed", "removal_reason")
    ]


def crf_review(crf) -> dict:
    """Everything a report or the detail page shows about one CRF."""
    from .audit import audit_trail

    marks = list(crf_verifications(crf))
    return {
        "crf": crf,
        "model_label": crf_model_label(crf),
        "rows": crf_rows(crf),
        "whole_form_verification": next((m for m in marks if m.field == "" and m.is_active), None),
        "verifications": marks,
        "signatures": list(crf_signatures(crf)),
        "queries": list(crf_queries(crf)),
        "audit": audit_trail(crf),
    }


def visit_crfs(visit) -> list:
    """All CRFs whose `visit` is this visit, in registry order."""
    return [
        crf for model in crf_models()
        for crf in model.objects.filter(visit=visit, removed=False).select_related("patient", "patient__site")
        .order_by("pk")
    ]


def patient_crfs(patient) -> list:
    """The whole casebook: every CRF of the patient (removed ones too, shown as removed)."""
    return [
        crf for model in crf_models()
        for crf in model.objects.filter(patient=patient).select_related("patient", "patient__site", "visit")
        .order_by("pk")
    ]


# --- Queries across patients ---------------------------------------------------

def open_queries(user, *, site_code: str = "", study_id: str = ""):
    """Open and answered (not yet closed) queries of visible patients, oldest first."""
    from .models import DataQuery, QueryStatus

    queries = DataQuery.objects.filter(patient__in=Patient.objects.visible_to(user)).exclude(
        status=QueryStatus.CLOSED).select_related("patient", "patient__site", "raised_by")
    if site_code:
        queries = queries.filter(patient__site__code=site_code)
    if study_id:
        queries = queries.filter(patient__in=Patient.objects.by_study_id(study_id))
    return queries.order_by("raised_at")


def open_query_counts(user) -> dict:
    """Open queries per site and per patient, with the age of the oldest."""
    from django.db.models import Count, Min

    queries = open_queries(user)
    per_site = queries.values("patient__site__code").annotate(n=Count("pk"), oldest=Min("raised_at")).order_by(
        "patient__site__code")
    per_patient = queries.values("patient__subject_id", "patient__screening_number", "patient__site__code") \
        .annotate(n=Count("pk"), oldest=Min("raised_at")).order_by("oldest")
    return {"per_site": list(per_site), "per_patient": list(per_patient)}


def crf_deviations(crf) -> list:
    """The protocol deviations filed against one CRF, newest first."""
    from django.contrib.contenttypes.models import ContentType

    from .models import ProtocolDeviation

    if crf is None:
        return []
    return list(ProtocolDeviation.objects.filter(
        content_type=ContentType.objects.get_for_model(crf), object_id=crf.pk).select_related("created_by"))
