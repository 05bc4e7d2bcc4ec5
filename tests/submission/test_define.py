"""define.xml of both packages: well-formed, in the ODM 1.3 and Define-XML 2.0 namespaces, the ODM part valid
against the ODM 1.3.2 schema, and internally consistent (every OID referenced is defined, every dataset has
its file in the ZIP). Breaking the metadata (a method or codelist key that does not exist, a dataset without
its file) fails here."""
import datetime
import io
import pathlib
import zipfile

import pytest
from lxml import etree

from submission.define import DEF_NS, ODM_NS, define_problems
from submission.services import package_zip
from tests.submission.conftest import all_patients

pytestmark = pytest.mark.django_db
TODAY = datetime.date(2026, 11, 30)
ODM_SCHEMA = pathlib.Path(__file__).parent.parent / "data" / "odm-1.3.2" / "ODM1-3-2.xsd"
NS = {"odm": ODM_NS, "def": DEF_NS}


def odm_part(tree):
    """The document without the Define-XML extension (its elements and attributes in other namespaces),
    which the ODM 1.3.2 schema alone does not know."""
    tree = etree.fromstring(etree.tostring(tree))
    for element in list(tree.iter()):
        if etree.QName(element).namespace != ODM_NS:
            element.getparent().remove(element)
            continue
        for name in list(element.attrib):
            if name.startswith("{") and not name.startswith("{http://www.w3.org/XML/1998/namespace}"):
                del element.attrib[name]
    return tree


@pytest.fixture
def packages(full_patient, second_patient, screen_failure):
    return {standard: zipfile.ZipFile(io.BytesIO(package_zip(standard=standard, patients=all_patients(),
                                                             cutoff=TODAY)))
            for standard in ("sdtm", "adam")}


def test_define_is_well_formed_consistent_and_valid_odm(packages):
    schema = etree.XMLSchema(etree.parse(str(ODM_SCHEMA)))
    for standard, archive in packages.items():
        document = archive.read("define.xml")
        tree = etree.fromstring(document)
        assert tree.tag == f"{{{ODM_NS}}}ODM" and tree.nsmap["def"] == DEF_NS
        version = tree.find(".//odm:MetaDataVersion", NS)
        assert version.get(f"{{{DEF_NS}}}DefineVersion") == "2.0.0"
        assert define_problems(document) == [], standard
        stripped = odm_part(tree)
        assert schema.validate(stripped), (standard, schema.error_log.last_error)
        hrefs = {leaf.get("{http://www.w3.org/1999/xlink}href") for leaf in tree.iterfind(".//def:leaf", NS)}
        assert hrefs == {name for name in archive.namelist() if name.endswith(".xpt")}, standard


def test_sdtm_define_describes_ex_and_the_fa_tests(packages):
    tree = etree.fromstring(packages["sdtm"].read("define.xml"))
    assert tree.find(".//odm:MetaDataVersion", NS).get(f"{{{DEF_NS}}}StandardVersion") == "3.4"
    dm = tree.find(".//odm:ItemGroupDef[@OID='IG.DM']", NS)
    assert dm.find("odm:ItemRef[@ItemOID='IT.DM.USUBJID']", NS).get("KeySequence") == "2"
    assert dm.get(f"{{{DEF_NS}}}Class") == "SPECIAL PURPOSE"
    exdose = tree.find(".//odm:ItemDef[@OID='IT.EX.EXDOSE']", NS)
    assert (exdose.get("DataType"), exdose.get("SignificantDigits")) == ("float", "1")  # 6.0, 2.5, 52.0
    assert tree.find(".//odm:ItemDef[@OID='IT.EX.EXSTDTC']", NS).get("DataType") == "date"
    usubjid = tree.find(".//odm:ItemDef[@OID='IT.EX.USUBJID']", NS)
    assert usubjid.get("Length") == "21"  # the longest value's: "CD19-CART-BALL-SZ-001"
    exstdy = tree.find(".//odm:ItemGroupDef[@OID='IG.EX']/odm:ItemRef[@ItemOID='IT.EX.EXSTDY']", NS)
    method = tree.find(f".//odm:MethodDef[@OID='{exstdy.get('MethodOID')}']", NS)
    assert "no day 0" in method.findtext("odm:Description/odm:TranslatedText", namespaces=NS)
    where = tree.find(".//def:WhereClauseDef[@OID='WC.FA.FATESTCD.TEMP']/odm:RangeCheck", NS)
    assert (where.get(f"{{{DEF_NS}}}ItemOID"), where.findtext("odm:CheckValue", namespaces=NS)) == (
        "IT.FA.FATESTCD", "TEMP")
    temp = tree.find(".//odm:ItemDef[@OID='IT.FA.FAORRES.TEMP']", NS)
    assert temp.get("Length") == "4"  # "38.6"
    unit = tree.find(".//odm:CodeList[@OID='CL.UNIT']/odm:EnumeratedItem[@CodedValue='10^6 cells/kg']", NS)
    assert unit.get(f"{{{DEF_NS}}}ExtendedValue") == "Yes"


def test_adam_define_has_the_time_to_event_parameters(packages):
    tree = etree.fromstring(packages["adam"].read("define.xml"))
    assert {e.get("OID") for e in tree.iterfind(".//odm:ItemGroupDef", NS)} == {
        "IG.ADSL", "IG.ADTTE", "IG.ADRS", "IG.ADAE"}
    assert tree.find(".//odm:ItemDef[@OID='IT.ADTTE.ADT']", NS).get(f"{{{DEF_NS}}}DisplayFormat") == "DATE9."
    codes = [e.findtext("odm:CheckValue", namespaces=NS)
             for e in tree.iterfind(".//def:WhereClauseDef/odm:RangeCheck", NS)
             if e.get(f"{{{DEF_NS}}}ItemOID") == "IT.ADTTE.PARAMCD"]
    assert codes == ["OS", "EFS", "LFS", "CIR", "DOR"]
    assert set(packages["adam"].namelist()) == {
        "adsl.xpt", "adsl.csv", "adtte.xpt", "adtte.csv", "adrs.xpt", "adrs.csv", "adae.xpt", "adae.csv", "define.xml"}


def test_a_reference_to_nothing_is_found():
    document = (f'<ODM xmlns="{ODM_NS}" xmlns:def="{DEF_NS}"><Study OID="S"><MetaDataVersion OID="M" Name="M">'
                '<ItemGroupDef OID="IG.X" Name="X" Repeating="No" def:ArchiveLocationID="LF.X">'
                '<ItemRef ItemOID="IT.X.A" OrderNumber="1" Mandatory="Yes" MethodOID="MT.NONE"/></ItemGroupDef>'
                '</MetaDataVersion></Study></ODM>').encode()
    assert define_problems(document) == [
        "ItemRef refers to IT.X.A, which is not defined", "ItemRef refers to MT.NONE, which is not defined",
        "IG.X: no def:leaf LF.X"]
