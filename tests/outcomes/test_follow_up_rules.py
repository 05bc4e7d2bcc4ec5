"""The follow-up date rules, one function each (`outcomes.rules`), and `follow_up_date_errors`, which joins
them (a field shows the first rule's message).
"""

from datetime import date, timedelta

from outcomes.rules import (
    after_recorded_death_errors,
    death_date_order_errors,
    follow_up_date_errors,
    follow_up_date_range_errors,
    follow_up_status_errors,
)

DAY_0 = date(2026, 2, 6)


def day(n: int) -> date:
    return DAY_0 + timedelta(days=n)


def test_a_date_before_the_infusion_is_refused():
    assert follow_up_date_range_errors(dates={"contact_date": day(30), "hsct_date": day(-1)}, infusion_date=DAY_0,
                                       contact_date=day(30), today=day(40)) == {
        "hsct_date": f"This date is before the CAR-T infusion ({DAY_0:%Y-%m-%d})."}


def test_an_event_after_the_contact_cannot_have_been_reported_at_it():
    assert follow_up_date_range_errors(dates={"contact_date": day(30), "relapse_date": day(31)},
                                       infusion_date=DAY_0, contact_date=day(30), today=day(40)) == {
        "relapse_date": "This date is after the contact date: it cannot have been reported yet."}


def test_the_future_is_named_before_the_contact_date():
    """A relapse in the future is also after the contact: the future is the message (the first rule)."""
    assert follow_up_date_range_errors(dates={"contact_date": day(30), "relapse_date": day(50)},
                                       infusion_date=DAY_0, contact_date=day(30), today=day(40)) == {
        "relapse_date": f"This date ({day(50):%Y-%m-%d}) is in the future."}


def test_without_today_no_date_is_in_the_future():
    assert follow_up_date_range_errors(dates={"contact_date": day(900)}, infusion_date=DAY_0,
                                       contact_date=day(900), today=None) == {}


def test_relapsed_and_dead_need_their_dates_and_a_death_date_needs_dead():
    assert follow_up_status_errors(status="relapsed", relapse_date=None, death_date=None) == {
        "relapse_date": "Give the date of the relapse."}
    assert follow_up_status_errors(status="dead", relapse_date=None, death_date=None) == {
        "death_date": "Give the date of death."}
    assert follow_up_status_errors(status="alive_in_remission", relapse_date=None, death_date=day(9)) == {
        "status": "A death date is given: the status must be Dead."}
    assert follow_up_status_errors(status="dead", relapse_date=None, death_date=day(9)) == {}


def test_a_death_before_the_first_relapse_is_refused_whichever_form_recorded_it():
    assert death_date_order_errors(death_date=day(100), relapse_dates=[None, day(120)], hsct_date=None,
                                   recorded_death_date=None) == {
        "death_date": f"The death date is before the relapse ({day(120):%Y-%m-%d})."}
    assert death_date_order_errors(death_date=day(100), relapse_dates=[day(130), day(90)], hsct_date=None,
                                   recorded_death_date=None) == {}


def test_a_death_before_the_transplant_is_refused():
    assert death_date_order_errors(death_date=day(100), relapse_dates=[None, None], hsct_date=day(101),
                                   recorded_death_date=None) == {
        "death_date": f"The death date is before the HSCT ({day(101):%Y-%m-%d})."}


def test_a_patient_dies_once():
    assert death_date_order_errors(death_date=day(100), relapse_dates=[None, None], hsct_date=None,
                                   recorded_death_date=day(99)) == {
        "death_date": f"A death on {day(99):%Y-%m-%d} is already recorded for this patient."}
    assert death_date_order_errors(death_date=day(99), relapse_dates=[None, None], hsct_date=None,
                                   recorded_death_date=day(99)) == {}


def test_no_relapse_or_transplant_after_the_recorded_death():
    message = f"This date is after the patient's recorded death ({day(99):%Y-%m-%d})."
    assert after_recorded_death_errors(relapse_date=day(100), hsct_date=day(98), recorded_death_date=day(99)) == {
        "relapse_date": message}
    assert after_recorded_death_errors(relapse_date=day(100), hsct_date=day(101), recorded_death_date=None) == {}


def test_the_joined_rules_keep_the_first_message_of_each_field():
    """A death date before the infusion on a form that says "relapsed" without a relapse date: the death date
    shows the range rule (not the order rules that follow), and each other rule shows on its own field."""
    errors = follow_up_date_errors(infusion_date=DAY_0, contact_date=day(30), status="relapsed",
                                   relapse_date=None, death_date=day(-2), hsct_date=day(10),
                                   recorded_death_date=day(5), today=day(40))
    assert errors == {
        "death_date": f"This date is before the CAR-T infusion ({DAY_0:%Y-%m-%d}).",
        "relapse_date": "Give the date of the relapse.",
        "status": "A death date is given: the status must be Dead.",
        "hsct_date": f"This date is after the patient's recorded death ({day(5):%Y-%m-%d}).",
    }
