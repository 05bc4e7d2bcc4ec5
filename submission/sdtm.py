"""SDTM (SDTMIG 3.4) rows from the EDC's records (`submission.sources`): one function per domain,
pure, each returning a list of dicts keyed by the variable names of `submission.metadata`.
docs/cdisc.md says, domain by domain, where each value comes from."""
import datetime
import functools
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from laboratory import rules as lab_rules

from . import metadata as md
from .kinetics import QPCR, SubjectKinetics, auc_end_day, subject_kinetics
from .rules import (
    age_years,
    ascii_text,
    epoch,
    iso_date,
    last_before,
    last_date,
    numbered,
    protocol_day_to_study_day,
    study_day,
    yes_no,
)
from .sources import Dose, LabRecord, Study, Subject

ARMCD = "CART"
ARM = "Flu/Cy lymphodepletion then CD19 CAR-T"
COUNTRY = "CHN"
CART_TREATMENT = "CD19 CAR-T CELLS"
AGENT_TREATMENT = {"fludarabine": "FLUDARABINE", "cyclophosphamide": "CYCLOPHOSPHAMIDE"}
LYMPHODEPLETION_CATEGORY = "LYMPHODEPLETION"
CART_CATEGORY = "CAR-T INFUSION"

AE_OUTCOME = {
    "recovered": "RECOVERED/RESOLVED", "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED", "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL", "unknown": "UNKNOWN",
}
RELATEDNESS = {
    "not_related": "NOT RELATED", "unlikely": "UNLIKELY RELATED", "possible": "POSSIBLY RELATED",
    "probable": "PROBABLY RELATED", "definite": "DEFINITELY RELATED",
}
# ICH E2A criteria (safety.rules.SeriousnessCriterion) → the AE seriousness flags.
SERIOUSNESS_FLAGS = {
    "death": "AESDTH", "life_threatening": "AESLIFE", "hospitalisation": "AESHOSP", "disability": "AESDISAB",
    "congenital_anomaly": "AESCONG", "important_medical_event": "AESMIE",
}
RESPONSE = {"CR": "CR", "CRi": "CRi", "no_response": "NR", "relapse": "RELAPSE", "not_evaluable": "NE"}
RESPONSE_CATEGORY = "PROTOCOL RESPONSE CRITERIA (B-ALL)"
CRS_OBJECT, ICANS_OBJECT = "CYTOKINE RELEASE SYNDROME", "IMMUNE EFFECTOR CELL-ASSOCIATED NEUROTOXICITY SYNDROME"
ASTCT_CATEGORY = "ASTCT CONSENSUS GRADING"
MRD_CATEGORY = "MINIMAL RESIDUAL DISEASE"


def usubjid(study: Study, subject_id: str) -> str:
    return f"{study.code}-{subject_id}"


def _base(study: Study, domain: str, subject: Subject | None = None) -> dict:
    row = {"STUDYID": study.code, "DOMAIN": domain}
    if subject is not None:
        row["USUBJID"] = usubjid(study, subject.subject_id)
    return row


def _timing(subject: Subject, value: datetime.date | None) -> dict:
    """The day and the epoch of a date, for the subject."""
    return {"DY": study_day(value, subject.first_treatment_date),
            "EPOCH": epoch(value, reference_start=subject.first_treatment_date,
                           last_treatment=subject.last_infusion_date)}


def visit_numbers(study: Study) -> dict[str, int]:
    """Visit code → VISITNUM, the order of the visit in the protocol's schedule."""
    return study.visit_numbers


def _visit(study: Study, code: str) -> dict:
    number = study.visit_numbers.get(code)
    if number is None:
        return {"VISITNUM": None, "VISIT": ""}
    return {"VISITNUM": float(number), "VISIT": ascii_text(study.visit_names[code]).upper()}


# --- Trial design ---------------------------------------------------------------------------------

def ts_rows(study: Study) -> list[dict]:
    """Trial summary: the registry record's parameters (docs/cdisc.md lists them)."""
    dose_range = (f"{study.cart_dose_min_million_per_kg.normalize():f}-"
                  f"{study.cart_dose_max_million_per_kg.normalize():f} x10^6 CAR-T cells/kg")
    parameters = [
        ("TITLE", "Trial Title", study.title),
        ("TPHASE", "Trial Phase Classification", None),  # the registry record gives no phase
        ("STYPE", "Study Type", "INTERVENTIONAL"),
        ("TTYPE", "Trial Type", "EFFICACY"),
        ("TTYPE", "Trial Type", "SAFETY"),
        ("INTMODEL", "Intervention Model", "SINGLE GROUP"),
        ("RANDOM", "Trial is Randomized", "N"),
        ("TBLIND", "Trial Blinding Schema", "OPEN LABEL"),
        ("NARMS", "Planned Number of Arms", "1"),
        ("PLANSUB", "Planned Number of Subjects", str(study.planned_enrollment)),
        ("INDIC", "Trial Disease/Condition Indication",
         "Relapsed or refractory CD19-positive B-cell acute lymphoblastic leukemia"),
        ("TRT", "Investigational Therapy or Treatment",
         f"CD19-targeted CAR T cells, {dose_range}, after fludarabine "
         f"{study.fludarabine_mg_per_m2.normalize():f} mg/m2 and cyclophosphamide "
         f"{study.cyclophosphamide_mg_per_m2.normalize():f} mg/m2 a day on days "
         f"{study.lymphodepletion_first_day} to {study.lymphodepletion_last_day}"),
        ("ROUTE", "Route of Administration", "INTRAVENOUS"),
        ("ADDON", "Added on to Existing Treatments", "N"),
        ("SPONSOR", "Clinical Study Sponsor", study.sponsor),
        ("FCNTRY", "Planned Country of Investigational Sites", COUNTRY),
        ("LENGTH", "Trial Length", f"P{study.follow_up_months}M"),
        ("OUTMSPRI", "Primary Outcome Measure", "Complete remission (CR/CRi) 1 month after infusion"),
        ("OUTMSSEC", "Secondary Outcome Measure", "MRD-negative remission 1 month after infusion"),
        ("OUTMSSEC", "Secondary Outcome Measure", "Leukemia-free survival to 3 years"),
        ("OUTMSSEC", "Secondary Outcome Measure", "Overall survival to 3 years"),
        ("OUTMSSEC", "Secondary Outcome Measure", "Cumulative incidence of relapse to 3 years"),
    ]
    rows, seen = [], {}
    for code, name, value in parameters:
        seen[code] = seen.get(code, 0) + 1
        rows.append({**_base(study, "TS"), "TSSEQ": seen[code], "TSGRPID": "", "TSPARMCD": code,
                     "TSPARM": name, "TSVAL": ascii_text(value), "TSVALNF": "" if value else "UNK",
                     "TSVALCD": "", "TSVCDREF": "", "TSVCDVER": ""})
    return rows


ELEMENTS = (
    # ETCD, ELEMENT, TESTRL, TEENRL, TEDUR, EPOCH
    ("SCRN", "Screening", "Informed consent", "Eligibility confirmed (enrollment)", "", "SCREENING"),
    ("LD", "Lymphodepletion (fludarabine + cyclophosphamide)", "First lymphodepletion dose (protocol day -5)",
     "Last lymphodepletion dose (protocol day -3) and the rest before infusion", "P5D", "TREATMENT"),
    ("CART", "CD19 CAR-T infusion", "First CAR-T fraction (protocol day 0)", "Last CAR-T fraction", "", "TREATMENT"),
    ("FU", "Follow-up", "Day after the last CAR-T fraction", "End of study (death, loss or 3 years)", "P3Y",
     "FOLLOW-UP"),
)


def te_rows(study: Study) -> list[dict]:
    return [{**_base(study, "TE"), "ETCD": etcd, "ELEMENT": element, "TESTRL": start, "TEENRL": end,
             "TEDUR": duration} for etcd, element, start, end, duration, _epoch in ELEMENTS]


def ta_rows(study: Study) -> list[dict]:
    return [{**_base(study, "TA"), "ARMCD": ARMCD, "ARM": ARM, "TAETORD": order, "ETCD": etcd,
             "ELEMENT": element, "TABRANCH": "", "TATRANS": "", "EPOCH": epoch_name}
            for order, (etcd, element, _s, _e, _d, epoch_name) in enumerate(ELEMENTS, start=1)]


def tv_rows(study: Study) -> list[dict]:
    numbers = visit_numbers(study)
    rows = []
    for visit in sorted(study.visits, key=lambda v: numbers[v.code]):
        rows.append({
            **_base(study, "TV"), "VISITNUM": float(numbers[visit.code]), "VISIT": ascii_text(visit.name).upper(),
            "VISITDY": protocol_day_to_study_day(visit.target_day, study.lymphodepletion_first_day),
            "ARMCD": ARMCD,
            "TVSTRL": f"Protocol day {visit.target_day} after the CAR-T infusion (window "
                      f"-{visit.window_before_days}/+{visit.window_after_days} days)",
            "TVENRL": "",
        })
    return rows


def criterion_code(kind: str, position: int) -> str:
    """IETESTCD of the criterion at ``position`` (1, 2, …) of its kind: IN01, EX03."""
    return f"{'IN' if kind == 'inclusion' else 'EX'}{position:02d}"


def ti_codes(study: Study) -> dict[str, str]:
    """Criterion code of the EDC → IETESTCD."""
    codes = {}
    for kind in ("inclusion", "exclusion"):
        ordered = sorted((c for c in study.criteria if c.kind == kind), key=lambda c: (c.order, c.code))
        for position, criterion in enumerate(ordered, start=1):
            codes[criterion.code] = criterion_code(kind, position)
    return codes


def ti_rows(study: Study) -> list[dict]:
    codes = ti_codes(study)
    criteria = sorted(study.criteria, key=lambda c: codes[c.code])
    return [{**_base(study, "TI"), "IETESTCD": codes[c.code], "IETEST": ascii_text(c.text),
             "IECAT": c.kind.upper(), "TIVERS": study.version} for c in criteria]


# --- Subjects -------------------------------------------------------------------------------------

def _last_known_date(subject: Subject) -> datetime.date | None:
    """The last date the subject is known to be on study (RFENDTC, RFPENDTC)."""
    course = subject.course
    dates = [subject.death_date, subject.off_study_date, subject.last_treatment_date,
             subject.screening_date, subject.consent_date, subject.enrollment_date,
             course.follow_up_end_date if course is not None else None,
             *(v.done_date for v in subject.visits)]
    return last_date(dates)


def dm_row(study: Study, subject: Subject) -> dict:
    rfstdtc = subject.first_treatment_date
    infused = subject.infusion_date is not None
    if not subject.enrolled:
        arm = {"ARMCD": "", "ARM": "", "ACTARMCD": "", "ACTARM": "", "ARMNRS": "SCREEN FAILURE"}
    elif not infused:
        arm = {"ARMCD": ARMCD, "ARM": ARM, "ACTARMCD": "", "ACTARM": "", "ARMNRS": "ASSIGNED, NOT TREATED"}
    else:
        arm = {"ARMCD": ARMCD, "ARM": ARM, "ACTARMCD": ARMCD, "ACTARM": ARM, "ARMNRS": ""}
    return {
        **_base(study, "DM", subject), "SUBJID": subject.subject_id,
        "RFSTDTC": iso_date(rfstdtc),
        "RFENDTC": iso_date(_last_known_date(subject) if rfstdtc else None),
        "RFXSTDTC": iso_date(subject.infusion_date), "RFXENDTC": iso_date(subject.last_infusion_date),
        "RFICDTC": iso_date(subject.consent_date), "RFPENDTC": iso_date(_last_known_date(subject)),
        "DTHDTC": iso_date(subject.death_date), "DTHFL": "Y" if subject.death_date else "",
        "SITEID": subject.site_code, "BRTHDTC": iso_date(subject.birth_date),
        "AGE": age_years(subject.birth_date, subject.consent_date),
        "AGEU": "YEARS" if subject.birth_date and subject.consent_date else "",
        "SEX": subject.sex or "U", **arm, "ACTARMUD": "", "COUNTRY": COUNTRY,
        "DMDTC": iso_date(subject.baseline_date), "DMDY": study_day(subject.baseline_date, rfstdtc),
    }


def _event(study: Study, domain: str, subject: Subject, on: datetime.date | None, **values) -> dict:
    timing = _timing(subject, on)
    prefix = domain
    return {**_base(study, domain, subject), **values, "EPOCH": timing["EPOCH"],
            f"{prefix}STDTC": iso_date(on), f"{prefix}STDY": timing["DY"]}


def ds_rows(study: Study, subject: Subject) -> list[dict]:
    """Consent, then enrollment or screen failure, then the end of study when there is one."""
    rows = [_event(study, "DS", subject, subject.consent_date, DSTERM="INFORMED CONSENT OBTAINED",
                   DSDECOD="INFORMED CONSENT OBTAINED", DSCAT="PROTOCOL MILESTONE")]
    if not subject.enrolled:
        rows.append(_event(study, "DS", subject, subject.screening_date,
                           DSTERM=ascii_text(subject.screen_failure_reason or "Screen failure"),
                           DSDECOD="SCREEN FAILURE", DSCAT="DISPOSITION EVENT"))
        return rows
    rows.append(_event(study, "DS", subject, subject.enrollment_date, DSTERM="ENROLLED",
                       DSDECOD="ELIGIBILITY CRITERIA MET", DSCAT="PROTOCOL MILESTONE"))
    end = end_of_study(subject)
    if end is not None:
        on, term, decod = end
        rows.append(_event(study, "DS", subject, on, DSTERM=ascii_text(term), DSDECOD=decod,
                           DSCAT="DISPOSITION EVENT"))
    return rows


# outcomes.models.EndOfStudyReason → the CDISC completion / reason for non-completion term.
END_REASON_DECOD = {
    "completed": "COMPLETED", "death": "DEATH", "consent_withdrawn": "WITHDRAWAL BY SUBJECT",
    "lost_to_follow_up": "LOST TO FOLLOW-UP", "investigator_decision": "PHYSICIAN DECISION", "other": "OTHER",
}


def end_of_study(subject: Subject) -> tuple[datetime.date, str, str] | None:
    """(date, reported term, DSDECOD) of the subject's end of study, or None while on study.

    The End of study form when there is one (its reason coded); otherwise the death (its cause as the
    reported term), then a patient whose latest contact says lost to follow-up, then any other off-study
    reason the EDC recorded."""
    if subject.end_date is not None:
        term = subject.death_cause if subject.end_reason == "death" and subject.death_cause else (
            subject.end_reason_text)
        return subject.end_date, term or "End of study", END_REASON_DECOD.get(subject.end_reason, "OTHER")
    if subject.death_date is not None:
        return subject.death_date, subject.death_cause or "Death", "DEATH"
    course = subject.course
    if course is not None and course.lost_to_follow_up:
        return course.last_contact_date, "Lost to follow-up", "LOST TO FOLLOW-UP"
    if subject.off_study_date is not None:
        reason = subject.off_study_reason or "Off study"
        decod = "COMPLETED" if "complet" in reason.lower() else "OTHER"
        return subject.off_study_date, reason, decod
    return None


def _dose_timing(subject: Subject, on: datetime.date | None, prefix: str) -> dict:
    timing = _timing(subject, on)
    return {"EPOCH": timing["EPOCH"], f"{prefix}STDTC": iso_date(on), f"{prefix}ENDTC": iso_date(on),
            f"{prefix}STDY": timing["DY"], f"{prefix}ENDY": timing["DY"]}


def _protocol_day_label(day: int) -> str:
    return f"DAY {day}"


def ex_rows(study: Study, subject: Subject) -> list[dict]:
    """Each lymphodepletion dose given (mg) and each CAR-T fraction (10^6 CAR+ cells per kg of the
    weight at infusion). A missed dose is not exposure: EC shows it."""
    rows = []
    for dose in subject.given_doses:
        rows.append({
            **_base(study, "EX", subject), "EXTRT": AGENT_TREATMENT[dose.agent], "EXCAT": LYMPHODEPLETION_CATEGORY,
            "EXDOSE": float(dose.administered_mg or 0), "EXDOSU": "mg", "EXDOSFRM": "INJECTION",
            "EXROUTE": "INTRAVENOUS", **_dose_timing(subject, dose.date, "EX"),
            "EXTPT": _protocol_day_label(dose.protocol_day),
        })
    for fraction in subject.fractions:
        rows.append({
            **_base(study, "EX", subject), "EXTRT": CART_TREATMENT, "EXCAT": CART_CATEGORY,
            "EXDOSE": cells_per_kg_millions(fraction.cells, subject.infusion_weight_kg),
            "EXDOSU": "10^6/kg", "EXDOSFRM": "SUSPENSION", "EXROUTE": "INTRAVENOUS",
            **_dose_timing(subject, fraction.date, "EX"),
            "EXTPT": _protocol_day_label((fraction.date - subject.infusion_date).days)
            if subject.infusion_date else "",
        })
    return rows


def cells_per_kg_millions(cells: int, weight_kg: Decimal | None) -> float | None:
    """A fraction's dose in 10^6 CAR+ cells per kg, to 0.01 as the EDC shows it."""
    if not weight_kg:
        return None
    return float(round(Decimal(cells) / Decimal(10**6) / weight_kg, 2))


def dose_differs(dose: Dose) -> bool:
    """Whether the administered dose is not the planned one (a missed dose included)."""
    return (dose.administered_mg or Decimal(0)) != dose.planned_mg


def ec_rows(study: Study, subject: Subject) -> list[dict]:
    """Exposure as collected, for the lymphodepletion doses whose administered amount differs from
    the plan: a SCHEDULED record (the planned mg) and a PERFORMED one (what was given, or ECOCCUR N)."""
    rows = []
    for dose in subject.doses:
        if not dose_differs(dose):
            continue
        link = f"{dose.agent[:4].upper()}{dose.protocol_day}"
        common = {**_base(study, "EC", subject), "ECLNKID": link, "ECTRT": AGENT_TREATMENT[dose.agent],
                  "ECCAT": LYMPHODEPLETION_CATEGORY, "ECPRESP": "Y", "ECDOSU": "mg", "ECROUTE": "INTRAVENOUS",
                  "ECTPT": _protocol_day_label(dose.protocol_day)}
        rows.append({**common, "ECMOOD": "SCHEDULED", "ECOCCUR": "", "ECDOSE": float(dose.planned_mg),
                     **_dose_timing(subject, dose.planned_date, "EC")})
        rows.append({**common, "ECMOOD": "PERFORMED", "ECOCCUR": yes_no(dose.given),
                     "ECDOSE": float(dose.administered_mg) if dose.given else None,
                     **_dose_timing(subject, dose.date if dose.given else dose.planned_date, "EC")})
    return rows


def ae_rows(study: Study, subject: Subject) -> list[dict]:
    rows = []
    for event in subject.adverse_events:
        timing = _timing(subject, event.onset_date)
        criteria = set(event.seriousness_criteria)
        after_treatment = (subject.last_infusion_date is not None
                           and event.onset_date > subject.last_infusion_date)
        rows.append({
            **_base(study, "AE", subject), "AESPID": str(event.pk), "AETERM": ascii_text(event.term),
            "AELLTCD": int(event.meddra_code) if event.meddra_code.isdigit() else None,
            "AELLT": ascii_text(event.term), "AEDECOD": ascii_text(event.term),
            "AEBODSYS": ascii_text(event.system_organ_class), "AESOC": ascii_text(event.system_organ_class),
            "AESER": yes_no(event.serious), "AEACN": "NOT APPLICABLE" if after_treatment else "",
            "AEACNOTH": ascii_text(event.action_taken_other or _ACTION.get(event.action_taken, "")),
            "AEREL": RELATEDNESS.get(event.relatedness_cart, ""), "AEOUT": AE_OUTCOME.get(event.outcome, ""),
            **{flag: yes_no(code in criteria) if event.serious else "" for code, flag in SERIOUSNESS_FLAGS.items()},
            "AETOXGR": str(event.grade), "EPOCH": timing["EPOCH"],
            "AESTDTC": iso_date(event.onset_date), "AEENDTC": iso_date(event.resolution_date),
            "AESTDY": timing["DY"], "AEENDY": study_day(event.resolution_date, subject.first_treatment_date),
        })
    return rows


_ACTION = {"treatment": "TREATMENT GIVEN", "hospitalisation": "HOSPITALISATION", "none": ""}


def suppae_rows(study: Study, subject: Subject, ae: list[dict]) -> list[dict]:
    """ASTCT grade (CRS and ICANS events) and the causality to lymphodepletion, keyed on AESEQ.

    ``ae`` are the subject's AE rows already numbered (AESPID names the event)."""
    events = {str(event.pk): event for event in subject.adverse_events}
    rows = []
    for row in ae:
        event = events[row["AESPID"]]
        common = {"STUDYID": study.code, "RDOMAIN": "AE", "USUBJID": row["USUBJID"], "IDVAR": "AESEQ",
                  "IDVARVAL": str(row["AESEQ"])}
        if event.astct_grade is not None:
            rows.append({**common, "QNAM": "ASTCTGR", "QLABEL": "ASTCT Consensus Grade",
                         "QVAL": str(event.astct_grade), "QORIG": "Derived", "QEVAL": ""})
        rows.append({**common, "QNAM": "AERELLD", "QLABEL": "Causality to Lymphodepletion",
                     "QVAL": RELATEDNESS.get(event.relatedness_lymphodepletion, ""), "QORIG": "CRF",
                     "QEVAL": "INVESTIGATOR"})
    return rows


def _finding(study: Study, subject: Subject, *, on: datetime.date, visit_code: str, group: str, code: str,
             obj: str, result, unit: str = "") -> dict:
    timing = _timing(subject, on)
    if result is None:
        original, numeric, status = "", None, "NOT DONE"
    elif isinstance(result, bool):
        original, numeric, status = yes_no(result), None, ""
    elif isinstance(result, (int, Decimal, float)):
        original, numeric, status = f"{Decimal(result).normalize():f}", float(result), ""
    else:
        original, numeric, status = ascii_text(result).upper(), None, ""
    return {**_base(study, "FA", subject), "FAGRPID": group, "FATESTCD": code, "FATEST": md.FA_TESTS[code],
            "FAOBJ": obj, "FACAT": ASTCT_CATEGORY, "FAORRES": original, "FAORRESU": unit if original else "",
            "FASTRESC": original, "FASTRESN": numeric, "FASTRESU": unit if original else "", "FASTAT": status,
            **_visit(study, visit_code), "EPOCH": timing["EPOCH"], "FADTC": iso_date(on), "FADY": timing["DY"]}


def fa_rows(study: Study, subject: Subject) -> list[dict]:
    """Findings about CRS and ICANS: each assessment's ASTCT inputs and the grade computed from them."""
    rows = []
    for crs in subject.crs:
        def add(code, result, unit="", crs=crs):
            rows.append(_finding(study, subject, on=crs.date, visit_code=crs.visit_code, group=f"CRS-{crs.pk}",
                                 code=code, obj=CRS_OBJECT, result=result, unit=unit))
        add("TEMP", crs.max_temperature_c, "C")
        add("FEVMASK", crs.fever_masked)
        add("HYPOTEN", crs.hypotension.replace("_", " "))
        add("HYPOXIA", crs.hypoxia.replace("_", " "))
        if crs.tocilizumab_dose_mg is not None:
            add("TOCIDOSE", crs.tocilizumab_dose_mg, "mg")
        if crs.corticosteroid_dose_mg is not None:
            add("CORTDOSE", crs.corticosteroid_dose_mg, "mg")
        add("ASTCTGR", crs.grade)
    for icans in subject.icans:
        def add(code, result, icans=icans):
            rows.append(_finding(study, subject, on=icans.date, visit_code=icans.visit_code,
                                 group=f"ICANS-{icans.pk}", code=code, obj=ICANS_OBJECT, result=result))
        if icans.capd_score is not None:
            add("CAPDSCR", icans.capd_score)
        else:
            add("ICESCORE", icans.ice_score)
        add("UNABLASS", icans.unable_to_assess)
        add("CONSC", icans.consciousness)
        add("SEIZURE", icans.seizure.replace("_", " "))
        add("MOTWEAK", icans.motor_weakness)
        add("CEREDEMA", icans.cerebral_edema)
        add("ASTCTGR", icans.grade)
    return rows


def rs_rows(study: Study, subject: Subject) -> list[dict]:
    """Each response assessment's derived response and, when evaluable, its MRD status."""
    rows = []
    for assessment in subject.assessments:
        timing = _timing(subject, assessment.date)
        common = {**_base(study, "RS", subject), "RSCAT": RESPONSE_CATEGORY, "RSEVAL": "INVESTIGATOR",
                  **_visit(study, assessment.visit_code), "EPOCH": timing["EPOCH"],
                  "RSDTC": iso_date(assessment.date), "RSDY": timing["DY"]}
        response = RESPONSE.get(assessment.response, "")
        rows.append({**common, "RSTESTCD": "OVRLRESP", "RSTEST": md.RS_TESTS["OVRLRESP"], "RSORRES": response,
                     "RSSTRESC": response, "RSSTAT": ""})
        mrd = {True: "NEGATIVE", False: "POSITIVE"}.get(assessment.mrd_negative, "")
        rows.append({**common, "RSTESTCD": "MRDSTAT", "RSTEST": md.RS_TESTS["MRDSTAT"], "RSORRES": mrd,
                     "RSSTRESC": mrd, "RSSTAT": "" if mrd else "NOT DONE"})
    return rows


# Laboratory CRF analytes in LB: analyte → (LBTESTCD, LBCAT, LBSPEC, LBMETHOD). The CAR transgene and the
# CAR+ T cells are concentrations of the product, in PC, not here.
LB_ANALYTES = {
    "wbc": ("WBC", "HEMATOLOGY", "BLOOD", ""), "anc": ("NEUT", "HEMATOLOGY", "BLOOD", ""),
    "alc": ("LYM", "HEMATOLOGY", "BLOOD", ""), "hemoglobin": ("HGB", "HEMATOLOGY", "BLOOD", ""),
    "platelets": ("PLAT", "HEMATOLOGY", "BLOOD", ""),
    "creatinine": ("CREAT", "CHEMISTRY", "SERUM", ""), "alt": ("ALT", "CHEMISTRY", "SERUM", ""),
    "ast": ("AST", "CHEMISTRY", "SERUM", ""), "bilirubin": ("BILI", "CHEMISTRY", "SERUM", ""),
    "ldh": ("LDH", "CHEMISTRY", "SERUM", ""),
    "fibrinogen": ("FIBRINO", "COAGULATION", "PLASMA", ""), "d_dimer": ("DDIMER", "COAGULATION", "PLASMA", ""),
    "crp": ("CRP", "INFLAMMATION", "SERUM", ""), "ferritin": ("FERRITIN", "INFLAMMATION", "SERUM", ""),
    "il6": ("INTLK6", "INFLAMMATION", "SERUM", ""),
    "igg": ("IGG", "IMMUNOGLOBULINS", "SERUM", ""),
    "cd19_b": ("BLYCE", "IMMUNOPHENOTYPING", "BLOOD", "FLOW CYTOMETRY"),
}
# The EDC's units as CDISC's UNIT / PKUNIT terms (ASCII). UNIT has no ng/mL, pg/mL nor /uL: they are synonyms of
# its ug/L, ng/L and 10^6/L (the same quantities), which are written.
UNIT_TERM = {
    "/µL": "10^6/L", "×10⁹/L": "10^9/L", "g/dL": "g/dL", "g/L": "g/L", "mg/dL": "mg/dL", "µmol/L": "umol/L",
    "U/L": "U/L", "mg/L": "mg/L", "ng/mL": "ug/L", "µg/L": "ug/L", "pg/mL": "ng/L", "ng/L": "ng/L",
    "mg/L FEU": "mg/L FEU", "µg/L FEU": "ug/L FEU", "copies/µg": "copies/ug",
}
NRIND = {"H": "HIGH", "L": "LOW", "": "NORMAL"}


def number_text(value) -> str:
    """A number as a result is written: no exponent, no trailing zeros (0.300 → 0.3, 50.00 → 50)."""
    return f"{Decimal(value).normalize():f}"


@functools.lru_cache(maxsize=4096)  # ranges and LLOQs repeat: convert each once
def in_reported_unit(value: Decimal | None, analyte: str, unit: str) -> Decimal | None:
    """A canonical-unit value (a range limit, an LLOQ) in the unit the site reported in, to 0.001."""
    if value is None:
        return None
    exact = Fraction(Decimal(value)) / lab_rules.ANALYTES[analyte].units[unit]
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(lab_rules.CANONICAL_PLACES,
                                                                           rounding=ROUND_HALF_UP)


def _optional_text(value: Decimal | None) -> str:
    return "" if value is None else number_text(value)


def _optional_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def lab_row(study: Study, subject: Subject, lab: LabRecord) -> dict:
    """One laboratory CRF result: as reported (LBORRES, LBORRESU), in the canonical unit (LBSTRESC/N/U), the
    normal range in both units, the stored flag (LBNRIND) and CTCAE grade (LBTOXGR, LBTOX the term)."""
    code, category, specimen, method = LB_ANALYTES[lab.analyte]
    canonical_unit = lab_rules.ANALYTES[lab.analyte].canonical_unit
    grade = lab.ctcae_grade
    timing = _timing(subject, lab.date)
    return {
        **_base(study, "LB", subject), "LBTESTCD": code, "LBTEST": md.LB_TESTS[code], "LBCAT": category,
        "LBORRES": number_text(lab.value), "LBORRESU": UNIT_TERM[lab.unit],
        "LBORNRLO": _optional_text(in_reported_unit(lab.range_lower, lab.analyte, lab.unit)),
        "LBORNRHI": _optional_text(in_reported_unit(lab.range_upper, lab.analyte, lab.unit)),
        "LBSTRESC": number_text(lab.canonical_value), "LBSTRESN": float(lab.canonical_value),
        "LBSTRESU": UNIT_TERM[canonical_unit],
        "LBSTNRLO": _optional_float(lab.range_lower), "LBSTNRHI": _optional_float(lab.range_upper),
        "LBNRIND": NRIND[lab.flag] if lab.has_range else "",
        "LBSTAT": "", "LBSPEC": specimen, "LBMETHOD": method, "LBLOBXFL": "",
        "LBTOX": ascii_text(lab_rules.CTCAE_TERM[lab.analyte]) if grade else "",
        "LBTOXGR": str(grade) if grade else "", "LBLLOQ": None,
        **_visit(study, lab.visit_code), "EPOCH": timing["EPOCH"], "LBDTC": iso_date(lab.date),
        "LBDY": timing["DY"],
    }


def lb_rows(study: Study, subject: Subject) -> list[dict]:
    """MRD by flow cytometry of each response assessment's marrow (the % of nucleated cells, the assay's
    sensitivity as the lower limit of quantitation; NOT DONE when the form has no MRD value), then each
    laboratory CRF result but the CAR-T kinetics (PC). LBLOBXFL on each test's last result before the
    first CAR-T fraction."""
    rows = []
    for assessment in subject.assessments:
        timing = _timing(subject, assessment.date)
        value = assessment.mrd_flow_percent
        result = "" if value is None else f"{Decimal(value).normalize():f}"
        sensitivity = assessment.mrd_sensitivity_percent
        rows.append({
            **_base(study, "LB", subject), "LBTESTCD": "MRDFLOW", "LBTEST": md.LB_TESTS["MRDFLOW"],
            "LBCAT": MRD_CATEGORY, "LBORRES": result, "LBORRESU": "%" if result else "", "LBSTRESC": result,
            "LBSTRESN": None if value is None else float(value), "LBSTRESU": "%" if result else "",
            "LBSTAT": "" if result else "NOT DONE", "LBSPEC": "BONE MARROW", "LBMETHOD": "FLOW CYTOMETRY",
            "LBLOBXFL": "", "LBLLOQ": None if sensitivity is None else float(sensitivity),
            **_visit(study, assessment.visit_code),
            "EPOCH": timing["EPOCH"], "LBDTC": iso_date(assessment.date), "LBDY": timing["DY"],
        })
    rows.extend(lab_row(study, subject, lab) for lab in subject.labs if lab.analyte in LB_ANALYTES)
    for code in {row["LBTESTCD"] for row in rows}:
        indexes = [index for index, row in enumerate(rows) if row["LBTESTCD"] == code]
        dates = [datetime.date.fromisoformat(rows[index]["LBDTC"]) if rows[index]["LBSTRESC"] else None
                 for index in indexes]
        baseline = last_before(dates, subject.infusion_date)
        if baseline is not None:
            rows[indexes[baseline]]["LBLOBXFL"] = "Y"
    return rows


# CAR-T cellular kinetics in PC and PP ----------------------------------------------------------------

# analyte → (PCTESTCD, PCMETHOD)
PC_ANALYTES = {"car_qpcr": ("CARTG", "QUANTITATIVE POLYMERASE CHAIN REACTION"),
               "car_t_flow": ("CARTCELL", "FLOW CYTOMETRY")}
TIME_POINT_REFERENCE = "CAR-T INFUSION"


def planned_day(study: Study, subject: Subject, lab: LabRecord, sampling: set[int] | frozenset[int]) -> int | None:
    """The protocol sampling day a kinetics sample was drawn for (docs/cdisc.md, method PCTPT): the linked visit's
    target day when it is one of the ``sampling`` days, else the sample's own protocol day when it is one."""
    target = study.visit_target_days.get(lab.visit_code)
    if target is not None and target in sampling:
        return target
    day = (lab.date - subject.infusion_date).days if subject.infusion_date else None
    return day if day in sampling else None


def _lloq(subject: Subject, analyte: str) -> Decimal | None:
    limits = subject.kinetics_limits
    if limits is None:
        return None
    return limits.qpcr_lloq if analyte == QPCR else limits.flow_lloq


def pc_rows(study: Study, subject: Subject) -> list[dict]:
    """Each CAR transgene (qPCR) and CAR+ T-cell (flow) result: below the LLOQ as '<LLOQ' with PCSTRESN null."""
    rows = []
    sampling = frozenset(subject.kinetics_limits.sampling_days if subject.kinetics_limits else ())
    for lab in subject.labs:
        if lab.analyte not in PC_ANALYTES:
            continue
        code, method = PC_ANALYTES[lab.analyte]
        lloq = _lloq(subject, lab.analyte)
        quantifiable = lloq is None or lab.canonical_value >= lloq
        if quantifiable:
            original, standard, numeric = number_text(lab.value), number_text(lab.canonical_value), float(
                lab.canonical_value)
        else:
            original = f"<{number_text(in_reported_unit(lloq, lab.analyte, lab.unit))}"
            standard, numeric = f"<{number_text(lloq)}", None
        day = planned_day(study, subject, lab, sampling)
        timing = _timing(subject, lab.date)
        rows.append({
            **_base(study, "PC", subject), "PCGRPID": code, "PCTESTCD": code, "PCTEST": md.PC_TESTS[code],
            "PCCAT": "ANALYTE", "PCORRES": original, "PCORRESU": UNIT_TERM[lab.unit], "PCSTRESC": standard,
            "PCSTRESN": numeric, "PCSTRESU": UNIT_TERM[lab_rules.ANALYTES[lab.analyte].canonical_unit],
            "PCSPEC": "BLOOD", "PCMETHOD": method, "PCLLOQ": _optional_float(lloq),
            **_visit(study, lab.visit_code), "EPOCH": timing["EPOCH"], "PCDTC": iso_date(lab.date),
            "PCDY": timing["DY"], "PCTPT": "" if day is None else f"DAY {day}",
            "PCTPTNUM": None if day is None else float(day), "PCELTM": "" if day is None else f"P{day}D",
            "PCTPTREF": TIME_POINT_REFERENCE, "PCRFTDTC": iso_date(subject.infusion_date),
        })
    return rows


# PPTESTCD → (value of laboratory.rules.Kinetics, reason when it is None)
PP_PARAMETERS = {
    "CMAX": ("cmax", "NO QUANTIFIABLE VALUE"), "TMAX": ("tmax_days", "NO QUANTIFIABLE VALUE"),
    "AUCINT": ("auc_0_28", "NO SAMPLE AFTER DAY 0 BY DAY 28"), "TLST": ("tlast_days", "NO QUANTIFIABLE VALUE"),
}


def pp_unit(analyte: str, parameter: str) -> str:
    concentration = UNIT_TERM[lab_rules.ANALYTES[analyte].canonical_unit]
    if parameter in ("TMAX", "TLST"):
        return "day"
    if parameter == "AUCINT":
        return f"day*{concentration}"
    return concentration


def pp_rows(study: Study, subject: Subject, kinetics: SubjectKinetics | None = None) -> list[dict]:
    """The non-compartmental parameters of each analyte with a sample (docs/cdisc.md): CMAX, TMAX, AUCINT (day
    0 to the last sample by day 28) and TLST, as `laboratory` derives them."""
    kinetics = kinetics or subject_kinetics(subject)
    if kinetics is None:
        return []
    rows = []
    for analyte, (code, _method) in PC_ANALYTES.items():
        samples = kinetics.series[analyte]
        if not samples:
            continue
        nca = kinetics.nca(analyte)
        for parameter, (name, reason) in PP_PARAMETERS.items():
            value = getattr(nca, name)
            unit = pp_unit(analyte, parameter)
            result = "" if value is None else number_text(value)
            end = auc_end_day(samples) if parameter == "AUCINT" else None
            rows.append({
                **_base(study, "PP", subject), "PPGRPID": code, "PPTESTCD": parameter,
                "PPTEST": md.PP_TESTS[parameter], "PPCAT": md.PC_TESTS[code], "PPSCAT": "NON-COMPARTMENTAL",
                "PPORRES": result, "PPORRESU": unit if result else "", "PPSTRESC": result,
                "PPSTRESN": None if value is None else float(value), "PPSTRESU": unit if result else "",
                "PPSTAT": "" if result else "NOT DONE", "PPREASND": "" if result else reason, "PPSPEC": "BLOOD",
                "PPANMETH": "LINEAR TRAPEZOIDAL METHOD" if parameter == "AUCINT" else "",
                "PPTPTREF": TIME_POINT_REFERENCE, "PPRFTDTC": iso_date(subject.infusion_date),
                "PPSTINT": "P0D" if parameter == "AUCINT" else "",
                "PPENINT": f"P{end}D" if parameter == "AUCINT" and end is not None and result else "",
            })
    return rows


def sv_rows(study: Study, subject: Subject) -> list[dict]:
    numbers = visit_numbers(study)
    by_code = {v.code: v for v in study.visits}
    rows = []
    for visit in subject.visits:
        if visit.code not in numbers:
            continue
        timing = _timing(subject, visit.done_date)
        rows.append({
            **_base(study, "SV", subject), **_visit(study, visit.code), "SVPRESP": "Y", "SVOCCUR": "Y",
            "VISITDY": protocol_day_to_study_day(by_code[visit.code].target_day, study.lymphodepletion_first_day),
            "EPOCH": timing["EPOCH"], "SVSTDTC": iso_date(visit.done_date), "SVENDTC": iso_date(visit.done_date),
            "SVSTDY": timing["DY"], "SVENDY": timing["DY"],
        })
    return sorted(rows, key=lambda row: row["VISITNUM"])


def dv_rows(study: Study, subject: Subject) -> list[dict]:
    rows = []
    for deviation in subject.deviations:
        timing = _timing(subject, deviation.date)
        rows.append({
            **_base(study, "DV", subject), "DVREFID": str(deviation.pk), "DVTERM": ascii_text(deviation.message),
            "DVDECOD": ascii_text(deviation.rule.replace("_", " ")).upper(), "DVCAT": "SOFT EDIT CHECK ACKNOWLEDGED",
            "DVSCAT": ascii_text(deviation.form).upper(), "EPOCH": timing["EPOCH"],
            "DVSTDTC": iso_date(deviation.date), "DVSTDY": timing["DY"],
        })
    return rows


# --- The package ----------------------------------------------------------------------------------

def _by_date(name: str):
    return lambda row: (row.get(name) or "9999", row.get("_order", 0))


SUBJECT_DOMAINS = {
    # domain: (rows of one subject, --SEQ variable or None, the --DTC variable SEQ follows)
    "DS": (ds_rows, "DSSEQ", "DSSTDTC"), "EX": (ex_rows, "EXSEQ", "EXSTDTC"), "EC": (ec_rows, "ECSEQ", "ECSTDTC"),
    "FA": (fa_rows, "FASEQ", "FADTC"), "LB": (lb_rows, "LBSEQ", "LBDTC"), "PC": (pc_rows, "PCSEQ", "PCDTC"),
    "PP": (pp_rows, "PPSEQ", None), "RS": (rs_rows, "RSSEQ", "RSDTC"), "SV": (sv_rows, None, None),
    "DV": (dv_rows, "DVSEQ", "DVSTDTC"),
}
TRIAL_DESIGN = {"TS": ts_rows, "TA": ta_rows, "TE": te_rows, "TV": tv_rows, "TI": ti_rows}


def sdtm_tables(study: Study, subjects: Iterable[Subject], *, domains: Iterable[str] | None = None
                ) -> dict[str, list[dict]]:
    """The SDTM datasets of the package: name → rows, --SEQ numbered within each subject. ``domains`` limits
    them to those named (the ADaM package maps only the domains it reads); None: every dataset."""
    subjects = sorted(subjects, key=lambda s: s.subject_id)
    wanted = set(md.DATASETS) if domains is None else set(domains)
    mapped = {name: spec for name, spec in SUBJECT_DOMAINS.items() if name in wanted}
    collected: dict[str, list[dict]] = {name: [] for name in ("DM", "AE", "SUPPAE", *mapped)}
    with_events = bool(wanted & {"AE", "SUPPAE"})
    with_demographics = "DM" in wanted
    for subject in subjects:
        if with_demographics:
            collected["DM"].append(dm_row(study, subject))
        for name, (rows_of, _seq, _date) in mapped.items():
            rows = rows_of(study, subject)
            for order, row in enumerate(rows):
                row["_order"] = order
            collected[name].extend(rows)
        if with_events:
            ae = numbered([{**row, "_order": order} for order, row in enumerate(ae_rows(study, subject))],
                          seq="AESEQ", key=_by_date("AESTDTC"))
            collected["AE"].extend(ae)
            collected["SUPPAE"].extend(suppae_rows(study, subject, ae))
    tables = {name: rows_of(study) for name, rows_of in TRIAL_DESIGN.items() if name in wanted}
    tables["DM"] = collected["DM"]
    for name in md.DATASETS:
        if name in mapped:
            _rows_of, seq, date = mapped[name]
            rows = collected[name]
            if seq:
                rows = numbered(rows, seq=seq, key=_by_date(date) if date else (lambda row: row["_order"]))
            tables[name] = rows
        elif name in ("AE", "SUPPAE") and with_events:
            tables[name] = collected[name]
    order = list(md.DATASETS)
    return {name: [conform(md.DATASETS[name], row) for row in tables[name]]
            for name in sorted(tables, key=order.index) if name in wanted}


def conform(dataset: md.Dataset, row: dict) -> dict:
    """The row in the dataset's variable order, every variable present (None or "" when null),
    helper keys dropped; a key the metadata does not name is a programming error."""
    nulls = md.NULL_ROWS[dataset.name]
    conformed = {**nulls, **row}  # the metadata's order; a key it does not name goes to the end
    if len(conformed) != len(nulls):
        conformed.pop("_order", None)
        if len(conformed) != len(nulls):
            raise KeyError(f"{dataset.name} has no variable {sorted(conformed.keys() - nulls.keys())}")
    return conformed
