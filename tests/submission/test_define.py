"""define.xml of both packages: well-formed, in the ODM 1.3 and Define-XML 2.1 namespaces, the ODM part valid
against the ODM 1.3.2 schema, and internally consistent (every OID referenced is defined, every dataset has
its file in the ZIP). Breaking the metadata (a method, codelist, standard or comment that does not exist, a
dataset without its file) fails here, and so does writing the 2.0 structure (StandardName/StandardVersion on
MetaDataVersion, def:Class as an attribute, an origin without its source)."""
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
        assert tree.tag == f"{{{ODM_NS}}}ODM" and tree.nsmap["def"] == DEF_NS == "http://www.cdisc.org/ns/def/v2.1"
        assert tree.get(f"{{{DEF_NS}}}Context") == "Submission"
        version = tree.find(".//odm:MetaDataVersion", NS)
        assert version.get(f"{{{DEF_NS}}}DefineVersion") == "2.1.0"
        assert version.get(f"{{{DEF_NS}}}StandardName") is None  # 2.0's; 2.1 has def:Standards
        assert etree.QName(version[0]).localname == "Standards"  # the first child of MetaDataVersion
        for group in tree.iterfind(".//odm:ItemGroupDef", NS):
            assert group.get(f"{{{DEF_NS}}}Class") is None, standard
            assert [etree.QName(child).localname for child in group][-2:] == ["Class", "leaf"], group.get("OID")
            assert group.get(f"{{{DEF_NS}}}StandardOID") == "STD.IG"
        assert define_problems(document) == [], standard
        stripped = odm_part(tree)
        assert schema.validate(stripped), (standard, schema.error_log.last_error)
        hrefs = {leaf.get("{http://www.w3.org/1999/xlink}href") for leaf in tree.iterfind(".//def:leaf", NS)}
        assert hrefs == {name for name in archive.namelist() if name.endswith(".xpt")}, standard


def test_sdtm_define_describes_ex_and_the_fa_tests(packages):
    tree = etree.fromstring(packages["sdtm"].read("define.xml"))
    standards = [dict(e.attrib) for e in tree.iterfind(".//def:Standards/def:Standard", NS)]
    assert standards == [
        {"OID": "STD.IG", "Name": "SDTMIG", "Type": "IG", "Version": "3.4", "Status": "Final"},
        {"OID": "STD.CT", "Name": "CDISC/NCI", "Type": "CT", "PublishingSet": "SDTM", "Version": "2025-09-26",
         "Status": "Final", f"{{{DEF_NS}}}CommentOID": "COM.CT"}]
    assert "SEND Terminology 2025-09-26" in tree.findtext(
        ".//def:CommentDef[@OID='COM.CT']/odm:Description/odm:TranslatedText", namespaces=NS)
    dm = tree.find(".//odm:ItemGroupDef[@OID='IG.DM']", NS)
    assert dm.find("odm:ItemRef[@ItemOID='IT.DM.USUBJID']", NS).get("KeySequence") == "2"
    assert (dm.get("Repeating"), dm.get("IsReferenceData"), dm.get("Purpose"), dm.get("SASDatasetName"),
            dm.get(f"{{{DEF_NS}}}Structure")) == ("No", "No", "Tabulation", "DM", "One record per subject")
    assert dm.find("def:Class", NS).get("Name") == "SPECIAL PURPOSE"
    fa_class = tree.find(".//odm:ItemGroupDef[@OID='IG.FA']/def:Class", NS)
    assert (fa_class.get("Name"), fa_class.find("def:SubClass", NS).get("Name")) == ("FINDINGS", "FINDINGS ABOUT")
    assert tree.find(".//odm:ItemGroupDef[@OID='IG.TS']", NS).get("IsReferenceData") == "Yes"
    # A collected value's origin is the site's; a variable the EDC does not collect has a comment, not a method.
    sex = tree.find(".//odm:ItemDef[@OID='IT.DM.SEX']/def:Origin", NS)
    assert (sex.get("Type"), sex.get("Source")) == ("Collected", "Investigator")
    race = tree.find(".//odm:ItemDef[@OID='IT.DM.RACE']", NS)
    assert (race.get(f"{{{DEF_NS}}}CommentOID"), race.find("def:Origin", NS).get("Type")) == (
        "COM.NOTCOLL", "Not Available")
    assert dm.find("odm:ItemRef[@ItemOID='IT.DM.RACE']", NS).get("MethodOID") is None
    assert "no field for it" in tree.findtext(
        ".//def:CommentDef[@OID='COM.NOTCOLL']/odm:Description/odm:TranslatedText", namespaces=NS)
    assert tree.find(".//odm:CodeList[@OID='CL.SEX']", NS).get(f"{{{DEF_NS}}}StandardOID") == "STD.CT"
    assert tree.find(".//odm:CodeList[@OID='CL.AEREL']", NS).get(f"{{{DEF_NS}}}StandardOID") is None  # sponsor
    exdose = tree.find(".//odm:ItemDef[@OID='IT.EX.EXDOSE']", NS)
    assert (exdose.get("DataType"), exdose.get("SignificantDigits")) == ("float", "1")  # 5.0, 2.5, 52.0
    assert tree.find(".//odm:ItemDef[@OID='IT.EX.EXSTDTC']", NS).get("DataType") == "date"
    usubjid = tree.find(".//odm:ItemDef[@OID='IT.EX.USUBJID']", NS)
    assert usubjid.get("Length") == "21"  # the longest value's: "CD19-CART-BALL-SZ-001"
    exstdy = tree.find(".//odm:ItemGroupDef[@OID='IG.EX']/odm:ItemRef[@ItemOID='IT.EX.EXSTDY']", NS)
    method = tree.find(f".//odm:MethodDef[@OID='{exstdy.get('MethodOID')}']", NS)
    assert "no day 0" in method.findtext("odm:Description/odm:TranslatedText", namespaces=NS)
    where = tree.find(".//def:WhereClauseDef[@OID='WC.FA.FATESTCD.TEMP']/odm:RangeCheck", NS)
    assert (where.get(f"{{{DEF_NS}}}ItemOID"), where.findtext("odm:CheckValue", namespaces=NS)) == (
        "IT.FA.FATESTCD", "TEMP")
    faorres = tree.find(".//odm:ItemDef[@OID='IT.FA.FAORRES']/def:ValueListRef", NS)
    assert faorres.get("ValueListOID") == "VL.FA.FAORRES"
    vlm = tree.find(".//def:ValueListDef[@OID='VL.FA.FAORRES']/odm:ItemRef[@ItemOID='IT.FA.FAORRES.TEMP']", NS)
    assert vlm.find("def:WhereClauseRef", NS).get("WhereClauseOID") == "WC.FA.FATESTCD.TEMP"
    temp = tree.find(".//odm:ItemDef[@OID='IT.FA.FAORRES.TEMP']", NS)
    assert temp.get("Length") == "4"  # "38.6"
    # LB: MRD by flow and the laboratory CRF's tests, value-level metadata per LBTESTCD; the reference range is
    # derived (the method says where it comes from, and why MRD has none).
    assert tree.find(".//odm:ItemGroupDef[@OID='IG.LB']/def:Class", NS).get("Name") == "FINDINGS"
    vlm = {ref.get("ItemOID"): ref.find("def:WhereClauseRef", NS).get("WhereClauseOID")
           for ref in tree.iterfind(".//def:ValueListDef[@OID='VL.LB.LBORRES']/odm:ItemRef", NS)}
    assert vlm["IT.LB.LBORRES.MRDFLOW"] == "WC.LB.LBTESTCD.MRDFLOW"
    assert vlm["IT.LB.LBORRES.NEUT"] == "WC.LB.LBTESTCD.NEUT" and len(vlm) == 18
    lornrlo = tree.find(".//odm:ItemGroupDef[@OID='IG.LB']/odm:ItemRef[@ItemOID='IT.LB.LBORNRLO']", NS)
    assert "laboratory.rules.normal_range" in tree.findtext(
        f".//odm:MethodDef[@OID='{lornrlo.get('MethodOID')}']/odm:Description/odm:TranslatedText", namespaces=NS)
    assert tree.find(".//odm:ItemDef[@OID='IT.LB.LBLLOQ']/def:Origin", NS).get("Type") == "Collected"
    # The CAR-T dose unit (10^6 cells/kg) is CDISC's 10^6/kg, not a sponsor term.
    unit = tree.find(".//odm:CodeList[@OID='CL.UNIT']/odm:EnumeratedItem[@CodedValue='10^6/kg']", NS)
    assert unit.get(f"{{{DEF_NS}}}ExtendedValue") is None and unit.find("odm:Alias", NS).get("Name") == "C198380"


def nci_codes(tree, oid):
    """A codelist's own NCI code and its terms' ({coded value: code or None}), as define.xml writes them."""
    codelist = tree.find(f".//odm:CodeList[@OID='{oid}']", NS)
    own = [a.get("Name") for a in codelist.findall("odm:Alias[@Context='nci:ExtCodeID']", NS)]
    terms = {item.get("CodedValue"): item.find("odm:Alias[@Context='nci:ExtCodeID']", NS)
             for item in codelist.iterfind("odm:EnumeratedItem", NS)}
    return own, {value: None if alias is None else alias.get("Name") for value, alias in terms.items()}


def test_cdisc_codelists_and_terms_carry_their_nci_codes(packages):
    """Define-XML 2.1: a CDISC codelist and each of its terms name their NCI C-code (nci:ExtCodeID Alias, after
    the items as ODM orders them); a sponsor codelist names none; DSDECOD, which combines NCOMPLT and PROTMLST,
    has no code of its own but its terms keep theirs."""
    tree = etree.fromstring(packages["sdtm"].read("define.xml"))
    assert nci_codes(tree, "CL.NY") == (["C66742"], {"N": "C49487", "NA": "C48660", "U": "C17998", "Y": "C49488"})
    assert nci_codes(tree, "CL.SEX")[0] == ["C66731"] and nci_codes(tree, "CL.SEX")[1]["F"] == "C16576"
    own, terms = nci_codes(tree, "CL.LBTESTCD")
    assert own == ["C65047"] and (terms["WBC"], terms["BLYCE"], terms["INTLK6"], terms["MRDFLOW"]) == (
        "C51948", "C174314", "C74834", None)
    assert nci_codes(tree, "CL.LBTEST")[1]["B-Lymphocytes"] == "C174314"
    assert nci_codes(tree, "CL.PKPARMCD")[1] == {"CMAX": "C70918", "TMAX": "C70919", "AUCINT": "C85566",
                                                 "TLST": "C85822"}
    assert nci_codes(tree, "CL.AEREL") == ([], dict.fromkeys(
        ["NOT RELATED", "UNLIKELY RELATED", "POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED"]))
    dsdecod = tree.find(".//odm:CodeList[@OID='CL.DSDECOD']", NS)
    assert dsdecod.get(f"{{{DEF_NS}}}StandardOID") is None and nci_codes(tree, "CL.DSDECOD")[0] == []
    alias = tree.find(".//odm:CodeList[@OID='CL.SEX']", NS)[-1]
    assert (etree.QName(alias).localname, alias.get("Name")) == ("Alias", "C66731")


def test_terminology_that_breaks_define_xml_2_1_is_found():
    """A CT codelist without its NCI code, a sponsor term marked extended that also names an NCI code, and an
    extended term in a codelist of no CT standard are each named."""
    document = (f'<ODM xmlns="{ODM_NS}" xmlns:def="{DEF_NS}"><Study OID="S"><MetaDataVersion OID="M" Name="M">'
                '<def:Standards><def:Standard OID="STD.CT" Name="CDISC/NCI" Type="CT"/></def:Standards>'
                '<CodeList OID="CL.A" Name="A" DataType="text" def:StandardOID="STD.CT">'
                '<EnumeratedItem CodedValue="X" def:ExtendedValue="Yes"><Alias Context="nci:ExtCodeID" Name="C1"/>'
                '</EnumeratedItem></CodeList>'
                '<CodeList OID="CL.B" Name="B" DataType="text"><EnumeratedItem CodedValue="Y" def:ExtendedValue="Yes"/>'
                '</CodeList></MetaDataVersion></Study></ODM>').encode()
    assert define_problems(document) == [
        "CL.A: a CT codelist with 0 nci:ExtCodeID aliases, not one",
        "CL.A: 'X' is marked extended but has an NCI code",
        "CL.B: 'Y' is marked extended but its codelist is no CT codelist"]


def test_adam_define_has_the_time_to_event_parameters(packages):
    tree = etree.fromstring(packages["adam"].read("define.xml"))
    assert {e.get("OID") for e in tree.iterfind(".//odm:ItemGroupDef", NS)} == {
        "IG.ADSL", "IG.ADTTE", "IG.ADRS", "IG.ADAE", "IG.ADPP"}
    ig = tree.find(".//def:Standards/def:Standard[@OID='STD.IG']", NS)
    assert (ig.get("Name"), ig.get("Version")) == ("ADaMIG", "1.3")
    adtte = tree.find(".//odm:ItemGroupDef[@OID='IG.ADTTE']", NS)
    assert (adtte.get("Purpose"), adtte.find("def:Class", NS).get("Name"),
            adtte.find("def:Class/def:SubClass", NS).get("Name")) == ("Analysis", "BASIC DATA STRUCTURE",
                                                                      "TIME-TO-EVENT")
    # A derived variable names its computational method.
    cnsr = adtte.find("odm:ItemRef[@ItemOID='IT.ADTTE.CNSR']", NS)
    assert "CNSR 0 for the event" in tree.findtext(
        f".//odm:MethodDef[@OID='{cnsr.get('MethodOID')}']/odm:Description/odm:TranslatedText", namespaces=NS)
    assert tree.find(".//odm:ItemDef[@OID='IT.ADTTE.ADT']", NS).get(f"{{{DEF_NS}}}DisplayFormat") == "DATE9."
    codes = [e.findtext("odm:CheckValue", namespaces=NS)
             for e in tree.iterfind(".//def:WhereClauseDef/odm:RangeCheck", NS)
             if e.get(f"{{{DEF_NS}}}ItemOID") == "IT.ADTTE.PARAMCD"]
    assert codes == ["OS", "EFS", "LFS", "CIR", "DOR", "BCREC"]
    assert set(packages["adam"].namelist()) == {
        "adsl.xpt", "adsl.csv", "adtte.xpt", "adtte.csv", "adrs.xpt", "adrs.csv", "adae.xpt", "adae.csv", "adpp.xpt",
        "adpp.csv", "define.xml"}


def test_a_reference_to_nothing_is_found():
    document = (f'<ODM xmlns="{ODM_NS}" xmlns:def="{DEF_NS}"><Study OID="S"><MetaDataVersion OID="M" Name="M">'
                '<ItemGroupDef OID="IG.X" Name="X" Repeating="No" def:ArchiveLocationID="LF.X">'
                '<ItemRef ItemOID="IT.X.A" OrderNumber="1" Mandatory="Yes" MethodOID="MT.NONE"/></ItemGroupDef>'
                '<CodeList OID="CL.X" Name="X" DataType="text" def:StandardOID="STD.NONE" def:CommentOID="COM.NONE"/>'
                '</MetaDataVersion></Study></ODM>').encode()
    assert define_problems(document) == [
        "ItemRef refers to IT.X.A, which is not defined", "ItemRef refers to MT.NONE, which is not defined",
        "CodeList refers to STD.NONE, which is not defined", "CodeList refers to COM.NONE, which is not defined",
        "IG.X: no def:leaf LF.X", "CL.X: a CT codelist with 0 nci:ExtCodeID aliases, not one"]
