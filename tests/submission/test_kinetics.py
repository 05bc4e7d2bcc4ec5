"""Laboratory results in the submission packages: LB holds the laboratory CRF's results (as reported, in the
canonical unit, the normal range, the flag and the CTCAE grade), PC the CAR-T kinetics samples (below the LLOQ as
'<LLOQ'), PP the non-compartmental parameters, and ADaM the kinetics for analysis (ADPP by response group, B-cell
recovery in ADTTE, the ICAHT grades in ADSL) — each equal to what the laboratory app computes
(GET /api/v1/patients/{id}/kinetics/) and to the values worked by hand below.

The kinetic patient: female, born 1990-05-17, lymphodepletion from 1 February 2026 (RFSTDTC, SDTM day 1), CAR-T on
6 February (protocol day 0, SDTM day 6); qPCR LLOQ 50 copies/ug, flow LLOQ 1/uL, B-cell recovery at 3/uL."""
import datetime
from decimal import Decimal as D

import pytest

from laboratory.services import ResultEntry, laboratory_record, laboratory_remove
from outcomes.services import response_assessment_save
from submission.services import package_tables
from tests.factories import infuse
from tests.submission.conformance import table_problems
from tests.submission.conftest import all_patients

pytestmark = pytest.mark.django_db
DAY_0 = datetime.date(2026, 2, 6)
TODAY = datetime.date(2026, 11, 30)


def on(day):
    return DAY_0 + datetime.timedelta(days=day)


# protocol day → (qPCR copies/ug, CAR+ T /uL, CD19+ B /uL, ANC x10^9/L)
DRAWS = {1: ("100", "0", "0", "0.3"), 4: ("2000", "5", "0", "0.05"), 7: ("30000", "80", "0", "0.05"),
         14: ("4000", "20", "0", "0.4"), 21: ("800", "4", "0", "1.2"), 28: ("200", "2", "0", "1.6"),
         91: ("60", "0.5", "4", "1.8"), 183: ("40", "0", "5", "2.1")}


@pytest.fixture
def kinetic_patient(patient_sz, coordinator):
    patient = infuse(patient_sz, by=coordinator, day_0=DAY_0)
    for day, (qpcr, flow, b_cells, anc) in DRAWS.items():
        laboratory_record(patient=patient, by=coordinator, collection_date=on(day), results=[
            ResultEntry("car_qpcr", D(qpcr), "copies/µg"), ResultEntry("car_t_flow", D(flow), "/µL"),
            ResultEntry("cd19_b", D(b_cells), "/µL"), ResultEntry("anc", D(anc), "×10⁹/L")])
    # A blood count before the infusion (the baseline), hemoglobin in g/L, and a draw recorded in error.
    laboratory_record(patient=patient, by=coordinator, collection_date=on(-6), results=[
        ResultEntry("hemoglobin", D("95"), "g/L"), ResultEntry("anc", D("2.5"), "×10⁹/L")])
    wrong = laboratory_record(patient=patient, by=coordinator, collection_date=on(10), results=[
        ResultEntry("car_qpcr", D("999999"), "copies/µg"), ResultEntry("crp", D("250"), "mg/L")])
    laboratory_remove(crf=wrong, by=coordinator, reason="Another patient's sample")
    response_assessment_save(patient=patient, by=coordinator, values={
        "assessment_date": on(28), "bone_marrow_blasts_percent": 1, "circulating_blasts": False,
        "extramedullary_disease": False, "anc_per_ul": 1600, "platelets_per_ul": 150_000})
    return patient


def rows_of(rows, patient, **where):
    return [row for row in rows if row["USUBJID"] == f"CD19-CART-BALL-{patient.study_id}"
            and all(row[name] == value for name, value in where.items())]


@pytest.fixture
def sdtm(kinetic_patient):
    return package_tables(standard="sdtm", patients=all_patients(), cutoff=TODAY)


@pytest.fixture
def adam(kinetic_patient):
    return package_tables(standard="adam", patients=all_patients(), cutoff=TODAY)


def test_packages_conform(sdtm, adam):
    subjects = {row["USUBJID"] for row in sdtm["DM"]}
    assert table_problems(sdtm, subjects=subjects) == []
    assert table_problems(adam, subjects=subjects) == []


def test_lb_holds_the_laboratory_results_with_units_ranges_flags_and_grades(sdtm, kinetic_patient):
    """ANC 0.3 x10^9/L on protocol day 1 (SDTM day 7): 300/uL in the standard unit, the default range 1800-7700/uL
    (1.8-7.7 in the reported unit), LOW, CTCAE grade 4 (< 500/uL). Hemoglobin 95 g/L before the infusion: 9.5 g/dL
    against the female range 12.0-15.5 g/dL (120-155 g/L), LOW, grade 2, the last observation before exposure.
    The removed draw (CRP 250 mg/L) is not in LB; the kinetics analytes are in PC, not LB."""
    lb = sdtm["LB"]
    [anc] = rows_of(lb, kinetic_patient, LBTESTCD="NEUT", LBDTC="2026-02-07")
    assert (anc["LBTEST"], anc["LBCAT"], anc["LBORRES"], anc["LBORRESU"], anc["LBSTRESC"], anc["LBSTRESN"],
            anc["LBSTRESU"]) == ("Neutrophils", "HEMATOLOGY", "0.3", "10^9/L", "300", 300.0, "10^6/L")
    assert (anc["LBORNRLO"], anc["LBORNRHI"], anc["LBSTNRLO"], anc["LBSTNRHI"], anc["LBNRIND"]) == (
        "1.8", "7.7", 1800.0, 7700.0, "LOW")
    assert (anc["LBTOXGR"], anc["LBTOX"], anc["LBSPEC"], anc["LBDY"], anc["EPOCH"], anc["LBLOBXFL"]) == (
        "4", "Neutrophil count decreased", "BLOOD", 7, "FOLLOW-UP", "")
    [hgb] = rows_of(lb, kinetic_patient, LBTESTCD="HGB")
    assert (hgb["LBORRES"], hgb["LBORRESU"], hgb["LBSTRESN"], hgb["LBSTRESU"], hgb["LBORNRLO"], hgb["LBORNRHI"],
            hgb["LBSTNRLO"], hgb["LBNRIND"], hgb["LBTOXGR"], hgb["LBTOX"]) == (
        "95", "g/L", 9.5, "g/dL", "120", "155", 12.0, "LOW", "2", "Anemia")
    assert (hgb["LBDTC"], hgb["LBDY"], hgb["EPOCH"], hgb["LBLOBXFL"]) == ("2026-01-31", -1, "SCREENING", "Y")
    [baseline_anc] = rows_of(lb, kinetic_patient, LBTESTCD="NEUT", LBLOBXFL="Y")
    assert baseline_anc["LBDTC"] == "2026-01-31" and baseline_anc["LBNRIND"] == "NORMAL"
    b_cells = rows_of(lb, kinetic_patient, LBTESTCD="BLYCE")
    assert [(r["LBSTRESN"], r["LBMETHOD"], r["LBCAT"]) for r in b_cells][-2:] == [
        (4.0, "FLOW CYTOMETRY", "IMMUNOPHENOTYPING"), (5.0, "FLOW CYTOMETRY", "IMMUNOPHENOTYPING")]
    assert rows_of(lb, kinetic_patient, LBTESTCD="CRP") == []
    assert {r["LBTESTCD"] for r in rows_of(lb, kinetic_patient)} == {"NEUT", "HGB", "BLYCE", "MRDFLOW"}
    assert [r["LBSEQ"] for r in rows_of(lb, kinetic_patient)] == list(range(1, 20))


def test_pc_samples_with_below_lloq_as_the_sdtmig_says(sdtm, kinetic_patient):
    """qPCR 40 copies/ug on day 183 is below the LLOQ of 50: PCORRES and PCSTRESC '<50', PCSTRESN null; CAR+ T
    cells 0 on day 1 '<1'. Planned time points from the protocol's sampling days, relative to the infusion."""
    pc = sdtm["PC"]
    qpcr = rows_of(pc, kinetic_patient, PCTESTCD="CARTG")
    assert [(r["PCTPT"], r["PCSTRESC"], r["PCSTRESN"]) for r in qpcr] == [
        ("DAY 1", "100", 100.0), ("DAY 4", "2000", 2000.0), ("DAY 7", "30000", 30000.0), ("DAY 14", "4000", 4000.0),
        ("DAY 21", "800", 800.0), ("DAY 28", "200", 200.0), ("DAY 91", "60", 60.0), ("DAY 183", "<50", None)]
    last = qpcr[-1]
    assert (last["PCORRES"], last["PCORRESU"], last["PCSTRESU"], last["PCLLOQ"], last["PCTPTNUM"], last["PCELTM"],
            last["PCTPTREF"], last["PCRFTDTC"], last["PCDTC"], last["PCDY"]) == (
        "<50", "copies/ug", "copies/ug", 50.0, 183.0, "P183D", "CAR-T INFUSION", "2026-02-06", "2026-08-08", 189)
    assert (last["PCTEST"], last["PCMETHOD"], last["PCSPEC"], last["PCCAT"]) == (
        "CAR Transgene", "QUANTITATIVE POLYMERASE CHAIN REACTION", "BLOOD", "ANALYTE")
    flow = rows_of(pc, kinetic_patient, PCTESTCD="CARTCELL")
    assert [(r["PCORRES"], r["PCSTRESN"]) for r in flow] == [
        ("<1", None), ("5", 5.0), ("80", 80.0), ("20", 20.0), ("4", 4.0), ("2", 2.0), ("<1", None), ("<1", None)]
    assert all(r["PCSTRESU"] == "10^6/L" and r["PCLLOQ"] == 1.0 for r in flow)
    # The removed draw's 999,999 copies/ug is not a sample.
    assert "999999" not in {r["PCORRES"] for r in pc}


def hand_and_api(api_client, coordinator, patient):
    api_client.force_authenticate(coordinator)
    return api_client.get(f"/api/v1/patients/{patient.study_id}/kinetics/").json()


def test_pp_adpp_adtte_and_adsl_equal_the_kinetics_api(sdtm, adam, kinetic_patient, api_client, coordinator):
    """qPCR: Cmax 30000 on day 7, AUC day 0-28 (linear trapezoid: 50 + 3150 + 48000 + 119000 + 16800 + 3500) =
    190500, Tlast day 91 (day 183 below the LLOQ). Flow: Cmax 80 on day 7, AUC (0 + 7.5 + 127.5 + 350 + 84 + 21) =
    590, Tlast 28. B cells 4 and 5/uL on days 91 and 183: recovered on day 91. ANC <= 500/uL days 1-20 and
    <= 100/uL days 4-13: early ICAHT 3; after day 30 1800 and 2100/uL: late ICAHT 0. The same numbers from the
    laboratory app's API."""
    api = hand_and_api(api_client, coordinator, kinetic_patient)
    assert (api["cmax"], api["tmax_days"], api["auc_0_28"], api["tlast_days"]) == ("30000.000", 7, "190500.000", 91)
    assert (api["flow"]["cmax"], api["flow"]["tmax_days"], api["flow"]["auc_0_28"], api["flow"]["tlast_days"]) == (
        "80.000", 7, "590.000", 28)
    assert (api["b_cell_aplasia_days"], api["b_cell_recovered"], api["icaht_early_grade"],
            api["icaht_late_grade"]) == (91, True, 3, 0)

    pp = {(r["PPGRPID"], r["PPTESTCD"]): r for r in rows_of(sdtm["PP"], kinetic_patient)}
    assert {key: (r["PPSTRESN"], r["PPSTRESU"]) for key, r in pp.items()} == {
        ("CARTG", "CMAX"): (float(api["cmax"]), "copies/ug"), ("CARTG", "TMAX"): (api["tmax_days"], "day"),
        ("CARTG", "AUCINT"): (float(api["auc_0_28"]), "day*copies/ug"), ("CARTG", "TLST"): (api["tlast_days"], "day"),
        ("CARTCELL", "CMAX"): (float(api["flow"]["cmax"]), "10^6/L"), ("CARTCELL", "TMAX"): (7, "day"),
        ("CARTCELL", "AUCINT"): (float(api["flow"]["auc_0_28"]), "day*10^6/L"), ("CARTCELL", "TLST"): (28, "day")}
    auc = pp[("CARTG", "AUCINT")]
    assert (auc["PPORRES"], auc["PPTEST"], auc["PPCAT"], auc["PPSTINT"], auc["PPENINT"], auc["PPANMETH"],
            auc["PPRFTDTC"]) == ("190500", "AUC from T1 to T2", "CAR Transgene", "P0D", "P28D",
                                 "LINEAR TRAPEZOIDAL METHOD", "2026-02-06")
    assert pp[("CARTG", "CMAX")]["PPTEST"] == "Max Conc" and pp[("CARTG", "TLST")]["PPSTINT"] == ""

    adpp = {r["PARAMCD"]: r for r in rows_of(adam["ADPP"], kinetic_patient)}
    assert {code: r["AVAL"] for code, r in adpp.items()} == {
        "CMAXTG": 30000.0, "TMAXTG": 7.0, "AUCTG": 190500.0, "TLSTTG": 91.0,
        "CMAXCEL": 80.0, "TMAXCEL": 7.0, "AUCCEL": 590.0, "TLSTCEL": 28.0}
    assert {(r["RESPGR1"], r["RESPFL"], r["SRCDOM"]) for r in adpp.values()} == {("CR/CRi", "Y", "PP")}
    assert adpp["AUCTG"]["SRCSEQ"] == auc["PPSEQ"] and adpp["AUCTG"]["PARCAT1"] == "CAR Transgene"

    [recovery] = rows_of(adam["ADTTE"], kinetic_patient, PARAMCD="BCREC")
    assert (recovery["AVAL"], recovery["CNSR"], recovery["STARTDT"], recovery["ADT"], recovery["EVNTDESC"]) == (
        float(api["b_cell_aplasia_days"]), 0, DAY_0, on(91), "B-CELL RECOVERY")
    [adsl] = rows_of(adam["ADSL"], kinetic_patient)
    assert (adsl["ICAHTEGN"], adsl["ICAHTEGR"], adsl["ICAHTLGN"], adsl["RESPGR1"]) == (
        api["icaht_early_grade"], "3", api["icaht_late_grade"], "CR/CRi")


def test_an_earlier_cut_off_censors_b_cell_aplasia_and_shortens_the_series(kinetic_patient):
    """Cut on 1 April 2026 (protocol day 54): the B-cell counts end on day 28, all 0: censored there; the late ICAHT
    grade has no ANC yet; qPCR Tlast is day 28."""
    adam = package_tables(standard="adam", patients=all_patients(), cutoff=on(54))
    [recovery] = rows_of(adam["ADTTE"], kinetic_patient, PARAMCD="BCREC")
    assert (recovery["AVAL"], recovery["CNSR"], recovery["CNSDTDSC"]) == (28.0, 1, "LAST CD19+ B-CELL COUNT")
    [adsl] = rows_of(adam["ADSL"], kinetic_patient)
    assert (adsl["ICAHTEGN"], adsl["ICAHTLGN"], adsl["ICAHTLGR"]) == (3, None, "")
    adpp = {r["PARAMCD"]: r["AVAL"] for r in rows_of(adam["ADPP"], kinetic_patient)}
    assert adpp["TLSTTG"] == 28.0 and adpp["AUCTG"] == 190500.0


def test_a_parameter_not_calculable_is_not_done(protocol, site_sz, coordinator):
    """Only below-LLOQ qPCR (30 copies/ug on day 7): CMAX, TMAX and TLST NOT DONE (no quantifiable value), AUCINT 0
    over days 0-7; ADPP holds the AUC only."""
    from tests.factories import PatientFactory

    patient = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=DAY_0)
    laboratory_record(patient=patient, by=coordinator, collection_date=on(7),
                      results=[ResultEntry("car_qpcr", D("30"), "copies/µg")])
    tables = package_tables(standard="adam", patients=all_patients(), cutoff=TODAY)
    sdtm = package_tables(standard="sdtm", patients=all_patients(), cutoff=TODAY)
    pp = {r["PPTESTCD"]: r for r in rows_of(sdtm["PP"], patient)}
    assert {code: (r["PPSTAT"], r["PPREASND"], r["PPORRES"]) for code, r in pp.items()} == {
        "CMAX": ("NOT DONE", "NO QUANTIFIABLE VALUE", ""), "TMAX": ("NOT DONE", "NO QUANTIFIABLE VALUE", ""),
        "AUCINT": ("", "", "0"), "TLST": ("NOT DONE", "NO QUANTIFIABLE VALUE", "")}
    assert pp["AUCINT"]["PPENINT"] == "P7D"
    assert [(r["PARAMCD"], r["AVAL"]) for r in rows_of(tables["ADPP"], patient)] == [("AUCTG", 0.0)]
    assert rows_of(tables["ADTTE"], patient, PARAMCD="BCREC") == []
    [adsl] = rows_of(tables["ADSL"], patient)
    assert (adsl["ICAHTEGN"], adsl["RESPGR1"]) == (None, "")


def test_define_describes_lb_pc_pp_and_adpp(kinetic_patient):
    """define.xml of both packages with the kinetic patient: consistent and valid ODM; value-level metadata per
    LBTESTCD, PCTESTCD, PPTESTCD and ADPP PARAMCD; the intervals as ISO 8601 durations; PKPARMCD a CDISC codelist,
    the kinetics units marked as sponsor extensions."""
    import io
    import zipfile

    from lxml import etree

    from submission.define import DEF_NS, define_problems
    from submission.services import package_zip
    from tests.submission.test_define import NS, ODM_SCHEMA, odm_part

    schema = etree.XMLSchema(etree.parse(str(ODM_SCHEMA)))
    trees = {}
    for standard in ("sdtm", "adam"):
        archive = zipfile.ZipFile(io.BytesIO(package_zip(standard=standard, patients=all_patients(), cutoff=TODAY)))
        document = archive.read("define.xml")
        assert define_problems(document) == [], standard
        trees[standard] = etree.fromstring(document)
        assert schema.validate(odm_part(trees[standard])), (standard, schema.error_log.last_error)
    sdtm, adam = trees["sdtm"], trees["adam"]

    def where_codes(tree, item_oid):
        checks = tree.iterfind(".//def:WhereClauseDef/odm:RangeCheck", NS)
        return [e.findtext("odm:CheckValue", namespaces=NS) for e in checks
                if e.get(f"{{{DEF_NS}}}ItemOID") == item_oid]

    assert where_codes(sdtm, "IT.PP.PPTESTCD") == ["CMAX", "TMAX", "AUCINT", "TLST"]
    assert where_codes(sdtm, "IT.PC.PCTESTCD") == ["CARTG", "CARTCELL"]
    assert "NEUT" in where_codes(sdtm, "IT.LB.LBTESTCD") and "BLYCE" in where_codes(sdtm, "IT.LB.LBTESTCD")
    assert where_codes(adam, "IT.ADPP.PARAMCD") == ["CMAXTG", "TMAXTG", "AUCTG", "TLSTTG", "CMAXCEL", "TMAXCEL",
                                                    "AUCCEL", "TLSTCEL"]
    assert sdtm.find(".//odm:ItemDef[@OID='IT.PP.PPENINT']", NS).get("DataType") == "durationDatetime"
    assert sdtm.find(".//odm:ItemDef[@OID='IT.PC.PCELTM']", NS).get("DataType") == "durationDatetime"
    assert sdtm.find(".//odm:ItemDef[@OID='IT.PC.PCORRES.CARTG']", NS).get("Length") == "5"  # "30000"
    parameters = sdtm.find(".//odm:CodeList[@OID='CL.PKPARMCD']", NS)
    assert parameters.get(f"{{{DEF_NS}}}StandardOID") == "STD.CT"
    assert [(e.get("CodedValue"), e.get(f"{{{DEF_NS}}}ExtendedValue"))
            for e in parameters.iterfind("odm:EnumeratedItem", NS)] == [
        ("CMAX", None), ("TMAX", None), ("AUCINT", None), ("TLST", None)]
    extended = {e.get("CodedValue"): e.get(f"{{{DEF_NS}}}ExtendedValue")
                for e in sdtm.iterfind(".//odm:CodeList[@OID='CL.PKUNIT']/odm:EnumeratedItem", NS)}
    assert extended["copies/ug"] is None and extended["day*copies/ug"] == "Yes"  # CDISC has copies/ug, no AUC of it
    pp_group = sdtm.find(".//odm:ItemGroupDef[@OID='IG.PP']", NS)
    method = pp_group.find("odm:ItemRef[@ItemOID='IT.PP.PPSTRESN']", NS).get("MethodOID")
    assert "linear trapezoid from day 0" in sdtm.findtext(
        f".//odm:MethodDef[@OID='{method}']/odm:Description/odm:TranslatedText", namespaces=NS)
    assert adam.find(".//odm:ItemGroupDef[@OID='IG.ADPP']/def:Class", NS).get("Name") == "BASIC DATA STRUCTURE"
    assert "BCREC" in where_codes(adam, "IT.ADTTE.PARAMCD")


def test_adtte_b_cell_recovery_is_the_endpoints_page_population(kinetic_patient, protocol, site_sz, coordinator):
    """BCREC over the cohort is the endpoints page's B-cell recovery: the same patients, durations and censoring
    (laboratory.selectors.cohort_b_cell_aplasia at the cut-off), so its Kaplan-Meier summary is the page's. A
    second patient with counts 0, 4, 1 on days 28, 91, 183 never has two in a row at 3/uL: censored on day 183."""
    from laboratory.endpoints import b_cell_recovery_summary
    from laboratory.rules import BCellAplasia
    from laboratory.selectors import cohort_b_cell_aplasia
    from tests.factories import PatientFactory

    other = infuse(PatientFactory(site=site_sz, protocol=protocol), by=coordinator, day_0=DAY_0)
    for day, count in ((28, "0"), (91, "4"), (183, "1")):
        laboratory_record(patient=other, by=coordinator, collection_date=on(day),
                          results=[ResultEntry("cd19_b", D(count), "/µL")])
    adam = package_tables(standard="adam", patients=all_patients(), cutoff=TODAY)
    def order(aplasia):
        return aplasia.days, aplasia.recovered

    from_adtte = sorted((BCellAplasia(days=int(r["AVAL"]), recovered=r["CNSR"] == 0)
                         for r in adam["ADTTE"] if r["PARAMCD"] == "BCREC"), key=order)
    from_page = sorted(cohort_b_cell_aplasia(all_patients(), cutoff=TODAY), key=order)
    assert from_adtte == from_page == [BCellAplasia(91, True), BCellAplasia(183, False)]
    assert b_cell_recovery_summary(from_adtte) == b_cell_recovery_summary(from_page)
