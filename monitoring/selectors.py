"""Reads across every CRF model, for home pages and lists."""
from collections import defaultdict
from itertools import chain
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Min
from django.http import Http404
from django.utils.text import capfirst

from crf.audit import audit_trail, compact_audit
from crf.display import EMPTY, field_label, format_value
from crf.models import CrfStatus, child_label, child_value_fields, crf_children, crf_models
from crf.services import crf_value_fields
from patients.models import Patient

from .models import (
    DataLock,
    DataQuery,
    LockScope,
    ProtocolDeviation,
    QueryStatus,
    Signature,
    SourceVerification,
)


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
    try:
        model = apps.get_model(model_label)
    except (LookupError, ValueError):
        raise Http404("No such form.") from None
    if model not in crf_models():
        raise Http404("No such form.")
    crf = model.objects.filter(pk=pk, patient__in=Patient.objects.visible_to(user)).select_related(
        "patient", "patient__site", "protocol", "created_by", "visit__patient", "visit__definition").first()
    if crf is None:
        raise Http404("No such form.")
    return crf


def crf_model_label(crf) -> str:
    return type(crf)._meta.label_lower


def _for_crf(queryset, crf):
    return queryset.filter(content_type=ContentType.objects.get_for_model(type(crf)), object_id=crf.pk)


def crf_queries(crf):
    return _for_crf(DataQuery.objects.select_related("raised_by").prefetch_related("messages__author"), crf)


def crf_open_query_fields(crf) -> set[str]:
    return set(crf_queries(crf).exclude(status=QueryStatus.CLOSED).values_list("field", flat=True))


def crf_verifications(crf):
    return _for_crf(SourceVerification.objects.select_related("verified_by"), crf)


def crf_signatures(crf):
    return _for_crf(Signature.objects.select_related("signer"), crf)


def crf_active_lock(crf):
    return _for_crf(DataLock.objects.filter(scope=LockScope.CRF, unlocked_at__isnull=True), crf).first()


def display_value(crf, model_field):
    """A field's value as a clinician reads it (crf.display, the one formatting helper)."""
    return format_value(crf, model_field)


def crf_rows(crf, *, marks=None, queries=None) -> list[dict]:
    """Every data field of the form with its verbose name, value, SDV mark and open queries.

    ``marks`` and ``queries`` (the form's SDV marks and queries) are read when not given."""
    marks = crf_verifications(crf) if marks is None else marks
    queries = crf_queries(crf).exclude(status=QueryStatus.CLOSED) if queries is None else queries
    active_marks = {mark.field: mark for mark in marks if mark.is_active}
    open_queries: dict[str, list] = {}
    for query in queries:
        if query.status != QueryStatus.CLOSED:
            open_queries.setdefault(query.field, []).append(query)
    return [
        {
            "name": f.name, "label": field_label(f), "value": display_value(crf, f),
            "verified": active_marks.get(f.name), "open_queries": open_queries.get(f.name, []),
        }
        for f in crf_value_fields(type(crf))
        # Shown in the heading and the status line instead.
        if f.name not in ("protocol", "patient", "removed", "removal_reason")
    ]


def is_not_recorded(row: dict) -> bool:
    """A row of crf_rows with nothing to show: no value (—, an empty list or table), no SDV mark, no open query."""
    value = row["value"]
    empty = value == EMPTY or (getattr(value, "kind", "") == "list" and not value.items) or (
        getattr(value, "kind", "") == "table" and not value.rows)
    return empty and not row["verified"] and not row["open_queries"]


def crf_review(crf) -> dict:
    """Everything a report or the detail page shows about one CRF."""
    return crf_reviews([crf])[0]


def crf_reviews(crfs) -> list[dict]:
    """crf_review of many forms in a number of queries that depends on the CRF models, not on the forms:
    queries, SDV marks, signatures and history rows are read per model for all its forms at once."""
    by_model = defaultdict(list)
    for crf in crfs:
        by_model[type(crf)].append(crf)
    loaded = {}  # (model, pk) -> (marks, signatures, queries, history rows)
    deviations: defaultdict[tuple, list[Any]] = defaultdict(list)  # (model, pk) -> deviations filed against the form
    children: defaultdict[tuple, list[dict]] = defaultdict(list)  # (model, pk) -> one table per kind of child row
    child_audits: defaultdict[tuple, list[Any]] = defaultdict(list)  # (model, pk) -> audit entries of the child rows
    related: dict[tuple, Any] = {}  # (related model, pk) -> object, shared by every audit trail (patient, visit…)
    for model, forms in by_model.items():
        ids = [crf.pk for crf in forms]
        grouped = _load_monitoring_records(model=model, ids=ids, deviations=deviations)
        history = defaultdict(list)
        for row in model.history.filter(id__in=ids).select_related("history_user").order_by(
                "history_date", "history_id"):
            history[row.id].append(row)
        for child, fk in crf_children(model):
            _load_children(child=child, fk=fk, ids=ids, into=children, audits=child_audits, related=related)
        for crf in forms:
            related[(model, crf.pk)] = crf  # a child row's link to its form, in the child's audit trail
            loaded[(model, crf.pk)] = (grouped["marks"][crf.pk], grouped["signatures"][crf.pk],
                                       grouped["queries"][crf.pk], history[crf.pk])
            for model_field in model._meta.concrete_fields:
                if model_field.is_relation and model_field.is_cached(crf):
                    value = model_field.get_cached_value(crf)
                    if value is not None:
                        related[(model_field.related_model, value.pk)] = value
    reviews = []
    for crf in crfs:
        marks, signatures, queries, history_rows = loaded[(type(crf), crf.pk)]
        audit = sorted(audit_trail(crf, rows=history_rows, related=related) + child_audits[(type(crf), crf.pk)],
                       key=lambda entry: entry.when, reverse=True)
        rows = crf_rows(crf, marks=marks, queries=queries)
        reviews.append({
            "crf": crf,
            "model_label": crf_model_label(crf),
            "rows": rows,
            # The PDFs print the values that are not recorded on one line (fewer boxes to lay out).
            "pdf_rows": [row for row in rows if not is_not_recorded(row)],
            "not_recorded": [row["label"] for row in rows if is_not_recorded(row)],
            "whole_form_verification": next((m for m in marks if m.field == "" and m.is_active), None),
            "verifications": marks,
            "signatures": signatures,
            "queries": queries,
            "audit": audit,
            "audit_pdf": compact_audit(audit),
            "children": children[(type(crf), crf.pk)],
            "deviations": deviations[(type(crf), crf.pk)],
        })
    return reviews


def _load_monitoring_records(*, model, ids, deviations) -> dict:
    """The SDV marks, signatures and queries of the forms ``ids`` of ``model`` (one query each), by name and
    form id; their protocol deviations go into ``deviations``."""
    content_type = ContentType.objects.get_for_model(model)
    grouped: dict[str, defaultdict[int, list[Any]]] = {}
    for name, queryset in (
        ("marks", SourceVerification.objects.select_related("verified_by")),
        ("signatures", Signature.objects.select_related("signer")),
        ("queries", DataQuery.objects.select_related("raised_by").prefetch_related("messages__author")),
    ):
        grouped[name] = defaultdict(list)
        for record in queryset.filter(content_type=content_type, object_id__in=ids):  # model ordering
            grouped[name][record.object_id].append(record)
    for deviation in ProtocolDeviation.objects.select_related("created_by").filter(
            content_type=content_type, object_id__in=ids):
        deviations[(model, deviation.object_id)].append(deviation)
    return grouped


def _load_children(*, child, fk, ids, into, audits, related) -> None:
    """The child rows of the forms ``ids`` (one query, and one for their history), as a table per form:
    the columns are the child's data fields (labels with units), a removed row is marked as removed."""
    fields = child_value_fields(child, fk)
    shown = [f for f in fields if f.name not in ("removed", "removal_reason")]
    others = [f.name for f in fields if f.is_relation]
    rows = list(child._base_manager.filter(**{f"{fk.attname}__in": ids}).select_related(*others))
    history = defaultdict(list)
    for row in child.history.filter(id__in=[row.pk for row in rows]).select_related("history_user").order_by(
            "history_date", "history_id"):
        history[row.id].append(row)
    tables = {}
    for row in rows:
        parent_id = getattr(row, fk.attname)
        key = (fk.related_model, parent_id)
        if key not in tables:
            tables[key] = {"label": child_label(child), "model_label": child._meta.label_lower,
                           "header": [field_label(f) for f in shown], "names": [f.name for f in shown],
                           "rows": [], "removable": bool(getattr(child, "removal_service", ""))}
            into[key].append(tables[key])
        removed = bool(getattr(row, "removed", False))
        tables[key]["rows"].append({"pk": row.pk, "cells": [format_value(row, f) for f in shown],
                                    "removed": removed, "removal_reason": getattr(row, "removal_reason", "")})
        audits[key].extend(audit_trail(row, rows=history[row.pk], related=related,
                                       record=f"{capfirst(child._meta.verbose_name)} #{row.pk}"))


def visit_crfs(visit) -> list:
    """All CRFs whose `visit` is this visit, in registry order."""
    return [
        crf for model in crf_models()
        for crf in model.objects.filter(visit=visit, removed=False).select_related(
            "patient", "patient__site", "protocol", "created_by", "visit__patient", "visit__definition")
        .order_by("pk")
    ]


def patient_crfs(patient) -> list:
    """The whole casebook: every CRF of the patient (removed ones too, shown as removed)."""
    return [
        crf for model in crf_models()
        for crf in model.objects.filter(patient=patient).select_related(
            "patient", "patient__site", "protocol", "created_by", "visit__patient", "visit__definition")
        .order_by("pk")
    ]


# --- Queries across patients ---------------------------------------------------

def open_queries(user, *, site_code: str = "", study_id: str = ""):
    """Open and answered (not yet closed) queries of visible patients, oldest first."""
    queries = DataQuery.objects.filter(patient__in=Patient.objects.visible_to(user)).exclude(
        status=QueryStatus.CLOSED).select_related("patient", "patient__site", "raised_by")
    if site_code:
        queries = queries.filter(patient__site__code=site_code)
    if study_id:
        queries = queries.filter(patient__in=Patient.objects.by_study_id(study_id))
    return queries.order_by("raised_at")


def open_query_counts(user) -> dict:
    """Open queries per site and per patient, with the age of the oldest."""
    queries = open_queries(user)
    per_site = queries.values("patient__site__code").annotate(n=Count("pk"), oldest=Min("raised_at")).order_by(
        "patient__site__code")
    per_patient = queries.values("patient__subject_id", "patient__screening_number", "patient__site__code") \
        .annotate(n=Count("pk"), oldest=Min("raised_at")).order_by("oldest")
    return {"per_site": list(per_site), "per_patient": list(per_patient)}


def crf_deviations(crf) -> list:
    """The protocol deviations filed against one CRF, newest first."""
    if crf is None:
        return []
    return list(ProtocolDeviation.objects.filter(
        content_type=ContentType.objects.get_for_model(crf), object_id=crf.pk).select_related("created_by"))
