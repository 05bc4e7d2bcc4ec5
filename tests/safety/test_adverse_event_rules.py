"""The adverse-event hard checks, one rule each (`safety.rules`), and how the service joins them.

Each rule answers field -> message and nothing else; `adverse_event_hard_checks` keeps, per field,
the first message in the order dates, seriousness, awareness, fatal event, resolution, action.
"""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from crf.checks import every_error_per_field, first_error_per_field
from safety.rules import (
    ActionTaken,
    AeOutcome,
    SeriousnessCriterion,
    action_taken_errors,
    awareness_errors,
    fatal_event_errors,
    resolution_errors,
    seriousness_errors,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=SHANGHAI)
DEATH = SeriousnessCriterion.DEATH
HOSPITAL = SeriousnessCriterion.HOSPITALISATION


def test_a_serious_event_without_a_criterion_is_refused():
    assert seriousness_errors(serious=True, criteria=[]) == {
        "seriousness_criteria": "A serious adverse event meets at least one seriousness criterion."}


def test_an_event_meeting_a_criterion_must_be_marked_serious():
    assert seriousness_errors(serious=False, criteria=[HOSPITAL]) == {
        "serious": "The event meets a seriousness criterion: mark it serious."}


def test_an_unknown_seriousness_criterion_is_named():
    """Unknown codes are reported before the serious/criteria agreement (breaking the order shows the other
    message)."""
    assert seriousness_errors(serious=False, criteria=["hospitalisation", "bad_luck"]) == {
        "seriousness_criteria": "Unknown seriousness criteria: bad_luck."}


def test_serious_with_a_criterion_and_non_serious_without_are_consistent():
    assert seriousness_errors(serious=True, criteria=[HOSPITAL]) == {}
    assert seriousness_errors(serious=False, criteria=[]) == {}


def test_a_serious_event_needs_the_time_the_site_became_aware():
    assert "24-hour clock" in awareness_errors(serious=True, aware_at=None, onset_date=None, now=NOW)["aware_at"]
    assert awareness_errors(serious=False, aware_at=None, onset_date=None, now=NOW) == {}


def test_awareness_is_compared_with_the_onset_in_the_sites_time_zone():
    """01:00 in Shanghai on 5 March is 17:00 UTC on 4 March: aware on the onset day, not before it. Comparing
    the UTC date would refuse it."""
    aware_at = datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
    assert awareness_errors(serious=True, aware_at=aware_at, onset_date=date(2026, 3, 5), now=NOW) == {}
    assert awareness_errors(serious=True, aware_at=aware_at, onset_date=date(2026, 3, 6), now=NOW) == {
        "aware_at": "The site cannot have learned of the event before its onset."}


def test_awareness_in_the_future_is_refused():
    assert awareness_errors(serious=True, aware_at=NOW + timedelta(minutes=1), onset_date=date(2026, 3, 1),
                            now=NOW) == {"aware_at": "Awareness is in the future."}
    assert awareness_errors(serious=True, aware_at=NOW, onset_date=date(2026, 3, 1), now=NOW) == {}


def test_grade_5_needs_the_death_date_the_fatal_outcome_and_the_death_criterion():
    assert fatal_event_errors(grade=5, outcome=AeOutcome.NOT_RECOVERED, death_date=None, criteria=[HOSPITAL]) == {
        "death_date": "A grade 5 event is a death: give the death date.",
        "outcome": "A grade 5 event has the outcome 'fatal'.",
        "seriousness_criteria": "A grade 5 event is serious: it results in death.",
    }
    assert fatal_event_errors(grade=5, outcome=AeOutcome.FATAL, death_date=date(2026, 3, 9), criteria=[DEATH]) == {}


def test_a_fatal_outcome_below_grade_5_is_refused_on_the_grade():
    assert fatal_event_errors(grade=4, outcome=AeOutcome.FATAL, death_date=date(2026, 3, 9), criteria=[DEATH]) == {
        "grade": "A fatal event is grade 5 by CTCAE.",
        "death_date": "Only a grade 5 (fatal) event has a death date.",
    }
    assert fatal_event_errors(grade=3, outcome=AeOutcome.RECOVERING, death_date=None, criteria=[]) == {}


@pytest.mark.parametrize("outcome", [AeOutcome.RECOVERED, AeOutcome.RECOVERED_WITH_SEQUELAE])
def test_a_resolved_event_needs_its_resolution_date(outcome):
    assert resolution_errors(outcome=outcome, resolution_date=None) == {
        "resolution_date": "A resolved event needs its resolution date."}
    assert resolution_errors(outcome=outcome, resolution_date=date(2026, 3, 8)) == {}


@pytest.mark.parametrize("outcome", [AeOutcome.NOT_RECOVERED, AeOutcome.RECOVERING, AeOutcome.FATAL])
def test_an_unresolved_or_fatal_event_has_no_resolution_date(outcome):
    assert resolution_errors(outcome=outcome, resolution_date=date(2026, 3, 8)) == {
        "resolution_date": "An event that has not resolved has no resolution date."}
    assert resolution_errors(outcome=outcome, resolution_date=None) == {}


def test_an_unknown_outcome_may_have_a_resolution_date_or_not():
    assert resolution_errors(outcome=AeOutcome.UNKNOWN, resolution_date=None) == {}
    assert resolution_errors(outcome=AeOutcome.UNKNOWN, resolution_date=date(2026, 3, 8)) == {}


def test_other_action_says_which():
    assert action_taken_errors(action_taken=ActionTaken.OTHER, action_taken_other="  ") == {
        "action_taken_other": "Say what other action was taken."}
    assert action_taken_errors(action_taken=ActionTaken.OTHER, action_taken_other="Plasmapheresis") == {}
    assert action_taken_errors(action_taken=ActionTaken.TREATMENT, action_taken_other="") == {}


def test_the_first_message_for_a_field_wins_and_the_order_is_kept():
    joined = first_error_per_field({"death_date": "in the future"}, {"death_date": "give it", "outcome": "fatal"})
    assert joined == {"death_date": "in the future", "outcome": "fatal"}
    assert list(joined) == ["death_date", "outcome"]


def test_every_message_for_a_field_is_kept_in_order():
    assert every_error_per_field({"a": ["one"]}, {"b": ["two"], "a": ["three"]}) == {"a": ["one", "three"],
                                                                                    "b": ["two"]}


def test_the_service_shows_the_date_error_before_the_grade_5_rule(infused_patient, coordinator):
    """A grade 5 event whose death date is in the future: the date's own message shows on the death date, not
    "give the death date" (joining with the last message per field would show the latter); the other rules'
    messages show on their own fields."""
    from safety.models import AdverseEvent
    from safety.services import adverse_event_hard_checks

    tomorrow = datetime.now(SHANGHAI).date() + timedelta(days=2)
    event = AdverseEvent(
        patient=infused_patient, protocol=infused_patient.protocol, term="Nausea", grade=5, relatedness_cart="possible",
        relatedness_lymphodepletion="unlikely",
        onset_date=infused_patient.infusion_date, death_date=tomorrow, outcome=AeOutcome.RECOVERING,
        serious=True, seriousness_criteria=[HOSPITAL], aware_at=None, action_taken=ActionTaken.OTHER,
        action_taken_other="",
    )
    with pytest.raises(ValidationError) as refused:
        adverse_event_hard_checks(event=event)
    assert refused.value.message_dict == {
        "death_date": [f"Death date {tomorrow:%Y-%m-%d} is in the future."],
        "aware_at": ["Give when the site became aware of the serious event: the 24-hour clock starts there."],
        "outcome": ["A grade 5 event has the outcome 'fatal'."],
        "seriousness_criteria": ["A grade 5 event is serious: it results in death."],
        "action_taken_other": ["Say what other action was taken."],
    }
