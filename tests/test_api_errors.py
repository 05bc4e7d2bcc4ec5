"""config.api_errors: every route answers a service's refusal the same way."""
import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework import exceptions

from config.api_errors import api_exception_handler
from crf.checks import CrfChange, CrfConflict, SoftCheck, SoftChecksNotAcknowledged


class _View:
    api_field_names = {"deviation_reason": "reason"}


def test_a_stale_version_is_a_409_with_what_the_other_user_changed():
    change = CrfChange(field="weight_kg", label="Weight (kg)", old="70.0", new="68.5", by="Li Wei (investigator)",
                       at=datetime.datetime(2026, 11, 24, 9, 30, tzinfo=datetime.UTC), reason="Scale recalibrated")
    conflict = CrfConflict(crf_label="Infusion", expected_version=2, current_version=3, changes=[change])
    response = api_exception_handler(conflict, {"view": None})
    assert response.status_code == 409
    assert response.data["current_version"] == 3
    assert response.data["changes"][0] == {
        "field": "weight_kg", "label": "Weight (kg)", "old": "70.0", "new": "68.5", "by": "Li Wei (investigator)",
        "at": "2026-11-24T09:30:00+00:00", "reason": "Scale recalibrated",
    }


def test_an_unacknowledged_dose_deviation_is_a_400_naming_the_check():
    check = SoftCheck(rule="cart_dose_range", field="dose", message="CAR-T dose 6.20 ×10⁶/kg is above 5.00.",
                      value="6.20")
    response = api_exception_handler(SoftChecksNotAcknowledged([check]), {"view": None})
    assert response.status_code == 400
    assert response.data["acknowledge_deviation"][0] == "CAR-T dose 6.20 ×10⁶/kg is above 5.00."
    assert response.data["soft_checks"] == [
        {"rule": "cart_dose_range", "field": "dose", "message": "CAR-T dose 6.20 ×10⁶/kg is above 5.00.",
         "value": "6.20", "severity": "minor"}]  # a check's default severity; the renal one is "major"


def test_a_field_error_is_named_as_the_api_names_the_field():
    error = ValidationError({"deviation_reason": ["Give a reason."], "__all__": ["Not saved."]})
    response = api_exception_handler(error, {"view": _View()})
    assert response.status_code == 400
    assert response.data == {"reason": ["Give a reason."], "non_field_errors": ["Not saved."]}


def test_a_services_refusal_of_the_role_keeps_its_message():
    response = api_exception_handler(PermissionDenied("Only monitors verify source data."), {"view": None})
    assert response.status_code == 403
    assert response.data == {"detail": "Only monitors verify source data."}


def test_drf_own_errors_are_answered_as_drf_answers_them():
    response = api_exception_handler(exceptions.NotFound("No such form."), {"view": None})
    assert response.status_code == 404
    assert response.data == {"detail": "No such form."}
