"""Define-XML 2.1 for a package, from `submission.metadata` and the rows it describes.

Written with lxml rather than odmlib: the EDC already writes ODM with lxml (monitoring.exports), our one
metadata table maps onto the elements directly, and the file needs lengths and significant digits measured on
the rows, which we have at hand; odmlib would add a dependency and a second object model of the same file.

What it holds: the standards (def:Standards: the implementation guide and the CDISC Controlled Terminology the
codelists come from), one ItemGroupDef per dataset (its standard, def:Class, structure, keys, the XPT file as
def:leaf), one ItemDef per variable (type, length measured on the data, label, origin and its source, codelist),
value-level metadata (def:ValueListDef with def:WhereClauseDef) for the result of every --TESTCD / PARAMCD dataset,
the codelists the variables use (submission/data/codelists.json: a CDISC codelist and each of its terms carry their
NCI C-code as an nci:ExtCodeID Alias, a sponsor's term added to it def:ExtendedValue), a MethodDef per computational
method, and a def:CommentDef per comment (a variable the EDC does not collect, how the terminology was checked).
"""
import datetime

from lxml import etree

from . import metadata as md
from . import terminology
from .package import DatasetMeasures, Measures
from .sources import Study

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
DEFINE_VERSION = "2.1.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
NSMAP = {None: ODM_NS, "def": DEF_NS, "xlink": XLINK_NS}

STANDARD = {
    # package: (def:Standard Name of the implementation guide, its version, ItemGroupDef Purpose)
    "sdtm": ("SDTMIG", md.SDTMIG_VERSION, "Tabulation"),
    "adam": ("ADaMIG", md.ADAMIG_VERSION, "Analysis"),
}
IG_OID, CT_OID = "STD.IG", "STD.CT"
# Define-XML 2.1 names a dataset's class with def:Class and, for some, a def:SubClass.
CLASS = {"FINDINGS ABOUT": ("FINDINGS", "FINDINGS ABOUT")}
SUBCLASS = {"ADTTE": "TIME-TO-EVENT", "ADAE": "ADVERSE EVENT"}
# Origin source (Define-XML 2.1 def:Origin Source): who gave the value. Collected values are the site's.
ORIGIN_SOURCE = {md.COLLECTED: "Investigator", md.DERIVED: "Sponsor", md.ASSIGNED: "Sponsor",
                 md.PROTOCOL: "Sponsor"}
# Methods that say a value is absent are comments in Define-XML 2.1 (def:CommentDef), not computations.
COMMENTS = {"NOTCOLL", "NOTCODED"}
CT_COMMENT = ("COM.CT", "NCI C-codes read from NCI EVS CT files (SEND Terminology 2025-09-26 for the codelists SDTM "
                        "and SEND share) and a public Define-XML; a CDISC term or codelist without an nci:ExtCodeID "
                        "alias was not checked yet (docs/cdisc.md lists them).")
NCI_CONTEXT = "nci:ExtCodeID"
DATA_TYPE = {md.TEXT: "text", md.ISO8601: "date", md.DURATION: "durationDatetime", md.INTEGER: "integer",
             md.FLOAT: "float", md.DATE: "integer"}


def _odm(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _def(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _description(parent, text: str) -> None:
    description = etree.SubElement(parent, _odm("Description"))
    translated = etree.SubElement(description, _odm("TranslatedText"))
    translated.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    translated.text = text


def _item_def(parent, *, oid: str, variable: md.Variable, label: str, measured: Measures | None,
              codelist_oids: set[str], value_list: str | None = None) -> None:
    measured = measured or Measures()
    item = etree.SubElement(parent, _odm("ItemDef"), OID=oid, Name=variable.name,
                            DataType=DATA_TYPE[variable.kind], SASFieldName=variable.name)
    if variable.method in COMMENTS:
        item.set(_def("CommentOID"), f"COM.{variable.method}")
    if variable.kind in (md.TEXT,):
        item.set("Length", str(measured.length))
    elif variable.kind in (md.INTEGER, md.FLOAT, md.DATE):
        item.set("Length", "8")
    if variable.kind == md.FLOAT:
        item.set("SignificantDigits", str(measured.significant_digits))
    if variable.kind == md.DATE:
        item.set(_def("DisplayFormat"), "DATE9.")
    _description(item, label)
    if variable.codelist:
        etree.SubElement(item, _odm("CodeListRef"), CodeListOID=f"CL.{variable.codelist}")
        codelist_oids.add(variable.codelist)
    if variable.method in COMMENTS:
        etree.SubElement(item, _def("Origin"), Type="Not Available")
    else:
        _origin(item, variable)
    if value_list:
        etree.SubElement(item, _def("ValueListRef"), ValueListOID=value_list)


def _origin(item, variable: md.Variable) -> None:
    origin = etree.SubElement(item, _def("Origin"), Type=variable.origin)
    if variable.origin in ORIGIN_SOURCE:
        origin.set("Source", ORIGIN_SOURCE[variable.origin])
    if variable.origin == md.PREDECESSOR:
        _description(origin, f"The variable of the same name in {'DM' if variable.name in _DM_NAMES else 'SDTM'}.")


_DM_NAMES = frozenset(md.DM.names)


def define_xml(*, study: Study, standard: str, datasets: list[md.Dataset], measures: dict[str, DatasetMeasures],
               created_at: datetime.datetime | None = None) -> bytes:
    """The package's define.xml (UTF-8). ``measures``: each dataset's lengths and significant digits, measured
    on its values as they were written (`submission.package.measures`)."""
    standard_name, standard_version, purpose = STANDARD[standard]
    created_at = created_at or datetime.datetime.now(datetime.UTC)
    odm = etree.Element(_odm("ODM"), nsmap=NSMAP, FileType="Snapshot", ODMVersion="1.3.2",
                        FileOID=f"DEFINE.{study.code}.{standard.upper()}",
                        CreationDateTime=created_at.replace(microsecond=0).isoformat(),
                        Originator="CD19 CAR-T EDC", SourceSystem="CD19 CAR-T EDC")
    odm.set(_def("Context"), "Submission")
    study_element = etree.SubElement(odm, _odm("Study"), OID=f"STUDY.{study.code}")
    global_variables = etree.SubElement(study_element, _odm("GlobalVariables"))
    for tag, text in (("StudyName", study.code), ("StudyDescription", study.title),
                      ("ProtocolName", f"{study.code} v{study.version}")):
        etree.SubElement(global_variables, _odm(tag)).text = text
    version = etree.SubElement(study_element, _odm("MetaDataVersion"),
                               OID=f"MDV.{study.code}.{standard.upper()}",
                               Name=f"{study.code} {standard_name} {standard_version}",
                               Description=f"{standard_name} {standard_version} datasets of {study.code}")
    version.set(_def("DefineVersion"), DEFINE_VERSION)
    _standards(version, standard_name, standard_version)

    value_lists = _value_level_metadata(version, datasets)
    methods = _item_groups(version, datasets, purpose=purpose, with_domain=standard == "sdtm")
    used_codelists = _item_defs(version, datasets, measures, value_lists)
    _codelists(version, used_codelists)
    for key in sorted(methods):
        method = etree.SubElement(version, _odm("MethodDef"), OID=f"MT.{key}", Name=key, Type="Computation")
        _description(method, md.METHODS[key])
    comments = [(f"COM.{key}", md.METHODS[key]) for key in sorted(
        {v.method for d in datasets for v in d.variables if v.method in COMMENTS})]
    for oid, text in [CT_COMMENT, *comments]:
        _description(etree.SubElement(version, _def("CommentDef"), OID=oid), text)
    return etree.tostring(odm, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _standards(version, name: str, ig_version: str) -> None:
    """def:Standards: the implementation guide and the Controlled Terminology package (2.1 moved them here from
    MetaDataVersion's def:StandardName / def:StandardVersion)."""
    standards = etree.SubElement(version, _def("Standards"))
    etree.SubElement(standards, _def("Standard"), OID=IG_OID, Name=name, Type="IG", Version=ig_version,
                     Status="Final")
    release = terminology.standard()
    ct = etree.SubElement(standards, _def("Standard"), OID=CT_OID, Name=release["name"], Type="CT",
                          PublishingSet=release["publishing_set"], Version=release["version"], Status="Final")
    ct.set(_def("CommentOID"), CT_COMMENT[0])


def _value_level_metadata(version, datasets: list[md.Dataset]) -> dict[str, str]:
    """One def:ValueListDef per result variable and one def:WhereClauseDef per test code; dataset → list OID."""
    value_lists: dict[str, str] = {}
    tested = [dataset for dataset in datasets if dataset.test_variable]
    for dataset in tested:
        oid = f"VL.{dataset.name}.{dataset.result_variable}"
        value_lists[dataset.name] = oid
        value_list = etree.SubElement(version, _def("ValueListDef"), OID=oid)
        for order, code in enumerate(dataset.tests, start=1):
            etree.SubElement(
                etree.SubElement(value_list, _odm("ItemRef"), ItemOID=_vlm_oid(dataset, code),
                                 OrderNumber=str(order), Mandatory="No"),
                _def("WhereClauseRef"), WhereClauseOID=_where_oid(dataset, code))
    for dataset in tested:
        for code in dataset.tests:
            where = etree.SubElement(version, _def("WhereClauseDef"), OID=_where_oid(dataset, code))
            check = etree.SubElement(where, _odm("RangeCheck"), Comparator="EQ", SoftHard="Soft")
            check.set(_def("ItemOID"), f"IT.{dataset.name}.{dataset.test_variable}")
            etree.SubElement(check, _odm("CheckValue")).text = code
    return value_lists


def _item_groups(version, datasets: list[md.Dataset], *, purpose: str, with_domain: bool) -> set[str]:
    """One ItemGroupDef per dataset with its ItemRefs and def:leaf; returns the methods they name."""
    methods: set[str] = set()
    for dataset in datasets:
        group = etree.SubElement(
            version, _odm("ItemGroupDef"), OID=f"IG.{dataset.name}", Name=dataset.name, SASDatasetName=dataset.name,
            Repeating="No" if dataset.name in ("DM", "ADSL") else "Yes",
            IsReferenceData="Yes" if dataset.cls == "TRIAL DESIGN" else "No", Purpose=purpose)
        if with_domain and not dataset.name.startswith("SUPP"):
            group.set("Domain", dataset.name)
        group.set(_def("Structure"), dataset.structure)
        group.set(_def("StandardOID"), IG_OID)
        group.set(_def("ArchiveLocationID"), f"LF.{dataset.name}")
        _description(group, dataset.label)
        for order, variable in enumerate(dataset.variables, start=1):
            ref = etree.SubElement(group, _odm("ItemRef"), ItemOID=f"IT.{dataset.name}.{variable.name}",
                                   OrderNumber=str(order), Mandatory="Yes" if variable.core == "Req" else "No")
            if variable.name in dataset.keys:
                ref.set("KeySequence", str(dataset.keys.index(variable.name) + 1))
            if variable.method and variable.method not in COMMENTS:
                ref.set("MethodOID", f"MT.{variable.method}")
                methods.add(variable.method)
        class_name, subclass = CLASS.get(dataset.cls, (dataset.cls, SUBCLASS.get(dataset.name)))
        cls = etree.SubElement(group, _def("Class"), Name=class_name)
        if subclass:
            etree.SubElement(cls, _def("SubClass"), Name=subclass)
        leaf = etree.SubElement(group, _def("leaf"), ID=f"LF.{dataset.name}")
        leaf.set(f"{{{XLINK_NS}}}href", dataset.filename)
        etree.SubElement(leaf, _def("title")).text = dataset.filename
    return methods


def _item_defs(version, datasets: list[md.Dataset], measures: dict[str, DatasetMeasures],
               value_lists: dict[str, str]) -> set[str]:
    """An ItemDef per variable and per value-level item; returns the codelists they use."""
    used_codelists: set[str] = set()
    for dataset in datasets:
        measured = measures.get(dataset.name) or DatasetMeasures()
        for variable in dataset.variables:
            _item_def(version, oid=f"IT.{dataset.name}.{variable.name}", variable=variable, label=variable.label,
                      measured=measured.by_variable.get(variable.name), codelist_oids=used_codelists,
                      value_list=value_lists.get(dataset.name) if variable.name == dataset.result_variable else None)
        if not dataset.test_variable or not dataset.result_variable:
            continue
        result = dataset.variable(dataset.result_variable)
        for code, name in dataset.tests.items():
            _item_def(version, oid=_vlm_oid(dataset, code), variable=result, label=f"{name} ({code})",
                      measured=measured.by_test.get(code), codelist_oids=used_codelists)
    return used_codelists


def _codelists(version, used: set[str]) -> None:
    """The codelists used. A CDISC codelist with its C-code points to the CT standard and carries the code as an
    nci:ExtCodeID Alias, each CDISC term its own; a term the sponsor added is def:ExtendedValue="Yes"."""
    known = terminology.codelists()
    for key in sorted(used):
        codelist = known[key]
        element = etree.SubElement(version, _odm("CodeList"), OID=f"CL.{key}", Name=codelist["name"],
                                   DataType="text")
        # A CDISC codelist whose code is not checked yet (docs/cdisc.md) is written as no CT codelist: Define-XML
        # 2.1 wants a CT codelist's code, and marks sponsor terms only in CT codelists.
        standard = bool(codelist.get("nci_code"))
        if standard:
            element.set(_def("StandardOID"), CT_OID)
        extended = set(codelist.get("extended", ()))
        for order, (term, code) in enumerate(codelist["terms"].items(), start=1):
            item = etree.SubElement(element, _odm("EnumeratedItem"), CodedValue=term, OrderNumber=str(order))
            if term in extended:
                if standard:
                    item.set(_def("ExtendedValue"), "Yes")
            elif code:
                etree.SubElement(item, _odm("Alias"), Context=NCI_CONTEXT, Name=code)
        if standard:  # ODM: the codelist's Alias after its items
            etree.SubElement(element, _odm("Alias"), Context=NCI_CONTEXT, Name=codelist["nci_code"])


def _vlm_oid(dataset: md.Dataset, code: str) -> str:
    return f"IT.{dataset.name}.{dataset.result_variable}.{code}"


def _where_oid(dataset: md.Dataset, code: str) -> str:
    return f"WC.{dataset.name}.{dataset.test_variable}.{code}"


def define_problems(document: bytes) -> list[str]:
    """Internal consistency of a define.xml: every OID a reference names is defined, once."""
    tree = etree.fromstring(document)
    namespaces = {"odm": ODM_NS, "def": DEF_NS}
    problems = []
    defined: dict[str, int] = {}
    for element in tree.iter():
        oid = element.get("OID")
        if oid:
            defined[oid] = defined.get(oid, 0) + 1
    problems += [f"{oid} defined {count} times" for oid, count in defined.items() if count > 1]
    leaves = {leaf.get("ID") for leaf in tree.iterfind(".//def:leaf", namespaces)}
    references = [(element, name) for element in tree.iter() for name in (
        "ItemOID", "CodeListOID", "MethodOID", "ValueListOID", "WhereClauseOID", f"{{{DEF_NS}}}ItemOID",
        f"{{{DEF_NS}}}StandardOID", f"{{{DEF_NS}}}CommentOID")
        if element.get(name)]
    for element, name in references:
        if element.get(name) not in defined:
            problems.append(f"{etree.QName(element).localname} refers to {element.get(name)}, which is not defined")
    for group in tree.iterfind(".//odm:ItemGroupDef", namespaces):
        location = group.get(f"{{{DEF_NS}}}ArchiveLocationID")
        if location not in leaves:
            problems.append(f"{group.get('OID')}: no def:leaf {location}")
    return problems + _terminology_problems(tree, namespaces)


def _terminology_problems(tree, namespaces: dict) -> list[str]:
    """Define-XML 2.1 on controlled terminology: a codelist of a CT standard names its NCI code (one
    nci:ExtCodeID Alias), and a term the sponsor added (def:ExtendedValue) is one of such a codelist and has no
    NCI code."""
    problems = []
    extended = f"{{{DEF_NS}}}ExtendedValue"
    for codelist in tree.iterfind(".//odm:CodeList", namespaces):
        oid = codelist.get("OID")
        codes = [a for a in codelist.findall("odm:Alias", namespaces) if a.get("Context") == NCI_CONTEXT]
        standard = codelist.get(f"{{{DEF_NS}}}StandardOID")
        if standard and len(codes) != 1:
            problems.append(f"{oid}: a CT codelist with {len(codes)} {NCI_CONTEXT} aliases, not one")
        for item in [*codelist.iterfind("odm:EnumeratedItem", namespaces),
                     *codelist.iterfind("odm:CodeListItem", namespaces)]:
            coded = any(a.get("Context") == NCI_CONTEXT for a in item.findall("odm:Alias", namespaces))
            if item.get(extended) == "Yes" and (coded or not standard):
                problems.append(f"{oid}: {item.get('CodedValue')!r} is marked extended but "
                                + ("has an NCI code" if coded else "its codelist is no CT codelist"))
    return problems
