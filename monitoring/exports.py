"""Exports for data managers: a CSV per form with coded values, the data
dictionary that decodes them, and the whole trial as CDISC ODM 1.3.2 XML
(metadata, clinical data, and an audit record on every value version)."""
import csv
import io

from django.db import models
from django.utils import timezone

from crf.models import crf_models
from crf.services import crf_value_fields
from patients.models import Patient
from trial.models import Site

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
# Columns every form CSV starts with; the form's own fields follow.
KEY_COLUMNS = ["subject_id", "site", "form_id", "visit", "status", "protocol_version"]
# Fields shown in the key columns rather than as items.
KEY_FIELDS = frozenset({"patient", "visit", "protocol"})


def export_fields(model) -> list:
    return [f for f in crf_value_fields(model) if f.name not in KEY_FIELDS]


def coded_value(crf, model_field) -> str:
    """The stored code, not its label (the dictionary decodes it); keys for relations."""
    value = getattr(crf, model_field.attname)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def odm_data_type(model_field) -> str:
    if isinstance(model_field, models.BooleanField):
        return "boolean"
    if isinstance(model_field, models.DateTimeField):
        return "datetime"
    if isinstance(model_field, models.DateField):
        return "date"
    if isinstance(model_field, (models.DecimalField, models.FloatField)):
        return "float"
    if isinstance(model_field, models.IntegerField) and not model_field.is_relation:
        return "integer"
    return "text"


def form_rows(model, patients):
    crfs = model.objects.filter(patient__in=patients).select_related(
        "patient", "patient__site", "visit__definition", "protocol").order_by("patient__subject_id", "pk")
    fields = export_fields(model)
    for crf in crfs:
        yield [
            crf.patient.study_id, crf.patient.site.code, crf.pk,
            crf.visit.definition.code if crf.visit_id else "", crf.status, crf.protocol.version,
            *[coded_value(crf, f) for f in fields],
        ]


def form_csv(model, patients) -> str:
    """One row per CRF instance, coded values."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(KEY_COLUMNS + [f.name for f in export_fields(model)])
    writer.writerows(form_rows(model, patients))
    return out.getvalue()


def dictionary_csv() -> str:
    """Every form's fields: label, type, and the meaning of each code."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["form", "form_label", "field", "label", "data_type", "codes", "help_text"])
    for model in crf_models():
        for f in export_fields(model):
            codes = "; ".join(f"{code}={label}" for code, label in f.flatchoices) if f.choices else ""
            if isinstance(f, models.BooleanField):
                codes = "1=Yes; 0=No"
            writer.writerow([model.crf_code, model.crf_label, f.name, str(f.verbose_name), odm_data_type(f), codes,
                             str(f.help_text)])
    return out.getvalue()


# --- CDISC ODM 1.3.2 -------------------------------------------------------------

def _oid(*parts) -> str:
    return ".".join(str(part).replace(" ", "_") for part in parts)


def _translated(parent, tag: str, text: str):
    from lxml import etree

    element = etree.SubElement(parent, f"{{{ODM_NS}}}{tag}")
    translated = etree.SubElement(element, f"{{{ODM_NS}}}TranslatedText")
    translated.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    translated.text = text
    return element


#: Patients per round of queries in the streamed ODM export: memory is bounded by one chunk.
ODM_CHUNK_PATIENTS = 200


def _el(parent, tag, **attrs):
    from lxml import etree

    element = etree.SubElement(parent, f"{{{ODM_NS}}}{tag}")
    for key, value in attrs.items():
        element.set(key, str(value))
    return element


def _odm_study(*, protocol, models_):  # noqa: C901 (one pass over the metadata tree)
    """The Study element (global variables and metadata: small, built whole) and the OIDs the data refers to."""
    from lxml import etree

    el = _el
    study_oid = _oid("ST", protocol.code)
    mdv_oid = _oid("MDV", protocol.code, protocol.version)
    study = etree.Element(f"{{{ODM_NS}}}Study", nsmap={None: ODM_NS})
    study.set("OID", study_oid)
    global_variables = el(study, "GlobalVariables")
    for tag, text in (("StudyName", protocol.code), ("StudyDescription", protocol.title),
                      ("ProtocolName", f"{protocol.code} v{protocol.version}")):
        el(global_variables, tag).text = text
    mdv = el(study, "MetaDataVersion", OID=mdv_oid, Name=f"Protocol {protocol.version}")

    visit_definitions = list(protocol.visit_definitions.all())
    events = [(_oid("SE", d.code), d.name, "Scheduled") for d in visit_definitions] + [
        ("SE.UNSCHEDULED", "Forms not tied to a scheduled visit", "Unscheduled")]
    form_oids = {model: _oid("F", model.crf_code.upper()) for model in models_}
    odm_protocol = el(mdv, "Protocol")
    for order, (oid, _name, _type) in enumerate(events, start=1):
        el(odm_protocol, "StudyEventRef", StudyEventOID=oid, OrderNumber=order, Mandatory="No")
    for oid, name, kind in events:
        event = el(mdv, "StudyEventDef", OID=oid, Name=name, Repeating="Yes", Type=kind)
        for order, model in enumerate(models_, start=1):
            el(event, "FormRef", FormOID=form_oids[model], OrderNumber=order, Mandatory="No")
    for model in models_:
        form = el(mdv, "FormDef", OID=form_oids[model], Name=model.crf_label, Repeating="Yes")
        el(form, "ItemGroupRef", ItemGroupOID=_oid("IG", model.crf_code.upper()), Mandatory="Yes")
    item_oids = {}
    codelists = []
    for model in models_:
        group = el(mdv, "ItemGroupDef", OID=_oid("IG", model.crf_code.upper()), Name=model.crf_label,
                   Repeating="No")
        for order, f in enumerate(export_fields(model), start=1):
            item_oids[(model, f.name)] = _oid("I", model.crf_code.upper(), f.name.upper())
            el(group, "ItemRef", ItemOID=item_oids[(model, f.name)], OrderNumber=order, Mandatory="No")
    for model in models_:
        for f in export_fields(model):
            item = el(mdv, "ItemDef", OID=item_oids[(model, f.name)], Name=f.name, DataType=odm_data_type(f))
            _translated(item, "Question", str(f.verbose_name).capitalize())
            if f.choices:
                codelist_oid = _oid("CL", model.crf_code.upper(), f.name.upper())
                el(item, "CodeListRef", CodeListOID=codelist_oid)
                codelists.append((codelist_oid, f))
    for codelist_oid, f in codelists:
        codelist = el(mdv, "CodeList", OID=codelist_oid, Name=str(f.verbose_name), DataType="text")
        for code, label in f.flatchoices:
            item = el(codelist, "CodeListItem", CodedValue=code)
            _translated(item, "Decode", str(label))
    return study, study_oid, mdv_oid, form_oids, item_oids


def _odm_admin(*, patients, models_, protocol, study_oid, mdv_oid):
    """AdminData: every user an audit record names and every site a subject is at (a few queries, no rows
    of clinical data held in memory)."""
    from functools import reduce
    from operator import or_

    from django.contrib.auth import get_user_model
    from django.db.models import Q
    from lxml import etree

    el = _el
    admin = etree.Element(f"{{{ODM_NS}}}AdminData", nsmap={None: ODM_NS})
    admin.set("StudyOID", study_oid)
    el(admin, "User", OID="USR.system").append(_full_name("Edit check / system"))
    crfs = {model: model.objects.filter(patient__in=patients) for model in models_}
    authors = reduce(or_, (Q(pk__in=model.history.filter(id__in=crfs[model].values("pk"))
                             .values("history_user_id")) for model in models_), Q(pk__in=[]))
    for user in get_user_model().objects.filter(authors).order_by("pk"):
        el(admin, "User", OID=_oid("USR", user.pk)).append(_full_name(user.get_full_name() or user.username))
    sites = reduce(or_, (Q(pk__in=crfs[model].values("patient__site_id")) for model in models_), Q(pk__in=[]))
    for site in Site.objects.filter(sites).order_by("code"):
        location = el(admin, "Location", OID=_oid("LOC", site.code), Name=site.name, LocationType="Site")
        el(location, "MetaDataVersionRef", StudyOID=study_oid, MetaDataVersionOID=mdv_oid,
           EffectiveDate=protocol.effective_date.isoformat())
    return admin


def _chunks(iterable, size: int):
    # itertools.batched does this from Python 3.12; the project runs on 3.11.
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _odm_subjects(patients_chunk, *, models_, form_oids, item_oids):
    """The SubjectData elements of a chunk of patients: two queries per CRF model (forms, then their
    history rows), whatever the number of patients or forms."""
    from collections import defaultdict

    from lxml import etree

    el = _el
    ids = [patient.pk for patient in patients_chunk]
    forms = defaultdict(list)  # patient id -> [(model, crf, history rows)]
    for model in models_:
        crfs = list(model.objects.filter(patient_id__in=ids).select_related("visit__definition").order_by("pk"))
        rows = defaultdict(list)
        for row in model.history.filter(id__in=[crf.pk for crf in crfs]).order_by("id", "history_date",
                                                                                   "history_id"):
            rows[row.id].append(row)
        for crf in crfs:
            forms[crf.patient_id].append((model, crf, rows[crf.pk]))
    fields = {model: export_fields(model) for model in models_}
    for patient in patients_chunk:
        location_oid = _oid("LOC", patient.site.code)
        subject = etree.Element(f"{{{ODM_NS}}}SubjectData", nsmap={None: ODM_NS})
        subject.set("SubjectKey", patient.study_id)
        subject.set("TransactionType", "Upsert")
        el(subject, "SiteRef", LocationOID=location_oid)
        for model, crf, rows in forms[patient.pk]:
            event_oid = _oid("SE", crf.visit.definition.code) if crf.visit_id else "SE.UNSCHEDULED"
            event = el(subject, "StudyEventData", StudyEventOID=event_oid, StudyEventRepeatKey=crf.visit_id or 1,
                       TransactionType="Upsert")
            form = el(event, "FormData", FormOID=form_oids[model], FormRepeatKey=crf.pk,
                      TransactionType="Remove" if crf.removed else "Upsert")
            group = el(form, "ItemGroupData", ItemGroupOID=_oid("IG", model.crf_code.upper()),
                       TransactionType="Upsert")
            previous = {}
            for row in rows:
                for f in fields[model]:
                    value = coded_value(row, f)
                    if f.name in previous and previous[f.name] == value:
                        continue
                    item = el(group, "ItemData", ItemOID=item_oids[(model, f.name)], Value=value,
                              TransactionType="Insert" if f.name not in previous else "Update")
                    audit = el(item, "AuditRecord")
                    el(audit, "UserRef", UserOID=_oid("USR", row.history_user_id) if row.history_user_id
                       else "USR.system")
                    el(audit, "LocationRef", LocationOID=location_oid)
                    el(audit, "DateTimeStamp").text = row.history_date.isoformat(timespec="seconds")
                    if row.history_change_reason:
                        el(audit, "ReasonForChange").text = row.history_change_reason
                    previous[f.name] = value
        yield subject


def odm_stream(*, patients, protocol, chunk_patients: int | None = None):
    """The trial's metadata and the clinical data of ``patients``, each value version with its
    AuditRecord (who, where, when, why) — a transactional ODM 1.3.2 file — as an iterator of bytes.

    Constant memory whatever the number of patients: the patients with forms are read from a
    server-side cursor (``.iterator``) in chunks, each chunk's forms and history rows are fetched
    in two queries per CRF model, written with lxml's incremental writer (``etree.xmlfile``) and
    handed on before the next chunk is read.
    """
    import io
    from functools import reduce
    from operator import or_

    from django.db.models import Q
    from django.db.models.functions import Coalesce
    from lxml import etree

    chunk_patients = chunk_patients or ODM_CHUNK_PATIENTS
    models_ = crf_models()
    now = timezone.now()
    study, study_oid, mdv_oid, form_oids, item_oids = _odm_study(protocol=protocol, models_=models_)
    admin = _odm_admin(patients=patients, models_=models_, protocol=protocol, study_oid=study_oid,
                       mdv_oid=mdv_oid)
    with_forms = reduce(or_, (Q(pk__in=model.objects.filter(patient__in=patients).values("patient_id"))
                              for model in models_), Q(pk__in=[]))
    subjects = (Patient.objects.filter(with_forms).select_related("site")
                .order_by(Coalesce("subject_id", "screening_number"), "pk")
                .only("pk", "subject_id", "screening_number", "site__code"))

    buffer = io.BytesIO()

    def drain() -> bytes:
        data = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return data

    with etree.xmlfile(buffer, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(f"{{{ODM_NS}}}ODM", nsmap={None: ODM_NS}, attrib={
            "FileType": "Transactional", "FileOID": _oid("EDC", protocol.code, now.strftime("%Y%m%dT%H%M%S")),
            "CreationDateTime": now.isoformat(timespec="seconds"), "ODMVersion": "1.3.2",
            "Originator": "CAR-T EDC",
        }):
            xf.write("\n")
            xf.write(study, pretty_print=True)
            xf.write(admin, pretty_print=True)
            del study, admin
            with xf.element(f"{{{ODM_NS}}}ClinicalData", StudyOID=study_oid, MetaDataVersionOID=mdv_oid):
                xf.write("\n")
                xf.flush()
                yield drain()
                for chunk in _chunks(subjects.iterator(chunk_size=chunk_patients), chunk_patients):
                    for subject in _odm_subjects(chunk, models_=models_, form_oids=form_oids,
                                                 item_oids=item_oids):
                        xf.write(subject, pretty_print=True)
                    xf.flush()
                    yield drain()
            xf.write("\n")
    yield drain()


def odm_document(*, patients, protocol, by=None) -> bytes:
    """The whole ODM file in memory (odm_stream joined): for small exports and tests."""
    return b"".join(odm_stream(patients=patients, protocol=protocol))


def _full_name(text: str):
    from lxml import etree

    element = etree.Element(f"{{{ODM_NS}}}FullName")
    element.text = text
    return element
