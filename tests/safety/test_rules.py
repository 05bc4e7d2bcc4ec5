"""Clinical cases for the safety rules (ASTCT 2019 grading, SAE clock, AE vocabularies)."""

import os
import tempfile
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from safety.rules import (
    CTCAE_SOC_BY_TERM,
    CTCAE_TERMS,
    ActionTaken,
    AeOutcome,
    CerebralEdema,
    Consciousness,
    Grading,
    Hypotension,
    Hypoxia,
    Relatedness,
    Seizure,
    SeriousnessCriterion,
    capd_score,
    crs_grading,
    grade_crs,
    grade_icans,
    icans_grading,
    ice_score,
    is_related,
    sae_initial_report_due,
    sae_report_late,
    sae_report_overdue,
    uses_capd,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")


def crs(temp=38.5, masked=False, hypotension="none", hypoxia="none"):
    return grade_crs(
        max_temperature_c=temp, fever_masked=masked, hypotension=hypotension, hypoxia=hypoxia
    )


def icans(ice=10, consciousness="normal", seizure="none", motor=False, edema="none", **kw):
    return grade_icans(
        ice_score=ice,
        consciousness=consciousness,
        seizure=seizure,
        motor_weakness=motor,
        cerebral_edema=edema,
        **kw,
    )


# --- choice values are the API contract ------------------------------------------------


def test_each_contract_value_grades_as_astct_says():
    """The API's values (the contract) each drive the grade the consensus gives them: a renamed, dropped or
    re-ordered value, or a grade table that maps it elsewhere, fails here."""
    assert {value: crs(hypotension=value) for value in Hypotension.values} == {
        "none": 1, "fluids": 2, "one_vasopressor": 3, "multiple_vasopressors": 4}
    assert {value: crs(hypoxia=value) for value in Hypoxia.values} == {
        "none": 1, "low_flow": 2, "high_flow": 3, "positive_pressure": 4}
    assert {value: icans(consciousness=value) for value in Consciousness.values} == {
        "normal": 0, "spontaneous": 1, "voice": 2, "tactile": 3, "unarousable": 4}
    assert {value: icans(seizure=value) for value in Seizure.values} == {
        "none": 0, "rapidly_resolving": 3, "prolonged_or_repetitive": 4}
    assert {value: icans(edema=value) for value in CerebralEdema.values} == {"none": 0, "focal": 3, "diffuse": 4}


def _schema_enum(components, node):
    """The enum an OpenAPI property resolves to ($ref, allOf, oneOf or array items), or None."""
    if "enum" in node:
        return [value for value in node["enum"] if value not in ("", None)]
    if "$ref" in node:
        return _schema_enum(components, components[node["$ref"].rsplit("/", 1)[1]])
    for key in ("allOf", "oneOf", "anyOf"):
        for part in node.get(key, []):
            if (found := _schema_enum(components, part)) is not None:
                return found
    if "items" in node:
        return _schema_enum(components, node["items"])
    return None


def test_ae_vocabularies_have_the_agreed_values():
    """The API publishes the agreed values (its OpenAPI schema): a renamed or dropped value breaks clients."""
    from drf_spectacular.generators import SchemaGenerator

    properties = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]

    def published(field):
        found = _schema_enum(properties, properties["AdverseEvent"]["properties"][field])
        assert found is not None, field
        return found

    assert published("seriousness_criteria") == SeriousnessCriterion.values == [
        "death",
        "life_threatening",
        "hospitalisation",
        "disability",
        "congenital_anomaly",
        "important_medical_event",
    ]
    assert published("relatedness_cart") == published("relatedness_lymphodepletion") == Relatedness.values
    assert published("outcome") == AeOutcome.values
    assert published("action_taken") == ActionTaken.values
    # Possible, probable and definite make an adverse reaction (expedited reporting); the rest do not.
    assert {value: is_related(value) for value in Relatedness.values} == {
        "not_related": False, "unlikely": False, "possible": True, "probable": True, "definite": True}
    assert AeOutcome.values == [
        "recovered",
        "recovering",
        "not_recovered",
        "recovered_with_sequelae",
        "fatal",
        "unknown",
    ]
    assert ActionTaken.values == ["none", "treatment", "hospitalisation", "other"]


# --- CRS -------------------------------------------------------------------------------


def test_fever_starts_at_38_0_c():
    """A threshold of 37.9 or 38.1 (or > instead of >=) changes one of these grades."""
    assert (crs(temp=37.9), crs(temp=38.0), crs(temp=38.1)) == (0, 1, 1)


def test_crs_grade_1_when_fever_alone():
    assert crs(temp=38.0) == 1


def test_no_crs_when_afebrile_and_nothing_else():
    assert crs(temp=37.9) == 0


def test_no_crs_when_temperature_not_recorded():
    assert crs(temp=None) == 0


def test_no_crs_without_fever_even_with_hypotension():
    assert crs(temp=37.2, hypotension="multiple_vasopressors") == 0


def test_no_crs_without_fever_even_with_hypoxia():
    assert crs(temp=37.2, hypoxia="positive_pressure") == 0


def test_crs_graded_without_fever_after_tocilizumab():
    assert crs(temp=36.8, masked=True, hypotension="one_vasopressor") == 3


def test_crs_graded_without_fever_after_corticosteroids_with_hypoxia():
    assert crs(temp=None, masked=True, hypoxia="low_flow") == 2


def test_afebrile_masked_assessment_without_hypotension_or_hypoxia_is_grade_0():
    """Masked fever is not "fever present": within an episode, after tocilizumab, an afebrile patient with
    neither hypotension nor hypoxia has no gradable CRS left (the episode resolves). Counting the mask as
    fever would keep such a patient at grade 1 for ever."""
    assert crs(temp=36.8, masked=True) == 0


def test_crs_grade_2_when_hypotension_responds_to_fluids():
    assert crs(hypotension="fluids") == 2


def test_crs_grade_2_when_low_flow_oxygen():
    assert crs(hypoxia="low_flow") == 2


def test_crs_grade_3_when_one_vasopressor():
    assert crs(hypotension="one_vasopressor") == 3


def test_crs_grade_3_when_high_flow_oxygen_or_facemask():
    assert crs(hypoxia="high_flow") == 3


def test_crs_grade_4_when_multiple_vasopressors():
    assert crs(hypotension="multiple_vasopressors") == 4


def test_crs_grade_4_when_positive_pressure_ventilation():
    assert crs(hypoxia="positive_pressure") == 4


@pytest.mark.parametrize(
    ("hypotension", "hypoxia", "grade", "driver"),
    [
        ("fluids", "high_flow", 3, "hypoxia"),
        ("one_vasopressor", "low_flow", 3, "hypotension"),
        ("multiple_vasopressors", "low_flow", 4, "hypotension"),
        ("fluids", "positive_pressure", 4, "hypoxia"),
        ("one_vasopressor", "high_flow", 3, "hypotension and hypoxia"),
    ],
)
def test_crs_grade_is_the_worse_of_hypotension_and_hypoxia(hypotension, hypoxia, grade, driver):
    grading = crs_grading(
        max_temperature_c=39.1, fever_masked=False, hypotension=hypotension, hypoxia=hypoxia
    )
    assert grading == Grading(grade, driver)


def test_crs_grading_explains_absent_fever():
    grading = crs_grading(
        max_temperature_c=37.0, fever_masked=False, hypotension="fluids", hypoxia="none"
    )
    assert grading == Grading(0, "no fever: not CRS")


def test_crs_grading_names_fever_as_driver_of_grade_1():
    assert crs_grading(
        max_temperature_c=38.2, fever_masked=False, hypotension="none", hypoxia="none"
    ) == Grading(1, "fever")


def test_crs_rejects_unknown_hypotension_value():
    with pytest.raises(ValueError, match="Hypotension"):
        crs(hypotension="pressors")


def test_crs_rejects_unknown_hypoxia_value_even_without_fever():
    with pytest.raises(ValueError, match="Hypoxia"):
        crs(temp=36.5, hypoxia="cpap")


def test_crs_accepts_enum_members():
    assert crs(hypotension=Hypotension.ONE_VASOPRESSOR, hypoxia=Hypoxia.NONE) == 3


# --- ICE score -------------------------------------------------------------------------


def test_ice_score_full_marks_is_10():
    total = ice_score(orientation=4, naming=3, following_commands=1, writing=1, attention=1)
    assert total == 10


def test_ice_score_adds_the_five_tasks():
    total = ice_score(orientation=2, naming=1, following_commands=1, writing=0, attention=0)
    assert total == 4


@pytest.mark.parametrize(
    "field, value",
    [
        ("orientation", 5),
        ("naming", 4),
        ("following_commands", 2),
        ("writing", 2),
        ("attention", 2),
        ("orientation", -1),
        ("naming", 1.5),
    ],
)
def test_ice_score_rejects_out_of_range_task(field, value):
    scores = dict(orientation=4, naming=3, following_commands=1, writing=1, attention=1)
    scores[field] = value
    with pytest.raises(ValueError, match=field):
        ice_score(**scores)


# --- ICANS: ICE domain boundaries ------------------------------------------------------


def test_ice_10_is_no_icans():
    assert icans(ice=10) == 0


def test_ice_9_is_icans_grade_1():
    assert icans(ice=9) == 1


def test_ice_7_is_icans_grade_1():
    assert icans(ice=7) == 1


def test_ice_6_is_icans_grade_2():
    assert icans(ice=6) == 2


def test_ice_3_is_icans_grade_2():
    assert icans(ice=3) == 2


def test_ice_2_is_icans_grade_3():
    assert icans(ice=2) == 3


def test_ice_0_awake_with_global_aphasia_is_icans_grade_3():
    assert icans(ice=0, consciousness="normal") == 3


def test_unarousable_patient_unable_to_do_ice_is_icans_grade_4():
    assert icans(ice=None, consciousness="unarousable") == 4


def test_sedated_intubated_patient_with_ice_not_done_is_not_grade_4_by_itself():
    """ICE not done (sedation, intubation) grades nothing: the other domains do. Before this rule, an
    intubated patient with no neurological finding was recorded as ICANS grade 4."""
    assert icans(ice=None) == 0
    assert icans(ice=None, consciousness="voice") == 2
    assert icans(ice=None, seizure="rapidly_resolving") == 3


@pytest.mark.parametrize("ice", [-1, 11])
def test_icans_rejects_impossible_ice_score(ice):
    with pytest.raises(ValueError, match="ice_score"):
        icans(ice=ice)


# --- ICANS: other domains --------------------------------------------------------------


@pytest.mark.parametrize(
    ("consciousness", "grade"),
    [("normal", 0), ("spontaneous", 1), ("voice", 2), ("tactile", 3), ("unarousable", 4)],
)
def test_depressed_consciousness_grades(consciousness, grade):
    assert icans(consciousness=consciousness) == grade


def test_rapidly_resolving_seizure_is_icans_grade_3():
    assert icans(seizure="rapidly_resolving") == 3


def test_prolonged_or_repetitive_seizure_is_icans_grade_4():
    assert icans(seizure="prolonged_or_repetitive") == 4


def test_deep_focal_motor_weakness_is_icans_grade_4():
    assert icans(motor=True) == 4


def test_focal_cerebral_edema_is_icans_grade_3():
    assert icans(edema="focal") == 3


def test_diffuse_cerebral_edema_is_icans_grade_4():
    assert icans(edema="diffuse") == 4


def test_icans_rejects_unknown_seizure_value():
    with pytest.raises(ValueError, match="Seizure"):
        icans(seizure="status")


# --- ICANS: tie-breaks where domains disagree ------------------------------------------


@pytest.mark.parametrize(
    ("case", "grade", "driver"),
    [
        # The consensus' own example: ICE 3 (grade 2) with a generalised seizure is grade 3.
        (dict(ice=3, seizure="rapidly_resolving"), 3, "seizure"),
        (dict(ice=8, consciousness="voice"), 2, "consciousness"),
        (dict(ice=5, consciousness="spontaneous"), 2, "ICE score"),
        (dict(ice=9, edema="focal"), 3, "cerebral oedema"),
        (dict(ice=10, motor=True), 4, "motor weakness"),
        (dict(ice=2, consciousness="tactile"), 3, "ICE score and consciousness"),
        (dict(ice=1, seizure="prolonged_or_repetitive"), 4, "seizure"),
        (dict(ice=6, edema="diffuse", seizure="rapidly_resolving"), 4, "cerebral oedema"),
        (dict(ice=None, consciousness="unarousable"), 4, "consciousness"),
    ],
)
def test_icans_grade_is_the_worst_domain(case, grade, driver):
    kwargs = dict(
        ice_score=case.get("ice", 10),
        consciousness=case.get("consciousness", "normal"),
        seizure=case.get("seizure", "none"),
        motor_weakness=case.get("motor", False),
        cerebral_edema=case.get("edema", "none"),
    )
    assert icans_grading(**kwargs) == Grading(grade, driver)


def test_icans_grading_says_no_icans_when_all_domains_normal():
    assert icans_grading(
        ice_score=10,
        consciousness="normal",
        seizure="none",
        motor_weakness=False,
        cerebral_edema="none",
    ) == Grading(0, "no ICANS")


# --- ICANS in children: CAPD -----------------------------------------------------------


def test_capd_score_adds_eight_items():
    assert capd_score([0, 1, 2, 3, 4, 0, 1, 2]) == 13


def test_capd_score_range_is_0_to_32():
    assert capd_score([0] * 8) == 0
    assert capd_score([4] * 8) == 32


@pytest.mark.parametrize("items", [[0] * 7, [0] * 9, [0] * 7 + [5], [0] * 7 + [-1]])
def test_capd_score_rejects_wrong_number_or_range_of_items(items):
    with pytest.raises(ValueError, match="CAPD"):
        capd_score(items)


@pytest.mark.parametrize(("age", "expected"), [(None, False), (0, True), (11, True), (12, False)])
def test_capd_used_for_children_under_12(age, expected):
    assert uses_capd(age) is expected


def test_negative_age_is_rejected():
    with pytest.raises(ValueError, match="age_years"):
        uses_capd(-1)


def test_child_with_capd_0_has_no_icans():
    assert icans(ice=None, age_years=6, capd_score=0) == 0


def test_child_with_capd_1_awake_is_icans_grade_1():
    assert icans(ice=None, age_years=6, capd_score=1, consciousness="spontaneous") == 1


def test_child_with_capd_8_awakening_to_voice_is_icans_grade_2():
    assert icans(ice=None, age_years=6, capd_score=8, consciousness="voice") == 2


def test_child_with_capd_8_alone_is_icans_grade_1():
    assert icans(ice=None, age_years=6, capd_score=8) == 1


def test_child_with_capd_9_is_icans_grade_3():
    assert icans(ice=None, age_years=6, capd_score=9) == 3


def test_child_unable_to_perform_capd_is_graded_by_the_other_domains():
    assert icans(ice=None, age_years=6, capd_score=None) == 0
    assert icans(ice=None, age_years=6, capd_score=None, consciousness="unarousable") == 4


def test_child_capd_score_is_the_encephalopathy_domain():
    grading = icans_grading(ice_score=None, consciousness="normal", seizure="none", motor_weakness=False,
                            cerebral_edema="none", age_years=8, capd_score=12)
    assert grading == Grading(3, "CAPD score")


def test_child_under_12_with_an_ice_score_is_refused():
    """ASTCT: under 12, CAPD. An ICE score for a ten-year-old is not a grade of anything."""
    with pytest.raises(ValueError, match="CAPD, not ICE"):
        icans(ice=8, age_years=10)


def test_twelve_year_old_with_a_capd_score_is_refused():
    with pytest.raises(ValueError, match="assessed with ICE"):
        icans(ice=10, age_years=12, capd_score=20)


def test_twelve_year_old_is_graded_by_ice():
    assert icans(ice=6, age_years=12) == 2


def test_icans_rejects_impossible_capd_score():
    with pytest.raises(ValueError, match="capd_score"):
        icans(ice=None, age_years=5, capd_score=33)


# --- SAE reporting clock ---------------------------------------------------------------


def test_sae_initial_report_is_due_24_hours_after_awareness():
    aware = datetime(2024, 3, 1, 22, 30, tzinfo=SHANGHAI)
    assert sae_initial_report_due(aware) == datetime(2024, 3, 2, 22, 30, tzinfo=SHANGHAI)


def test_sae_due_time_keeps_the_awareness_time_zone():
    aware = datetime(2024, 3, 1, 22, 30, tzinfo=SHANGHAI)
    assert sae_initial_report_due(aware).tzinfo is SHANGHAI


def test_sae_reported_after_midnight_within_24_hours_is_on_time():
    aware = datetime(2024, 3, 1, 22, 30, tzinfo=SHANGHAI)
    reported = datetime(2024, 3, 2, 0, 15, tzinfo=SHANGHAI)
    assert sae_report_late(aware_at=aware, reported_at=reported) is False


def test_sae_reported_at_exactly_24_hours_is_on_time():
    aware = datetime(2024, 3, 1, 22, 30, tzinfo=SHANGHAI)
    reported = datetime(2024, 3, 2, 22, 30, tzinfo=SHANGHAI)
    assert sae_report_late(aware_at=aware, reported_at=reported) is False


def test_sae_reported_one_second_after_24_hours_is_late():
    aware = datetime(2024, 3, 1, 22, 30, tzinfo=SHANGHAI)
    reported = datetime(2024, 3, 2, 22, 30, 1, tzinfo=SHANGHAI)
    assert sae_report_late(aware_at=aware, reported_at=reported) is True


def test_sae_unreported_is_not_overdue_at_exactly_24_hours():
    aware = datetime(2024, 3, 1, 22, 30, tzinfo=SHANGHAI)
    now = datetime(2024, 3, 2, 22, 30, tzinfo=SHANGHAI)
    assert sae_report_overdue(aware_at=aware, reported_at=None, now=now) is False


def test_sae_unreported_after_24_hours_is_overdue():
    aware = datetime(2024, 3, 1, 22, 30, tzinfo=SHANGHAI)
    now = datetime(2024, 3, 2, 22, 31, tzinfo=SHANGHAI)
    assert sae_report_overdue(aware_at=aware, reported_at=None, now=now) is True


def test_sae_reported_is_no_longer_overdue_even_if_late():
    aware = datetime(2024, 3, 1, 22, 30, tzinfo=SHANGHAI)
    reported = datetime(2024, 3, 3, 9, 0, tzinfo=SHANGHAI)
    now = datetime(2024, 3, 4, 9, 0, tzinfo=SHANGHAI)
    assert sae_report_overdue(aware_at=aware, reported_at=reported, now=now) is False
    assert sae_report_late(aware_at=aware, reported_at=reported) is True


def test_sae_clock_compares_instants_across_time_zones():
    aware = datetime(2024, 3, 1, 22, 30, tzinfo=SHANGHAI)  # 14:30 UTC
    now_utc = datetime(2024, 3, 2, 14, 30, tzinfo=UTC)  # exactly due
    assert sae_report_overdue(aware_at=aware, reported_at=None, now=now_utc) is False
    now_utc += timedelta(seconds=1)
    assert sae_report_overdue(aware_at=aware, reported_at=None, now=now_utc) is True


def test_sae_deadline_is_24_elapsed_hours_across_a_dst_change():
    aware = datetime(2024, 3, 30, 12, 0, tzinfo=LONDON)  # GMT; clocks go forward overnight
    due = sae_initial_report_due(aware)
    assert due == datetime(2024, 3, 31, 13, 0, tzinfo=LONDON)  # BST wall clock
    # Same-tzinfo subtraction in Python is wall-clock (25 h here): compare instants.
    assert due.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=24)
    on_time = datetime(2024, 3, 31, 12, 30, tzinfo=LONDON)  # 23.5 h elapsed
    assert sae_report_late(aware_at=aware, reported_at=on_time) is False


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: sae_initial_report_due(naive),
        lambda naive: sae_report_late(
            aware_at=naive, reported_at=datetime(2024, 3, 2, tzinfo=SHANGHAI)
        ),
        lambda naive: sae_report_late(
            aware_at=datetime(2024, 3, 1, tzinfo=SHANGHAI), reported_at=naive
        ),
        lambda naive: sae_report_overdue(
            aware_at=datetime(2024, 3, 1, tzinfo=SHANGHAI), reported_at=None, now=naive
        ),
        lambda naive: sae_report_overdue(
            aware_at=datetime(2024, 3, 1, tzinfo=SHANGHAI), reported_at=naive, now=naive
        ),
    ],
)
def test_sae_clock_rejects_naive_datetimes(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2024, 3, 1, 22, 30))


# --- relatedness and CTCAE terms -------------------------------------------------------


@pytest.mark.parametrize(
    ("relatedness", "related"),
    [
        ("not_related", False),
        ("unlikely", False),
        ("possible", True),
        ("probable", True),
        ("definite", True),
    ],
)
def test_possible_probable_and_definite_count_as_related(relatedness, related):
    assert is_related(relatedness) is related


def test_is_related_rejects_unknown_value():
    with pytest.raises(ValueError):
        is_related("maybe")


CTCAE_V5_SOCS = {
    "Blood and lymphatic system disorders",
    "Cardiac disorders",
    "Gastrointestinal disorders",
    "General disorders and administration site conditions",
    "Hepatobiliary disorders",
    "Immune system disorders",
    "Infections and infestations",
    "Injury, poisoning and procedural complications",
    "Investigations",
    "Metabolism and nutrition disorders",
    "Musculoskeletal and connective tissue disorders",
    "Nervous system disorders",
    "Psychiatric disorders",
    "Renal and urinary disorders",
    "Respiratory, thoracic and mediastinal disorders",
    "Skin and subcutaneous tissue disorders",
    "Vascular disorders",
}


def test_ctcae_terms_are_unique_with_known_system_organ_classes():
    terms = [term for term, _ in CTCAE_TERMS]
    assert len(terms) == len(set(terms)) >= 60
    assert {soc for _, soc in CTCAE_TERMS} <= CTCAE_V5_SOCS


def test_ctcae_terms_place_car_t_toxicities_in_their_ctcae_classes():
    assert CTCAE_SOC_BY_TERM["Cytokine release syndrome"] == "Immune system disorders"
    assert CTCAE_SOC_BY_TERM["Encephalopathy"] == "Nervous system disorders"
    assert CTCAE_SOC_BY_TERM["Febrile neutropenia"] == "Blood and lymphatic system disorders"
    assert CTCAE_SOC_BY_TERM["Neutrophil count decreased"] == "Investigations"
    assert CTCAE_SOC_BY_TERM["Fever"] == "General disorders and administration site conditions"


def test_icans_is_not_a_ctcae_term():
    assert not any("neurotoxicity" in term.lower() for term in CTCAE_SOC_BY_TERM)


# --- properties ------------------------------------------------------------------------

# Keep Hypothesis' files out of the source tree (unless the project chooses a place).
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "hypothesis-edc")
)
no_database = settings(database=None)
temperatures = st.one_of(st.none(), st.floats(min_value=34.0, max_value=42.5))
ice_scores = st.one_of(st.none(), st.integers(0, 10))


def _ice_severity(ice):  # None (not assessable) is the worst, then lower scores
    return 11 if ice is None else 10 - ice


@no_database
@given(temperatures, st.booleans(), st.sampled_from(Hypotension), st.sampled_from(Hypoxia))
def test_crs_grade_is_always_0_to_4(temp, masked, hypotension, hypoxia):
    assert 0 <= crs(temp, masked, hypotension, hypoxia) <= 4


@no_database
@given(
    temperatures,
    temperatures,
    st.booleans(),
    st.sampled_from(Hypotension),
    st.sampled_from(Hypotension),
    st.sampled_from(Hypoxia),
    st.sampled_from(Hypoxia),
)
def test_crs_grade_never_falls_when_any_input_worsens(t1, t2, masked, hyp1, hyp2, ox1, ox2):
    rank_hyp, rank_ox = list(Hypotension), list(Hypoxia)
    low_t, high_t = sorted([t1, t2], key=lambda t: -1 if t is None else t)
    low_hyp, high_hyp = sorted([hyp1, hyp2], key=rank_hyp.index)
    low_ox, high_ox = sorted([ox1, ox2], key=rank_ox.index)
    assert crs(low_t, masked, low_hyp, low_ox) <= crs(high_t, masked, low_hyp, low_ox)
    assert crs(low_t, masked, low_hyp, low_ox) <= crs(low_t, masked, high_hyp, low_ox)
    assert crs(low_t, masked, low_hyp, low_ox) <= crs(low_t, masked, low_hyp, high_ox)
    assert crs(low_t, False, low_hyp, low_ox) <= crs(low_t, True, low_hyp, low_ox)


@no_database
@given(
    ice_scores,
    st.sampled_from(Consciousness),
    st.sampled_from(Seizure),
    st.booleans(),
    st.sampled_from(CerebralEdema),
)
def test_icans_grade_is_always_0_to_4(ice, consciousness, seizure, motor, edema):
    assert 0 <= icans(ice, consciousness, seizure, motor, edema) <= 4


@no_database
@given(
    ice_scores,
    ice_scores,
    st.sampled_from(Consciousness),
    st.sampled_from(Consciousness),
    st.sampled_from(Seizure),
    st.sampled_from(Seizure),
    st.sampled_from(CerebralEdema),
    st.sampled_from(CerebralEdema),
    st.booleans(),
)
def test_icans_grade_never_falls_when_any_domain_worsens(i1, i2, c1, c2, s1, s2, e1, e2, motor):
    # ICE not done is not "worse" than a score: it grades nothing, so compare scored ICE with scored ICE.
    assume((i1 is None) == (i2 is None))
    low_i, high_i = sorted([i1, i2], key=_ice_severity)
    low_c, high_c = sorted([c1, c2], key=list(Consciousness).index)
    low_s, high_s = sorted([s1, s2], key=list(Seizure).index)
    low_e, high_e = sorted([e1, e2], key=list(CerebralEdema).index)
    base = icans(low_i, low_c, low_s, motor, low_e)
    assert base <= icans(high_i, low_c, low_s, motor, low_e)
    assert base <= icans(low_i, high_c, low_s, motor, low_e)
    assert base <= icans(low_i, low_c, high_s, motor, low_e)
    assert base <= icans(low_i, low_c, low_s, motor, high_e)
    assert base <= icans(low_i, low_c, low_s, True, low_e)


@no_database
@given(
    st.lists(st.integers(0, 4), min_size=8, max_size=8),
    st.lists(st.integers(0, 4), min_size=8, max_size=8),
)
def test_child_icans_grade_never_falls_as_capd_worsens(a, b):
    low, high = sorted([capd_score(a), capd_score(b)])
    assert icans(ice=None, age_years=7, capd_score=low) <= icans(
        ice=None, age_years=7, capd_score=high
    )


@no_database
@given(
    st.integers(0, 4), st.integers(0, 3), st.integers(0, 1), st.integers(0, 1), st.integers(0, 1)
)
def test_ice_score_is_the_sum_of_its_tasks(orientation, naming, commands, writing, attention):
    total = ice_score(
        orientation=orientation,
        naming=naming,
        following_commands=commands,
        writing=writing,
        attention=attention,
    )
    assert total == orientation + naming + commands + writing + attention
    assert 0 <= total <= 10


@no_database
@given(st.datetimes(timezones=st.timezones(), allow_imaginary=False))
def test_sae_deadline_is_always_24_elapsed_hours_and_on_time_at_the_deadline(aware):
    due = sae_initial_report_due(aware)
    assert due.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=24)
    assert sae_report_late(aware_at=aware, reported_at=due) is False
    assert sae_report_overdue(aware_at=aware, reported_at=None, now=due) is False
