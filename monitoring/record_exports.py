"""Long CSV exports of the monitoring records and the audit trail, one row per record (or per message, per
changed value), for the patients a data manager may see. Streamed line by line through the one CSV writer
(monitoring.csv_safe): formula-like text is neutralised, memory does not grow with the trial.

The clinical long exports (every lymphodepletion dose, every infusion fraction, every SAE report) are the
child CSVs of monitoring.exports; CRS and ICANS assessments, with their grades and every ASTCT input, are one
long CSV of both syndromes (`monitoring.exports.assessment_csv_lines`), listed here with the others.
"""
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext_lazy as _

from crf.models import crf_children, crf_models

from .csv_safe import csv_lines
from .exports import assessment_csv_lines


def _who(user) -> str:
    if user is None:
        return "system"
    return user.get_full_name() or user.username


def _when(value) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def _form_names() -> dict[int, tuple[str, str]]:
    """content type id → (form code, label) of every CRF model."""
    names = {}
    for model in crf_models():
        names[ContentType.objects.get_for_model(model).pk] = (model.crf_code, model.crf_label)
    return names


def deviations_lines(patients) -> Iterator[str]:
    from .models import ProtocolDeviation

    forms = _form_names()
    rows = (ProtocolDeviation.objects.filter(patient__in=patients)
            .select_related("patient__site", "created_by").order_by("patient__subject_id", "created_at", "pk"))
    return csv_lines(
        ["subject_id", "site", "form", "form_id", "deviation_id", "rule", "field", "message", "value", "reason",
         "filed_by", "filed_at"],
        ([d.patient.study_id, d.patient.site.code, forms.get(d.content_type_id, ("", ""))[0] or d.crf_label,
          d.object_id, d.pk, d.rule, d.field, d.message, d.value, d.reason, _who(d.created_by),
          _when(d.created_at)] for d in rows.iterator(chunk_size=2000)))


def queries_lines(patients) -> Iterator[str]:
    """One row per message of each query (raise, answer, close, re-open), with the query's own columns."""
    from .models import QueryMessage

    forms = _form_names()
    rows = (QueryMessage.objects.filter(query__patient__in=patients)
            .select_related("query__patient__site", "query__raised_by", "author")
            .order_by("query__patient__subject_id", "query_id", "created_at", "pk"))
    return csv_lines(
        ["subject_id", "site", "form", "form_id", "query_id", "field", "field_label", "query_status", "automatic",
         "raised_by", "raised_at", "closed_at", "message_id", "action", "author", "text", "old_value",
         "new_value", "message_at"],
        ([m.query.patient.study_id, m.query.patient.site.code,
          forms.get(m.query.content_type_id, ("", ""))[0] or m.query.crf_label, m.query.object_id, m.query_id,
          m.query.field, m.query.field_label, m.query.status, "1" if m.query.automatic else "0",
          _who(m.query.raised_by) if m.query.raised_by_id else "edit check", _when(m.query.raised_at),
          _when(m.query.closed_at), m.pk, m.action, _who(m.author) if m.author_id else "edit check", m.text,
          m.old_value, m.new_value, _when(m.created_at)] for m in rows.iterator(chunk_size=2000)))


def sdv_lines(patients) -> Iterator[str]:
    from .models import SourceVerification

    forms = _form_names()
    rows = (SourceVerification.objects.filter(patient__in=patients)
            .select_related("patient__site", "verified_by").order_by("patient__subject_id", "verified_at", "pk"))
    return csv_lines(
        ["subject_id", "site", "form", "form_id", "mark_id", "field", "verified_by", "verified_at", "cleared_at",
         "cleared_reason"],
        ([m.patient.study_id, m.patient.site.code, forms.get(m.content_type_id, ("", ""))[0], m.object_id, m.pk,
          m.field or "(whole form)", _who(m.verified_by), _when(m.verified_at), _when(m.cleared_at),
          m.cleared_reason] for m in rows.iterator(chunk_size=2000)))


def signatures_lines(patients) -> Iterator[str]:
    from .models import Signature

    forms = _form_names()
    rows = (Signature.objects.filter(patient__in=patients)
            .select_related("patient__site", "visit__definition").order_by("patient__subject_id", "signed_at", "pk"))
    return csv_lines(
        ["subject_id", "site", "form", "form_id", "signature_id", "signer", "signed_at", "meaning", "visit",
         "values_sha256", "hash_scope", "voided_at", "void_reason"],
        ([s.patient.study_id, s.patient.site.code, forms.get(s.content_type_id, ("", ""))[0] or s.crf_label,
          s.object_id, s.pk, s.signer_full_name, _when(s.signed_at), s.meaning,
          s.visit.definition.code if s.visit_id else "", s.values_sha256, s.hash_scope, _when(s.voided_at),
          s.void_reason]
         for s in rows.iterator(chunk_size=2000)))


#: Record ids per round of the audit-trail export: two queries per model per round, memory of one round.
AUDIT_CHUNK = 500


def audit_lines(patients) -> Iterator[str]:
    """Every version of every form and child row: one row per changed value (stored codes, as the form CSVs),
    with who, when and the reason for change."""
    return csv_lines(
        ["subject_id", "site", "form", "form_id", "record", "record_id", "history_id", "when", "who", "action",
         "reason", "field", "old_value", "new_value"],
        _audit_rows(patients))


def _audit_rows(patients):
    from .exports import (
        _chunks,  # noqa: PLC2701 — the one chunking helper of the exports
        coded_text,
    )

    actions = {"+": "created", "~": "changed", "-": "deleted"}
    ignored = {"updated_at", "created_at", "version", "history_id"}
    for model in crf_models():
        sources = [(model, "patient", None)] + [
            (child, f"{fk.name}__patient", fk) for child, fk in crf_children(model)]
        for source, patient_path, fk in sources:
            fields = [f for f in source._meta.concrete_fields if f.name not in ignored and f.name != "id"]
            records = (source._base_manager.filter(**{f"{patient_path}__in": patients})
                       .order_by("pk").values_list("pk", f"{patient_path}__subject_id",
                                                   f"{patient_path}__screening_number", f"{patient_path}__site__code",
                                                   fk.attname if fk else "pk"))
            for chunk in _chunks(records.iterator(chunk_size=AUDIT_CHUNK), AUDIT_CHUNK):
                keys = {pk: (subject or screening, site, form_id) for pk, subject, screening, site, form_id in chunk}
                previous = {}
                for row in (source.history.filter(id__in=list(keys)).select_related("history_user")
                            .order_by("id", "history_date", "history_id")):
                    subject, site, form_id = keys[row.id]
                    before = previous.get(row.id)
                    for f in fields:
                        new = coded_text(getattr(row, f.attname), f)
                        old = coded_text(getattr(before, f.attname), f) if before is not None else ""
                        if before is not None and old == new:
                            continue
                        if before is None and new == "":
                            continue
                        yield [subject, site, model.crf_code, form_id, source._meta.label_lower, row.id,
                               row.history_id, _when(row.history_date), _who(row.history_user),
                               actions.get(row.history_type, row.history_type), row.history_change_reason or "",
                               f.name, old, new]
                    previous[row.id] = row


@dataclass(frozen=True)
class RecordExport:
    slug: str
    title: str  # lazy: shown in the reader's language
    lines: object  # patients -> iterator of CSV lines


RECORD_EXPORTS = {
    export.slug: export for export in (
        RecordExport("crs-icans", _("CRS and ICANS assessments with their grades and every ASTCT input, one row "
                     "per assessment"), assessment_csv_lines),
        RecordExport("deviations", _("Protocol deviations"), deviations_lines),
        RecordExport("queries", _("Data queries, one row per message"), queries_lines),
        RecordExport("sdv", _("Source-data verification marks"), sdv_lines),
        RecordExport("signatures", _("Investigator signatures"), signatures_lines),
        RecordExport("audit-trail", _("Audit trail of every form and child row, one row per changed value"),
                     audit_lines),
    )
}
