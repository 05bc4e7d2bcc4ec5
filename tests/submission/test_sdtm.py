"""SDTM rows from patients entered through the services (tests/full_patient.py and a second patient whose
lymphodepletion departs from the plan), checked value by value.

The full patient: lymphodepletion 1-3 February 2026 at 63.4 kg (fludarabine 52 mg, cyclophosphamide 519 mg a day),
one CAR-T fraction of 300 x10^6 CAR+ cells on 6 February at 60 kg (5.0 x10^6/kg), CRS grade 1 on day 2, ICANS
grade 1 on day 5, a serious CRS adverse event (CTCAE grade 3) from day 2, CR on day 28, alive in remission on
day 60."""
import datetime

import pytest

from submission.services import package_tables
from tests.submission.conformance import table_problems
from tests.submission.conftest import all_patients

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 11, 30)


@pytest.fixture
def sdtm(full_patient, second_patient, screen_failure):
    return package_tables(standard="sdtm", patients=all_patients(), cutoff=TODAY)


def subject_rows(rows, patient):
    return [row for row in rows if row["USUBJID"] == f"CD19-CART-BALL-{patient.study_id}"]


def test_dm_reference_dates_arm_and_age(sdtm, full_patient, second_patient, screen_failure):
    """RFSTDTC is the first lymphodepletion dose, RFXSTDTC the infusion; a screen failure has no arm and says why.
    Breaking the reference dates moves every --DY of the subject."""
    dm = {row["SUBJID"]: row for row in sdtm["DM"]}
    full = dm[full_patient.patient.study_id]
    assert (full["RFSTDTC"], full["RFXSTDTC"], full["RFXENDTC"]) == ("2026-02-01", "2026-02-06", "2026-02-06")
    assert (full["RFICDTC"], full["ARMCD"], full["ACTARMCD"], full["ARMNRS"]) == ("2026-01-05", "CART", "CART", "")
    assert (full["AGE"], full["AGEU"], full["SEX"], full["SITEID"], full["COUNTRY"]) == (35, "YEARS", "F", "SZ", "CHN")
    assert full["RACE"] == ""  # not collected: present and null
    assert full["RFENDTC"] == "2026-06-06"  # the end of study (day 120, off study), after the day-60 contact
    second = dm[second_patient.study_id]
    assert (second["RFSTDTC"], second["RFXSTDTC"], second["RFXENDTC"]) == ("2026-02-25", "2026-03-02", "2026-03-03")
    failed = dm[screen_failure.study_id]
    assert (failed["ARMCD"], failed["ACTARMCD"], failed["ARMNRS"], failed["RFSTDTC"]) == ("", "", "SCREEN FAILURE", "")
    assert len(sdtm["DM"]) == 3


def test_ex_one_row_per_dose_given_and_per_car_t_fraction(sdtm, full_patient, second_patient):
    """EXDOSE of each fludarabine day is the mg given; a missed dose is not exposure; CAR-T in 10^6 cells/kg.
    EXSTDY counts from the first dose: 1, 2, 3, then the infusion on day 6 (no day 0)."""
    rows = subject_rows(sdtm["EX"], full_patient.patient)
    fludarabine = [(r["EXSTDTC"], r["EXDOSE"], r["EXDOSU"], r["EXSTDY"], r["EPOCH"])
                   for r in rows if r["EXTRT"] == "FLUDARABINE"]
    assert fludarabine == [("2026-02-01", 52.0, "mg", 1, "TREATMENT"), ("2026-02-02", 52.0, "mg", 2, "TREATMENT"),
                           ("2026-02-03", 52.0, "mg", 3, "TREATMENT")]
    assert [r["EXDOSE"] for r in rows if r["EXTRT"] == "CYCLOPHOSPHAMIDE"] == [519.0, 519.0, 519.0]
    cart = [r for r in rows if r["EXTRT"] == "CD19 CAR-T CELLS"]
    assert [(r["EXSTDTC"], r["EXDOSE"], r["EXDOSU"], r["EXSTDY"], r["EXROUTE"]) for r in cart] == [
        ("2026-02-06", 5.0, "10^6/kg", 6, "INTRAVENOUS")]
    assert [r["EXSEQ"] for r in rows] == list(range(1, 8))

    second = subject_rows(sdtm["EX"], second_patient)
    assert [(r["EXTRT"], r["EXSTDY"], r["EXDOSE"]) for r in second if r["EXTRT"] != "CYCLOPHOSPHAMIDE"] == [
        ("FLUDARABINE", 1, 52.0), ("FLUDARABINE", 2, 47.0), ("FLUDARABINE", 3, 52.0),
        ("CD19 CAR-T CELLS", 6, 2.5), ("CD19 CAR-T CELLS", 7, 2.5)]
    assert [r["EXSTDY"] for r in second if r["EXTRT"] == "CYCLOPHOSPHAMIDE"] == [1, 2]  # day -3 missed


def test_ec_only_where_planned_and_administered_differ(sdtm, full_patient, second_patient):
    """The full patient got every dose as planned: no EC. The second patient has a scheduled and a performed
    record for the reduced fludarabine and for the missed cyclophosphamide (ECOCCUR N)."""
    assert subject_rows(sdtm["EC"], full_patient.patient) == []
    rows = [(r["ECTRT"], r["ECMOOD"], r["ECDOSE"], r["ECOCCUR"], r["ECSTDTC"], r["ECTPT"])
            for r in subject_rows(sdtm["EC"], second_patient)]
    assert rows == [
        ("FLUDARABINE", "SCHEDULED", 52.0, "", "2026-02-26", "DAY -4"),
        ("FLUDARABINE", "PERFORMED", 47.0, "Y", "2026-02-26", "DAY -4"),
        ("CYCLOPHOSPHAMIDE", "SCHEDULED", 519.0, "", "2026-02-27", "DAY -3"),
        ("CYCLOPHOSPHAMIDE", "PERFORMED", None, "N", "2026-02-27", "DAY -3"),
    ]


def test_ae_and_suppae_astct_grade(sdtm, full_patient):
    """The serious CRS: CTCAE grade 3 in AETOXGR, the ASTCT grade of the CRS assessment during it (1) in SUPPAE."""
    [ae] = subject_rows(sdtm["AE"], full_patient.patient)
    assert (ae["AETERM"], ae["AEDECOD"], ae["AEBODSYS"], ae["AETOXGR"]) == (
        "Cytokine release syndrome", "Cytokine release syndrome", "Immune system disorders", "3")
    # The CTCAE term is a MedDRA lowest level term; the hierarchy's codes are not coded (Expected, null).
    assert (ae["AELLT"], ae["AESOC"], ae["AEPTCD"], ae["AESOCCD"]) == (
        "Cytokine release syndrome", "Immune system disorders", None, None)
    assert (ae["AESER"], ae["AESHOSP"], ae["AESDTH"], ae["AEREL"], ae["AEOUT"]) == (
        "Y", "Y", "N", "DEFINITELY RELATED", "RECOVERING/RESOLVING")
    assert (ae["AESTDTC"], ae["AESTDY"], ae["EPOCH"], ae["AESEQ"], ae["AEACN"]) == (
        "2026-02-08", 8, "FOLLOW-UP", 1, "NOT APPLICABLE")
    supp = {r["QNAM"]: r for r in subject_rows(sdtm["SUPPAE"], full_patient.patient)}
    assert (supp["ASTCTGR"]["QVAL"], supp["ASTCTGR"]["IDVAR"], supp["ASTCTGR"]["IDVARVAL"]) == ("1", "AESEQ", "1")
    assert supp["AERELLD"]["QVAL"] == "NOT RELATED"


def test_fa_holds_the_astct_inputs_and_grades(sdtm, full_patient):
    rows = {(r["FAOBJ"][:5], r["FATESTCD"]): r for r in subject_rows(sdtm["FA"], full_patient.patient)}
    temp = rows[("CYTOK", "TEMP")]
    assert (temp["FAORRES"], temp["FAORRESU"], temp["FASTRESN"], temp["FADTC"], temp["FADY"]) == (
        "38.6", "C", 38.6, "2026-02-08", 8)
    assert rows[("CYTOK", "HYPOTEN")]["FAORRES"] == "NONE"
    assert rows[("CYTOK", "ASTCTGR")]["FASTRESN"] == 1.0
    assert rows[("IMMUN", "ICESCORE")]["FASTRESN"] == 9.0
    assert rows[("IMMUN", "ASTCTGR")]["FASTRESN"] == 1.0
    assert rows[("IMMUN", "ICESCORE")]["FADY"] == 11


def test_rs_response_and_mrd_at_the_day_28_visit(sdtm, full_patient):
    rows = {r["RSTESTCD"]: r for r in subject_rows(sdtm["RS"], full_patient.patient)}
    assert (rows["OVRLRESP"]["RSORRES"], rows["OVRLRESP"]["RSDTC"], rows["OVRLRESP"]["RSDY"]) == (
        "CR", "2026-03-06", 34)
    assert (rows["MRDSTAT"]["RSORRES"], rows["MRDSTAT"]["RSSTAT"]) == ("", "NOT DONE")  # MRD not entered


def test_ds_consent_enrollment_and_screen_failure(sdtm, full_patient, screen_failure):
    rows = [(r["DSDECOD"], r["DSCAT"], r["DSSTDTC"], r["DSSTDY"], r["EPOCH"], r["DSSEQ"])
            for r in subject_rows(sdtm["DS"], full_patient.patient)]
    assert rows == [("INFORMED CONSENT OBTAINED", "PROTOCOL MILESTONE", "2026-01-05", -27, "SCREENING", 1),
                    ("ELIGIBILITY CRITERIA MET", "PROTOCOL MILESTONE", "2026-01-06", -26, "SCREENING", 2),
                    # the full patient's end of study (other: moved abroad) on day 120
                    ("OTHER", "DISPOSITION EVENT", "2026-06-06", 126, "FOLLOW-UP", 3)]
    failed = [(r["DSDECOD"], r["DSTERM"]) for r in subject_rows(sdtm["DS"], screen_failure)]
    assert failed == [("INFORMED CONSENT OBTAINED", "INFORMED CONSENT OBTAINED"),
                      ("SCREEN FAILURE", "Exclusion criterion present: Pregnancy or breastfeeding")]


def test_dv_from_the_acknowledged_deviation(sdtm, second_patient):
    rows = subject_rows(sdtm["DV"], second_patient)
    assert rows and all(r["DVSTDTC"] == "2026-02-25" and r["DVSTDY"] == 1 for r in rows)
    [missed] = [r for r in rows if r["DVDECOD"] == "LYMPHODEPLETION DOSE MISSED"]
    assert missed["DVTERM"].startswith("Day -3 cyclophosphamide: no dose recorded (plan 519")  # "−" spelled "-"
    assert (missed["DVSCAT"], missed["EPOCH"], missed["DVSEQ"]) == ("LYMPHODEPLETION", "TREATMENT", 1)


def test_trial_design_from_the_protocol(sdtm):
    ts = {(r["TSPARMCD"], r["TSSEQ"]): r for r in sdtm["TS"]}
    assert ts[("PLANSUB", 1)]["TSVAL"] == "196"
    assert ts[("TPHASE", 1)]["TSVAL"] == "" and ts[("TPHASE", 1)]["TSVALNF"] == "UNK"
    tv = {r["VISIT"]: r for r in sdtm["TV"]}
    assert (tv["DAY 28"]["VISITDY"], tv["DAY 1"]["VISITNUM"], tv["MONTH 36"]["VISITDY"]) == (34, 1.0, 1102)
    ti = {r["IETESTCD"]: r for r in sdtm["TI"]}
    assert ti["IN01"]["IETEST"].startswith("Relapsed or refractory CD19-positive")
    assert ti["EX04"]["IETEST"] == "Pregnancy or breastfeeding" and ti["EX04"]["IECAT"] == "EXCLUSION"
    assert [r["EPOCH"] for r in sdtm["TA"]] == ["SCREENING", "TREATMENT", "TREATMENT", "FOLLOW-UP"]


def test_no_study_day_is_zero(sdtm):
    """SDTM has no day 0: every --DY of every domain is either null or non-zero."""
    days = [value for rows in sdtm.values() for row in rows for name, value in row.items()
            if name.endswith(("DY", "STDY", "ENDY")) and name != "VISITDY" and value is not None]
    assert days and 0 not in days


def test_ds_end_of_study_from_its_form_with_the_reason_coded(second_patient, coordinator):
    """Consent withdrawn on the End of study form is DS's WITHDRAWAL BY SUBJECT on its date; before that date
    (an interim cut-off) the subject is still on study."""
    from outcomes.services import end_of_study_save

    end_of_study_save(patient=second_patient, by=coordinator, values={
        "end_date": datetime.date(2026, 4, 1), "end_reason": "consent_withdrawn"})
    sdtm = package_tables(standard="sdtm", patients=all_patients(), cutoff=TODAY)
    [end] = [r for r in subject_rows(sdtm["DS"], second_patient) if r["DSCAT"] == "DISPOSITION EVENT"]
    assert (end["DSDECOD"], end["DSTERM"], end["DSSTDTC"], end["EPOCH"]) == (
        "WITHDRAWAL BY SUBJECT", "Consent withdrawn", "2026-04-01", "FOLLOW-UP")
    interim = package_tables(standard="sdtm", patients=all_patients(), cutoff=datetime.date(2026, 3, 31))
    assert [r for r in subject_rows(interim["DS"], second_patient) if r["DSCAT"] == "DISPOSITION EVENT"] == []


def test_lb_mrd_by_flow_in_the_marrow(full_patient, second_patient, coordinator):
    """MRD by flow cytometry goes to LB as the marrow's result with the assay's sensitivity as LBLLOQ, on the
    study-day scale from RFSTDTC; an assessment without MRD is a NOT DONE record. Dropping the value, the unit,
    the specimen or the sensitivity, or counting the day from the infusion, fails here."""
    from outcomes.services import response_assessment_save

    response_assessment_save(patient=second_patient, by=coordinator, values={
        "assessment_date": datetime.date(2026, 3, 30), "bone_marrow_blasts_percent": 2, "circulating_blasts": False,
        "extramedullary_disease": False, "anc_per_ul": 1200, "platelets_per_ul": 110_000,
        "mrd_flow_percent": "0.005", "mrd_assay_sensitivity_percent": "0.001"})
    tables = package_tables(standard="sdtm", patients=all_patients(), cutoff=TODAY)
    assert table_problems({"LB": tables["LB"]}, subjects={r["USUBJID"] for r in tables["DM"]}) == []
    lb = tables["LB"]
    (row,) = subject_rows(lb, second_patient)
    assert (row["LBTESTCD"], row["LBTEST"], row["LBCAT"], row["LBSPEC"], row["LBMETHOD"]) == (
        "MRDFLOW", "Minimal Residual Disease by Flow", "MINIMAL RESIDUAL DISEASE", "BONE MARROW", "FLOW CYTOMETRY")
    assert (row["LBORRES"], row["LBORRESU"], row["LBSTRESC"], row["LBSTRESN"], row["LBSTRESU"], row["LBLLOQ"]) == (
        "0.005", "%", "0.005", 0.005, "%", 0.001)
    # RFSTDTC 25 February (first fludarabine): 30 March is study day 34; after the last fraction, FOLLOW-UP.
    assert (row["LBDTC"], row["LBDY"], row["EPOCH"], row["LBSTAT"], row["LBSEQ"], row["LBLOBXFL"]) == (
        "2026-03-30", 34, "FOLLOW-UP", "", 1, "")
    assert (row["LBORNRLO"], row["LBSTNRLO"], row["LBNRIND"]) == ("", None, "")  # no normal range for MRD
    (not_done,) = [r for r in subject_rows(lb, full_patient.patient) if r["LBTESTCD"] == "MRDFLOW"]
    assert (not_done["LBORRES"], not_done["LBORRESU"], not_done["LBSTRESN"], not_done["LBSTAT"],
            not_done["LBDTC"], not_done["VISITNUM"]) == ("", "", None, "NOT DONE", "2026-03-06", None)  # no visit
