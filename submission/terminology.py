"""The controlled terminology of the packages: submission/data/codelists.json, read once.

A codelist's terms map each submission value to its NCI C-code (None for a sponsor codelist's terms, a term the
sponsor added to an extensible CDISC codelist, or a C-code not yet checked against the published CT: see
docs/cdisc.md). A codelist that "combines" CDISC codelists (DSDECOD: NCOMPLT for disposition events, PROTMLST for
protocol milestones, by DSCAT) gets their terms, codes and extensions here, so the file holds each term once.
"""
import functools
import json
from pathlib import Path

CODELISTS_FILE = Path(__file__).parent / "data" / "codelists.json"
CDISC = "CDISC"


@functools.cache
def _document() -> dict:
    return json.loads(CODELISTS_FILE.read_text())


def standard() -> dict:
    """The CT release the codes were checked against: name, publishing set, version (a release date)."""
    return _document()["standard"]


@functools.cache
def codelists() -> dict[str, dict]:
    """Every codelist by key, its terms as {submission value: C-code or None}, combined codelists resolved."""
    raw = _document()["codelists"]
    resolved = {}
    for key, codelist in raw.items():
        if "combines" in codelist:
            parts = [raw[part] for part in codelist["combines"]]
            codelist = {**codelist, "nci_code": None, "extensible": any(part["extensible"] for part in parts),
                        "terms": {term: code for part in parts for term, code in part["terms"].items()},
                        "extended": [term for part in parts for term in part.get("extended", ())]}
        elif isinstance(codelist["terms"], list):  # a sponsor codelist: values without C-codes
            codelist = {**codelist, "terms": dict.fromkeys(codelist["terms"])}
        resolved[key] = codelist
    return resolved
