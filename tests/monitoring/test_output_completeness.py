"""Every captured value reaches every output: a walk over every CRF model and every child model (anything
audited with a foreign key to a CRF: lymphodepletion doses, infusion fractions, SAE reports, …) found in the
registry, so a new form, a new child or a new field that no output shows fails here.

The full patient (tests/full_patient.py: one of every CRF, built through the services) gets a distinctive
value in every data field; then each value must be in
- the casebook PDF (text by pypdf): the field's label, with its unit, and the value as the page shows it;
- the form's CSV (its own column), or the child CSV with the form's key;
- the ODM file: an ItemData of the field, in the form's ItemGroupData, or in one repeating ItemGroupData
  per child row — and the file still validates against the ODM 1.3.2 schema.
Protocol deviations, queries with their messages, SDV marks, signatures and the audit trail are in the
casebook and in CSVs of their own.
"""
import csv
import datetime
import io
import pathlib
from decimal import Decimal

import pytest
from django.db import models
from lxml import etree
from pypdf import PdfReader

from crf.display import EMPTY, field_label, format_value
from crf.models import child_value_fields, crf_children, crf_models
from monitoring.exports import ODM_NS, coded_value, export_fields
from monitoring.models import ProtocolDeviation, QueryMessage
from monitoring.services import crf_verify

pytestmark = pytest.mark.django_db

ODM_SCHEMA = pathlib.Path(__file__).parent.parent / "data" / "odm-1.3.2" / "ODM1-3-2.xsd"
NS = {"odm": ODM_NS}
# A field whose name ends so has a unit, and its label must say it.
UNIT_SUFFIXES = {"_kg": "kg", "_cm": "cm", "_m2": "m²", "_percent": "%", "_mg": "mg", "_per_ul": "/µL",
                 "_ml_min": "mL/min", "_c": "°C", "_per_kg": "/kg", "_years": "years", "_cells": "×10⁶"}
# Shown in the form's heading and status line, not as a row of values.
NOT_A_ROW = {"patient", "protocol", "removed", "removal_reason", "visit"}


def _pdf_text(content: bytes) -> str:
    """The PDF's text without any white space: where pypdf breaks a line (a table cell wraps "ALT/AST" after
    the slash) is layout, not content; a label still reads next to its value."""
    return "".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).split())


def _squashed(text: str) -> str:
    return "".join(str(text).split())


def _filled(model_field, number: int):
    """A distinctive value for a field (number: the field's place in the walk) that a search can find."""
    if model_field.choices:
        codes = [code for code, _label in model_field.flatchoices if code not in ("", None)]
        return codes[number % len(codes)]
    if isinstance(model_field, models.BooleanField):
        return True
    if isinstance(model_field, models.DateTimeField):
        return datetime.datetime(2026, 4, 1 + number % 28, 9, number % 60, tzinfo=datetime.UTC)
    if isinstance(model_field, models.DateField):
        return datetime.date(2025, 1 + number % 12, 1 + number % 28)
    if isinstance(model_field, models.DecimalField):
        if "×10⁶" in str(model_field.verbose_name):
            return Decimal(f"{number}7654321.00") if model_field.decimal_places else Decimal(f"{number}7654321")
        whole = model_field.max_digits - model_field.decimal_places
        value = Decimal(f"{number % 10 ** min(whole, 2)}.{'7' * model_field.decimal_places}")
        return value
    if isinstance(model_field, models.BigIntegerField) or "×10⁶" in str(model_field.verbose_name):
        return int(f"{number}7654321000")
    if isinstance(model_field, (models.IntegerField, models.SmallIntegerField)):
        return 3 + number % 7
    if isinstance(model_field, (models.CharField, models.TextField)):
        return f"Walk{number} {model_field.name}"[:model_field.max_length or 200]
    return None  # JSON and relations keep what the services stored


def _fill(record, fields, start: int) -> int:
    for number, model_field in enumerate(fields, start=start):
        value = _filled(model_field, number)
        if value is not None and not model_field.is_relation:
            setattr(record, model_field.attname, value)
    record.save()  # a direct save: this test fills every column, the services' derivations do not matter here
    record.refresh_from_db()
    return start + len(fields)


@pytest.fixture
def walked(full_patient, monitor):
    """The full patient with every data field of every form and child row filled, one field SDV-marked and
    one deviation filed."""
    number = 1
    children = []
    for model in crf_models():
        crf = full_patient.crfs[model._meta.label_lower]
        number = _fill(crf, [f for f in export_fields(model) if f.name not in NOT_A_ROW], number)
        for child, fk in crf_children(model):
            rows = list(child._default_manager.filter(**{fk.attname: crf.pk}))
            assert rows, f"tests/full_patient.py builds no {child._meta.verbose_name} for {model.crf_label}: add one"
            for row in rows:
                number = _fill(row, [f for f in child_value_fields(child, fk) if f.name not in NOT_A_ROW], number)
            children.append((model, crf, child, fk, rows))
    follow_up = full_patient.crfs["outcomes.followup"]
    crf_verify(crf=follow_up, by=monitor, fields=["contact_date"])
    from django.contrib.contenttypes.models import ContentType

    deviation = ProtocolDeviation.objects.create(
        patient=full_patient.patient, content_type=ContentType.objects.get_for_model(follow_up),
        object_id=follow_up.pk, crf_label=follow_up.crf_label, rule="walk_rule", field="contact_date",
        message="Walk deviation message", value="walk value", reason="Walk deviation reason", created_by=monitor)
    return full_patient, children, deviation


def _expected_text(record, model_field) -> list[str]:
    value = format_value(record, model_field)
    if hasattr(value, "items"):
        return [str(item) for item in value.items]
    if hasattr(value, "rows"):
        return [cell for cell in value.header if cell] + [str(cell) for cells in value.rows for cell in cells if cell]
    return [str(value)]


def test_every_field_has_a_label_with_its_unit():
    for model in crf_models():
        groups = [(model, export_fields(model))] + [(child, child_value_fields(child, fk))
                                                    for child, fk in crf_children(model)]
        for owner, fields in groups:
            for model_field in fields:
                label = field_label(model_field)
                for suffix, unit in UNIT_SUFFIXES.items():
                    if model_field.name.endswith(suffix):
                        assert unit in label, f"{owner.__name__}.{model_field.name}: {label!r} does not say {unit}"
                assert label != model_field.name.replace("_", " ").capitalize() or "_" not in model_field.name or \
                    not any(model_field.name.endswith(s) for s in UNIT_SUFFIXES), label


def test_every_value_of_every_form_and_child_row_is_in_the_casebook_pdf(client, walked, data_manager):
    full, children, deviation = walked
    client.force_login(data_manager)
    response = client.get(f"/monitoring/patients/{full.patient.study_id}/casebook.pdf")
    assert response.status_code == 200
    text = _pdf_text(response.content)
    assert text.index("Contents") < text.index("Timeline")
    for model in crf_models():
        crf = full.crfs[model._meta.label_lower]
        heading = _squashed(f"{model.crf_label} #{crf.pk}")
        assert heading in text, model
        # The form's values: from its heading (the last, after the contents page) to its audit trail.
        start = text.rindex(heading)
        values = text[start:text.index("Audittrail", start)]
        for model_field in export_fields(model):
            if model_field.name in NOT_A_ROW:
                continue
            label = field_label(model_field)
            expected = _expected_text(crf, model_field)
            if expected == [EMPTY]:  # a value the services left empty: named on the form's "Not recorded" line
                not_recorded = values[values.index(_squashed("Not recorded (—)")):]
                assert _squashed(label) in not_recorded, (model.crf_label, label)
                continue
            assert _squashed(f"{label} {expected[0]}") in values, (model.crf_label, label, expected[0])
            for piece in expected[1:]:
                assert _squashed(piece) in text, (model.crf_label, label, piece)
    for _model, _crf, child, fk, rows in children:
        for model_field in child_value_fields(child, fk):
            if model_field.name in NOT_A_ROW:
                continue
            assert _squashed(field_label(model_field)) in text, (child.__name__, field_label(model_field))
            for row in rows:
                for piece in _expected_text(row, model_field):
                    assert _squashed(piece) in text, (child.__name__, model_field.name, piece)
    # the monitoring records of the forms
    assert _squashed("Walk deviation message") in text and _squashed("Walk deviation reason") in text
    assert _squashed(full.query.text) in text  # the query and its message
    assert _squashed("✔ SDV") in text
    assert _squashed(f"Signed by {full.signature.signer_full_name}") in text
    # the audit trail, the child rows' too
    assert _squashed("Audit trail (newest first; values old → new · reason)") in text
    assert _squashed("Lymphodepletion dose #") in text


def _csv(client, url) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200, url
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode())))


def _neutralised(text: str) -> str:
    from monitoring.csv_safe import neutralise

    return neutralise(text)


def test_every_value_is_in_its_form_csv_or_child_csv_with_the_forms_key(client, walked, data_manager):
    full, children, _deviation = walked
    client.force_login(data_manager)
    for model in crf_models():
        crf = full.crfs[model._meta.label_lower]
        rows = {row["form_id"]: row for row in _csv(client, f"/monitoring/exports/forms/{model.crf_code}.csv")}
        row = rows[str(crf.pk)]
        assert row["subject_id"] == full.patient.study_id
        for model_field in export_fields(model):
            assert row[model_field.name] == _neutralised(coded_value(crf, model_field)), (model, model_field.name)
    for model, crf, child, fk, child_rows in children:
        url = f"/monitoring/exports/forms/{model.crf_code}/{fk.remote_field.related_name}.csv"
        exported = {row["row_id"]: row for row in _csv(client, url)}
        for record in child_rows:
            row = exported[str(record.pk)]
            assert (row["subject_id"], row["form_id"]) == (full.patient.study_id, str(crf.pk))
            for model_field in child_value_fields(child, fk):
                assert row[model_field.name] == _neutralised(coded_value(record, model_field)), model_field.name
    dictionary = {(row["form"], row["field"]): row for row in _csv(client, "/monitoring/exports/data-dictionary.csv")}
    assert dictionary[("lymphodepletion/doses", "planned_mg")]["label"] == "Planned dose (mg)"


def test_every_value_is_in_the_odm_file_with_one_item_group_per_child_row(api_client, walked, data_manager):
    full, children, _deviation = walked
    api_client.force_authenticate(data_manager)
    response = api_client.get("/api/v1/export/odm/")
    document = etree.fromstring(b"".join(response.streaming_content))
    schema = etree.XMLSchema(etree.parse(str(ODM_SCHEMA)))
    assert schema.validate(document), schema.error_log
    for model in crf_models():
        crf = full.crfs[model._meta.label_lower]
        [form] = document.xpath(f"//odm:FormData[@FormOID='F.{model.crf_code.upper()}'][@FormRepeatKey='{crf.pk}']",
                                namespaces=NS)
        group = form.find(f"odm:ItemGroupData[@ItemGroupOID='IG.{model.crf_code.upper()}']", NS)
        for model_field in export_fields(model):
            values = group.xpath(f"odm:ItemData[@ItemOID='I.{model.crf_code.upper()}.{model_field.name.upper()}']"
                                 "/@Value", namespaces=NS)
            assert values and values[-1] == coded_value(crf, model_field), (model, model_field.name, values)
    for model, crf, child, fk, rows in children:
        [form] = document.xpath(f"//odm:FormData[@FormOID='F.{model.crf_code.upper()}'][@FormRepeatKey='{crf.pk}']",
                                namespaces=NS)
        oid = f"IG.{model.crf_code.upper()}.{fk.remote_field.related_name.upper()}"
        groups = form.findall(f"odm:ItemGroupData[@ItemGroupOID='{oid}']", NS)
        assert sorted(int(g.get("ItemGroupRepeatKey")) for g in groups) == sorted(row.pk for row in rows)
        [definition] = document.xpath(f"//odm:ItemGroupDef[@OID='{oid}']", namespaces=NS)
        assert definition.get("Repeating") == "Yes"
        for record in rows:
            [group] = [g for g in groups if g.get("ItemGroupRepeatKey") == str(record.pk)]
            for model_field in child_value_fields(child, fk):
                item_oid = (f"I.{model.crf_code.upper()}.{fk.remote_field.related_name.upper()}"
                            f".{model_field.name.upper()}")
                values = group.xpath(f"odm:ItemData[@ItemOID='{item_oid}']/@Value", namespaces=NS)
                assert values and values[-1] == coded_value(record, model_field), (child, model_field.name)


def test_deviations_queries_sdv_signatures_and_audit_trail_have_csvs_of_their_own(client, walked, data_manager):
    full, children, deviation = walked
    client.force_login(data_manager)
    [row] = _csv(client, "/monitoring/exports/records/deviations.csv")
    assert (row["deviation_id"], row["message"], row["reason"], row["form"]) == (
        str(deviation.pk), "Walk deviation message", "Walk deviation reason", "follow_up")
    messages = _csv(client, "/monitoring/exports/records/queries.csv")
    # Every query's conversation: the monitor's on the weight, and the automatic one on the CRS event's grade.
    assert [(m["query_id"], m["action"], m["text"]) for m in messages] == [
        (str(message.query_id), message.action, message.text)
        for message in QueryMessage.objects.order_by("query_id", "created_at")]
    assert str(full.query.pk) in {m["query_id"] for m in messages}
    marks = _csv(client, "/monitoring/exports/records/sdv.csv")
    assert [(m["form"], m["field"]) for m in marks] == [("follow_up", "contact_date")]
    [signature] = _csv(client, "/monitoring/exports/records/signatures.csv")
    assert (signature["signature_id"], signature["values_sha256"]) == (
        str(full.signature.pk), full.signature.values_sha256)
    audit = _csv(client, "/monitoring/exports/records/audit-trail.csv")
    course = full.crfs["infusions.lymphodepletion"]
    dose_rows = [row for row in audit if row["record"] == "infusions.lymphodepletiondose"]
    assert {row["form_id"] for row in dose_rows} == {str(course.pk)}
    fill = [row for row in dose_rows if row["field"] == "planned_mg" and row["action"] == "changed"]
    assert fill and all(row["new_value"] != row["old_value"] for row in fill)
    follow_up = full.crfs["outcomes.followup"]
    comments = [row for row in audit if row["form"] == "follow_up" and row["field"] == "comments"]
    assert comments[-1]["new_value"] == follow_up.comments
