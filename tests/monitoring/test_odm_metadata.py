"""The ODM file's metadata, piece by piece (`monitoring.exports._odm_study` and the functions it calls), on the
registry's protocol and every CRF of the registry. The whole file is validated against the ODM 1.3.2 schema in
test_reports_exports.py; these say which piece writes what."""

import pytest
from lxml import etree

from crf.models import crf_children, crf_models
from infusions.models import Lymphodepletion
from monitoring.exports import (
    ODM_NS,
    _group_oid,
    _odm_form_defs,
    _odm_groups,
    _odm_item_defs,
    _odm_item_group_defs,
    _odm_study,
    _odm_study_events,
)

pytestmark = pytest.mark.django_db
NS = {"odm": ODM_NS}


def _mdv():
    return etree.Element(f"{{{ODM_NS}}}MetaDataVersion", nsmap={None: ODM_NS})


def _tags(element) -> list[str]:
    return [etree.QName(child).localname for child in element]


def test_one_study_event_per_scheduled_visit_and_one_for_forms_outside_visits(protocol):
    """The protocol's 16 visits D1 … M36 and "unscheduled", in order, each allowing every form."""
    mdv = _mdv()
    form_oids = {model: f"F.{model.crf_code.upper()}" for model in crf_models()}
    _odm_study_events(mdv, visit_definitions=protocol.visit_definitions.all(), form_oids=form_oids)
    refs = mdv.xpath("odm:Protocol/odm:StudyEventRef/@StudyEventOID", namespaces=NS)
    codes = [definition.code for definition in protocol.visit_definitions.all()]
    assert len(codes) == 16
    assert refs == [f"SE.{code}" for code in codes] + ["SE.UNSCHEDULED"]
    events = mdv.xpath("odm:StudyEventDef", namespaces=NS)
    assert [event.get("OID") for event in events] == refs
    for event in events:
        assert event.xpath("odm:FormRef/@FormOID", namespaces=NS) == list(form_oids.values())


def test_a_form_refers_to_its_own_group_then_a_repeating_group_per_kind_of_child_row():
    mdv = _mdv()
    _odm_form_defs(mdv, groups=_odm_groups([Lymphodepletion]), form_oids={Lymphodepletion: "F.LYMPHODEPLETION"})
    (form,) = mdv.xpath("odm:FormDef", namespaces=NS)
    refs = [(ref.get("ItemGroupOID"), ref.get("Mandatory")) for ref in form]
    assert refs == [("IG.LYMPHODEPLETION", "Yes"), ("IG.LYMPHODEPLETION.DOSES", "No")]


def test_every_field_of_every_form_and_child_row_has_an_item_in_its_group():
    models_ = crf_models()
    groups = _odm_groups(models_)
    mdv = _mdv()
    item_oids = _odm_item_group_defs(mdv, groups=groups)
    assert len(groups) == len(models_) + sum(len(crf_children(model)) for model in models_)
    for model, child, fk, fields in groups:
        (group,) = mdv.xpath(f"odm:ItemGroupDef[@OID='{_group_oid(model, fk)}']", namespaces=NS)
        assert group.get("Repeating") == ("No" if child is None else "Yes")
        assert group.xpath("odm:ItemRef/@ItemOID", namespaces=NS) == [item_oids[(model, fk, f.name)] for f in fields]


def test_a_coded_field_refers_to_its_code_list_written_after_every_item():
    groups = _odm_groups([Lymphodepletion])
    mdv = _mdv()
    item_oids = _odm_item_group_defs(mdv, groups=groups)
    items = _mdv()
    _odm_item_defs(items, groups=groups, item_oids=item_oids)
    tags = _tags(items)
    assert tags == sorted(tags, key=["ItemDef", "CodeList"].index)  # no ItemDef after a CodeList
    verdict = items.xpath("odm:ItemDef[@Name='verdict']", namespaces=NS)[0]
    codelist_oid = verdict.xpath("odm:CodeListRef/@CodeListOID", namespaces=NS)[0]
    assert codelist_oid == "CL.LYMPHODEPLETION.DOSES.VERDICT"
    codes = items.xpath(f"odm:CodeList[@OID='{codelist_oid}']/odm:CodeListItem/@CodedValue", namespaces=NS)
    assert codes == ["within_tolerance", "outside_tolerance", "missed"]


def test_the_metadata_version_lists_its_parts_in_the_schemas_order(protocol):
    study, study_oid, mdv_oid, form_oids, item_oids = _odm_study(protocol=protocol, models_=crf_models())
    (mdv,) = study.xpath("odm:MetaDataVersion", namespaces=NS)
    order = ["Protocol", "StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef", "CodeList"]
    tags = _tags(mdv)
    assert set(tags) == set(order) and tags == sorted(tags, key=order.index)
    assert (study.get("OID"), mdv.get("OID")) == (study_oid, mdv_oid)
    assert _tags(study.xpath("odm:GlobalVariables", namespaces=NS)[0]) == ["StudyName", "StudyDescription",
                                                                          "ProtocolName"]
