"""ADaM (ADaMIG 1.3) rows: ADSL, ADTTE, ADRS, ADAE and ADPP, pure functions of the records and the SDTM rows.

The time-to-event rows are the endpoints' own: each is `outcomes.statistics.time_to_event` of the patient's
course (`outcomes.selectors.patient_courses` cut by `statistics.at_cutoff` at the package's cut-off), in the
endpoint's population (`statistics.in_population`). Nothing is derived a second way, so Kaplan-Meier and
Aalen-Johansen estimates computed from ADTTE are those of the endpoints page (tests/submission/test_adam.py).
The kinetics (ADPP, ADTTE's BCREC, ADSL's ICAHT grades) are the laboratory app's rules on the same results
(`submission.kinetics`), so they equal GET /api/v1/patients/{id}/kinetics/."""
import datetime
from collections import defaultdict
from collections.abc import Iterable

from outcomes.rules import is_complete_remission
from outcomes.statistics import Endpoint, PatientCourse, in_population, remission_start, time_to_event

from . import metadata as md
from .kinetics import SubjectKinetics, subject_kinetics
from .rules import yes_no
from .sdtm import RESPONSE, conform
from .sources import Study, Subject

#: The SDTM datasets the ADaM datasets are made from (the ADaM package maps only these).
SDTM_SOURCES = ("DM", "RS", "AE", "SUPPAE", "PP")
ENDPOINT_PARAMCD = {endpoint: code for code, (_param, endpoint) in md.ENDPOINT_PARAMS.items()}


def _date(iso: str) -> datetime.date | None:
    return datetime.date.fromisoformat(iso) if iso else None


def _known(value: datetime.date | None, cutoff: datetime.date) -> datetime.date | None:
    return value if value is not None and value <= cutoff else None


RESPONDERS, NON_RESPONDERS = "CR/CRi", "NO RESPONSE"


def response_group(subject: Subject) -> str:
    """CR/CRi when any assessment (up to the cut-off) is CR or CRi, NO RESPONSE when assessed without, "" when
    never assessed: the groups of `laboratory.selectors.cohort_series_by_response`."""
    if not subject.assessments:
        return ""
    return RESPONDERS if any(a.response in ("CR", "CRi") for a in subject.assessments) else NON_RESPONDERS


def adsl_row(subject: Subject, dm: dict, *, cutoff: datetime.date, kinetics: SubjectKinetics | None = None) -> dict:
    course = subject.course  # None: not infused by the cut-off
    early = kinetics.icaht_early_grade if kinetics else None
    late = kinetics.icaht_late_grade if kinetics else None
    infused = course is not None
    evaluable = infused and not course.pending and course.response_1_month not in (None, "not_evaluable")
    death = course.death_date if infused else _known(subject.death_date, cutoff)
    mrd = course.mrd_negative_1_month if infused else None
    return {
        **{name: dm[name] for name in ("STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "ARM",
                                       "ACTARM")},
        "TRT01P": dm["ARM"], "TRT01A": dm["ACTARM"],
        "ENRLFL": yes_no(subject.enrolled),
        "SAFFL": yes_no(bool(subject.given_doses or subject.fractions)),
        "INFFL": yes_no(infused), "EVALFL": yes_no(evaluable),
        "RESPFL": yes_no(infused and course.responder), "PENDFL": yes_no(infused and course.pending),
        "RESP1M": RESPONSE.get(course.response_1_month, "") if infused else "",
        "MRD1M": {True: "NEGATIVE", False: "POSITIVE"}.get(mrd, "") if infused else "",
        "RESPGR1": response_group(subject),
        "ICAHTEGR": "" if early is None else str(early), "ICAHTEGN": early,
        "ICAHTLGR": "" if late is None else str(late), "ICAHTLGN": late,
        "RFICDT": subject.consent_date, "LDSTDT": _date(dm["RFSTDTC"]),
        "TRTSDT": course.infusion_date if infused else None,
        "TRTEDT": subject.last_infusion_date if infused else None,
        "RESP1MDT": course.primary_assessment_date if infused else None,
        "CRDT": course.first_remission_date if infused else None,
        "RLPSDT": course.relapse_date if infused else None,
        "HSCTDT": course.hsct_date if infused else None,
        "DTHDT": death, "DTHFL": "Y" if death else "",
        "LSTALVDT": death or (course.follow_up_end_date if infused else _last_alive(subject, cutoff)),
        "LTFUFL": yes_no(infused and course.lost_to_follow_up),
        "CUTOFFDT": cutoff,
    }


def _last_alive(subject: Subject, cutoff: datetime.date) -> datetime.date | None:
    dates = [subject.consent_date, subject.screening_date, subject.enrollment_date, subject.last_treatment_date,
             *(v.done_date for v in subject.visits)]
    return max((d for d in dates if d is not None and d <= cutoff), default=None)


def event_description(course: PatientCourse, endpoint: Endpoint, *, analysis_date: datetime.date, event: int,
                      competing: int) -> tuple[str, str]:
    """(EVNTDESC, CNSDTDSC): what happened on the analysis date, or why the subject is censored there."""
    if event:
        if endpoint is Endpoint.EVENT_FREE_SURVIVAL and course.treatment_failure:
            return "NO CR/CRI AT THE 1-MONTH ASSESSMENT (TREATMENT FAILURE)", ""
        if endpoint is not Endpoint.OVERALL_SURVIVAL and analysis_date == course.relapse_date:
            return "RELAPSE", ""
        return "DEATH", ""
    if competing:
        return "DEATH WITHOUT RELAPSE (COMPETING EVENT)", ""
    if course.data_cutoff is not None and analysis_date == course.data_cutoff:
        return "CENSORED", "DATA CUT-OFF"
    if analysis_date == course.last_contact_date:
        return "CENSORED", "LAST CONTACT"
    if analysis_date == course.hsct_date:
        return "CENSORED", "ALLOGENEIC HSCT (LAST KNOWN STATUS)"
    return "CENSORED", "RELAPSE (LAST KNOWN ALIVE)"


def adtte_rows(subject: Subject, adsl: dict, kinetics: SubjectKinetics | None = None) -> list[dict]:
    """One row per endpoint of whose population the subject is (responders only for LFS, CIR and DOR), then the
    B-cell recovery of an infused subject with a CD19+ count after the infusion."""
    course = subject.course
    if course is None:
        return []
    rows = []
    aplasia = kinetics.b_cell_aplasia if kinetics else None
    for number, endpoint in enumerate(Endpoint, start=1):
        if not in_population(course, endpoint):
            continue
        time_days, event, competing = time_to_event(course, endpoint)
        start = remission_start(course) if endpoint is Endpoint.DURATION_OF_REMISSION else course.infusion_date
        analysis_date = start + datetime.timedelta(days=time_days)
        description, censoring = event_description(course, endpoint, analysis_date=analysis_date, event=event,
                                                   competing=competing)
        code = ENDPOINT_PARAMCD[endpoint.value]
        rows.append({
            **{name: adsl[name] for name in ("STUDYID", "USUBJID", "SITEID", "TRT01A", "INFFL", "RESPFL")},
            "PARAMCD": code, "PARAM": md.ENDPOINT_PARAMS[code][0], "PARAMN": number,
            "AVAL": float(time_days), "AVALU": "DAYS", "STARTDT": start, "ADT": analysis_date,
            "CNSR": 0 if event else 1,
            "CMPEVFL": yes_no(bool(competing)) if endpoint is Endpoint.CUMULATIVE_INCIDENCE_OF_RELAPSE else "",
            "EVNTDESC": description, "CNSDTDSC": censoring, "SRCDOM": "ADSL",
        })
    if aplasia is not None:
        code = md.B_CELL_RECOVERY
        rows.append({
            **{name: adsl[name] for name in ("STUDYID", "USUBJID", "SITEID", "TRT01A", "INFFL", "RESPFL")},
            "PARAMCD": code, "PARAM": md.TTE_PARAMS[code], "PARAMN": len(md.TTE_PARAMS),
            "AVAL": float(aplasia.days), "AVALU": "DAYS", "STARTDT": course.infusion_date,
            "ADT": course.infusion_date + datetime.timedelta(days=aplasia.days),
            "CNSR": 0 if aplasia.recovered else 1, "CMPEVFL": "",
            "EVNTDESC": "B-CELL RECOVERY" if aplasia.recovered else "CENSORED",
            "CNSDTDSC": "" if aplasia.recovered else "LAST CD19+ B-CELL COUNT", "SRCDOM": "LB",
        })
    return rows


ADPP_CODES = {(test, parameter): code for code, (test, parameter, _name) in md.ADPP_PARAMS.items()}


def adpp_rows(adsl: dict, pp: Iterable[dict]) -> list[dict]:
    """One row per calculated PP parameter of the subject, with the response group (ADSL.RESPGR1, RESPFL)."""
    numbers = {code: number for number, code in enumerate(md.ADPP_PARAMS, start=1)}
    rows = []
    for record in pp:
        if record["PPSTRESN"] is None:
            continue
        code = ADPP_CODES[(record["PPGRPID"], record["PPTESTCD"])]
        rows.append({
            **{name: adsl[name] for name in ("STUDYID", "USUBJID", "SITEID", "TRT01A", "INFFL", "RESPFL",
                                             "RESPGR1")},
            "PARAMCD": code, "PARAM": md.ADPP_PARAMS[code][2], "PARAMN": numbers[code],
            "PARCAT1": record["PPCAT"], "AVAL": record["PPSTRESN"], "AVALU": record["PPSTRESU"],
            "SRCDOM": "PP", "SRCSEQ": record["PPSEQ"],
        })
    return sorted(rows, key=lambda row: row["PARAMN"])


def adrs_rows(subject: Subject, adsl: dict, rs: Iterable[dict]) -> list[dict]:
    """Each RS record with a result, and the 1-month response of each infused subject whose assessment is due (no
    assessment in the window: NE, a non-responder, as the ITT CR rate counts it)."""
    course = subject.course
    common = {name: adsl[name] for name in ("STUDYID", "USUBJID", "SITEID", "TRT01A", "INFFL", "EVALFL")}
    infusion = adsl["TRTSDT"]
    rows = []
    for record in rs:
        on = _date(record["RSDTC"])
        value = record["RSSTRESC"]
        if not value:  # MRD not done: nothing to analyse
            continue
        positive = value in ("CR", "CRi") if record["RSTESTCD"] == "OVRLRESP" else value == "NEGATIVE"
        rows.append({
            **common, "PARAMCD": record["RSTESTCD"], "PARAM": md.ADRS_PARAMS[record["RSTESTCD"]], "AVALC": value,
            "AVAL": 1.0 if positive else 0.0, "ADT": on,
            "ADY": (on - infusion).days if on and infusion else None, "AVISIT": record["VISIT"],
            "ANL01FL": "Y" if course is not None and on == course.primary_assessment_date else "",
            "SRCDOM": "RS", "SRCSEQ": record["RSSEQ"],
        })
    if course is not None and not course.pending:
        response = adsl["RESP1M"] or "NE"
        on = course.primary_assessment_date
        rows.append({
            **common, "PARAMCD": "RESP1M", "PARAM": md.ADRS_PARAMS["RESP1M"], "AVALC": response,
            "AVAL": 1.0 if is_complete_remission(course.response_1_month) else 0.0, "ADT": on,
            "ADY": (on - infusion).days if on else None, "AVISIT": "DAY 28", "ANL01FL": "Y",
            "SRCDOM": "ADSL", "SRCSEQ": None,
        })
    return rows


def adae_rows(adsl: dict, ae: Iterable[dict], suppae: Iterable[dict]) -> list[dict]:
    astct = {row["IDVARVAL"]: int(row["QVAL"]) for row in suppae if row["QNAM"] == "ASTCTGR"}
    infusion, first_dose = adsl["TRTSDT"], adsl["LDSTDT"]
    rows = []
    for record in ae:
        start, end = _date(record["AESTDTC"]), _date(record["AEENDTC"])
        rows.append({
            **{name: adsl[name] for name in ("STUDYID", "USUBJID", "SITEID", "TRT01A", "SAFFL", "INFFL")},
            **{name: record[name] for name in ("AESEQ", "AETERM", "AEDECOD", "AEBODSYS", "AESER", "AEREL", "AEOUT",
                                               "AETOXGR")},
            "ATOXGRN": int(record["AETOXGR"]) if record["AETOXGR"] else None,
            "ASTCTGR": astct.get(str(record["AESEQ"])), "ASTDT": start, "AENDT": end,
            "ASTDY": (start - infusion).days if start and infusion else None,
            "AENDY": (end - infusion).days if end and infusion else None,
            "TRTEMFL": yes_no(bool(start and first_dose and start >= first_dose)),
            "RELFL": yes_no(record["AEREL"] in ("POSSIBLY RELATED", "PROBABLY RELATED", "DEFINITELY RELATED")),
        })
    return rows


def adam_tables(study: Study, subjects: Iterable[Subject], *, sdtm: dict[str, list[dict]],
                cutoff: datetime.date) -> dict[str, list[dict]]:
    """The ADaM datasets of the package from the subjects and their SDTM rows. ADSL holds the enrolled
    subjects (the screen failures stay in SDTM's DM and DS: no analysis population counts them)."""
    by_subject: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for name in ("RS", "AE", "SUPPAE", "PP"):
        for row in sdtm[name]:
            by_subject[row["USUBJID"]][name].append(row)
    dm = {row["USUBJID"]: row for row in sdtm["DM"]}
    tables: dict[str, list[dict]] = {"ADSL": [], "ADTTE": [], "ADRS": [], "ADAE": [], "ADPP": []}
    for subject in sorted((s for s in subjects if s.enrolled), key=lambda s: s.subject_id):
        key = f"{study.code}-{subject.subject_id}"
        kinetics = subject_kinetics(subject)
        adsl = adsl_row(subject, dm[key], cutoff=cutoff, kinetics=kinetics)
        own = by_subject[key]
        tables["ADSL"].append(adsl)
        tables["ADTTE"].extend(adtte_rows(subject, adsl, kinetics))
        tables["ADRS"].extend(adrs_rows(subject, adsl, own["RS"]))
        tables["ADAE"].extend(adae_rows(adsl, own["AE"], own["SUPPAE"]))
        tables["ADPP"].extend(adpp_rows(adsl, own["PP"]))
    return {name: [conform(md.DATASETS[name], row) for row in rows] for name, rows in tables.items()}
