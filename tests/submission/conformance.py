"""Conformance checks the submission tests run on every package (the rules of SDTMIG 3.4 / ADaMIG 1.3 and of
SAS XPORT v5 that a validator would raise first). Each returns a list of problems, empty when the package
conforms, so a failure names every offending dataset, variable and value."""
import re

from submission import metadata as md
from submission import terminology

CODELISTS = terminology.codelists()
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DURATION = re.compile(r"^-?P(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?$")
NAME = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")


def metadata_problems(datasets) -> list[str]:
    problems = []
    for dataset in datasets:
        if not NAME.match(dataset.name) or len(dataset.label) > 40:
            problems.append(f"{dataset.name}: name or label too long")
        names = dataset.names
        if len(names) != len(set(names)):
            problems.append(f"{dataset.name}: a variable twice")
        for variable in dataset.variables:
            if not NAME.match(variable.name):
                problems.append(f"{dataset.name}.{variable.name}: not a SAS v5 name (8 characters, A-Z 0-9)")
            if len(variable.label) > 40:
                problems.append(f"{dataset.name}.{variable.name}: label over 40 characters")
            if variable.codelist and variable.codelist not in CODELISTS:
                problems.append(f"{dataset.name}.{variable.name}: codelist {variable.codelist} not shipped")
            if variable.method and variable.method not in md.METHODS:
                problems.append(f"{dataset.name}.{variable.name}: method {variable.method} not described")
        for key in dataset.keys:
            if key not in names:
                problems.append(f"{dataset.name}: key {key} is no variable")
    return problems


def table_problems(tables: dict[str, list[dict]], *, subjects: set[str]) -> list[str]:
    problems = []
    for name, rows in tables.items():
        dataset = md.DATASETS[name]
        seq = next((v.name for v in dataset.variables if v.name.endswith("SEQ") and v.name != "TSSEQ"), None)
        seen = set()
        for row in rows:
            if list(row) != dataset.names:
                problems.append(f"{name}: row variables {list(row)} are not the metadata's")
                continue
            for variable in dataset.variables:
                problems.extend(f"{name}.{variable.name}: {problem}" for problem in value_problems(name, variable, row))
            problems.extend(f"{name}: {problem}" for problem in testcode_problems(dataset, row))
            if "USUBJID" in row and subjects and row["USUBJID"] not in subjects:
                problems.append(f"{name}: orphan subject {row['USUBJID']}")
            if seq:
                key = (row["USUBJID"], row[seq])
                if key in seen:
                    problems.append(f"{name}: {seq} {row[seq]} twice for {row['USUBJID']}")
                seen.add(key)
    return problems


def value_problems(name: str, variable, row: dict) -> list[str]:
    value = row[variable.name]
    empty = value is None or value == ""
    problems = []
    if variable.core == "Req" and empty and not _null_allowed(name, variable.name, row):
        problems.append(f"required but null ({row.get('USUBJID')})")
    if variable.is_character and len(str(value or "")) > min(200, variable.max_length):
        problems.append(f"longer than {variable.max_length}")
    if variable.is_character and not str(value or "").isascii():
        problems.append(f"not ASCII: {value!r}")
    if variable.kind == md.ISO8601 and not empty and not ISO_DATE.match(value):
        problems.append(f"not ISO 8601: {value!r}")
    if variable.kind == md.DURATION and not empty and (not ISO_DURATION.match(value) or value in ("P", "-P")):
        problems.append(f"not an ISO 8601 duration: {value!r}")
    if variable.codelist and not empty and str(value) not in CODELISTS[variable.codelist]["terms"]:
        problems.append(f"{value!r} not in codelist {variable.codelist}")
    return problems


def testcode_problems(dataset, row: dict) -> list[str]:
    """A --TESTCD / PARAMCD the dataset's value-level metadata does not describe, or a --TEST / PARAM that is not
    its code's name (the pair must stay one-to-one)."""
    if not dataset.test_variable or not dataset.tests:
        return []
    code = row[dataset.test_variable]
    if code not in dataset.tests:
        return [f"{dataset.test_variable} {code!r} has no value-level metadata"]
    name_variable = {"PARAMCD": "PARAM"}.get(dataset.test_variable, dataset.test_variable[:-2])
    if name_variable in row and name_variable != dataset.test_variable and row[name_variable] != dataset.tests[code]:
        return [f"{name_variable} {row[name_variable]!r} is not the name of {code}"]
    return []


def _null_allowed(dataset: str, variable: str, row: dict) -> bool:
    """Required variables SDTMIG allows null in a given row: a screen failure's arm (ARMNRS says why)."""
    return dataset in {"DM", "ADSL"} and variable in {"ARMCD", "ARM", "ACTARMCD", "ACTARM"} and bool(
        row.get("ARMNRS", "x"))


NCI_CODE = re.compile(r"^C\d+$")


def codelist_problems(codelists: dict, *, unchecked_codelists=frozenset(), unchecked_terms=frozenset()) -> list[str]:
    """CDISC CT in the codelists file: every CDISC codelist names its NCI C-code, every term its C-code or is a
    sponsor extension (only of an extensible codelist, and then without a code). The codelists and terms whose
    codes were not read from a published CT file yet are passed in by name, so that no other can lack one."""
    problems = []
    for key, codelist in codelists.items():
        if codelist["source"] != "CDISC" or "combines" in codelist:
            continue
        code = codelist.get("nci_code")
        if code is None and key not in unchecked_codelists:
            problems.append(f"{key}: a CDISC codelist without its NCI C-code")
        if code is not None and not NCI_CODE.match(code):
            problems.append(f"{key}: {code!r} is no NCI C-code")
        if any(codelist["terms"].values()) and not codelist.get("checked"):
            problems.append(f"{key}: C-codes without the file they were read from")
        extended = set(codelist.get("extended", ()))
        problems += [f"{key}: {term!r} extended but not a term" for term in sorted(extended - set(codelist["terms"]))]
        if extended and not codelist["extensible"]:
            problems.append(f"{key}: terms added to a non-extensible codelist: {sorted(extended)}")
        for term, term_code in codelist["terms"].items():
            if term in extended and term_code:
                problems.append(f"{key}: {term!r} is marked extended and has the NCI code {term_code}")
            elif term not in extended and term_code is None and (key, term) not in unchecked_terms:
                problems.append(f"{key}: {term!r} is no term of the recorded CT and not marked extended")
            elif term_code is not None and not NCI_CODE.match(term_code):
                problems.append(f"{key}: {term!r} has {term_code!r}, no NCI C-code")
    return problems
