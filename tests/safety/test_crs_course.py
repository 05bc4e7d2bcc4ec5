"""CRS graded over the whole course (safety.rules.crs_course): a fever opens an episode; an afebrile
assessment is graded only inside an episode after antipyretics, tocilizumab or corticosteroids."""
from datetime import date

import pytest

from safety.rules import CrsInput, crs_course

D1, D2, D3, D4, D5 = (date(2026, 2, day) for day in (2, 3, 4, 5, 6))


def assess(key, on, temp, hypotension="none", hypoxia="none", ticked=False, tocilizumab=None, steroid=None):
    return CrsInput(key=key, assessment_date=on, max_temperature_c=temp, hypotension=hypotension, hypoxia=hypoxia,
                    treatment_given=ticked, tocilizumab_given_on=tocilizumab, corticosteroid_given_on=steroid)


def test_afebrile_first_assessment_with_box_ticked_and_one_vasopressor_is_not_crs_grade_3():
    """The audit's first case: 36.9 °C on a first assessment, "fever masked" ticked, one vasopressor. No fever
    ever opened an episode, so the tick masks nothing: grade 0, not 3."""
    course = crs_course([assess("a", D1, 36.9, hypotension="one_vasopressor", ticked=True)])
    assert course.gradings["a"].grade == 0
    assert course.gradings["a"].episode is None
    assert "No fever ≥ 38.0 °C has opened a CRS episode" in course.gradings["a"].rule
    assert course.episodes == ()


def test_tocilizumab_then_37_c_with_vasopressor_and_high_flow_oxygen_is_graded_3_within_the_episode():
    """The audit's second case: fever the day before, tocilizumab recorded, 37.0 °C, box unticked, one
    vasopressor and high-flow oxygen. Fever is no longer required after tocilizumab: grade 3, not 0."""
    course = crs_course([
        assess("fever", D1, 39.2),
        assess("after", D2, 37.0, hypotension="one_vasopressor", hypoxia="high_flow", tocilizumab=D2),
    ])
    after = course.gradings["after"]
    assert (after.grade, after.driver, after.episode) == (3, "hypotension and hypoxia", 1)
    assert "after tocilizumab on 2026-02-03" in after.rule
    (episode,) = course.episodes
    assert (episode.onset_date, episode.peak_grade, episode.peak_date, episode.resolution_date) == (D1, 3, D2, None)
    assert episode.treatments == ((D2, "tocilizumab"),)


def test_afebrile_hypotension_within_an_episode_without_treatment_is_not_graded_and_the_episode_stays_open():
    course = crs_course([assess("fever", D1, 38.4), assess("b", D2, 37.1, hypotension="fluids"),
                         assess("c", D3, 38.1)])
    assert course.gradings["b"].grade == 0
    assert "no antipyretic, tocilizumab or corticosteroid" in course.gradings["b"].rule
    assert [e.onset_date for e in course.episodes] == [D1]  # the fever of day 3 is the same episode


def test_corticosteroid_given_before_the_fever_does_not_mask_a_later_afebrile_assessment():
    """Treatment masks fever only once CRS has begun: a steroid given before the episode's onset does not count."""
    course = crs_course([assess("pre", D1, 37.0, steroid=D1), assess("fever", D2, 38.6),
                         assess("c", D3, 36.9, hypoxia="low_flow")])
    assert course.gradings["c"].grade == 0


def test_ticked_antipyretic_on_a_febrile_assessment_masks_the_next_afebrile_one():
    course = crs_course([assess("fever", D1, 39.0, ticked=True), assess("b", D2, 36.8, hypoxia="low_flow")])
    assert (course.gradings["b"].grade, course.gradings["b"].driver) == (2, "hypoxia")
    assert course.episodes[0].treatments == ((D1, "antipyretic or anti-cytokine therapy"),)


def test_first_assessment_without_fever_hypotension_or_hypoxia_resolves_the_episode_and_a_new_fever_opens_another():
    course = crs_course([
        assess("a", D1, 38.9, hypotension="fluids", tocilizumab=D1), assess("b", D2, 36.9, hypoxia="low_flow"),
        assess("c", D3, 36.8), assess("d", D4, 36.7, hypotension="one_vasopressor"), assess("e", D5, 38.3),
    ])
    assert [course.gradings[key].grade for key in "abcde"] == [2, 2, 0, 0, 1]
    assert "resolved on this assessment" in course.gradings["c"].rule
    first, second = course.episodes
    assert (first.onset_date, first.peak_grade, first.resolution_date) == (D1, 2, D3)
    assert (second.number, second.onset_date, second.resolution_date) == (2, D5, None)
    assert course.gradings["d"].episode is None  # after resolution, no episode: the vasopressor is not CRS


def test_course_is_read_in_date_order_whatever_the_order_given():
    forward = crs_course([assess("fever", D1, 39.0, tocilizumab=D1), assess("b", D2, 36.5, hypoxia="high_flow")])
    backward = crs_course([assess("b", D2, 36.5, hypoxia="high_flow"), assess("fever", D1, 39.0, tocilizumab=D1)])
    assert forward == backward
    assert backward.gradings["b"].grade == 3


@pytest.mark.parametrize("temp, grade", [(37.9, 0), (38.0, 1)])
def test_fever_threshold_opens_an_episode_at_38_0(temp, grade):
    assert crs_course([assess("a", D1, temp)]).gradings["a"].grade == grade
