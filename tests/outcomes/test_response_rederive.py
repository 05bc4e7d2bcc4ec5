"""Derived responses follow their inputs: every response of the patient is derived again, in date
order, when an assessment is entered, corrected or removed, and each change is audited with the cause."""
import pytest
from django.core.exceptions import ValidationError

from monitoring import services as monitoring_services
from outcomes.models import ResponseAssessment
from outcomes.services import response_assessment_remove, response_assessment_save

from .conftest import day

CR_MARROW = {"bone_marrow_blasts_percent": 1, "circulating_blasts": False, "extramedullary_disease": False,
             "anc_per_ul": 1500, "platelets_per_ul": 150_000}
BLASTS_20 = {**CR_MARROW, "bone_marrow_blasts_percent": 20}


def _save(patient, by, on, values):
    return response_assessment_save(patient=patient, by=by, values={"assessment_date": on, **values})


def test_day_90_marrow_with_20_percent_blasts_becomes_a_relapse_when_the_earlier_day_28_cr_is_entered(
        infused, coordinator):
    day_90 = _save(infused, coordinator, day(90), BLASTS_20)
    assert day_90.response == "no_response"
    _save(infused, coordinator, day(28), CR_MARROW)
    day_90.refresh_from_db()
    assert day_90.response == "relapse"
    row = day_90.history.first()
    assert row.history_change_reason.startswith("Response re-derived (No response (refractory disease) → Relapse)")
    assert f"the assessment of {day(28):%Y-%m-%d} was entered" in row.history_change_reason


def test_removing_the_day_28_cr_turns_the_day_90_relapse_back_to_no_response(infused, coordinator):
    day_28 = _save(infused, coordinator, day(28), CR_MARROW)
    day_90 = _save(infused, coordinator, day(90), BLASTS_20)
    assert day_90.response == "relapse"
    response_assessment_remove(crf=day_28, by=coordinator, reason="Entered for the wrong patient")
    day_28.refresh_from_db()
    day_90.refresh_from_db()
    assert day_28.removed and day_28.removal_reason == "Entered for the wrong patient"
    assert day_90.response == "no_response"
    assert "was removed (Entered for the wrong patient)" in day_90.history.first().history_change_reason


def test_correcting_the_day_28_blasts_to_20_percent_undoes_the_later_relapse(infused, coordinator, monitor):
    day_28 = _save(infused, coordinator, day(28), CR_MARROW)
    day_90 = _save(infused, coordinator, day(90), BLASTS_20)
    query = monitoring_services.query_raise(crf=day_28, field="bone_marrow_blasts_percent", text="Check", by=monitor)
    monitoring_services.query_answer(query=query, by=coordinator, text="20 %", new_value="20",
                                     reason="Pathology report")
    day_28.refresh_from_db()
    day_90.refresh_from_db()
    assert (day_28.response, day_90.response) == ("no_response", "no_response")
    assert "was corrected (Pathology report)" in day_90.history.first().history_change_reason


def test_moving_the_cr_after_the_blasts_makes_the_blasts_a_non_response(infused, coordinator):
    day_28 = _save(infused, coordinator, day(28), CR_MARROW)
    day_60 = _save(infused, coordinator, day(60), BLASTS_20)
    assert day_60.response == "relapse"
    response_assessment_save(patient=infused, by=coordinator, assessment=day_28,
                             values={"assessment_date": day(75)}, reason="Date of the aspirate")
    day_60.refresh_from_db()
    assert day_60.response == "no_response"


def test_a_rederived_signed_assessment_loses_its_signature(infused, coordinator, monitor, investigator):
    from tests.factories import PASSWORD

    day_90 = _save(infused, coordinator, day(90), BLASTS_20)
    monitoring_services.crf_verify(crf=day_90, by=monitor)
    day_90.refresh_from_db()
    signature = monitoring_services.crf_sign(crf=day_90, by=investigator, password=PASSWORD)
    _save(infused, coordinator, day(28), CR_MARROW)
    signature.refresh_from_db()
    day_90.refresh_from_db()
    assert day_90.response == "relapse" and day_90.status == "submitted"
    assert signature.voided_at is not None


def test_a_locked_later_assessment_stops_a_change_that_would_rederive_it(infused, coordinator, data_manager):
    day_90 = _save(infused, coordinator, day(90), BLASTS_20)
    monitoring_services.crf_lock(crf=day_90, by=data_manager, reason="Clean")
    with pytest.raises(ValidationError):
        _save(infused, coordinator, day(28), CR_MARROW)
    assert ResponseAssessment.objects.filter(patient=infused).count() == 1
    day_90.refresh_from_db()
    assert day_90.response == "no_response"
