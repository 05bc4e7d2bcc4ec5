"""Every dataset and variable of the submission package, described once.

The XPT writer (names, labels, order), the CSV copy (column order) and Define-XML (ItemGroupDef,
ItemDef, codelists, methods, value-level metadata) all read these tables; the mapping functions
(`submission.sdtm`, `submission.adam`) produce rows whose keys are these names. Names, labels and
order follow SDTMIG 3.4 and ADaMIG 1.3; `core` is the guide's Req / Exp / Perm (ADaM: Cond).
"""
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

SDTM = "SDTM"
ADAM = "ADaM"
SDTMIG_VERSION = "3.4"
ADAMIG_VERSION = "1.3"

# How a value is typed: in the XPT file, "text" and "iso8601" are character, the others numeric
# ("date" is a SAS date, days since 1960-01-01, shown with DATE9.).
TEXT, ISO8601, INTEGER, FLOAT, DATE = "text", "iso8601", "integer", "float", "date"
DURATION = "duration"  # an ISO 8601 duration (P7D), character
CHARACTER_KINDS = frozenset({TEXT, ISO8601, DURATION})

# Origins (Define-XML 2.1 def:Origin Type; define.py adds the Source)
COLLECTED, DERIVED, ASSIGNED, PROTOCOL, PREDECESSOR = "Collected", "Derived", "Assigned", "Protocol", "Predecessor"


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    kind: str = TEXT
    core: str = "Req"
    codelist: str | None = None  # a key of the codelists file
    origin: str = DERIVED
    method: str | None = None  # a key of METHODS
    max_length: int = 200  # character variables: the most the metadata allows (XPT v5: 200)

    @property
    def is_character(self) -> bool:
        return self.kind in CHARACTER_KINDS


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    standard: str  # SDTM or ADaM
    cls: str  # the SDTM observation class or the ADaM class
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]
    # --TESTCD (or PARAMCD) whose --ORRES / AVAL value-level metadata Define-XML lists.
    test_variable: str | None = None
    result_variable: str | None = None
    tests: dict[str, str] = field(default_factory=dict)  # code -> name

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variables]

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)

    @property
    def filename(self) -> str:
        return f"{self.name.lower()}.xpt"


V = Variable

# --- Variables shared by the SDTM domains ------------------------------------------------------

def _identifiers(domain: str, *, subject: bool = True, seq: bool = True) -> tuple[Variable, ...]:
    found = [V("STUDYID", "Study Identifier", origin=PROTOCOL),
             V("DOMAIN", "Domain Abbreviation", origin=ASSIGNED, codelist="DOMAIN")]
    if subject:
        found.append(V("USUBJID", "Unique Subject Identifier", method="USUBJID"))
    if seq:
        found.append(V(f"{domain}SEQ", "Sequence Number", INTEGER, method="SEQ"))
    return tuple(found)


_EPOCH = V("EPOCH", "Epoch", core="Perm", codelist="EPOCH", method="EPOCH")
_VISIT = (V("VISITNUM", "Visit Number", FLOAT, "Exp", method="VISITNUM"),
          V("VISIT", "Visit Name", core="Perm", origin=PROTOCOL))

# --- SDTM trial design ----------------------------------------------------------------------------

TS = Dataset("TS", "Trial Summary", SDTM, "TRIAL DESIGN", "One record per trial summary parameter value",
             ("STUDYID", "TSPARMCD", "TSSEQ"), (
    *_identifiers("TS", subject=False),
    V("TSGRPID", "Group ID", core="Perm"),
    V("TSPARMCD", "Trial Summary Parameter Short Name", codelist="TSPARMCD", origin=PROTOCOL),
    V("TSPARM", "Trial Summary Parameter", codelist="TSPARM", origin=PROTOCOL),
    V("TSVAL", "Parameter Value", core="Exp", origin=PROTOCOL),
    V("TSVALNF", "Parameter Null Flavor", core="Perm", codelist="NULLFLAV"),
    V("TSVALCD", "Parameter Value Code", core="Exp"),
    V("TSVCDREF", "Name of the Reference Terminology", core="Exp"),
    V("TSVCDVER", "Version of the Reference Terminology", core="Exp"),
))

TA = Dataset("TA", "Trial Arms", SDTM, "TRIAL DESIGN", "One record per planned Element per Arm",
             ("STUDYID", "ARMCD", "TAETORD"), (
    *_identifiers("TA", subject=False, seq=False),
    V("ARMCD", "Planned Arm Code", origin=PROTOCOL, max_length=20),
    V("ARM", "Description of Planned Arm", origin=PROTOCOL),
    V("TAETORD", "Planned Order of Element within Arm", INTEGER, origin=PROTOCOL),
    V("ETCD", "Element Code", origin=PROTOCOL, max_length=8),
    V("ELEMENT", "Description of Element", core="Perm", origin=PROTOCOL),
    V("TABRANCH", "Branch", core="Exp", origin=PROTOCOL),
    V("TATRANS", "Transition Rule", core="Exp", origin=PROTOCOL),
    V("EPOCH", "Epoch", codelist="EPOCH", origin=PROTOCOL),
))

TE = Dataset("TE", "Trial Elements", SDTM, "TRIAL DESIGN", "One record per planned Element", ("STUDYID", "ETCD"), (
    *_identifiers("TE", subject=False, seq=False),
    V("ETCD", "Element Code", origin=PROTOCOL, max_length=8),
    V("ELEMENT", "Description of Element", origin=PROTOCOL),
    V("TESTRL", "Rule for Start of Element", origin=PROTOCOL),
    V("TEENRL", "Rule for End of Element", core="Perm", origin=PROTOCOL),
    V("TEDUR", "Planned Duration of Element", core="Perm", origin=PROTOCOL),
))

TV = Dataset("TV", "Trial Visits", SDTM, "TRIAL DESIGN", "One record per planned Visit per Arm",
             ("STUDYID", "VISITNUM", "ARMCD"), (
    *_identifiers("TV", subject=False, seq=False),
    V("VISITNUM", "Visit Number", FLOAT, method="VISITNUM"),
    V("VISIT", "Visit Name", core="Perm", origin=PROTOCOL),
    V("VISITDY", "Planned Study Day of Visit", INTEGER, "Perm", method="VISITDY"),
    V("ARMCD", "Planned Arm Code", core="Exp", origin=PROTOCOL, max_length=20),
    V("TVSTRL", "Visit Start Rule", origin=PROTOCOL),
    V("TVENRL", "Visit End Rule", core="Perm", origin=PROTOCOL),
))

TI = Dataset("TI", "Trial Inclusion/Exclusion Criteria", SDTM, "TRIAL DESIGN",
             "One record per I/E criterion", ("STUDYID", "IETESTCD"), (
    *_identifiers("TI", subject=False, seq=False),
    V("IETESTCD", "Incl/Excl Criterion Short Name", origin=PROTOCOL, method="IETESTCD", max_length=8),
    V("IETEST", "Inclusion/Exclusion Criterion", origin=PROTOCOL),
    V("IECAT", "Inclusion/Exclusion Category", codelist="IECAT", origin=PROTOCOL),
    V("TIVERS", "Protocol Criteria Versions", core="Perm", origin=PROTOCOL),
))

# --- SDTM subject domains -------------------------------------------------------------------------

DM = Dataset("DM", "Demographics", SDTM, "SPECIAL PURPOSE", "One record per subject", ("STUDYID", "USUBJID"), (
    *_identifiers("DM", seq=False),
    V("SUBJID", "Subject Identifier for the Study", origin=ASSIGNED),
    V("RFSTDTC", "Subject Reference Start Date/Time", ISO8601, "Exp", method="RFSTDTC"),
    V("RFENDTC", "Subject Reference End Date/Time", ISO8601, "Exp", method="RFENDTC"),
    V("RFXSTDTC", "Date/Time of First Study Treatment", ISO8601, "Exp", method="RFXSTDTC"),
    V("RFXENDTC", "Date/Time of Last Study Treatment", ISO8601, "Exp", method="RFXENDTC"),
    V("RFICDTC", "Date/Time of Informed Consent", ISO8601, "Exp", origin=COLLECTED),
    V("RFPENDTC", "Date/Time of End of Participation", ISO8601, "Exp", method="RFPENDTC"),
    V("DTHDTC", "Date/Time of Death", ISO8601, "Exp", origin=COLLECTED),
    V("DTHFL", "Subject Death Flag", core="Exp", codelist="NY"),
    V("SITEID", "Study Site Identifier", origin=ASSIGNED),
    V("BRTHDTC", "Date/Time of Birth", ISO8601, "Perm", origin=COLLECTED),
    V("AGE", "Age", INTEGER, "Exp", method="AGE"),
    V("AGEU", "Age Units", core="Exp", codelist="AGEU"),
    V("SEX", "Sex", codelist="SEX", origin=COLLECTED),
    V("RACE", "Race", core="Exp", method="NOTCOLL"),
    V("ARMCD", "Planned Arm Code", core="Exp", origin=ASSIGNED, max_length=20),
    V("ARM", "Description of Planned Arm", core="Exp", origin=ASSIGNED),
    V("ACTARMCD", "Actual Arm Code", core="Exp", method="ACTARM", max_length=20),
    V("ACTARM", "Description of Actual Arm", core="Exp", method="ACTARM"),
    V("ARMNRS", "Reason Arm and/or Actual Arm is Null", core="Exp", codelist="ARMNULRS", method="ACTARM"),
    V("ACTARMUD", "Description of Unplanned Actual Arm", core="Exp"),
    V("COUNTRY", "Country", codelist="COUNTRY", origin=ASSIGNED),
    V("DMDTC", "Date/Time of Collection", ISO8601, "Perm", origin=COLLECTED),
    V("DMDY", "Study Day of Collection", INTEGER, "Perm", method="DY"),
))

DS = Dataset("DS", "Disposition", SDTM, "EVENTS", "One record per disposition status or protocol milestone per "
             "subject", ("STUDYID", "USUBJID", "DSSTDTC", "DSDECOD"), (
    *_identifiers("DS"),
    V("DSTERM", "Reported Term for the Disposition Event", origin=COLLECTED),
    V("DSDECOD", "Standardized Disposition Term", codelist="DSDECOD", method="DSDECOD"),
    V("DSCAT", "Category for Disposition Event", core="Exp", codelist="DSCAT", origin=ASSIGNED),
    _EPOCH,
    V("DSSTDTC", "Start Date/Time of Disposition Event", ISO8601, "Exp", origin=COLLECTED),
    V("DSSTDY", "Study Day of Start of Disposition Event", INTEGER, "Perm", method="DY"),
))

EX = Dataset("EX", "Exposure", SDTM, "INTERVENTIONS", "One record per constant-dosing interval per subject",
             ("STUDYID", "USUBJID", "EXTRT", "EXSTDTC"), (
    *_identifiers("EX"),
    V("EXTRT", "Name of Treatment", origin=ASSIGNED),
    V("EXCAT", "Category of Treatment", core="Perm", origin=ASSIGNED),
    V("EXDOSE", "Dose", FLOAT, "Exp", origin=COLLECTED, method="EXDOSE"),
    V("EXDOSU", "Dose Units", core="Exp", codelist="UNIT", origin=ASSIGNED),
    V("EXDOSFRM", "Dose Form", core="Exp", codelist="FRM", origin=ASSIGNED),
    V("EXROUTE", "Route of Administration", core="Perm", codelist="ROUTE", origin=ASSIGNED),
    _EPOCH,
    V("EXSTDTC", "Start Date/Time of Treatment", ISO8601, "Exp", origin=COLLECTED),
    V("EXENDTC", "End Date/Time of Treatment", ISO8601, "Exp", origin=COLLECTED),
    V("EXSTDY", "Study Day of Start of Treatment", INTEGER, "Perm", method="DY"),
    V("EXENDY", "Study Day of End of Treatment", INTEGER, "Perm", method="DY"),
    V("EXTPT", "Planned Time Point Name", core="Perm", origin=PROTOCOL),
))

EC = Dataset("EC", "Exposure as Collected", SDTM, "INTERVENTIONS",
             "One record per protocol-specified study treatment, collected-dosing interval, per subject, per mood",
             ("STUDYID", "USUBJID", "ECTRT", "ECSTDTC", "ECMOOD"), (
    *_identifiers("EC"),
    V("ECLNKID", "Link ID", core="Perm", origin=ASSIGNED),
    V("ECTRT", "Name of Treatment", origin=ASSIGNED),
    V("ECMOOD", "Mood", core="Perm", codelist="MOOD", origin=ASSIGNED),
    V("ECCAT", "Category of Treatment", core="Perm", origin=ASSIGNED),
    V("ECPRESP", "Pre-Specified", core="Perm", codelist="NY", origin=ASSIGNED),
    V("ECOCCUR", "Occurrence", core="Perm", codelist="NY", origin=COLLECTED),
    V("ECDOSE", "Dose", FLOAT, "Exp", origin=COLLECTED),
    V("ECDOSU", "Dose Units", core="Exp", codelist="UNIT", origin=ASSIGNED),
    V("ECROUTE", "Route of Administration", core="Perm", codelist="ROUTE", origin=ASSIGNED),
    _EPOCH,
    V("ECSTDTC", "Start Date/Time of Treatment", ISO8601, "Exp", origin=COLLECTED),
    V("ECENDTC", "End Date/Time of Treatment", ISO8601, "Exp", origin=COLLECTED),
    V("ECSTDY", "Study Day of Start of Treatment", INTEGER, "Perm", method="DY"),
    V("ECENDY", "Study Day of End of Treatment", INTEGER, "Perm", method="DY"),
    V("ECTPT", "Planned Time Point Name", core="Perm", origin=PROTOCOL),
))

AE = Dataset("AE", "Adverse Events", SDTM, "EVENTS", "One record per adverse event per subject",
             ("STUDYID", "USUBJID", "AEDECOD", "AESTDTC"), (
    *_identifiers("AE"),
    V("AESPID", "Sponsor-Defined Identifier", core="Perm", origin=ASSIGNED),
    V("AETERM", "Reported Term for the Adverse Event", origin=COLLECTED),
    V("AELLT", "Lowest Level Term", core="Exp", origin=ASSIGNED, method="AEDECOD"),
    V("AELLTCD", "Lowest Level Term Code", INTEGER, "Exp", origin=COLLECTED),
    V("AEDECOD", "Dictionary-Derived Term", origin=ASSIGNED, method="AEDECOD"),
    V("AEPTCD", "Preferred Term Code", INTEGER, "Exp", method="NOTCODED"),
    V("AEHLT", "High Level Term", core="Exp", method="NOTCODED"),
    V("AEHLTCD", "High Level Term Code", INTEGER, "Exp", method="NOTCODED"),
    V("AEHLGT", "High Level Group Term", core="Exp", method="NOTCODED"),
    V("AEHLGTCD", "High Level Group Term Code", INTEGER, "Exp", method="NOTCODED"),
    V("AEBODSYS", "Body System or Organ Class", core="Exp", origin=ASSIGNED, method="AEDECOD"),
    V("AEBDSYCD", "Body System or Organ Class Code", INTEGER, "Exp", method="NOTCODED"),
    V("AESOC", "Primary System Organ Class", core="Exp", origin=ASSIGNED, method="AEDECOD"),
    V("AESOCCD", "Primary System Organ Class Code", INTEGER, "Exp", method="NOTCODED"),
    V("AESER", "Serious Event", core="Exp", codelist="NY", origin=COLLECTED),
    V("AEACN", "Action Taken with Study Treatment", core="Exp", codelist="ACN", method="AEACN"),
    V("AEACNOTH", "Other Action Taken", core="Perm", origin=COLLECTED),
    V("AEREL", "Causality", core="Exp", codelist="AEREL", origin=COLLECTED),
    V("AEOUT", "Outcome of Adverse Event", core="Perm", codelist="OUT", origin=COLLECTED),
    V("AESCONG", "Congenital Anomaly or Birth Defect", core="Perm", codelist="NY", origin=COLLECTED),
    V("AESDISAB", "Persist or Signif Disability/Incapacity", core="Perm", codelist="NY", origin=COLLECTED),
    V("AESDTH", "Results in Death", core="Perm", codelist="NY", origin=COLLECTED),
    V("AESHOSP", "Requires or Prolongs Hospitalization", core="Perm", codelist="NY", origin=COLLECTED),
    V("AESLIFE", "Is Life Threatening", core="Perm", codelist="NY", origin=COLLECTED),
    V("AESMIE", "Other Medically Important Serious Event", core="Perm", codelist="NY", origin=COLLECTED),
    V("AETOXGR", "Standard Toxicity Grade", core="Exp", codelist="TOXGR", origin=COLLECTED),
    _EPOCH,
    V("AESTDTC", "Start Date/Time of Adverse Event", ISO8601, "Exp", origin=COLLECTED),
    V("AEENDTC", "End Date/Time of Adverse Event", ISO8601, "Exp", origin=COLLECTED),
    V("AESTDY", "Study Day of Start of Adverse Event", INTEGER, "Perm", method="DY"),
    V("AEENDY", "Study Day of End of Adverse Event", INTEGER, "Perm", method="DY"),
))

SUPPAE = Dataset("SUPPAE", "Supplemental Qualifiers for AE", SDTM, "RELATIONSHIP",
                 "One record per IDVAR, IDVARVAL, and QNAM value per subject",
                 ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"), (
    V("STUDYID", "Study Identifier", origin=PROTOCOL),
    V("RDOMAIN", "Related Domain Abbreviation", origin=ASSIGNED),
    V("USUBJID", "Unique Subject Identifier", method="USUBJID"),
    V("IDVAR", "Identifying Variable", core="Exp", origin=ASSIGNED),
    V("IDVARVAL", "Identifying Variable Value", core="Exp", origin=ASSIGNED),
    V("QNAM", "Qualifier Variable Name", codelist="QNAM_AE", origin=ASSIGNED),
    V("QLABEL", "Qualifier Variable Label", origin=ASSIGNED),
    V("QVAL", "Data Value", origin=DERIVED),
    V("QORIG", "Origin", origin=ASSIGNED),
    V("QEVAL", "Evaluator", core="Exp", origin=ASSIGNED),
), test_variable="QNAM", result_variable="QVAL", tests={
    "ASTCTGR": "ASTCT Consensus Grade", "AERELLD": "Causality to Lymphodepletion",
})

FA_TESTS = {
    # CRS (ASTCT 2019): the inputs and the grade
    "TEMP": "Maximum Temperature", "FEVMASK": "Fever Masked by Treatment", "HYPOTEN": "Hypotension",
    "HYPOXIA": "Hypoxia", "TOCIDOSE": "Tocilizumab Dose", "CORTDOSE": "Corticosteroid Dose",
    "ASTCTGR": "ASTCT Consensus Grade",
    # ICANS (ASTCT 2019)
    "ICESCORE": "ICE Score", "CAPDSCR": "CAPD Score", "UNABLASS": "Unable to Assess ICE/CAPD",
    "CONSC": "Level of Consciousness", "SEIZURE": "Seizure", "MOTWEAK": "Deep Focal Motor Weakness",
    "CEREDEMA": "Raised ICP/Cerebral Edema",
}
FA = Dataset("FA", "Findings About Events or Interventions", SDTM, "FINDINGS ABOUT",
             "One record per finding, per object, per time point, per visit per subject",
             ("STUDYID", "USUBJID", "FAOBJ", "FATESTCD", "FADTC"), (
    *_identifiers("FA"),
    V("FAGRPID", "Group ID", core="Perm", origin=ASSIGNED),
    V("FATESTCD", "Findings About Test Short Name", codelist="FATESTCD", origin=ASSIGNED, max_length=8),
    V("FATEST", "Findings About Test Name", codelist="FATEST", origin=ASSIGNED, max_length=40),
    V("FAOBJ", "Object of the Observation", origin=ASSIGNED),
    V("FACAT", "Category for Findings About", core="Perm", origin=ASSIGNED),
    V("FAORRES", "Result or Finding in Original Units", core="Exp", origin=COLLECTED),
    V("FAORRESU", "Original Units", core="Perm", codelist="UNIT", origin=ASSIGNED),
    V("FASTRESC", "Character Result/Finding in Std Format", core="Exp", method="STRESC"),
    V("FASTRESN", "Numeric Result/Finding in Standard Units", FLOAT, "Perm", method="STRESC"),
    V("FASTRESU", "Standard Units", core="Perm", codelist="UNIT", origin=ASSIGNED),
    V("FASTAT", "Completion Status", core="Perm", codelist="ND", origin=COLLECTED),
    *_VISIT,
    _EPOCH,
    V("FADTC", "Date/Time of Collection", ISO8601, "Exp", origin=COLLECTED),
    V("FADY", "Study Day of Collection", INTEGER, "Perm", method="DY"),
), test_variable="FATESTCD", result_variable="FAORRES", tests=FA_TESTS)

# LBTESTCD → LBTEST (CDISC CT 2025-09-26, C-codes in data/codelists.json; MRDFLOW is a sponsor term added to the
# extensible codelists). The CD19+ B-cell count by flow is CDISC's B-lymphocyte count, BLYCE.
LB_TESTS = {
    "WBC": "Leukocytes", "NEUT": "Neutrophils", "LYM": "Lymphocytes", "HGB": "Hemoglobin", "PLAT": "Platelets",
    "CREAT": "Creatinine", "ALT": "Alanine Aminotransferase", "AST": "Aspartate Aminotransferase",
    "BILI": "Bilirubin", "LDH": "Lactate Dehydrogenase", "FIBRINO": "Fibrinogen", "DDIMER": "D-Dimer",
    "CRP": "C Reactive Protein", "FERRITIN": "Ferritin", "INTLK6": "Interleukin 6", "IGG": "Immunoglobulin G",
    "BLYCE": "B-Lymphocytes", "MRDFLOW": "Minimal Residual Disease by Flow",
}
LB = Dataset("LB", "Laboratory Test Results", SDTM, "FINDINGS",
             "One record per lab test per time point per visit per subject",
             ("STUDYID", "USUBJID", "LBTESTCD", "LBSPEC", "VISITNUM", "LBDTC"), (
    *_identifiers("LB"),
    V("LBTESTCD", "Lab Test or Examination Short Name", codelist="LBTESTCD", origin=ASSIGNED, max_length=8),
    V("LBTEST", "Lab Test or Examination Name", codelist="LBTEST", origin=ASSIGNED, max_length=40),
    V("LBCAT", "Category for Lab Test", core="Exp", origin=ASSIGNED),
    V("LBORRES", "Result or Finding in Original Units", core="Exp", origin=COLLECTED),
    V("LBORRESU", "Original Units", core="Exp", codelist="UNIT", origin=COLLECTED),
    V("LBORNRLO", "Reference Range Lower Limit in Orig Unit", core="Exp", method="NRANGE"),
    V("LBORNRHI", "Reference Range Upper Limit in Orig Unit", core="Exp", method="NRANGE"),
    V("LBSTRESC", "Character Result/Finding in Std Format", core="Exp", method="LBSTRESC"),
    V("LBSTRESN", "Numeric Result/Finding in Standard Units", FLOAT, "Exp", method="LBSTRESC"),
    V("LBSTRESU", "Standard Units", core="Exp", codelist="UNIT", origin=ASSIGNED),
    V("LBSTNRLO", "Reference Range Lower Limit-Std Units", FLOAT, "Exp", method="NRANGE"),
    V("LBSTNRHI", "Reference Range Upper Limit-Std Units", FLOAT, "Exp", method="NRANGE"),
    V("LBNRIND", "Reference Range Indicator", core="Exp", codelist="NRIND", method="NRIND"),
    V("LBSTAT", "Completion Status", core="Perm", codelist="ND", origin=COLLECTED),
    V("LBSPEC", "Specimen Type", core="Perm", codelist="SPECTYPE", origin=ASSIGNED),
    V("LBMETHOD", "Method of Test or Examination", core="Perm", codelist="METHOD", origin=ASSIGNED),
    V("LBLOBXFL", "Last Observation Before Exposure Flag", core="Exp", codelist="NY", method="LOBXFL"),
    V("LBTOX", "Toxicity", core="Perm", method="LBTOX"),
    V("LBTOXGR", "Standard Toxicity Grade", core="Perm", codelist="TOXGR", method="LBTOX"),
    V("LBLLOQ", "Lower Limit of Quantitation", FLOAT, "Perm", origin=COLLECTED),
    *_VISIT,
    _EPOCH,
    V("LBDTC", "Date/Time of Specimen Collection", ISO8601, "Exp", origin=COLLECTED),
    V("LBDY", "Study Day of Specimen Collection", INTEGER, "Perm", method="DY"),
), test_variable="LBTESTCD", result_variable="LBORRES", tests=LB_TESTS)

# CAR-T cellular kinetics: the analytes (sponsor test codes: PCTESTCD has no CDISC codelist) and the
# non-compartmental parameters derived from them (PKPARMCD / PKPARM, CDISC CT).
PC_TESTS = {"CARTG": "CAR Transgene", "CARTCELL": "CAR-Positive T Cells"}
PC = Dataset("PC", "Pharmacokinetics Concentrations", SDTM, "FINDINGS",
             "One record per sample characteristic or time-point concentration per reference time point or per "
             "analyte per subject", ("STUDYID", "USUBJID", "PCTESTCD", "PCDTC"), (
    *_identifiers("PC"),
    V("PCGRPID", "Group ID", core="Perm", origin=ASSIGNED),
    V("PCTESTCD", "Pharmacokinetic Test Short Name", codelist="PCTESTCD", origin=ASSIGNED, max_length=8),
    V("PCTEST", "Pharmacokinetic Test Name", codelist="PCTEST", origin=ASSIGNED, max_length=40),
    V("PCCAT", "Test Category", core="Perm", origin=ASSIGNED),
    V("PCORRES", "Result or Finding in Original Units", core="Exp", method="PCORRES"),
    V("PCORRESU", "Original Units", core="Exp", codelist="PKUNIT", origin=COLLECTED),
    V("PCSTRESC", "Character Result/Finding in Std Format", core="Exp", method="PCORRES"),
    V("PCSTRESN", "Numeric Result/Finding in Standard Units", FLOAT, "Exp", method="PCORRES"),
    V("PCSTRESU", "Standard Units", core="Exp", codelist="PKUNIT", origin=ASSIGNED),
    V("PCNAM", "Vendor Name", core="Exp", method="NOTCOLL"),
    V("PCSPEC", "Specimen Material Type", core="Exp", codelist="SPECTYPE", origin=ASSIGNED),
    V("PCMETHOD", "Method of Test or Examination", core="Perm", codelist="METHOD", origin=ASSIGNED),
    V("PCLLOQ", "Lower Limit of Quantitation", FLOAT, "Exp", origin=PROTOCOL),
    *_VISIT,
    _EPOCH,
    V("PCDTC", "Date/Time of Specimen Collection", ISO8601, "Exp", origin=COLLECTED),
    V("PCDY", "Actual Study Day of Specimen Collection", INTEGER, "Perm", method="DY"),
    V("PCTPT", "Planned Time Point Name", core="Perm", method="PCTPT"),
    V("PCTPTNUM", "Planned Time Point Number", FLOAT, "Perm", method="PCTPT"),
    V("PCELTM", "Planned Elapsed Time from Time Point Ref", DURATION, "Perm", method="PCTPT"),
    V("PCTPTREF", "Time Point Reference", core="Perm", origin=ASSIGNED),
    V("PCRFTDTC", "Date/Time of Reference Point", ISO8601, "Perm", method="RFXSTDTC"),
), test_variable="PCTESTCD", result_variable="PCORRES", tests=PC_TESTS)

PP_TESTS = {"CMAX": "Max Conc", "TMAX": "Time of CMAX", "AUCINT": "AUC from T1 to T2",
            "TLST": "Time of Last Nonzero Conc"}
PP = Dataset("PP", "Pharmacokinetics Parameters", SDTM, "FINDINGS",
             "One record per PK parameter per time-concentration profile per modeling method per subject",
             ("STUDYID", "USUBJID", "PPCAT", "PPTESTCD"), (
    *_identifiers("PP"),
    V("PPGRPID", "Group ID", core="Perm", origin=ASSIGNED),
    V("PPTESTCD", "Parameter Short Name", codelist="PKPARMCD", origin=ASSIGNED, max_length=8),
    V("PPTEST", "Parameter Name", codelist="PKPARM", origin=ASSIGNED, max_length=40),
    V("PPCAT", "Parameter Category", core="Exp", codelist="PCTEST", origin=ASSIGNED),
    V("PPSCAT", "Parameter Subcategory", core="Perm", origin=ASSIGNED),
    V("PPORRES", "Result or Finding in Original Units", core="Exp", method="PPNCA"),
    V("PPORRESU", "Original Units", core="Exp", codelist="PKUNIT", origin=ASSIGNED),
    V("PPSTRESC", "Character Result/Finding in Std Format", core="Exp", method="PPNCA"),
    V("PPSTRESN", "Numeric Result/Finding in Standard Units", FLOAT, "Exp", method="PPNCA"),
    V("PPSTRESU", "Standard Units", core="Exp", codelist="PKUNIT", origin=ASSIGNED),
    V("PPSTAT", "Completion Status", core="Perm", codelist="ND", method="PPNCA"),
    V("PPREASND", "Reason Parameter Not Calculated", core="Perm", method="PPNCA"),
    V("PPSPEC", "Specimen Material Type", core="Exp", codelist="SPECTYPE", origin=ASSIGNED),
    V("PPANMETH", "Analysis Method", core="Perm", origin=ASSIGNED),
    V("PPTPTREF", "Time Point Reference", core="Perm", origin=ASSIGNED),
    V("PPRFTDTC", "Date/Time of Reference Point", ISO8601, "Exp", method="RFXSTDTC"),
    V("PPSTINT", "Planned Start of Assessment Interval", DURATION, "Perm", method="PPNCA"),
    V("PPENINT", "Planned End of Assessment Interval", DURATION, "Perm", method="PPNCA"),
), test_variable="PPTESTCD", result_variable="PPORRES", tests=PP_TESTS)

RS_TESTS = {"OVRLRESP": "Overall Response", "MRDSTAT": "Minimal Residual Disease Status"}
RS = Dataset("RS", "Disease Response and Clin Classification", SDTM, "FINDINGS",
             "One record per response assessment per time point per visit per subject",
             ("STUDYID", "USUBJID", "RSTESTCD", "RSDTC"), (
    *_identifiers("RS"),
    V("RSTESTCD", "Assessment Short Name", codelist="RSTESTCD", origin=ASSIGNED, max_length=8),
    V("RSTEST", "Assessment Name", codelist="RSTEST", origin=ASSIGNED, max_length=40),
    V("RSCAT", "Category for Assessment", core="Exp", origin=ASSIGNED),
    V("RSORRES", "Result or Finding in Original Units", core="Exp", method="RSORRES"),
    V("RSSTRESC", "Character Result/Finding in Std Format", core="Exp", method="RSORRES"),
    V("RSSTAT", "Completion Status", core="Perm", codelist="ND", origin=COLLECTED),
    V("RSEVAL", "Evaluator", core="Perm", origin=ASSIGNED),
    *_VISIT,
    _EPOCH,
    V("RSDTC", "Date/Time of Assessment", ISO8601, "Exp", origin=COLLECTED),
    V("RSDY", "Study Day of Assessment", INTEGER, "Perm", method="DY"),
), test_variable="RSTESTCD", result_variable="RSORRES", tests=RS_TESTS)

SV = Dataset("SV", "Subject Visits", SDTM, "SPECIAL PURPOSE", "One record per actual or planned visit per subject",
             ("STUDYID", "USUBJID", "VISITNUM"), (
    *_identifiers("SV", seq=False),
    V("VISITNUM", "Visit Number", FLOAT, method="VISITNUM"),
    V("VISIT", "Visit Name", core="Perm", origin=PROTOCOL),
    V("SVPRESP", "Pre-Specified", core="Perm", codelist="NY", origin=ASSIGNED),
    V("SVOCCUR", "Occurrence", core="Perm", codelist="NY", origin=COLLECTED),
    V("VISITDY", "Planned Study Day of Visit", INTEGER, "Perm", method="VISITDY"),
    _EPOCH,
    V("SVSTDTC", "Start Date/Time of Observation", ISO8601, "Exp", origin=COLLECTED),
    V("SVENDTC", "End Date/Time of Observation", ISO8601, "Exp", origin=COLLECTED),
    V("SVSTDY", "Study Day of Start of Observation", INTEGER, "Perm", method="DY"),
    V("SVENDY", "Study Day of End of Observation", INTEGER, "Perm", method="DY"),
))

DV = Dataset("DV", "Protocol Deviations", SDTM, "EVENTS", "One record per protocol deviation per subject",
             ("STUDYID", "USUBJID", "DVTERM", "DVSTDTC"), (
    *_identifiers("DV"),
    V("DVREFID", "Reference ID", core="Perm", origin=ASSIGNED),
    V("DVTERM", "Protocol Deviation Term", origin=COLLECTED),
    V("DVDECOD", "Protocol Deviation Coded Term", core="Perm", origin=ASSIGNED),
    V("DVCAT", "Category for Protocol Deviation", core="Perm", origin=ASSIGNED),
    V("DVSCAT", "Subcategory for Protocol Deviation", core="Perm", origin=ASSIGNED),
    _EPOCH,
    V("DVSTDTC", "Start Date/Time of Deviation", ISO8601, "Exp", origin=COLLECTED, method="DVSTDTC"),
    V("DVSTDY", "Study Day of Start of Deviation", INTEGER, "Perm", method="DY"),
))

SDTM_DATASETS: tuple[Dataset, ...] = (TS, TA, TE, TV, TI, DM, DS, EX, EC, AE, SUPPAE, FA, LB, PC, PP, RS, SV,
                                      DV)

# --- ADaM -------------------------------------------------------------------------------------------

_ADSL_KEYS = (
    V("STUDYID", "Study Identifier", origin=PREDECESSOR),
    V("USUBJID", "Unique Subject Identifier", origin=PREDECESSOR),
)

ADSL = Dataset("ADSL", "Subject-Level Analysis Dataset", ADAM, "SUBJECT LEVEL ANALYSIS DATASET",
               "One record per subject", ("STUDYID", "USUBJID"), (
    *_ADSL_KEYS,
    V("SUBJID", "Subject Identifier for the Study", origin=PREDECESSOR),
    V("SITEID", "Study Site Identifier", origin=PREDECESSOR),
    V("AGE", "Age", INTEGER, origin=PREDECESSOR),
    V("AGEU", "Age Units", codelist="AGEU", origin=PREDECESSOR),
    V("SEX", "Sex", codelist="SEX", origin=PREDECESSOR),
    V("ARM", "Description of Planned Arm", origin=PREDECESSOR),
    V("ACTARM", "Description of Actual Arm", origin=PREDECESSOR),
    V("TRT01P", "Planned Treatment for Period 01", method="TRT01"),
    V("TRT01A", "Actual Treatment for Period 01", method="TRT01"),
    V("ENRLFL", "Enrolled Population Flag", codelist="NY", method="ENRLFL"),
    V("SAFFL", "Safety Population Flag", codelist="NY", method="SAFFL"),
    V("INFFL", "Infused Population Flag", codelist="NY", method="INFFL"),
    V("EVALFL", "Response-Evaluable Population Flag", codelist="NY", method="EVALFL"),
    V("RESPFL", "1-Month CR/CRi Responder Flag", codelist="NY", method="RESPFL"),
    V("PENDFL", "1-Month Response Pending Flag", codelist="NY", method="PENDFL"),
    V("RESP1M", "Response at 1 Month", core="Cond", codelist="RESP", method="RESP1M"),
    V("MRD1M", "MRD Status at 1 Month", core="Cond", codelist="MRDSTAT", method="RESP1M"),
    V("RESPGR1", "Response Group: CR/CRi at Any Assessment", core="Cond", codelist="RESPGR", method="RESPGR1"),
    V("ICAHTEGR", "Early ICAHT Grade (Days 0-30)", core="Cond", codelist="ICAHTGR", method="ICAHT"),
    V("ICAHTEGN", "Early ICAHT Grade (Days 0-30) (N)", INTEGER, "Cond", method="ICAHT"),
    V("ICAHTLGR", "Late ICAHT Grade (After Day 30)", core="Cond", codelist="ICAHTGR", method="ICAHT"),
    V("ICAHTLGN", "Late ICAHT Grade (After Day 30) (N)", INTEGER, "Cond", method="ICAHT"),
    V("RFICDT", "Date of Informed Consent", DATE, "Cond", origin=PREDECESSOR),
    V("LDSTDT", "Date of First Lymphodepletion Dose", DATE, "Cond", method="LDSTDT"),
    V("TRTSDT", "Date of First Exposure to Treatment", DATE, "Cond", method="TRTSDT"),
    V("TRTEDT", "Date of Last Exposure to Treatment", DATE, "Cond", method="TRTSDT"),
    V("RESP1MDT", "Date of 1-Month Response Assessment", DATE, "Cond", method="RESP1M"),
    V("CRDT", "Date of First CR/CRi", DATE, "Cond", method="CRDT"),
    V("RLPSDT", "Date of First Relapse", DATE, "Cond", method="RLPSDT"),
    V("HSCTDT", "Date of Allogeneic HSCT", DATE, "Cond", origin=COLLECTED),
    V("DTHDT", "Date of Death", DATE, "Cond", origin=COLLECTED),
    V("DTHFL", "Subject Death Flag", codelist="NY", core="Cond", origin=PREDECESSOR),
    V("LSTALVDT", "Date Last Known Alive", DATE, "Cond", method="LSTALVDT"),
    V("LTFUFL", "Lost to Follow-Up Flag", codelist="NY", core="Cond", method="LTFUFL"),
    V("CUTOFFDT", "Data Cut-Off Date", DATE, "Cond", origin=ASSIGNED),
))

ENDPOINT_PARAMS = {
    # PARAMCD: (PARAM, statistics.Endpoint value)
    "OS": ("Overall Survival (Days)", "overall_survival"),
    "EFS": ("Event-Free Survival (Days)", "event_free_survival"),
    "LFS": ("Leukemia-Free Survival (Days)", "leukemia_free_survival"),
    "CIR": ("Time to Relapse, Death a Competing Event (Days)", "cumulative_incidence_of_relapse"),
    "DOR": ("Duration of Remission (Days)", "duration_of_remission"),
}
# Time-to-event parameters from the laboratory results (not an endpoint of outcomes.statistics).
B_CELL_RECOVERY = "BCREC"
TTE_PARAMS = {**{code: name for code, (name, _endpoint) in ENDPOINT_PARAMS.items()},
              B_CELL_RECOVERY: "Time to B-Cell Recovery (Days)"}

ADTTE = Dataset("ADTTE", "Time-to-Event Analysis Dataset", ADAM, "BASIC DATA STRUCTURE",
                "One record per subject per parameter", ("STUDYID", "USUBJID", "PARAMCD"), (
    *_ADSL_KEYS,
    V("SITEID", "Study Site Identifier", origin=PREDECESSOR),
    V("TRT01A", "Actual Treatment for Period 01", origin=PREDECESSOR),
    V("INFFL", "Infused Population Flag", codelist="NY", origin=PREDECESSOR),
    V("RESPFL", "1-Month CR/CRi Responder Flag", codelist="NY", origin=PREDECESSOR),
    V("PARAMCD", "Parameter Code", codelist="PARAMCD_TTE", origin=ASSIGNED, max_length=8),
    V("PARAM", "Parameter", codelist="PARAM_TTE", origin=ASSIGNED),
    V("PARAMN", "Parameter (N)", INTEGER, "Perm", origin=ASSIGNED),
    V("AVAL", "Analysis Value", FLOAT, method="AVAL_TTE"),
    V("AVALU", "Analysis Value Unit", core="Perm", origin=ASSIGNED),
    V("STARTDT", "Time-to-Event Origin Date for Subject", DATE, method="STARTDT"),
    V("ADT", "Analysis Date", DATE, method="AVAL_TTE"),
    V("CNSR", "Censor", INTEGER, method="AVAL_TTE"),
    V("CMPEVFL", "Competing Event Flag", core="Cond", codelist="NY", method="AVAL_TTE"),
    V("EVNTDESC", "Event or Censoring Description", core="Perm", method="EVNTDESC"),
    V("CNSDTDSC", "Censor Date Description", core="Perm", method="EVNTDESC"),
    V("SRCDOM", "Source Data", core="Perm", method="EVNTDESC"),
), test_variable="PARAMCD", result_variable="AVAL", tests=TTE_PARAMS)

ADRS_PARAMS = {"OVRLRESP": "Overall Response", "MRDSTAT": "Minimal Residual Disease Status",
               "RESP1M": "Response at 1 Month (Primary Assessment)"}
ADRS = Dataset("ADRS", "Response Analysis Dataset", ADAM, "BASIC DATA STRUCTURE",
               "One record per subject per parameter per assessment", ("STUDYID", "USUBJID", "PARAMCD", "ADT"), (
    *_ADSL_KEYS,
    V("SITEID", "Study Site Identifier", origin=PREDECESSOR),
    V("TRT01A", "Actual Treatment for Period 01", origin=PREDECESSOR),
    V("INFFL", "Infused Population Flag", codelist="NY", origin=PREDECESSOR),
    V("EVALFL", "Response-Evaluable Population Flag", codelist="NY", origin=PREDECESSOR),
    V("PARAMCD", "Parameter Code", codelist="PARAMCD_RS", origin=ASSIGNED, max_length=8),
    V("PARAM", "Parameter", origin=ASSIGNED),
    V("AVALC", "Analysis Value (C)", method="AVALC_RS"),
    V("AVAL", "Analysis Value", FLOAT, "Cond", method="AVALC_RS"),
    V("ADT", "Analysis Date", DATE, "Cond", origin=PREDECESSOR),
    V("ADY", "Analysis Relative Day", INTEGER, "Perm", method="ADY"),
    V("AVISIT", "Analysis Visit", core="Cond", method="AVISIT"),
    V("ANL01FL", "Analysis Flag 01: 1-Month Assessment", core="Cond", codelist="NY", method="RESP1M"),
    V("SRCDOM", "Source Data", core="Perm", origin=ASSIGNED),
    V("SRCSEQ", "Source Sequence Number", INTEGER, "Perm", origin=ASSIGNED),
), test_variable="PARAMCD", result_variable="AVALC", tests=ADRS_PARAMS)

ADAE = Dataset("ADAE", "Adverse Event Analysis Dataset", ADAM, "OCCURRENCE DATA STRUCTURE",
               "One record per subject per adverse event", ("STUDYID", "USUBJID", "AESEQ"), (
    *_ADSL_KEYS,
    V("SITEID", "Study Site Identifier", origin=PREDECESSOR),
    V("TRT01A", "Actual Treatment for Period 01", origin=PREDECESSOR),
    V("SAFFL", "Safety Population Flag", codelist="NY", origin=PREDECESSOR),
    V("INFFL", "Infused Population Flag", codelist="NY", origin=PREDECESSOR),
    V("AESEQ", "Sequence Number", INTEGER, origin=PREDECESSOR),
    V("AETERM", "Reported Term for the Adverse Event", origin=PREDECESSOR),
    V("AEDECOD", "Dictionary-Derived Term", origin=PREDECESSOR),
    V("AEBODSYS", "Body System or Organ Class", origin=PREDECESSOR),
    V("AESER", "Serious Event", codelist="NY", origin=PREDECESSOR),
    V("AEREL", "Causality", codelist="AEREL", origin=PREDECESSOR),
    V("AEOUT", "Outcome of Adverse Event", codelist="OUT", origin=PREDECESSOR),
    V("AETOXGR", "Standard Toxicity Grade", codelist="TOXGR", origin=PREDECESSOR),
    V("ATOXGRN", "Analysis Toxicity Grade (N)", INTEGER, "Cond", method="ATOXGRN"),
    V("ASTCTGR", "ASTCT Consensus Grade", INTEGER, "Cond", origin=PREDECESSOR),
    V("ASTDT", "Analysis Start Date", DATE, "Cond", origin=PREDECESSOR),
    V("AENDT", "Analysis End Date", DATE, "Cond", origin=PREDECESSOR),
    V("ASTDY", "Analysis Start Relative Day", INTEGER, "Cond", method="ADY"),
    V("AENDY", "Analysis End Relative Day", INTEGER, "Cond", method="ADY"),
    V("TRTEMFL", "Treatment Emergent Analysis Flag", codelist="NY", core="Cond", method="TRTEMFL"),
    V("RELFL", "Related to CAR-T Flag", codelist="NY", core="Cond", method="RELFL"),
))

# ADPP: the kinetics parameters of PP, one row per subject and parameter (an analyte's parameter has its own
# PARAMCD, so PARAMCD and PARAM stay one-to-one), with the response group for responders vs non-responders.
# PARAMCD → (PP's PCTESTCD, PPTESTCD, PARAM)
ADPP_PARAMS = {
    "CMAXTG": ("CARTG", "CMAX", "CAR Transgene Cmax (copies/ug)"),
    "TMAXTG": ("CARTG", "TMAX", "CAR Transgene Tmax (day)"),
    "AUCTG": ("CARTG", "AUCINT", "CAR Transgene AUC Day 0-28 (day*copies/ug)"),
    "TLSTTG": ("CARTG", "TLST", "CAR Transgene Tlast (day)"),
    "CMAXCEL": ("CARTCELL", "CMAX", "CAR+ T Cells Cmax (10^6/L)"),
    "TMAXCEL": ("CARTCELL", "TMAX", "CAR+ T Cells Tmax (day)"),
    "AUCCEL": ("CARTCELL", "AUCINT", "CAR+ T Cells AUC Day 0-28 (day*10^6/L)"),
    "TLSTCEL": ("CARTCELL", "TLST", "CAR+ T Cells Tlast (day)"),
}
ADPP = Dataset("ADPP", "PK Parameters Analysis Dataset", ADAM, "BASIC DATA STRUCTURE",
               "One record per subject per parameter", ("STUDYID", "USUBJID", "PARAMCD"), (
    *_ADSL_KEYS,
    V("SITEID", "Study Site Identifier", origin=PREDECESSOR),
    V("TRT01A", "Actual Treatment for Period 01", origin=PREDECESSOR),
    V("INFFL", "Infused Population Flag", codelist="NY", origin=PREDECESSOR),
    V("RESPFL", "1-Month CR/CRi Responder Flag", codelist="NY", origin=PREDECESSOR),
    V("RESPGR1", "Response Group: CR/CRi at Any Assessment", core="Cond", codelist="RESPGR", origin=PREDECESSOR),
    V("PARAMCD", "Parameter Code", codelist="PARAMCD_PP", origin=ASSIGNED, max_length=8),
    V("PARAM", "Parameter", origin=ASSIGNED),
    V("PARAMN", "Parameter (N)", INTEGER, "Perm", origin=ASSIGNED),
    V("PARCAT1", "Parameter Category 1", core="Perm", codelist="PCTEST", origin=ASSIGNED),
    V("AVAL", "Analysis Value", FLOAT, method="AVAL_PP"),
    V("AVALU", "Analysis Value Unit", core="Perm", codelist="PKUNIT", origin=ASSIGNED),
    V("SRCDOM", "Source Data", core="Perm", origin=ASSIGNED),
    V("SRCSEQ", "Source Sequence Number", INTEGER, "Perm", origin=ASSIGNED),
), test_variable="PARAMCD", result_variable="AVAL",
   tests={code: name for code, (_test, _parameter, name) in ADPP_PARAMS.items()})

ADAM_DATASETS: tuple[Dataset, ...] = (ADSL, ADTTE, ADRS, ADAE, ADPP)
DATASETS = {d.name: d for d in SDTM_DATASETS + ADAM_DATASETS}

# --- Computational methods (Define-XML MethodDef), by key ----------------------------------------------

METHODS = {
    "USUBJID": "STUDYID, a hyphen and the subject ID (SUBJID).",
    "SEQ": "Sequence of the subject's records in the domain, in order of date then source record, from 1.",
    "DY": "Study day from DM.RFSTDTC (the first lymphodepletion dose): date − RFSTDTC + 1 on or after it, "
          "date − RFSTDTC before it; there is no day 0.",
    "EPOCH": "SCREENING before RFSTDTC; TREATMENT from RFSTDTC to the last CAR-T fraction (RFXENDTC); "
             "FOLLOW-UP after it.",
    "VISITNUM": "Order of the visit in the protocol's visit schedule (trial.VisitDefinition by target day), from 1.",
    "VISITDY": "The protocol's target day (day 0 = CAR-T infusion) on the --DY scale: RFSTDTC is planned on "
               "protocol day −5, so VISITDY = target day + 6.",
    "IETESTCD": "IN or EX and the criterion's order in the protocol version, two digits (IN01, EX03).",
    "RFSTDTC": "Date of the first lymphodepletion dose given (the course's start date when no date is recorded).",
    "RFENDTC": "Last date the subject was known to be on study: the latest of last contact, death and the last "
               "treatment date.",
    "RFXSTDTC": "Date of the CAR-T infusion (the first fraction: study day 0 of the protocol).",
    "RFXENDTC": "Date of the last CAR-T fraction.",
    "RFPENDTC": "Latest date of any record of the subject (contact, death, end of study).",
    "AGE": "Whole years from the date of birth to the date of informed consent.",
    "ACTARM": "The planned arm when the subject was infused; ARMNRS says why the arm is null otherwise "
              "(SCREEN FAILURE, ASSIGNED, NOT TREATED).",
    "DSDECOD": "Informed consent, screen failure, enrolment, and the end of study (death, lost to follow-up, or "
               "the off-study reason) coded to the CDISC disposition terms.",
    "EXDOSE": "Fludarabine and cyclophosphamide: the administered mg of the day. CAR-T: the fraction's CAR+ viable "
              "cells divided by the weight at infusion, in 10^6/kg (10^6 cells/kg).",
    "AEDECOD": "The CTCAE v5.0 term as entered (a MedDRA lowest level term) and its system organ class.",
    "NOTCOLL": "Not collected: the CRFs have no field for it, so the Expected variable is present and null.",
    "NOTCODED": "Not coded: the EDC records the CTCAE v5.0 term and its system organ class, not the MedDRA "
                "hierarchy's codes; null until the events are coded with MedDRA.",
    "AEACN": "NOT APPLICABLE when the event began after the last CAR-T fraction (a single infusion cannot be "
             "changed); otherwise not collected (null).",
    "STRESC": "The original result; numeric results also in --STRESN.",
    "LBSTRESC": "Laboratory CRF results: the value in the analyte's one canonical unit as the laboratory service "
                "converted and stored it (laboratory.rules.canonical_value: an exact factor, half up to 0.001). "
                "MRD: the original result. Numeric results also in LBSTRESN.",
    "NRANGE": "The normal range that applies to the patient on the collection date by the laboratory app's rule "
              "(laboratory.rules.normal_range: the site's own range before the default, one for the patient's sex "
              "before one for everyone, by age), in the standard unit (LBSTNRLO/HI) and converted to the reported "
              "unit (LBORNRLO/HI). Null for MRD (read against LBLLOQ and the protocol's 0.01 % threshold) and for "
              "an analyte without a range.",
    "NRIND": "The H/L flag the laboratory service stored at entry against that range: H HIGH, L LOW, none "
             "NORMAL; null without a range.",
    "LBTOX": "The CTCAE v5.0 grade the laboratory service derived and stored at entry (laboratory.rules."
             "ctcae_grade) and its CTCAE term in LBTOX; null when the analyte is not graded or the value is not "
             "abnormal.",
    "PCORRES": "The value as reported (PCORRES, PCORRESU) and in the analyte's canonical unit (PCSTRESC, "
               "PCSTRESN). Below the lower limit of quantitation (canonical value < PCLLOQ, a '<LLOQ' report "
               "entered as 0 included): '<' and the LLOQ in PCORRES (reported unit) and PCSTRESC (standard unit), "
               "PCSTRESN null, as SDTMIG 3.4 PC example 1.",
    "PCTPT": "The protocol's sampling day (trial.Protocol.kinetics_sampling_days, day 0 = the CAR-T infusion) the "
             "sample was planned for: the linked visit's target day when it is a sampling day, else the sample's "
             "own protocol day when it is one; PCTPT 'DAY n', PCTPTNUM n, PCELTM PnD from PCTPTREF. Null for a "
             "sample on no sampling day (unscheduled, or before the infusion).",
    "PPNCA": "Non-compartmental, from the PC records of the analyte (laboratory.rules.kinetics, the same rule and "
             "samples as GET /api/v1/patients/{id}/kinetics/): samples from day 0 (the infusion), the higher of "
             "two on one day; below the LLOQ never CMAX or TLST and 0 in the AUC. CMAX the highest quantifiable "
             "value, TMAX its first day, TLST the last day with a quantifiable value (days from PPRFTDTC). AUCINT: "
             "linear trapezoid from day 0 (PPSTINT P0D, value 0 when day 0 was not sampled) to the last sample on "
             "or before day 28 (PPENINT), not extrapolated. PPSTAT NOT DONE with the reason when there is no "
             "quantifiable value (CMAX, TMAX, TLST) or no sample after day 0 by day 28 (AUCINT).",

    "LOBXFL": "Y on the subject's last non-missing result of the test dated before the first CAR-T fraction "
              "(DM.RFXSTDTC).",
    "RSORRES": "The response derived by the EDC from the marrow blasts, circulating blasts, extramedullary "
               "disease and counts (outcomes.rules.derive_response); MRD negative below 0.01 % by flow with no "
               "genetic aberration (outcomes.rules.derive_mrd_negative).",
    "DVSTDTC": "The date of the form whose soft check failed (its assessment, onset, dose or contact date).",
    "TRT01": "CD19 CAR-T (Flu/Cy lymphodepletion then CAR-T cells).",
    "ENRLFL": "Y when the subject was enrolled (has a subject ID): every ADSL subject (screen failures are in DM "
              "and DS only).",
    "SAFFL": "Y when the subject received any lymphodepletion dose or CAR-T cells.",
    "INFFL": "Y when the subject received CAR-T cells (the population of every efficacy endpoint).",
    "EVALFL": "Y when infused and the 1-month response is known and evaluable (not pending, not missing, "
              "not NOT EVALUABLE): the denominator of the evaluable response rates.",
    "RESPFL": "Y when the 1-month response is CR or CRi: the population of LFS, CIR and DOR.",
    "PENDFL": "Y when the 1-month window is still open at the cut-off and the subject is alive and not assessed.",
    "RESP1M": "The response assessment closest to the primary-assessment visit's target day within its window "
              "(outcomes.selectors.patient_courses; the earlier of two equally close).",
    "LDSTDT": "Numeric date of DM.RFSTDTC.",
    "TRTSDT": "Date of the first (TRTSDT) and last (TRTEDT) CAR-T fraction.",
    "CRDT": "Date of the first assessment in CR or CRi.",
    "RLPSDT": "Earliest relapse date on a follow-up form or assessment derived as relapse.",
    "LSTALVDT": "Date of death, or the end of follow-up (latest contact, relapse or HSCT) up to the cut-off.",
    "LTFUFL": "Y when the latest follow-up contact says lost to follow-up.",
    "STARTDT": "The infusion date; for DOR the date of the first CR/CRi.",
    "AVAL_TTE": "outcomes.statistics.time_to_event on the courses of outcomes.selectors.patient_courses cut at "
                "CUTOFFDT (outcomes.statistics.at_cutoff): days from STARTDT to ADT; CNSR 0 for the event, 1 for "
                "censoring; for CIR a death without relapse has CNSR 1 and CMPEVFL Y (a competing event). BCREC, "
                "the duration of B-cell aplasia: laboratory.rules.b_cell_aplasia on the CD19+ B-cell counts (LB "
                "BLYCE) after the infusion: days to the first of two consecutive counts at or above the protocol's "
                "recovery threshold (CNSR 0), else to the last count (CNSR 1); infused subjects with a count after "
                "the infusion.",
    "EVNTDESC": "What ADT is: the event (death, relapse, no CR/CRi at 1 month, B-cell recovery) or the "
                "censoring date (last contact, data cut-off, last CD19+ B-cell count).",
    "AVALC_RS": "RS.RSSTRESC; AVAL 1 for CR/CRi (or MRD negative), 0 otherwise.",
    "ADY": "Days from the infusion (ADSL.TRTSDT): date − TRTSDT, day 0 the infusion, as the protocol counts.",
    "AVISIT": "The visit the assessment was linked to.",
    "ATOXGRN": "AETOXGR as a number.",
    "RESPGR1": "CR/CRi when any response assessment up to the cut-off is CR or CRi, NO RESPONSE when assessed and "
               "never in CR/CRi, null when not assessed: the groups of the laboratory's cohort kinetics plot "
               "(laboratory.selectors.cohort_series_by_response).",
    "ICAHT": "Immune effector cell-associated hematotoxicity (EHA/EBMT, Rejeski et al., Blood 2023) from the ANC "
             "results (LB NEUT) by laboratory.rules.icaht_grades: early (days 0-30) and late (after day 30), "
             "graded up to the first of RLPSDT, HSCTDT and DTHDT (counts on that day included, later ones not); "
             "null without an ANC graded in the period. The char variable is the grade as text.",
    "AVAL_PP": "PP.PPSTRESN of the subject's parameter for the analyte (SRCSEQ its PPSEQ); a parameter not "
               "calculated (PPSTAT NOT DONE) has no ADPP record.",
    "TRTEMFL": "Y when the event began on or after the first lymphodepletion dose (ADSL.LDSTDT).",
    "RELFL": "Y when the causality to CAR-T is possible, probable or definite.",
}


# Dataset name → variable name → its null ("" for character, None for numeric), in the dataset's order.
NULL_ROWS: Mapping[str, Mapping[str, str | None]] = MappingProxyType({
    dataset.name: MappingProxyType({v.name: "" if v.is_character else None for v in dataset.variables})
    for dataset in DATASETS.values()})
