"""Exports for data managers: a CSV per form with coded values, the data
dictionary that decodes them, and the whole trial as CDISC ODM 1.3.2 XML
(metadata, clinical data, and an audit record on every value version)."""
import heapq
import json
import re
from xml.sax.saxutils import escape, quoteattr

from django.db import models
from django.utils import timezone

from crf.display import field_label, is_millions
from crf.models import child_label, child_value_fields, crf_children, crf_model, crf_models
from crf.services import crf_value_fields
from patients.models import Patient, Visit
from patients.rules import study_day
from trial.models import Site
from trial.rules import Crf

from .csv_safe import csv_lines, csv_text

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
# Columns every form CSV starts with; the form's own fields follow.
KEY_COLUMNS = ["subject_id", "site", "form_id", "visit", "status", "protocol_version"]
# Fields shown in the key columns rather than as items.
KEY_FIELDS = frozenset({"patient", "visit", "protocol"})


def export_fields(model) -> list:
    return [f for f in crf_value_fields(model) if f.name not in KEY_FIELDS]


def coded_value(crf, model_field) -> str:
    """The stored code, not its label (the dictionary decodes it); keys for relations; JSON as JSON."""
    return coded_text(getattr(crf, model_field.attname), model_field)


def coded_text(value, model_field=None) -> str:
    if value is None:
        return ""
    if isinstance(model_field, models.JSONField):
        return json.dumps(value, ensure_ascii=False)
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


def form_csv_lines(model, patients):
    """One row per CRF instance, coded values, line by line."""
    return csv_lines(KEY_COLUMNS + [f.name for f in export_fields(model)], form_rows(model, patients))


def form_csv(model, patients) -> str:
    return "".join(form_csv_lines(model, patients))


# --- Child rows: one CSV per kind, each row carrying its form's key ----------------------

#: Columns every child CSV starts with: the subject, and the key of the form the row belongs to.
CHILD_KEY_COLUMNS = ["subject_id", "site", "form_id", "row_id"]


def crf_child(model, name: str):
    """(child model, foreign key) of ``model`` by the name of the relation (``doses``, ``fractions``)."""
    for child, fk in crf_children(model):
        if fk.remote_field.related_name == name:
            return child, fk
    raise LookupError(f"{model.crf_label} has no child rows called {name!r}.")


def child_exports() -> list[dict]:
    """Every child CSV, in registry order: the form's code, the relation's name and a label."""
    return [{"crf_code": model.crf_code, "name": fk.remote_field.related_name, "label": child_label(child)}
            for model in crf_models() for child, fk in crf_children(model)]


def child_rows(child, fk, patients):
    fields = child_value_fields(child, fk)
    patient_path = f"{fk.name}__patient"
    rows = (child._base_manager.filter(**{f"{patient_path}__in": patients})
            .select_related(f"{patient_path}__site").order_by(f"{patient_path}__subject_id", fk.attname, "pk"))
    for row in rows.iterator(chunk_size=2000):
        patient = getattr(row, fk.name).patient
        yield [patient.study_id, patient.site.code, getattr(row, fk.attname), row.pk,
               *[coded_value(row, f) for f in fields]]


def child_csv_lines(child, fk, patients):
    return csv_lines(CHILD_KEY_COLUMNS + [f.name for f in child_value_fields(child, fk)],
                     child_rows(child, fk, patients))


# --- CRS and ICANS: one long CSV of both syndromes' assessments ---------------------------

#: The two syndromes graded by the ASTCT consensus, by the code of their form.
ASTCT_SYNDROMES = {Crf.CRS_ASSESSMENT.value: "CRS", Crf.ICANS_ASSESSMENT.value: "ICANS"}
#: Columns every row starts with; the forms' own fields follow (the date and the grade first).
ASSESSMENT_KEY_COLUMNS = ["subject_id", "site", "syndrome", "form", "form_id", "visit", "status", "study_day"]
ASSESSMENT_LEADING_FIELDS = ("assessment_date", "grade", "grading_driver", "grading_rule")


def assessment_fields() -> tuple[list[str], dict[str, dict]]:
    """The field columns of the CRS/ICANS CSV and, per syndrome, its form's fields by column: every data
    field of both forms, walked from the models (a field the forms gain is a column the day it is added); a
    name both forms have (the date, the grade, its driver and rule) is one column, the inputs of the other
    syndrome are empty."""
    by_syndrome = {syndrome: {f.name: f for f in export_fields(crf_model(code))}
                   for code, syndrome in ASTCT_SYNDROMES.items()}
    names = [name for fields in by_syndrome.values() for name in fields]
    leading = [name for name in ASSESSMENT_LEADING_FIELDS if name in names]
    columns = list(dict.fromkeys(leading + names))
    return columns, by_syndrome


def assessment_rows(patients):
    """Every CRS and ICANS assessment of the patients, removed ones too (``removed`` says so), by patient
    (in order of entry), date and syndrome: stored codes, as the forms' CSVs, with the study day. The two
    forms are read as two streams merged on integer and date keys (a database's text collation and
    Python's could order subject IDs differently), so memory does not grow with the trial."""
    columns, by_syndrome = assessment_fields()
    streams = [_assessments(code, syndrome, patients) for code, syndrome in ASTCT_SYNDROMES.items()]
    for _key, syndrome, crf in heapq.merge(*streams, key=lambda item: item[0]):
        patient, fields = crf.patient, by_syndrome[syndrome]
        day = (study_day(on_date=crf.assessment_date, infusion_date=patient.infusion_date)
               if patient.infusion_date else "")
        yield [patient.study_id, patient.site.code, syndrome, crf.crf_code, crf.pk,
               crf.visit.definition.code if crf.visit_id else "", crf.status, day,
               *[coded_value(crf, fields[name]) if name in fields else "" for name in columns]]


def _assessments(code: str, syndrome: str, patients):
    crfs = (crf_model(code).objects.filter(patient__in=patients)
            .select_related("patient__site", "visit__definition", "protocol")
            .order_by("patient_id", "assessment_date", "pk"))
    for crf in crfs.iterator(chunk_size=2000):
        yield (crf.patient_id, crf.assessment_date, syndrome, crf.pk), syndrome, crf


def assessment_csv_lines(patients):
    """CRS and ICANS assessments in one long CSV: subject, syndrome, study day, date, grade (with what set
    it and the rule applied) and every ASTCT input of either form."""
    columns, _by_syndrome = assessment_fields()
    return csv_lines(ASSESSMENT_KEY_COLUMNS + columns, assessment_rows(patients))


ASSESSMENT_KEY_MEANINGS = {
    "subject_id": "Subject ID.", "site": "Site code.", "syndrome": "CRS or ICANS: which form the row is.",
    "form": "The form's code (crs_assessment, icans_assessment).", "form_id": "The form's key, as in its CSV.",
    "visit": "The scheduled visit's code, if the form belongs to one.",
    "status": "The form's life-cycle status (draft, submitted, verified, signed, locked).",
    "study_day": "Days from the CAR-T infusion (day 0) to the assessment date.",
}


def _assessment_dictionary_rows():
    form, form_label = "records/crs-icans", "CRS and ICANS assessments"
    for name in ASSESSMENT_KEY_COLUMNS:
        yield [form, form_label, name, name.replace("_", " ").capitalize(), "text", "",
               ASSESSMENT_KEY_MEANINGS[name]]
    columns, by_syndrome = assessment_fields()
    for name in columns:
        for syndrome, fields in by_syndrome.items():
            if name in fields:
                yield _dictionary_row(form, f"{form_label}: {syndrome} rows", fields[name])


def dictionary_csv() -> str:
    """Every form's fields and every child row's: label (with its unit), type, and the meaning of each code."""
    def rows():
        for model in crf_models():
            for f in export_fields(model):
                yield _dictionary_row(model.crf_code, model.crf_label, f)
            for child, fk in crf_children(model):
                for f in child_value_fields(child, fk):
                    yield _dictionary_row(f"{model.crf_code}/{fk.remote_field.related_name}", child_label(child), f)
        yield from _assessment_dictionary_rows()

    return csv_text(["form", "form_label", "field", "label", "data_type", "codes", "help_text"], rows())


def _dictionary_row(form: str, form_label: str, f) -> list:
    codes = "; ".join(f"{code}={label}" for code, label in f.flatchoices) if f.choices else ""
    if isinstance(f, models.BooleanField):
        codes = "1=Yes; 0=No"
    help_text = str(f.help_text)
    if is_millions(f):
        help_text = " ".join([help_text, "The CSV and ODM hold the count itself; pages show it in millions."])
    return [form, form_label, f.name, field_label(f), odm_data_type(f), codes, help_text.strip()]


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


def _group_oid(model, child_fk=None) -> str:
    if child_fk is None:
        return _oid("IG", model.crf_code.upper())
    return _oid("IG", model.crf_code.upper(), child_fk.remote_field.related_name.upper())


def _item_oid(model, field_name: str, child_fk=None) -> str:
    if child_fk is None:
        return _oid("I", model.crf_code.upper(), field_name.upper())
    return _oid("I", model.crf_code.upper(), child_fk.remote_field.related_name.upper(), field_name.upper())


def _odm_groups(models_) -> list[tuple]:
    """Every item group: (form model, child model or None, foreign key or None, fields). A form's own values
    are one group; each kind of child row (doses, fractions, SAE reports) a repeating group of its own."""
    groups = []
    for model in models_:
        groups.append((model, None, None, export_fields(model)))
        for child, fk in crf_children(model):
            groups.append((model, child, fk, child_value_fields(child, fk)))
    return groups


def _odm_study(*, protocol, models_):
    """The Study element (global variables and metadata: small, built whole) and the OIDs the data refers to.
    The MetaDataVersion's children come in the order the schema requires: Protocol and StudyEventDefs, FormDefs,
    ItemGroupDefs, ItemDefs, CodeLists."""
    from lxml import etree

    study_oid = _oid("ST", protocol.code)
    mdv_oid = _oid("MDV", protocol.code, protocol.version)
    study = etree.Element(f"{{{ODM_NS}}}Study", nsmap={None: ODM_NS})
    study.set("OID", study_oid)
    global_variables = _el(study, "GlobalVariables")
    for tag, text in (("StudyName", protocol.code), ("StudyDescription", protocol.title),
                      ("ProtocolName", f"{protocol.code} v{protocol.version}")):
        _el(global_variables, tag).text = text
    mdv = _el(study, "MetaDataVersion", OID=mdv_oid, Name=f"Protocol {protocol.version}")
    form_oids = {model: _oid("F", model.crf_code.upper()) for model in models_}
    groups = _odm_groups(models_)
    _odm_study_events(mdv, visit_definitions=protocol.visit_definitions.all(), form_oids=form_oids)
    _odm_form_defs(mdv, groups=groups, form_oids=form_oids)
    item_oids = _odm_item_group_defs(mdv, groups=groups)
    _odm_item_defs(mdv, groups=groups, item_oids=item_oids)
    return study, study_oid, mdv_oid, form_oids, item_oids


def _odm_study_events(mdv, *, visit_definitions, form_oids) -> None:
    """One study event per scheduled visit and one for the forms not tied to a visit, each allowing every form."""
    events = [(_oid("SE", d.code), d.name, "Scheduled") for d in visit_definitions] + [
        ("SE.UNSCHEDULED", "Forms not tied to a scheduled visit", "Unscheduled")]
    odm_protocol = _el(mdv, "Protocol")
    for order, (oid, _name, _type) in enumerate(events, start=1):
        _el(odm_protocol, "StudyEventRef", StudyEventOID=oid, OrderNumber=order, Mandatory="No")
    for oid, name, kind in events:
        event = _el(mdv, "StudyEventDef", OID=oid, Name=name, Repeating="Yes", Type=kind)
        for order, form_oid in enumerate(form_oids.values(), start=1):
            _el(event, "FormRef", FormOID=form_oid, OrderNumber=order, Mandatory="No")


def _odm_form_defs(mdv, *, groups, form_oids) -> None:
    """One form per CRF: its own item group (mandatory) and a repeating group per kind of child row."""
    for model, form_oid in form_oids.items():
        form = _el(mdv, "FormDef", OID=form_oid, Name=model.crf_label, Repeating="Yes")
        for order, (_model, child, fk, _fields) in enumerate(
                [group for group in groups if group[0] is model], start=1):
            _el(form, "ItemGroupRef", ItemGroupOID=_group_oid(model, fk), OrderNumber=order,
                Mandatory="Yes" if child is None else "No")


def _odm_item_group_defs(mdv, *, groups) -> dict:
    """The item groups with their item references; answers the item OID of each (form, foreign key, field)."""
    item_oids = {}
    for model, child, fk, fields in groups:
        name = model.crf_label if child is None else f"{model.crf_label}: {child_label(child)}"
        group = _el(mdv, "ItemGroupDef", OID=_group_oid(model, fk), Name=name,
                    Repeating="No" if child is None else "Yes")
        for order, f in enumerate(fields, start=1):
            item_oids[(model, fk, f.name)] = _item_oid(model, f.name, fk)
            _el(group, "ItemRef", ItemOID=item_oids[(model, fk, f.name)], OrderNumber=order, Mandatory="No")
    return item_oids


def _odm_item_defs(mdv, *, groups, item_oids) -> None:
    """Each item with its question (the field's label with its unit) and, for a coded field, its code list
    (written after every ItemDef, as the schema orders them)."""
    codelists = []
    for model, _child, fk, fields in groups:
        for f in fields:
            item = _el(mdv, "ItemDef", OID=item_oids[(model, fk, f.name)], Name=f.name, DataType=odm_data_type(f))
            _translated(item, "Question", field_label(f))
            if f.choices:
                codelist_oid = item_oids[(model, fk, f.name)].replace("I.", "CL.", 1)
                _el(item, "CodeListRef", CodeListOID=codelist_oid)
                codelists.append((codelist_oid, f))
    for codelist_oid, f in codelists:
        codelist = _el(mdv, "CodeList", OID=codelist_oid, Name=str(f.verbose_name), DataType="text")
        for code, label in f.flatchoices:
            item = _el(codelist, "CodeListItem", CodedValue=code)
            _translated(item, "Decode", str(label))


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
    for model in models_:  # and of the child rows (doses, fractions, SAE reports)
        for child, fk in crf_children(model):
            rows = child._base_manager.filter(**{f"{fk.attname}__in": crfs[model].values("pk")})
            authors |= Q(pk__in=child.history.filter(id__in=rows.values("pk")).values("history_user_id"))
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


# The clinical data are written as text, not as lxml elements: building ~100 million elements for 10,000
# patients was most of the export's time (docs/performance.md). Every value goes through quoteattr/escape;
# the file is checked against the ODM 1.3.2 schema by the tests.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


_XML_SPECIAL = re.compile("[&<>\"\x00-\x1f\ufffe\uffff]")


def _attr(value) -> str:
    """An attribute value, quoted (most values — numbers, dates, codes — need no escaping: one search)."""
    text = str(value)
    if not _XML_SPECIAL.search(text):
        return f'"{text}"'
    if _XML_INVALID.search(text):
        text = _XML_INVALID.sub("\ufffd", text)
    return quoteattr(text)


def _text(value) -> str:
    text = str(value)
    if _XML_INVALID.search(text):
        text = _XML_INVALID.sub("\ufffd", text)
    return escape(text)


def _converter(model_field):
    """A function from the value read from the database to the coded text of the exports."""
    if isinstance(model_field, models.JSONField):
        return lambda value: "" if value is None else json.dumps(value, ensure_ascii=False)
    if isinstance(model_field, models.BooleanField):
        return lambda value: "" if value is None else ("1" if value else "0")
    if isinstance(model_field, (models.DateField, models.DateTimeField)):
        return lambda value: "" if value is None else value.isoformat()
    return lambda value: "" if value is None else str(value)


class _Group:
    """What writing one item group needs, computed once per export: for each field its opening tag text
    and how to code its value."""

    HISTORY = ("id", "history_user_id", "history_date", "history_change_reason")

    def __init__(self, model, child, fk, fields, item_oids):
        self.model, self.child, self.fk, self.fields = model, child, fk, fields
        self.source = child or model
        self.open = f"<ItemGroupData ItemGroupOID={_attr(_group_oid(model, fk))}"
        self.items = [(f'<ItemData ItemOID={_attr(item_oids[(model, fk, f.name)])} Value=', _converter(f))
                      for f in fields]
        self.columns = [*self.HISTORY, *(f.attname for f in fields)]

    def history(self, ids) -> dict:
        """record id → its history rows (tuples: id, user id, date, reason, values…), oldest first.
        The ids are sent as a list, not a subquery: PostgreSQL answered a subquery with a hash join that
        read the whole history table once per chunk."""
        from collections import defaultdict

        rows = defaultdict(list)
        if ids:
            for row in (self.source.history.filter(id__in=ids).order_by("id", "history_date", "history_id")
                        .values_list(*self.columns)):
                rows[row[0]].append(row)
        return rows

    def write(self, out: list, rows, *, repeat_key=None, removed: bool, location: str) -> None:
        """One ItemGroupData: each value version of the record as an ItemData with its AuditRecord."""
        repeat = f" ItemGroupRepeatKey=\"{repeat_key}\"" if repeat_key is not None else ""
        kind = "Remove" if removed else "Upsert"
        out.append(f'{self.open}{repeat} TransactionType="{kind}">\n')
        previous = [None] * len(self.items)
        for row in rows:
            user_id, when, reason = row[1], row[2], row[3]
            audit = (f'><AuditRecord><UserRef UserOID="{f"USR.{user_id}" if user_id else "USR.system"}"/>'
                     f'<LocationRef LocationOID={location}/>'
                     f'<DateTimeStamp>{when.isoformat(timespec="seconds")}</DateTimeStamp>'
                     + (f"<ReasonForChange>{_text(reason)}</ReasonForChange>" if reason else "")
                     + "</AuditRecord></ItemData>\n")
            for index, (opening, code) in enumerate(self.items):
                value = code(row[4 + index])
                before = previous[index]
                if before == value:
                    continue
                out.append(opening)
                out.append(_attr(value))
                out.append(' TransactionType="Insert"' if before is None else ' TransactionType="Update"')
                out.append(audit)
                previous[index] = value
        out.append("</ItemGroupData>\n")


def _odm_subjects(patients_chunk, *, groups, form_oids):
    """The SubjectData of a chunk of patients as pieces of text: per CRF model one query for its forms and one for their
    history rows, and as many for each kind of child row — whatever the number of patients or forms."""
    from collections import defaultdict

    ids = [pk for pk, _study_id, _site in patients_chunk]
    # The chunk's visit codes in one query: joining each form to its visit made PostgreSQL read all the
    # visits of the trial (a hash join) once per CRF model and chunk.
    visit_codes = dict(Visit.objects.filter(patient_id__in=ids).values_list("pk", "definition__code"))
    forms = defaultdict(list)  # patient id -> [(model, form row, its history, its children)]
    by_model = defaultdict(list)
    for group in groups:
        by_model[group.model].append(group)
    for model, model_groups in by_model.items():
        own, children = model_groups[0], model_groups[1:]
        crfs = [(pk, patient_id, visit_id, visit_codes.get(visit_id), removed)
                for pk, patient_id, visit_id, removed in model.objects.filter(patient_id__in=ids).order_by("pk")
                .values_list("pk", "patient_id", "visit_id", "removed")]
        crf_ids = [crf[0] for crf in crfs]
        history = own.history(crf_ids)
        child_rows = defaultdict(list)  # form id -> [(group, child pk, removed, history rows)]
        for group in children:
            removable = any(f.name == "removed" for f in group.child._meta.concrete_fields)
            columns = ["pk", group.fk.attname] + (["removed"] if removable else [])
            rows = list(group.child._base_manager.filter(**{f"{group.fk.attname}__in": crf_ids})
                        .order_by(group.fk.attname, "pk").values_list(*columns))
            child_history = group.history([row[0] for row in rows])
            for row in rows:
                child_rows[row[1]].append((group, row[0], bool(row[2]) if removable else False,
                                           child_history[row[0]]))
        for crf in crfs:
            forms[crf[1]].append((model, own, crf, history[crf[0]], child_rows[crf[0]]))
    out = []
    for pk, study_id, site_code in patients_chunk:
        if len(out) > 20_000:  # hand on what is written, a few hundred kB at a time
            yield "".join(out)
            out = []
        location = _attr(_oid("LOC", site_code))
        out.append(f'<SubjectData SubjectKey={_attr(study_id)} TransactionType="Upsert">\n'
                   f"<SiteRef LocationOID={location}/>\n")
        for model, own, (crf_pk, _patient, visit_id, visit_code, removed), rows, children in forms[pk]:
            event_oid = _oid("SE", visit_code) if visit_id else "SE.UNSCHEDULED"
            out.append(f'<StudyEventData StudyEventOID={_attr(event_oid)} StudyEventRepeatKey="{visit_id or 1}" '
                       f'TransactionType="Upsert">\n<FormData FormOID={_attr(form_oids[model])} '
                       f'FormRepeatKey="{crf_pk}" TransactionType="{"Remove" if removed else "Upsert"}">\n')
            own.write(out, rows, removed=False, location=location)
            for group, child_pk, child_removed, child_history in children:
                group.write(out, child_history, repeat_key=child_pk, removed=child_removed, location=location)
            out.append("</FormData>\n</StudyEventData>\n")
        out.append("</SubjectData>\n")
    yield "".join(out)


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
    subjects = (Patient.objects.filter(with_forms)
                .order_by(Coalesce("subject_id", "screening_number"), "pk")
                .values_list("pk", Coalesce("subject_id", "screening_number"), "site__code"))
    groups = [_Group(*group, item_oids) for group in _odm_groups(models_)]

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
                    # Straight into the stream, between lxml's own writes (flushed above).
                    for text in _odm_subjects(chunk, groups=groups, form_oids=form_oids):
                        yield text.encode()
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
