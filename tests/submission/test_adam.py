"""ADaM from a cohort entered through the services, and the estimates a statistician computes from ADTTE with
lifelines equal the endpoints page's (the API's /api/v1/endpoints/) to the third decimal.

Nine patients infused on 3 June 2024 (days from infusion): 1 CR, alive day 700; 2 CR, relapse 150, death 300;
3 CR, death in remission 200; 4 no response, death 120; 5 CR, HSCT 90, alive 600; 6 CR, relapse 400, alive 500;
7 no marrow in the day-28 window, alive with disease 365; 8 CRi, lost to follow-up 250; 9 CR on day 26, alive 800.
Breaking ADTTE (a time counted from lymphodepletion, CNSR inverted, a responder-only endpoint over everyone, the
competing death counted as relapse) moves an estimate and fails the comparison."""
import datetime
import io
from decimal import Decimal

import pyreadstat
import pytest
from django.utils import timezone
from lifelines import AalenJohansenFitter, KaplanMeierFitter

from infusions import services as infusion_services
from infusions.rules import InfusionFraction
from outcomes.services import follow_up_save, response_assessment_save
from outcomes.statistics import MONTH_DAYS
from submission import metadata as md
from submission.package import xpt_bytes
from submission.services import package_tables
from tests.factories import PatientFactory
from tests.infusions.conftest import PLAN_173, full_course
from tests.submission.conformance import table_problems
from tests.submission.conftest import all_patients

pytestmark = pytest.mark.django_db

DAY_0 = datetime.date(2024, 6, 3)
CR = {"bone_marrow_blasts_percent": 1, "circulating_blasts": False, "extramedullary_disease": False,
      "anc_per_ul": 1500, "platelets_per_ul": 150_000}
CRI = {**CR, "platelets_per_ul": 50_000}
NO_RESPONSE = {**CR, "bone_marrow_blasts_percent": 40}


PRODUCT = infusion_services.ProductEntry(
    lot="SZ-CART-2024", manufacture_date=datetime.date(2024, 5, 20), total_viable_cells=2_000_000_000,
    viability_percent=Decimal("92.5"), car_positive_percent=Decimal("50"))


def on(days):
    return DAY_0 + datetime.timedelta(days=days)


# (response on day, values), then the follow-up contacts
COHORT = [
    ((28, CR), [{"contact_date": on(700), "follow_up_status": "alive_in_remission"}]),
    ((28, CR), [{"contact_date": on(150), "follow_up_status": "relapsed", "relapse_date": on(150)},
                {"contact_date": on(300), "follow_up_status": "dead", "death_date": on(300)}]),
    ((28, CR), [{"contact_date": on(200), "follow_up_status": "dead", "death_date": on(200)}]),
    ((28, NO_RESPONSE), [{"contact_date": on(120), "follow_up_status": "dead", "death_date": on(120)}]),
    ((28, CR), [{"contact_date": on(90), "follow_up_status": "alive_in_remission", "hsct_date": on(90)},
                {"contact_date": on(600), "follow_up_status": "alive_in_remission"}]),
    ((28, CR), [{"contact_date": on(400), "follow_up_status": "relapsed", "relapse_date": on(400)},
                {"contact_date": on(500), "follow_up_status": "relapsed", "relapse_date": on(400)}]),
    (None, [{"contact_date": on(365), "follow_up_status": "alive_with_disease"}]),
    ((28, CRI), [{"contact_date": on(250), "follow_up_status": "lost_to_follow_up"}]),
    ((26, CR), [{"contact_date": on(800), "follow_up_status": "alive_in_remission"}]),
]


@pytest.fixture
def cohort(protocol, site_sz, coordinator):
    patients = []
    for response, contacts in COHORT:
        patient = PatientFactory(site=site_sz, protocol=protocol, consent_date=on(-20), screening_date=on(-20),
                                 enrollment_date=on(-19))
        infusion_services.lymphodepletion_record(
            patient=patient, by=coordinator, start_date=on(-5), weight_kg=Decimal("63.4"), height_cm=Decimal("170"),
            doses=full_course(PLAN_173))
        infusion_services.infusion_record(patient=patient, by=coordinator, weight_kg=Decimal("60"), product=PRODUCT,
                                          fractions=[InfusionFraction(DAY_0, 300_000_000)])
        patient.refresh_from_db()
        if response:
            day, values = response
            response_assessment_save(patient=patient, by=coordinator, values={"assessment_date": on(day), **values})
        for values in contacts:
            follow_up_save(patient=patient, by=coordinator, values=values)
        patients.append(patient)
    return patients


@pytest.fixture
def adam(cohort):
    return package_tables(standard="adam", patients=all_patients(), cutoff=timezone.localdate())


def endpoints_page(api_client, user):
    api_client.force_authenticate(user)
    answer = api_client.get(f"/api/v1/endpoints/?cutoff={timezone.localdate().isoformat()}")
    assert answer.status_code == 200
    return answer.json()


def adtte_read_back(tmp_path, rows):
    path = tmp_path / "adtte.xpt"
    path.write_bytes(xpt_bytes(md.ADTTE, rows))
    frame, _meta = pyreadstat.read_xport(str(path))
    return frame


def test_estimates_from_adtte_equal_the_endpoints_page(tmp_path, api_client, data_manager, adam):
    page = endpoints_page(api_client, data_manager)
    adtte = adtte_read_back(tmp_path, adam["ADTTE"])
    compared = 0
    for paramcd, endpoint in (("OS", "overall_survival"), ("EFS", "event_free_survival"),
                              ("LFS", "leukemia_free_survival"), ("DOR", "duration_of_remission")):
        rows = adtte[adtte["PARAMCD"] == paramcd]
        assert len(rows) == page[endpoint]["n"] and int((rows["CNSR"] == 0).sum()) == page[endpoint]["events"]
        fitter = KaplanMeierFitter().fit(rows["AVAL"], event_observed=rows["CNSR"] == 0)
        for month, expected in page[endpoint]["at_months"].items():
            if expected["estimate"] is None:
                continue
            assert round(float(fitter.survival_function_at_times(int(month) * MONTH_DAYS).iloc[0]), 3) == \
                expected["estimate"], (paramcd, month)
            compared += 1
    rows = adtte[adtte["PARAMCD"] == "CIR"]
    codes = [1 if cnsr == 0 else 2 if competing == "Y" else 0 for cnsr, competing in zip(
        rows["CNSR"], rows["CMPEVFL"], strict=True)]
    fitter = AalenJohansenFitter().fit(rows["AVAL"], codes, event_of_interest=1)
    incidence = fitter.cumulative_density_.iloc[:, 0]
    for month, expected in page["cumulative_incidence_of_relapse"]["at_months"].items():
        if expected["estimate"] is None:
            continue
        assert round(float(incidence[incidence.index <= int(month) * MONTH_DAYS].iloc[-1]), 3) == \
            expected["estimate"], ("CIR", month)
        compared += 1
    assert compared >= 8
    # The worked example: OS at 12 months, deaths on days 120 (9 at risk), 200 (8) and 300 (6: one lost on
    # day 250) → 8/9 × 7/8 × 5/6 = 0.648.
    assert page["overall_survival"]["at_months"]["12"]["estimate"] == 0.648


def test_adtte_rows_of_the_relapsed_and_the_competing_death(adam, cohort):
    rows = {(r["USUBJID"].rsplit("-", 2)[-2] + "-" + r["USUBJID"].rsplit("-", 1)[-1], r["PARAMCD"]): r
            for r in adam["ADTTE"]}
    relapsed, died_in_remission = cohort[1].study_id, cohort[2].study_id
    lfs = rows[(relapsed, "LFS")]
    assert (lfs["AVAL"], lfs["CNSR"], lfs["STARTDT"], lfs["ADT"], lfs["EVNTDESC"]) == (
        150.0, 0, DAY_0, on(150), "RELAPSE")
    os_ = rows[(relapsed, "OS")]
    assert (os_["AVAL"], os_["CNSR"], os_["EVNTDESC"]) == (300.0, 0, "DEATH")
    dor = rows[(relapsed, "DOR")]
    assert (dor["AVAL"], dor["STARTDT"], dor["ADT"]) == (122.0, on(28), on(150))
    cir = rows[(died_in_remission, "CIR")]
    assert (cir["AVAL"], cir["CNSR"], cir["CMPEVFL"], cir["EVNTDESC"]) == (
        200.0, 1, "Y", "DEATH WITHOUT RELAPSE (COMPETING EVENT)")
    alive = rows[(cohort[0].study_id, "OS")]
    assert (alive["AVAL"], alive["CNSR"], alive["EVNTDESC"], alive["CNSDTDSC"]) == (
        700.0, 1, "CENSORED", "LAST CONTACT")
    failure = rows[(cohort[3].study_id, "EFS")]
    assert (failure["AVAL"], failure["CNSR"]) == (0.0, 0)
    assert (cohort[3].study_id, "LFS") not in rows  # not a responder


def test_adsl_populations_and_response_rate(api_client, data_manager, adam, cohort):
    adsl = {r["SUBJID"]: r for r in adam["ADSL"]}
    assert all(r["ENRLFL"] == "Y" and r["INFFL"] == "Y" and r["SAFFL"] == "Y" for r in adsl.values())
    no_marrow = adsl[cohort[6].study_id]
    assert (no_marrow["EVALFL"], no_marrow["RESPFL"], no_marrow["RESP1M"]) == ("N", "N", "")
    assert (adsl[cohort[7].study_id]["RESP1M"], adsl[cohort[7].study_id]["RESPFL"]) == ("CRi", "Y")
    assert (adsl[cohort[8].study_id]["RESP1MDT"], adsl[cohort[1].study_id]["RLPSDT"]) == (on(26), on(150))
    assert adsl[cohort[0].study_id]["TRTSDT"] == DAY_0 and adsl[cohort[0].study_id]["LDSTDT"] == on(-5)
    # The ITT CR rate from ADRS equals the page's.
    responses = [r["AVAL"] for r in adam["ADRS"] if r["PARAMCD"] == "RESP1M"]
    page = endpoints_page(api_client, data_manager)
    assert (len(responses), round(sum(responses) / len(responses), 3)) == (
        page["cr_rate"]["n"], page["cr_rate"]["estimate"])


def test_adam_rows_conform(adam):
    subjects = {row["USUBJID"] for row in adam["ADSL"]}
    assert table_problems(adam, subjects=subjects) == []
    assert io  # read_back above goes through a file


def test_an_interim_cutoff_cuts_sdtm_and_adam_alike(full_patient):
    """On 20 February 2026 (day 14) the full patient's day-28 marrow and day-60 contact are in the future: no RS
    record, the 1-month response pending in ADSL and no RESP1M row in ADRS; the CRS of day 2 is there."""
    cutoff = datetime.date(2026, 2, 20)
    sdtm = package_tables(standard="sdtm", patients=all_patients(), cutoff=cutoff)
    adam = package_tables(standard="adam", patients=all_patients(), cutoff=cutoff)
    assert sdtm["RS"] == [] and len(sdtm["AE"]) == 1
    [adsl] = adam["ADSL"]
    assert (adsl["PENDFL"], adsl["RESP1M"], adsl["EVALFL"], adsl["CUTOFFDT"], adsl["LSTALVDT"]) == (
        "Y", "", "N", cutoff, cutoff)
    assert [r["PARAMCD"] for r in adam["ADRS"]] == []
    os_ = next(r for r in adam["ADTTE"] if r["PARAMCD"] == "OS")
    assert (os_["AVAL"], os_["CNSR"], os_["CNSDTDSC"]) == (14.0, 1, "DATA CUT-OFF")


def test_death_and_loss_to_follow_up_in_dm_and_ds(cohort):
    """The patient's one death (outcomes.selectors.patient_deaths) is DM's DTHDTC and DS's end of study; the
    patient lost on day 250 ends the study lost to follow-up; a patient alive and followed has no end yet."""
    sdtm = package_tables(standard="sdtm", patients=all_patients(), cutoff=timezone.localdate())
    dm = {r["SUBJID"]: r for r in sdtm["DM"]}
    died = cohort[1].study_id
    assert (dm[died]["DTHDTC"], dm[died]["DTHFL"], dm[died]["RFPENDTC"]) == (on(300).isoformat(), "Y",
                                                                            on(300).isoformat())
    ends = {r["USUBJID"].removeprefix("CD19-CART-BALL-"): r for r in sdtm["DS"] if r["DSCAT"] == "DISPOSITION EVENT"}
    assert (ends[died]["DSDECOD"], ends[died]["DSSTDTC"], ends[died]["EPOCH"]) == (
        "DEATH", on(300).isoformat(), "FOLLOW-UP")
    lost = ends[cohort[7].study_id]
    assert (lost["DSDECOD"], lost["DSTERM"], lost["DSSTDTC"]) == ("LOST TO FOLLOW-UP", "Lost to follow-up",
                                                                 on(250).isoformat())
    assert cohort[0].study_id not in ends
