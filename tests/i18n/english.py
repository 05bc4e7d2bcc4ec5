"""Find English left on a page shown in Chinese (docs/i18n.md).

A page in zh-hans may still show Latin letters that are not English prose: subject IDs, units, drug product and
assay names, the abbreviations the glossary keeps (CRS, MRD, CTCAE terms...). Everything else in Latin letters is
an untranslated string. The text a person reads is taken from the HTML with lxml: the text of the elements
outside <script> and <style>, and the attributes a person or a screen reader meets (title, placeholder,
aria-label, alt, value of buttons).
"""
import re

import lxml.html

# Abbreviations, units, names and symbols that stay in Latin letters in the Chinese pages (glossary in
# docs/i18n.md). Compared case-sensitively: "CR" is allowed, "Cr" or "cr" is not.
ALLOWED = frozenset(
    """
    CAR T CAR-T EDC CRS ICANS ICAHT ICE CAPD MRD CR CRi AE AEs SAE SUSAR SDV CRF CRFs ID IDs API PDF CSV ODM XML
    XPT SDTM SDTMIG ADaM ADaMIG SAS CDISC Define-XML Define
    OS LFS EFS CIR DOR ASTCT CTCAE MedDRA ANC ALC WBC ALT AST LDH CRP
    IL IgG LLOQ qPCR PCR CD CD19 BSA ECOG KPS HSCT GvHD CNS FCM NGS Ph BCR ABL ABL1 TP53 KMT2A IKZF1 Cmax Tmax AUC
    ITT CI
    Tlast NCA ICH E2A GCP EHA EBMT FDA NMPA NCI SOP UTC SpO2 SpO₂ FiO2 FiO₂ HLH MAS TLS GCSF G-CSF CPAP BiPAP DNA FEU
    LVEF ULN
    kg mg g L dL mL µL uL min h d µmol mmol U IU ng pg µg copies cells fL mm Hg mmHg kPa m cm
    x ×
    Kaplan Meier Kaplan-Meier Kaplan–Meier Greenwood Aalen Johansen Aalen-Johansen Cockcroft Gault
    Mosteller Rejeski Lee et al
    TOTP OTP Swagger ReDoc OpenAPI JSON ZIP CST
    H L N A B C D I II III IV V VI
    """.split()  # noqa: SIM905 (a word list reads better as words)
)

_SUBJECT_ID = re.compile(r"^[A-Z]{2,3}-\d{3,5}$")
# Codes, not words: protocol versions (v1), CTCAE grades on a timeline (G3), a date format (YYYY-MM-DD).
_CODE = re.compile(r"^(v\d+|G[0-5]|YYYY-MM-DD)$")
_WORD = re.compile(r"[A-Za-zµ][A-Za-z0-9µ²³⁶⁹₂\-–'/]*")  # µ starts a unit (µmol/L); ₂ ends SpO₂
_READ_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


def page_text(html: str) -> str:
    """The text a person reads on the page: visible text and the attributes above."""
    root = lxml.html.fromstring(html)
    # Not prose: scripts, and code a person copies as it is (an API path, an HTTP header). Nor what the page
    # marks as English on purpose with lang="en" (the language switch's "English", a CDISC dataset's label):
    # a screen reader reads it as English.
    for element in root.xpath("//script|//style|//template|//code|//pre|//kbd|//samp"
                              "|//*[@lang='en' or starts-with(@lang, 'en-')]"):
        element.drop_tree()
    parts = [" ".join(root.itertext())]  # a space between elements: two table cells are two words
    for attribute in _READ_ATTRIBUTES:
        parts.extend(root.xpath(f"//@{attribute}"))
    parts.extend(root.xpath("//input[@type='submit' or @type='button']/@value"))
    return "\n".join(parts)


def english_words(html: str, allow=()) -> list[str]:
    """The words in Latin letters on the page that are neither allowed nor in `allow` (data the test made:
    names, lots, free text). Subject IDs (SZ-00001) are always allowed."""
    allowed = ALLOWED | set(allow)
    found = []
    for token in _WORD.findall(page_text(html)):
        word = token.strip("-–'/")
        if not word or word in allowed or _SUBJECT_ID.match(word) or _CODE.match(word):
            continue
        # Compound tokens (mg/m², CD19-positive) are fine when every piece is allowed or a number.
        pieces = [p for p in re.split(r"[-–/]", word) if p and not p[0].isdigit()]
        if pieces and all(p.rstrip("²³⁶⁹") in allowed for p in pieces):
            continue
        found.append(word)
    return found


def stored_words() -> set[str]:
    """Every word stored in the database's free-text and name fields (names, sites, lots, reasons, free text
    a person typed): data, shown as typed in either language. Fields with choices are left out: their codes
    must never reach a page, only their translated labels."""
    from django.apps import apps
    from django.db import models

    words: set[str] = set()
    for model in apps.get_models():
        if model._meta.app_label in {"contenttypes", "sessions", "admin", "axes", "otp_totp", "django_otp"}:
            continue
        fields = [f.attname for f in model._meta.concrete_fields
                  if isinstance(f, models.CharField | models.TextField) and not f.choices]
        if not fields:
            continue
        for row in model._default_manager.values_list(*fields).iterator():
            for value in row:
                if value:
                    words.update(token.strip("-–'/") for token in _WORD.findall(str(value)))
    return words


ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}


def crf_floor_words() -> list[str]:
    """Words of the strings a CRF page shows that other apps own and translate in their own catalogues: the CRF
    statuses and the reason-for-change and deviation fields of every CRF form (crf), the patient's status
    (patients). An area's test allows them so that it judges its own app's text."""
    from crf.forms import CrfEntryForm
    from crf.models import CrfStatus
    from patients.models import PatientStatus

    texts = [str(label) for label in (*CrfStatus.labels, *PatientStatus.labels)]
    for field in CrfEntryForm.base_fields.values():
        texts += [str(field.label or ""), str(field.help_text or "")]
    return sorted({word for text in texts for word in re.findall(r"[A-Za-z][A-Za-z0-9\-]*", text)})


def chinese_page(client, url: str, *, allow=(), data: dict | None = None, status: int = 200) -> str:
    """The page as a Chinese reader gets it (GET, or POST of `data`): it answers `status`, and what the app
    renders (the <main> element and the <title>; the layout around it is base.html's, translated in the root
    catalogue) has no English word but the allowed ones, the CRF floor's and `allow`."""
    answer = client.post(url, data, **ZH) if data is not None else client.get(url, **ZH)
    assert answer.status_code == status, answer.content[:2000]
    html = answer.content.decode()
    root = lxml.html.fromstring(html)
    own = "".join(lxml.html.tostring(element, encoding="unicode") for element in root.xpath("//title|//main"))
    found = english_words(own, allow=[*crf_floor_words(), *allow])
    assert found == [], (url, found)
    return html
