"""Pure safety rules: ASTCT grading of CRS and ICANS, ICE and CAPD scores, SAE clocks.

Numbers and choice values in, verdicts out; nothing here touches the database, so the
models, forms, API and tasks all call these functions instead of re-implementing them.

Grading follows Lee DW et al., "ASTCT Consensus Grading for Cytokine Release Syndrome
and Neurologic Toxicity Associated with Immune Effector Cells", Biol Blood Marrow
Transplant 2019;25:625-638.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import TextChoices
from django.utils.translation import gettext, gettext_noop, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Grading:
    """A computed grade and the domain(s) that set it, for display and audit."""

    grade: int
    driver: str


# --- The texts the grading stores ---------------------------------------------------------
# The driver and the rule are stored in English with the grade (the record reads the same to every auditor) and
# shown in the reader's language: `grading_driver_display` and `grading_rule_display` read the stored English
# back against the templates below (marked for the catalogue with gettext_noop) and translate it.

#: Domain names and the "no grade" drivers, as stored in `grading_driver`.
DRIVER_TEXTS = (
    gettext_noop("fever"), gettext_noop("hypotension"), gettext_noop("hypoxia"), gettext_noop("consciousness"),
    gettext_noop("seizure"), gettext_noop("motor weakness"), gettext_noop("cerebral oedema"),
    gettext_noop("ICE score"), gettext_noop("CAPD score"), gettext_noop("no CRS"), gettext_noop("no ICANS"),
    gettext_noop("no fever, hypotension or hypoxia: CRS resolved"), gettext_noop("no fever: not CRS"),
)
DRIVER_JOIN = " and "


def grading_driver_display(driver: str) -> str:
    """A stored driver ("hypotension and hypoxia") in the active language; unknown text as stored."""
    if not driver:
        return driver
    names = driver.split(DRIVER_JOIN)
    if driver in DRIVER_TEXTS or not all(name in DRIVER_TEXTS for name in names):
        return gettext(driver) if driver in DRIVER_TEXTS else driver
    return pgettext("between the domains that set a grade", " and ").join(gettext(name) for name in names)


def _rule_pattern(template: str) -> re.Pattern:
    """The stored English of a rule template, its %(name)s placeholders read back as named groups."""
    return re.compile(re.sub(r"%\\\(([a-z_]+)\\\)s", r"(?P<\1>[^()]+?)", re.escape(template)))


def rule_text(template: str, **params: object) -> str:
    """A rule in English, as stored."""
    return template % {name: str(value) for name, value in params.items()}


def grading_rule_display(rule: str) -> str:
    """A stored rule (one or more sentences of the templates below) in the active language: each sentence read
    back against its English template and translated, treatments named in the language; a text that matches no
    template (an older wording, a truncated one) is shown as stored."""
    sentences, rest = [], (rule or "").strip()
    while rest:
        for template, pattern in RULE_PATTERNS:
            found = pattern.match(rest)
            if found:
                params = {name: gettext(value) if value in TREATMENT_TEXTS else value
                          for name, value in found.groupdict().items()}
                sentences.append(gettext(template) % params)
                rest = rest[found.end():].lstrip()
                break
        else:
            return rule
    shown = sentences[0]
    for sentence in sentences[1:]:  # Chinese sentences follow a full stop without a space
        shown += ("" if shown.endswith(("。", "！", "？")) else " ") + sentence
    return shown


def _worst(domains: dict[str, int], *, absent: str) -> Grading:
    # ASTCT: the grade is that of the most severe domain; name every domain at that grade.
    grade = max(domains.values())
    if grade == 0:
        return Grading(0, absent)
    return Grading(grade, DRIVER_JOIN.join(name for name, g in domains.items() if g == grade))


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(gettext("%(name)s must be a whole number from %(low)s to %(high)s, not %(value)r.")
                         % {"name": name, "low": low, "high": high, "value": value})


# --- Cytokine release syndrome ---------------------------------------------------------

FEVER_THRESHOLD_C = 38.0  # ASTCT: fever is a temperature >= 38.0 °C


class Hypotension(TextChoices):
    NONE = "none", _("No hypotension")
    FLUIDS = "fluids", _("Hypotension not requiring vasopressors (fluids)")
    ONE_VASOPRESSOR = "one_vasopressor", _("Requiring one vasopressor, with or without vasopressin")
    MULTIPLE_VASOPRESSORS = (
        "multiple_vasopressors",
        _("Requiring multiple vasopressors (excluding vasopressin)"),
    )


class Hypoxia(TextChoices):
    NONE = "none", _("No hypoxia")
    LOW_FLOW = "low_flow", _("Low-flow nasal cannula (≤6 L/min) or blow-by oxygen")
    HIGH_FLOW = (
        "high_flow",
        _("High-flow nasal cannula (>6 L/min), facemask, non-rebreather or Venturi mask"),
    )
    POSITIVE_PRESSURE = (
        "positive_pressure",
        _("Positive pressure (CPAP, BiPAP, intubation and mechanical ventilation)"),
    )


HYPOTENSION_GRADE = {
    Hypotension.NONE: 0,
    Hypotension.FLUIDS: 2,
    Hypotension.ONE_VASOPRESSOR: 3,
    Hypotension.MULTIPLE_VASOPRESSORS: 4,
}
HYPOXIA_GRADE = {
    Hypoxia.NONE: 0,
    Hypoxia.LOW_FLOW: 2,
    Hypoxia.HIGH_FLOW: 3,
    Hypoxia.POSITIVE_PRESSURE: 4,
}


def has_fever(max_temperature_c: float | None) -> bool:
    return max_temperature_c is not None and max_temperature_c >= FEVER_THRESHOLD_C


def crs_grading(
    *, max_temperature_c: float | None, fever_masked: bool, hypotension: str, hypoxia: str
) -> Grading:
    """One assessment's ASTCT CRS grade (0-4) with the domain that drives it.

    Fever (>= 38.0 °C, not attributable to another cause) is required: without it,
    hypotension or hypoxia is not CRS by the consensus definition and the grade is 0.
    ``fever_masked`` says that fever is no longer required: the assessment lies within a
    CRS episode that began with a documented fever, after antipyretics or anti-cytokine
    therapy (tocilizumab, corticosteroids). Only `crs_course`, which reads the whole course,
    decides that; an afebrile masked assessment is then graded by hypotension and hypoxia
    alone (grade 0 when neither is present: the episode has resolved).

    With fever, grade 1 is fever alone; above that the grade is the worse of hypotension and
    hypoxia (organ toxicities are graded separately by CTCAE and do not change the CRS grade).
    Grade 5 (death due to CRS) is not computed here: death is recorded on the adverse event.
    """
    hypotension_grade = HYPOTENSION_GRADE[Hypotension(hypotension)]
    hypoxia_grade = HYPOXIA_GRADE[Hypoxia(hypoxia)]  # validate both even without fever
    if has_fever(max_temperature_c):
        return _worst({"fever": 1, "hypotension": hypotension_grade, "hypoxia": hypoxia_grade}, absent="no CRS")
    if fever_masked:
        return _worst({"hypotension": hypotension_grade, "hypoxia": hypoxia_grade},
                      absent="no fever, hypotension or hypoxia: CRS resolved")
    return Grading(0, "no fever: not CRS")


def grade_crs(
    *, max_temperature_c: float | None, fever_masked: bool, hypotension: str, hypoxia: str
) -> int:
    """ASTCT CRS grade 0-4 (0: no CRS); see ``crs_grading`` for the rules."""
    return crs_grading(
        max_temperature_c=max_temperature_c,
        fever_masked=fever_masked,
        hypotension=hypotension,
        hypoxia=hypoxia,
    ).grade


@dataclass(frozen=True)
class CrsInput:
    """What `crs_course` reads of one CRS assessment. ``key`` identifies it in the answer
    (the record's id, or anything hashable for a form not yet saved); ``treatment_given`` is
    the form's statement that antipyretics, tocilizumab or corticosteroids were given (the
    API's ``fever_masked``), dated on the assessment when no drug date is recorded."""

    key: Hashable
    assessment_date: date
    max_temperature_c: float | None
    hypotension: str
    hypoxia: str
    treatment_given: bool = False
    tocilizumab_given_on: date | None = None
    corticosteroid_given_on: date | None = None


@dataclass(frozen=True)
class CrsGrading:
    """One assessment graded within the course: the grade, the domain(s) that set it
    (``driver``), the rule that applied (``rule``, shown on the pages) and its episode."""

    grade: int
    driver: str
    rule: str
    episode: int | None  # 1, 2, … in order of onset; None outside any episode


@dataclass(frozen=True)
class CrsEpisode:
    """A CRS episode: it opens with a documented fever >= 38.0 °C and resolves on the first
    later assessment with neither fever, hypotension nor hypoxia (None while it runs on)."""

    number: int
    onset_date: date
    onset_temperature_c: float
    peak_grade: int
    peak_date: date
    treatments: tuple[tuple[date, str], ...]  # (date given, "tocilizumab" / "corticosteroid" / …)
    resolution_date: date | None


@dataclass(frozen=True)
class CrsCourse:
    gradings: dict[Hashable, CrsGrading]
    episodes: tuple[CrsEpisode, ...]


TOCILIZUMAB = gettext_noop("tocilizumab")
CORTICOSTEROID = gettext_noop("corticosteroid")
ANTIPYRETIC_OR_ANTI_CYTOKINE = gettext_noop("antipyretic or anti-cytokine therapy")
#: The treatments named in an episode and a rule (stored in English, shown translated).
TREATMENT_TEXTS = (TOCILIZUMAB, CORTICOSTEROID, ANTIPYRETIC_OR_ANTI_CYTOKINE)

CRS_RULE_FEVER = gettext_noop(
    "Fever %(temperature)s °C (≥ %(threshold)s °C) within CRS episode %(episode)s (onset %(onset)s): the worst of "
    "fever, hypotension and hypoxia (ASTCT 2019).")
CRS_RULE_NO_EPISODE = gettext_noop(
    "No fever ≥ %(threshold)s °C has opened a CRS episode: not CRS. Antipyretics, tocilizumab or corticosteroids "
    "mask fever only once CRS has begun (ASTCT 2019).")
CRS_RULE_MASKED = gettext_noop(
    "Afebrile within CRS episode %(episode)s (onset %(onset)s) after %(treatment)s on %(given_on)s: fever no longer "
    "required, graded by hypotension and hypoxia (ASTCT 2019).")
CRS_RULE_NOT_MASKED = gettext_noop(
    "Afebrile within CRS episode %(episode)s (onset %(onset)s) with no antipyretic, tocilizumab or corticosteroid "
    "recorded since the onset: fever is required, not graded as CRS (ASTCT 2019).")
CRS_RULE_RESOLVED = gettext_noop(
    "Afebrile, no hypotension and no hypoxia: CRS episode %(episode)s (onset %(onset)s) resolved on this "
    "assessment.")


def _treatments(assessments: Sequence[CrsInput]) -> list[tuple[date, str]]:
    """Every anti-CRS treatment recorded on any form of the course, by the date it was given."""
    given: set[tuple[date, str]] = set()
    for a in assessments:
        if a.tocilizumab_given_on is not None:
            given.add((a.tocilizumab_given_on, TOCILIZUMAB))
        if a.corticosteroid_given_on is not None:
            given.add((a.corticosteroid_given_on, CORTICOSTEROID))
        if a.treatment_given and a.tocilizumab_given_on is None and a.corticosteroid_given_on is None:
            given.add((a.assessment_date, ANTIPYRETIC_OR_ANTI_CYTOKINE))  # ticked, no drug dated: that day
    return sorted(given)


def crs_course(assessments: Iterable[CrsInput]) -> CrsCourse:
    """Grade a patient's CRS assessments as ASTCT does, reading the whole course in time order
    (same-day assessments in the order given).

    * A fever >= 38.0 °C opens an episode (or continues the open one) and the assessment is graded
      by the worst of fever, hypotension and hypoxia.
    * An afebrile assessment is graded only inside an episode and after antipyretics, tocilizumab
      or corticosteroids given on or after the episode's onset and on or before the assessment:
      fever is then no longer required and hypotension and hypoxia grade it. Without such
      treatment fever is required: grade 0 (not CRS), the episode stays open.
    * Outside an episode an afebrile assessment is grade 0 whatever treatment is recorded: the
      treatment masks fever only once CRS has begun (Lee et al., BBMT 2019).
    * The first assessment with neither fever, hypotension nor hypoxia resolves the episode.
    """
    ordered = sorted(enumerate(assessments), key=lambda pair: (pair[1].assessment_date, pair[0]))
    inputs = [a for _index, a in ordered]
    treatments = _treatments(inputs)
    gradings: dict[Hashable, CrsGrading] = {}
    episodes: list[CrsEpisode] = []
    episode: dict[str, Any] | None = None  # the open episode, built up as the walk goes
    for a in inputs:
        temperature = a.max_temperature_c
        on = a.assessment_date
        if has_fever(temperature):
            assert temperature is not None
            if episode is None:
                episode = {"number": len(episodes) + 1, "onset_date": on, "onset_temperature_c": temperature,
                           "peak_grade": 0, "peak_date": on}
            grading = crs_grading(max_temperature_c=temperature, fever_masked=False, hypotension=a.hypotension,
                                  hypoxia=a.hypoxia)
            rule = rule_text(CRS_RULE_FEVER, temperature=f"{temperature:.1f}", threshold=FEVER_THRESHOLD_C,
                              episode=episode["number"], onset=f"{episode['onset_date']:%Y-%m-%d}")
        elif episode is None:
            grading = crs_grading(max_temperature_c=temperature, fever_masked=False, hypotension=a.hypotension,
                                  hypoxia=a.hypoxia)
            rule = rule_text(CRS_RULE_NO_EPISODE, threshold=FEVER_THRESHOLD_C)
        else:
            onset = episode["onset_date"]
            masking = [(given_on, drug) for given_on, drug in treatments if onset <= given_on <= on]
            grading = crs_grading(max_temperature_c=temperature, fever_masked=bool(masking),
                                  hypotension=a.hypotension, hypoxia=a.hypoxia)
            if masking:
                given_on, drug = masking[0]
                rule = rule_text(CRS_RULE_MASKED, episode=episode["number"], onset=f"{onset:%Y-%m-%d}",
                                  treatment=drug, given_on=f"{given_on:%Y-%m-%d}")
            else:
                rule = rule_text(CRS_RULE_NOT_MASKED, episode=episode["number"], onset=f"{onset:%Y-%m-%d}")
        number = episode["number"] if episode is not None else None
        gradings[a.key] = CrsGrading(grade=grading.grade, driver=grading.driver, rule=rule, episode=number)
        if episode is None:
            continue
        if grading.grade > episode["peak_grade"]:
            episode["peak_grade"], episode["peak_date"] = grading.grade, on
        resolved = (not has_fever(temperature) and Hypotension(a.hypotension) == Hypotension.NONE
                    and Hypoxia(a.hypoxia) == Hypoxia.NONE)
        if resolved:
            gradings[a.key] = CrsGrading(grade=0, driver=grading.driver, rule=rule_text(
                CRS_RULE_RESOLVED, episode=episode["number"], onset=f"{episode['onset_date']:%Y-%m-%d}"),
                episode=number)
            episodes.append(_closed(episode, treatments, resolution_date=on))
            episode = None
    if episode is not None:
        episodes.append(_closed(episode, treatments, resolution_date=None))
    return CrsCourse(gradings=gradings, episodes=tuple(episodes))


def _closed(episode: dict[str, Any], treatments: list[tuple[date, str]], *, resolution_date: date | None) -> CrsEpisode:
    onset = episode["onset_date"]
    return CrsEpisode(
        number=episode["number"], onset_date=onset, onset_temperature_c=episode["onset_temperature_c"],
        peak_grade=episode["peak_grade"], peak_date=episode["peak_date"],
        treatments=tuple((given_on, drug) for given_on, drug in treatments
                         if onset <= given_on and (resolution_date is None or given_on <= resolution_date)),
        resolution_date=resolution_date,
    )


# --- Immune effector cell-associated neurotoxicity syndrome ----------------------------

CAPD_AGE_LIMIT_YEARS = 12  # ASTCT: CAPD replaces ICE for children under 12
CAPD_ITEM_COUNT = 8
CAPD_DELIRIUM_THRESHOLD = 9  # a CAPD total >= 9 is delirium: ICANS grade 3


class Consciousness(TextChoices):
    NORMAL = "normal", _("Normal (not depressed)")
    SPONTANEOUS = "spontaneous", _("Awakens spontaneously")
    VOICE = "voice", _("Awakens to voice")
    TACTILE = "tactile", _("Awakens only to tactile stimulus")
    UNAROUSABLE = (
        "unarousable",
        _("Unarousable or requires vigorous or repetitive tactile stimuli to arouse; "
          "stupor or coma"),
    )


class Seizure(TextChoices):
    NONE = "none", _("No seizure")
    RAPIDLY_RESOLVING = (
        "rapidly_resolving",
        _("Any clinical seizure, focal or generalised, that resolves rapidly, "
          "or non-convulsive seizures on EEG that resolve with intervention"),
    )
    PROLONGED_OR_REPETITIVE = (
        "prolonged_or_repetitive",
        _("Life-threatening prolonged seizure (>5 min), or repetitive clinical or electrical "
          "seizures without return to baseline in between"),
    )


class CerebralEdema(TextChoices):
    NONE = "none", _("No cerebral oedema or raised ICP")
    FOCAL = "focal", _("Focal/local oedema on neuroimaging")
    DIFFUSE = (
        "diffuse",
        _("Diffuse cerebral oedema on neuroimaging, decerebrate or decorticate posturing, "
          "cranial nerve VI palsy, papilloedema or Cushing's triad"),
    )


# Depressed consciousness must not be attributable to another cause (e.g. sedation).
CONSCIOUSNESS_GRADE = {
    Consciousness.NORMAL: 0,
    Consciousness.SPONTANEOUS: 1,  # ASTCT grade 1 is literally "awakens spontaneously"
    Consciousness.VOICE: 2,
    Consciousness.TACTILE: 3,
    Consciousness.UNAROUSABLE: 4,
}
SEIZURE_GRADE = {
    Seizure.NONE: 0,
    Seizure.RAPIDLY_RESOLVING: 3,
    Seizure.PROLONGED_OR_REPETITIVE: 4,
}
CEREBRAL_EDEMA_GRADE = {
    CerebralEdema.NONE: 0,
    CerebralEdema.FOCAL: 3,
    CerebralEdema.DIFFUSE: 4,
}


def ice_score(
    *, orientation: int, naming: int, following_commands: int, writing: int, attention: int
) -> int:
    """Immune Effector Cell-Associated Encephalopathy (ICE) score, 0-10.

    orientation: year, month, city, hospital (0-4); naming three objects (0-3); following
    simple commands (0-1); writing a standard sentence (0-1); attention, counting back
    from 100 by ten (0-1).
    """
    items = {
        "orientation": (orientation, 4),
        "naming": (naming, 3),
        "following_commands": (following_commands, 1),
        "writing": (writing, 1),
        "attention": (attention, 1),
    }
    for name, (value, maximum) in items.items():
        _check_range(name, value, 0, maximum)
    return sum(value for value, _ in items.values())


def capd_score(items: Sequence[int]) -> int:
    """Cornell Assessment of Pediatric Delirium total, 0-32 (higher is worse).

    Takes the eight item scores (0-4 each) as already scored: items 1-4 (eye contact,
    purposeful actions, awareness of surroundings, communicates needs) are scored in
    reverse (never = 4 ... always = 0), items 5-8 (restless, inconsolable, underactive,
    slow to respond) directly (never = 0 ... always = 4).
    """
    if len(items) != CAPD_ITEM_COUNT:
        raise ValueError(gettext("CAPD has %(expected)s items, not %(given)s.")
                         % {"expected": CAPD_ITEM_COUNT, "given": len(items)})
    for number, value in enumerate(items, start=1):
        _check_range(gettext("CAPD item %(number)s") % {"number": number}, value, 0, 4)
    return sum(items)


def uses_capd(age_years: int | None) -> bool:
    """True when encephalopathy is assessed with CAPD rather than ICE (children under 12)."""
    if age_years is None:
        return False
    if age_years < 0:
        raise ValueError(f"age_years cannot be negative, not {age_years!r}.")
    return age_years < CAPD_AGE_LIMIT_YEARS


def ice_domain_grade(ice: int) -> int:
    """ICE 10 -> 0, 7-9 -> 1, 3-6 -> 2, 0-2 -> 3."""
    _check_range("ice_score", ice, 0, 10)
    if ice == 10:
        return 0
    if ice >= 7:
        return 1
    if ice >= 3:
        return 2
    return 3  # 0-2; an ICE of 0 in an awake patient with global aphasia is grade 3


def capd_domain_grade(capd: int) -> int:
    """CAPD 0 -> 0, 1-8 -> 1, >= 9 -> 3.

    ASTCT gives CAPD 1-8 for both grades 1 and 2: the level of consciousness separates
    them (awakens spontaneously vs to voice), so this domain alone contributes grade 1.
    """
    _check_range("capd_score", capd, 0, 4 * CAPD_ITEM_COUNT)
    if capd == 0:
        return 0
    return 3 if capd >= CAPD_DELIRIUM_THRESHOLD else 1


def icans_grading(
    *,
    ice_score: int | None,
    consciousness: str,
    seizure: str,
    motor_weakness: bool,
    cerebral_edema: str,
    age_years: int | None = None,
    capd_score: int | None = None,
) -> Grading:
    """ASTCT ICANS grade (0-4): the worst of the five domains, with the domain(s) driving it.

    Encephalopathy domain: ICE for patients aged 12 or more on the assessment date, CAPD for a
    child under 12 (``uses_capd(age_years)``); an unknown age uses ICE. A score of the other
    tool is refused (ValueError): the service says so on the field. A score of None means the
    tool was not done (sedated, intubated, unarousable): the encephalopathy domain then gives
    nothing by itself and the other domains grade — an unarousable patient is grade 4 through
    the consciousness domain, a sedated one is not. ``motor_weakness`` means deep focal motor
    weakness (hemiparesis, paraparesis): grade 4. Tremor and myoclonus, and intracranial
    haemorrhage, are graded by CTCAE and do not count here.
    Grade 5 (death due to ICANS) is not computed here: death is recorded on the adverse event.
    """
    child = uses_capd(age_years)
    if child and ice_score is not None:
        raise ValueError(f"A child under {CAPD_AGE_LIMIT_YEARS} is assessed with CAPD, not ICE.")
    if not child and capd_score is not None:
        raise ValueError(f"CAPD is for children under {CAPD_AGE_LIMIT_YEARS}; this patient is assessed with ICE.")
    tool, score = ("CAPD", capd_score) if child else ("ICE", ice_score)
    domains = {
        "consciousness": CONSCIOUSNESS_GRADE[Consciousness(consciousness)],
        "seizure": SEIZURE_GRADE[Seizure(seizure)],
        "motor weakness": 4 if motor_weakness else 0,
        "cerebral oedema": CEREBRAL_EDEMA_GRADE[CerebralEdema(cerebral_edema)],
    }
    if score is None:  # `icans_rule` says so next to the grade
        return _worst(domains, absent="no ICANS")
    encephalopathy = capd_domain_grade(score) if child else ice_domain_grade(score)
    return _worst({f"{tool} score": encephalopathy, **domains}, absent="no ICANS")


ICANS_RULE_CAPD = gettext_noop(
    "ASTCT 2019 ICANS: the worst domain; encephalopathy by CAPD (age %(age)s on the assessment date, under "
    "%(limit)s).")
ICANS_RULE_CAPD_NOT_DONE = gettext_noop(
    "ASTCT 2019 ICANS: the worst domain; encephalopathy by CAPD (age %(age)s on the assessment date, under "
    "%(limit)s); not done, so it grades nothing by itself and grade 4 needs an unarousable patient or another "
    "grade-4 domain.")
ICANS_RULE_ICE_AGE_UNKNOWN = gettext_noop(
    "ASTCT 2019 ICANS: the worst domain; encephalopathy by ICE (age unknown).")
ICANS_RULE_ICE_AGE_UNKNOWN_NOT_DONE = gettext_noop(
    "ASTCT 2019 ICANS: the worst domain; encephalopathy by ICE (age unknown); not done, so it grades nothing by "
    "itself and grade 4 needs an unarousable patient or another grade-4 domain.")
ICANS_RULE_ICE = gettext_noop(
    "ASTCT 2019 ICANS: the worst domain; encephalopathy by ICE (age %(age)s on the assessment date).")
ICANS_RULE_ICE_NOT_DONE = gettext_noop(
    "ASTCT 2019 ICANS: the worst domain; encephalopathy by ICE (age %(age)s on the assessment date); not done, so "
    "it grades nothing by itself and grade 4 needs an unarousable patient or another grade-4 domain.")
#: Appended when a corrected birth date makes the score on the form the other tool's.
ICANS_RULE_OTHER_TOOL = gettext_noop("The %(tool)s score on this form does not apply at this age and is not counted.")


def icans_rule(*, age_years: int | None, score_done: bool) -> str:
    """The rule that graded an ICANS assessment, in words (stored with the grade in English, shown on the pages
    through `grading_rule_display`)."""
    if uses_capd(age_years):
        template = ICANS_RULE_CAPD if score_done else ICANS_RULE_CAPD_NOT_DONE
    elif age_years is None:
        template = ICANS_RULE_ICE_AGE_UNKNOWN if score_done else ICANS_RULE_ICE_AGE_UNKNOWN_NOT_DONE
    else:
        template = ICANS_RULE_ICE if score_done else ICANS_RULE_ICE_NOT_DONE
    return rule_text(template, age=age_years, limit=CAPD_AGE_LIMIT_YEARS)


# Most specific first: a template is read back from the start of the stored text.
RULE_PATTERNS = tuple((template, _rule_pattern(template)) for template in (
    CRS_RULE_FEVER, CRS_RULE_NO_EPISODE, CRS_RULE_MASKED, CRS_RULE_NOT_MASKED, CRS_RULE_RESOLVED,
    ICANS_RULE_CAPD_NOT_DONE, ICANS_RULE_CAPD, ICANS_RULE_ICE_AGE_UNKNOWN_NOT_DONE, ICANS_RULE_ICE_AGE_UNKNOWN,
    ICANS_RULE_ICE_NOT_DONE, ICANS_RULE_ICE, ICANS_RULE_OTHER_TOOL))


def grade_icans(
    *,
    ice_score: int | None,
    consciousness: str,
    seizure: str,
    motor_weakness: bool,
    cerebral_edema: str,
    age_years: int | None = None,
    capd_score: int | None = None,
) -> int:
    """ASTCT ICANS grade 0-4 (0: no ICANS); see ``icans_grading`` for the rules."""
    return icans_grading(
        ice_score=ice_score,
        consciousness=consciousness,
        seizure=seizure,
        motor_weakness=motor_weakness,
        cerebral_edema=cerebral_edema,
        age_years=age_years,
        capd_score=capd_score,
    ).grade


# --- Serious adverse event reporting clock ---------------------------------------------

SAE_INITIAL_REPORT_HOURS = 24  # investigator -> sponsor, from first awareness


def _utc(name: str, value: datetime) -> datetime:
    # Naive times are ambiguous across sites; and aware times sharing a tzinfo compare by
    # wall clock in Python, so compare instants in UTC.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, not {value!r}.")
    return value.astimezone(UTC)


def sae_initial_report_due(aware_at: datetime) -> datetime:
    """Deadline for the initial SAE report: 24 elapsed hours after awareness, in its zone."""
    due = _utc("aware_at", aware_at) + timedelta(hours=SAE_INITIAL_REPORT_HOURS)
    return due.astimezone(aware_at.tzinfo)  # elapsed hours: a DST change cannot move it


def sae_report_overdue(*, aware_at: datetime, reported_at: datetime | None, now: datetime) -> bool:
    """True while the initial report is missing past its deadline (exactly at it is on time)."""
    due = _utc("due", sae_initial_report_due(aware_at))
    if reported_at is not None:
        _utc("reported_at", reported_at)
        return False
    return _utc("now", now) > due


def sae_report_late(*, aware_at: datetime, reported_at: datetime) -> bool:
    """True when the initial report was sent after its deadline (exactly at it is on time)."""
    return _utc("reported_at", reported_at) > _utc("due", sae_initial_report_due(aware_at))


# --- SUSAR: expectedness and the expedited-report clock (ICH E2A) -----------------------

SUSAR_FATAL_OR_LIFE_THREATENING_DAYS = 7  # ICH E2A: as soon as possible, no later than 7 calendar days
SUSAR_OTHER_DAYS = 15  # ICH E2A: no later than 15 calendar days


def is_expected(term: str, expected_terms: Iterable[str]) -> bool:
    """Whether the event is listed in the reference safety information (the protocol version's expected
    adverse events), compared as CTCAE terms regardless of case."""
    return (term or "").strip().lower() in {expected.strip().lower() for expected in expected_terms}


def is_susar(*, serious: bool, relatedness_cart: str, expected: bool) -> bool:
    """A suspected unexpected serious adverse reaction: serious, related to the investigational product
    (the CAR-T cells: possible, probable or definite) and not in the reference safety information."""
    return bool(serious) and is_related(relatedness_cart) and not expected


def susar_report_days(seriousness_criteria: Iterable[str]) -> int:
    """7 calendar days for a fatal or life-threatening SUSAR, 15 for the others (ICH E2A)."""
    urgent = {SeriousnessCriterion.DEATH, SeriousnessCriterion.LIFE_THREATENING}
    return SUSAR_FATAL_OR_LIFE_THREATENING_DAYS if set(seriousness_criteria) & urgent else SUSAR_OTHER_DAYS


def susar_report_due(*, aware_at: datetime, seriousness_criteria: Iterable[str]) -> datetime:
    """Deadline of the expedited SUSAR report: 7 or 15 calendar days after the site's awareness (day 0)."""
    days = susar_report_days(seriousness_criteria)
    return (_utc("aware_at", aware_at) + timedelta(days=days)).astimezone(aware_at.tzinfo)


def susar_report_overdue(*, aware_at: datetime, seriousness_criteria: Iterable[str], reported_at: datetime | None,
                         now: datetime) -> bool:
    """True while the expedited report is missing past its deadline (exactly at it is on time)."""
    if reported_at is not None:
        return False
    return _utc("now", now) > _utc("due", susar_report_due(aware_at=aware_at,
                                                            seriousness_criteria=seriousness_criteria))


# --- Adverse event vocabularies --------------------------------------------------------


class SeriousnessCriterion(TextChoices):  # ICH E2A
    DEATH = "death", _("Results in death")
    LIFE_THREATENING = "life_threatening", _("Is life-threatening")
    HOSPITALISATION = (
        "hospitalisation",
        _("Requires inpatient hospitalisation or prolongation of existing hospitalisation"),
    )
    DISABILITY = "disability", _("Results in persistent or significant disability/incapacity")
    CONGENITAL_ANOMALY = "congenital_anomaly", _("Is a congenital anomaly/birth defect")
    IMPORTANT_MEDICAL_EVENT = "important_medical_event", _("Important medical event")


class Relatedness(TextChoices):  # causality to the study treatment
    NOT_RELATED = "not_related", _("Not related")
    UNLIKELY = "unlikely", _("Unlikely related")
    POSSIBLE = "possible", _("Possibly related")
    PROBABLE = "probable", _("Probably related")
    DEFINITE = "definite", _("Definitely related")


RELATED = frozenset({Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE})


def is_related(relatedness: str) -> bool:
    """Possible, probable and definite count as related (adverse reaction); the rest do not."""
    return Relatedness(relatedness) in RELATED


class AeOutcome(TextChoices):  # CDISC AEOUT
    RECOVERED = "recovered", _("Recovered/resolved")
    RECOVERING = "recovering", _("Recovering/resolving")
    NOT_RECOVERED = "not_recovered", _("Not recovered/not resolved")
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae", _("Recovered/resolved with sequelae")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


class ActionTaken(TextChoices):
    # CAR-T is a single infusion, so the useful question is what was done for the event.
    NONE = "none", _("No action taken")
    TREATMENT = "treatment", _("Treatment given (medication or procedure)")
    HOSPITALISATION = "hospitalisation", _("Hospitalisation (new or prolonged)")
    OTHER = "other", _("Other action (specify)")


# --- Adverse event consistency (hard checks; each answers field -> message) --------------


def seriousness_errors(*, serious: bool, criteria: Sequence[str]) -> dict[str, str]:
    """ICH E2A: an event is serious exactly when it meets a seriousness criterion."""
    unknown = [code for code in criteria if code not in SeriousnessCriterion.values]
    if unknown:
        return {"seriousness_criteria": gettext("Unknown seriousness criteria: %(codes)s.")
                % {"codes": ", ".join(map(str, unknown))}}
    if serious and not criteria:
        return {"seriousness_criteria": gettext("A serious adverse event meets at least one seriousness criterion.")}
    if criteria and not serious:
        return {"serious": gettext("The event meets a seriousness criterion: mark it serious.")}
    return {}


def awareness_errors(*, serious: bool, aware_at: datetime | None, onset_date: date | None,
                     now: datetime) -> dict[str, str]:
    """The SAE clock starts when the site became aware: required for a serious event, not before
    the onset (compared as dates in ``now``'s time zone), not in the future."""
    if aware_at is None:
        if serious:
            return {"aware_at": gettext("Give when the site became aware of the serious event: the 24-hour clock "
                                        "starts there.")}
        return {}
    if onset_date is not None and aware_at.astimezone(now.tzinfo).date() < onset_date:
        return {"aware_at": gettext("The site cannot have learned of the event before its onset.")}
    if aware_at > now:
        return {"aware_at": gettext("Awareness is in the future.")}
    return {}


def fatal_event_errors(*, grade: int | None, outcome: str, death_date: date | None,
                       criteria: Sequence[str]) -> dict[str, str]:
    """CTCAE grade 5 is death: grade 5, the outcome 'fatal', a death date and the 'death'
    seriousness criterion go together."""
    errors: dict[str, str] = {}
    if grade == 5:
        if death_date is None:
            errors["death_date"] = gettext("A grade 5 event is a death: give the death date.")
        if outcome != AeOutcome.FATAL:
            errors["outcome"] = gettext("A grade 5 event has the outcome 'fatal'.")
        if SeriousnessCriterion.DEATH not in criteria:
            errors["seriousness_criteria"] = gettext("A grade 5 event is serious: it results in death.")
        return errors
    if outcome == AeOutcome.FATAL:
        errors["grade"] = gettext("A fatal event is grade 5 by CTCAE.")
    if death_date is not None:
        errors["death_date"] = gettext("Only a grade 5 (fatal) event has a death date.")
    return errors


RESOLVED_OUTCOMES = frozenset({AeOutcome.RECOVERED, AeOutcome.RECOVERED_WITH_SEQUELAE})
UNRESOLVED_OUTCOMES = frozenset({AeOutcome.NOT_RECOVERED, AeOutcome.RECOVERING, AeOutcome.FATAL})


def resolution_errors(*, outcome: str, resolution_date: date | None) -> dict[str, str]:
    """A resolved event has its resolution date; one not (yet) resolved, or fatal, has none."""
    if outcome in RESOLVED_OUTCOMES and resolution_date is None:
        return {"resolution_date": gettext("A resolved event needs its resolution date.")}
    if outcome in UNRESOLVED_OUTCOMES and resolution_date:
        return {"resolution_date": gettext("An event that has not resolved has no resolution date.")}
    return {}


def action_taken_errors(*, action_taken: str, action_taken_other: str) -> dict[str, str]:
    """'Other action' says which."""
    if action_taken == ActionTaken.OTHER and not action_taken_other.strip():
        return {"action_taken_other": gettext("Say what other action was taken.")}
    return {}


# --- CTCAE v5.0 terms (a CAR-T-relevant subset), as (term, system organ class) ----------
# The system organ classes are stored and exported in English (MedDRA's names), shown translated.
# ICANS is not a CTCAE term: it is graded by ASTCT above; its features are also
# recordable as CTCAE terms (Encephalopathy, Seizure, Edema cerebral, ...).

_BLOOD = gettext_noop("Blood and lymphatic system disorders")
_CARDIAC = gettext_noop("Cardiac disorders")
_GI = gettext_noop("Gastrointestinal disorders")
_GENERAL = gettext_noop("General disorders and administration site conditions")
_HEPATOBILIARY = gettext_noop("Hepatobiliary disorders")
_IMMUNE = gettext_noop("Immune system disorders")
_INFECTIONS = gettext_noop("Infections and infestations")
_INJURY = gettext_noop("Injury, poisoning and procedural complications")
_INVESTIGATIONS = gettext_noop("Investigations")
_METABOLISM = gettext_noop("Metabolism and nutrition disorders")
_MUSCULOSKELETAL = gettext_noop("Musculoskeletal and connective tissue disorders")
_NERVOUS = gettext_noop("Nervous system disorders")
_PSYCHIATRIC = gettext_noop("Psychiatric disorders")
_RENAL = gettext_noop("Renal and urinary disorders")
_RESPIRATORY = gettext_noop("Respiratory, thoracic and mediastinal disorders")
_SKIN = gettext_noop("Skin and subcutaneous tissue disorders")
_VASCULAR = gettext_noop("Vascular disorders")

CTCAE_TERMS: tuple[tuple[str, str], ...] = (
    ("Anemia", _BLOOD),
    ("Bone marrow hypocellular", _BLOOD),
    ("Disseminated intravascular coagulation", _BLOOD),
    ("Febrile neutropenia", _BLOOD),
    ("Atrial fibrillation", _CARDIAC),
    ("Heart failure", _CARDIAC),
    ("Left ventricular systolic dysfunction", _CARDIAC),
    ("Sinus tachycardia", _CARDIAC),
    ("Ventricular tachycardia", _CARDIAC),
    ("Diarrhea", _GI),
    ("Nausea", _GI),
    ("Vomiting", _GI),
    ("Chills", _GENERAL),
    ("Edema limbs", _GENERAL),
    ("Fatigue", _GENERAL),
    ("Fever", _GENERAL),
    ("Multi-organ failure", _GENERAL),
    ("Hepatic failure", _HEPATOBILIARY),
    ("Allergic reaction", _IMMUNE),
    ("Anaphylaxis", _IMMUNE),
    ("Cytokine release syndrome", _IMMUNE),
    ("Bacteremia", _INFECTIONS),
    ("Catheter related infection", _INFECTIONS),
    ("Cytomegalovirus infection reactivation", _INFECTIONS),
    ("Hepatitis B reactivation", _INFECTIONS),
    ("Lung infection", _INFECTIONS),
    ("Sepsis", _INFECTIONS),
    ("Upper respiratory infection", _INFECTIONS),
    ("Urinary tract infection", _INFECTIONS),
    ("Infusion related reaction", _INJURY),
    ("Activated partial thromboplastin time prolonged", _INVESTIGATIONS),
    ("Alanine aminotransferase increased", _INVESTIGATIONS),
    ("Aspartate aminotransferase increased", _INVESTIGATIONS),
    ("Blood bilirubin increased", _INVESTIGATIONS),
    ("Creatinine increased", _INVESTIGATIONS),
    ("Fibrinogen decreased", _INVESTIGATIONS),
    ("INR increased", _INVESTIGATIONS),
    ("Lymphocyte count decreased", _INVESTIGATIONS),
    ("Neutrophil count decreased", _INVESTIGATIONS),
    ("Platelet count decreased", _INVESTIGATIONS),
    ("White blood cell decreased", _INVESTIGATIONS),
    ("Hypoalbuminemia", _METABOLISM),
    ("Hypokalemia", _METABOLISM),
    ("Hyponatremia", _METABOLISM),
    ("Hypophosphatemia", _METABOLISM),
    ("Tumor lysis syndrome", _METABOLISM),
    ("Myalgia", _MUSCULOSKELETAL),
    ("Ataxia", _NERVOUS),
    ("Cognitive disturbance", _NERVOUS),
    ("Depressed level of consciousness", _NERVOUS),
    ("Dizziness", _NERVOUS),
    ("Dysarthria", _NERVOUS),
    ("Dysphasia", _NERVOUS),
    ("Edema cerebral", _NERVOUS),
    ("Encephalopathy", _NERVOUS),
    ("Headache", _NERVOUS),
    ("Intracranial hemorrhage", _NERVOUS),
    ("Peripheral motor neuropathy", _NERVOUS),
    ("Seizure", _NERVOUS),
    ("Somnolence", _NERVOUS),
    ("Tremor", _NERVOUS),
    ("Agitation", _PSYCHIATRIC),
    ("Confusion", _PSYCHIATRIC),
    ("Delirium", _PSYCHIATRIC),
    ("Hallucinations", _PSYCHIATRIC),
    ("Acute kidney injury", _RENAL),
    ("Adult respiratory distress syndrome", _RESPIRATORY),
    ("Dyspnea", _RESPIRATORY),
    ("Hypoxia", _RESPIRATORY),
    ("Pleural effusion", _RESPIRATORY),
    ("Pulmonary edema", _RESPIRATORY),
    ("Respiratory failure", _RESPIRATORY),
    ("Rash maculo-papular", _SKIN),
    ("Capillary leak syndrome", _VASCULAR),
    ("Hypotension", _VASCULAR),
    ("Thromboembolic event", _VASCULAR),
)

CTCAE_SOC_BY_TERM: dict[str, str] = dict(CTCAE_TERMS)

#: The CTCAE terms in the reader's language (the stored term is the English one; docs/i18n.md shows both).
CTCAE_TERM_NAMES = {
    "Anemia": pgettext_lazy("CTCAE term", "Anemia"),
    "Bone marrow hypocellular": pgettext_lazy("CTCAE term", "Bone marrow hypocellular"),
    "Disseminated intravascular coagulation": pgettext_lazy("CTCAE term", "Disseminated intravascular coagulation"),
    "Febrile neutropenia": pgettext_lazy("CTCAE term", "Febrile neutropenia"),
    "Atrial fibrillation": pgettext_lazy("CTCAE term", "Atrial fibrillation"),
    "Heart failure": pgettext_lazy("CTCAE term", "Heart failure"),
    "Left ventricular systolic dysfunction": pgettext_lazy("CTCAE term", "Left ventricular systolic dysfunction"),
    "Sinus tachycardia": pgettext_lazy("CTCAE term", "Sinus tachycardia"),
    "Ventricular tachycardia": pgettext_lazy("CTCAE term", "Ventricular tachycardia"),
    "Diarrhea": pgettext_lazy("CTCAE term", "Diarrhea"),
    "Nausea": pgettext_lazy("CTCAE term", "Nausea"),
    "Vomiting": pgettext_lazy("CTCAE term", "Vomiting"),
    "Chills": pgettext_lazy("CTCAE term", "Chills"),
    "Edema limbs": pgettext_lazy("CTCAE term", "Edema limbs"),
    "Fatigue": pgettext_lazy("CTCAE term", "Fatigue"),
    "Fever": pgettext_lazy("CTCAE term", "Fever"),
    "Multi-organ failure": pgettext_lazy("CTCAE term", "Multi-organ failure"),
    "Hepatic failure": pgettext_lazy("CTCAE term", "Hepatic failure"),
    "Allergic reaction": pgettext_lazy("CTCAE term", "Allergic reaction"),
    "Anaphylaxis": pgettext_lazy("CTCAE term", "Anaphylaxis"),
    "Cytokine release syndrome": pgettext_lazy("CTCAE term", "Cytokine release syndrome"),
    "Bacteremia": pgettext_lazy("CTCAE term", "Bacteremia"),
    "Catheter related infection": pgettext_lazy("CTCAE term", "Catheter related infection"),
    "Cytomegalovirus infection reactivation": pgettext_lazy("CTCAE term", "Cytomegalovirus infection reactivation"),
    "Hepatitis B reactivation": pgettext_lazy("CTCAE term", "Hepatitis B reactivation"),
    "Lung infection": pgettext_lazy("CTCAE term", "Lung infection"),
    "Sepsis": pgettext_lazy("CTCAE term", "Sepsis"),
    "Upper respiratory infection": pgettext_lazy("CTCAE term", "Upper respiratory infection"),
    "Urinary tract infection": pgettext_lazy("CTCAE term", "Urinary tract infection"),
    "Infusion related reaction": pgettext_lazy("CTCAE term", "Infusion related reaction"),
    "Activated partial thromboplastin time prolonged": pgettext_lazy(
        "CTCAE term", "Activated partial thromboplastin time prolonged"),
    "Alanine aminotransferase increased": pgettext_lazy("CTCAE term", "Alanine aminotransferase increased"),
    "Aspartate aminotransferase increased": pgettext_lazy("CTCAE term", "Aspartate aminotransferase increased"),
    "Blood bilirubin increased": pgettext_lazy("CTCAE term", "Blood bilirubin increased"),
    "Creatinine increased": pgettext_lazy("CTCAE term", "Creatinine increased"),
    "Fibrinogen decreased": pgettext_lazy("CTCAE term", "Fibrinogen decreased"),
    "INR increased": pgettext_lazy("CTCAE term", "INR increased"),
    "Lymphocyte count decreased": pgettext_lazy("CTCAE term", "Lymphocyte count decreased"),
    "Neutrophil count decreased": pgettext_lazy("CTCAE term", "Neutrophil count decreased"),
    "Platelet count decreased": pgettext_lazy("CTCAE term", "Platelet count decreased"),
    "White blood cell decreased": pgettext_lazy("CTCAE term", "White blood cell decreased"),
    "Hypoalbuminemia": pgettext_lazy("CTCAE term", "Hypoalbuminemia"),
    "Hypokalemia": pgettext_lazy("CTCAE term", "Hypokalemia"),
    "Hyponatremia": pgettext_lazy("CTCAE term", "Hyponatremia"),
    "Hypophosphatemia": pgettext_lazy("CTCAE term", "Hypophosphatemia"),
    "Tumor lysis syndrome": pgettext_lazy("CTCAE term", "Tumor lysis syndrome"),
    "Myalgia": pgettext_lazy("CTCAE term", "Myalgia"),
    "Ataxia": pgettext_lazy("CTCAE term", "Ataxia"),
    "Cognitive disturbance": pgettext_lazy("CTCAE term", "Cognitive disturbance"),
    "Depressed level of consciousness": pgettext_lazy("CTCAE term", "Depressed level of consciousness"),
    "Dizziness": pgettext_lazy("CTCAE term", "Dizziness"),
    "Dysarthria": pgettext_lazy("CTCAE term", "Dysarthria"),
    "Dysphasia": pgettext_lazy("CTCAE term", "Dysphasia"),
    "Edema cerebral": pgettext_lazy("CTCAE term", "Edema cerebral"),
    "Encephalopathy": pgettext_lazy("CTCAE term", "Encephalopathy"),
    "Headache": pgettext_lazy("CTCAE term", "Headache"),
    "Intracranial hemorrhage": pgettext_lazy("CTCAE term", "Intracranial hemorrhage"),
    "Peripheral motor neuropathy": pgettext_lazy("CTCAE term", "Peripheral motor neuropathy"),
    "Seizure": pgettext_lazy("CTCAE term", "Seizure"),
    "Somnolence": pgettext_lazy("CTCAE term", "Somnolence"),
    "Tremor": pgettext_lazy("CTCAE term", "Tremor"),
    "Agitation": pgettext_lazy("CTCAE term", "Agitation"),
    "Confusion": pgettext_lazy("CTCAE term", "Confusion"),
    "Delirium": pgettext_lazy("CTCAE term", "Delirium"),
    "Hallucinations": pgettext_lazy("CTCAE term", "Hallucinations"),
    "Acute kidney injury": pgettext_lazy("CTCAE term", "Acute kidney injury"),
    "Adult respiratory distress syndrome": pgettext_lazy("CTCAE term", "Adult respiratory distress syndrome"),
    "Dyspnea": pgettext_lazy("CTCAE term", "Dyspnea"),
    "Hypoxia": pgettext_lazy("CTCAE term", "Hypoxia"),
    "Pleural effusion": pgettext_lazy("CTCAE term", "Pleural effusion"),
    "Pulmonary edema": pgettext_lazy("CTCAE term", "Pulmonary edema"),
    "Respiratory failure": pgettext_lazy("CTCAE term", "Respiratory failure"),
    "Rash maculo-papular": pgettext_lazy("CTCAE term", "Rash maculo-papular"),
    "Capillary leak syndrome": pgettext_lazy("CTCAE term", "Capillary leak syndrome"),
    "Hypotension": pgettext_lazy("CTCAE term", "Hypotension"),
    "Thromboembolic event": pgettext_lazy("CTCAE term", "Thromboembolic event"),
}


def ctcae_term_display(term: str) -> str:
    """A CTCAE term as the page shows it: "贫血 (Anemia)" in Chinese, the term alone in English."""
    name = CTCAE_TERM_NAMES.get(term)
    translated = str(name) if name is not None else term
    return term if translated == term else f"{translated} ({term})"


# --- Overlapping CRS / ICANS events ------------------------------------------------------

#: AE terms that name a CAR-T syndrome (lower case) → the syndrome. The safety summary makes one
#: episode of a patient's events of one syndrome, so two events that overlap are one episode.
SYNDROME_TERMS = {
    "cytokine release syndrome": "CRS",
    "crs": "CRS",
    "immune effector cell-associated neurotoxicity syndrome": "ICANS",
    "icans": "ICANS",
}


def syndrome_of_term(term: str) -> str | None:
    return SYNDROME_TERMS.get((term or "").strip().lower())


def events_overlap(onset, resolution, other_onset, other_resolution) -> bool:
    """Two events overlap when each starts on or before the other ends; an event that
    has not resolved runs on. Events that touch (one ends the day the other starts) overlap."""
    return (other_resolution is None or onset <= other_resolution) and (
        resolution is None or other_onset <= resolution)


def syndrome_grade_disagreement(*, ctcae_grade: int, astct_grades: Iterable[int]) -> int | None:
    """The worst ASTCT grade on the CRS/ICANS forms of the event's days when the event's CTCAE grade differs
    from it (None when they agree or there is no form). Grade 5 (death) is recorded on the event only:
    ASTCT grades 0-4, so a fatal event does not disagree."""
    grades = list(astct_grades)
    if not grades or ctcae_grade == 5:
        return None
    worst = max(grades)
    return worst if worst != ctcae_grade else None
