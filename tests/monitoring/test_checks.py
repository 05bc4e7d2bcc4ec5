import pytest
from django.core.exceptions import ValidationError

from crf.checks import SoftCheck, SoftChecksNotAcknowledged, require_acknowledgement

CHECK = SoftCheck(rule="cart_dose_range", field="cart_cells_infused", message="Dose 4.99 ×10⁶/kg is below 5.00.",
                  value="4.99")


def test_failed_soft_check_without_acknowledgement_is_refused_with_its_message():
    with pytest.raises(SoftChecksNotAcknowledged) as refused:
        require_acknowledgement([CHECK], acknowledged=False, reason="")
    assert "Dose 4.99 ×10⁶/kg is below 5.00." in refused.value.message_dict["acknowledge_deviation"]
    assert refused.value.checks == [CHECK]


def test_acknowledgement_needs_a_reason_too():
    with pytest.raises(ValidationError):
        require_acknowledgement([CHECK], acknowledged=True, reason="   ")


def test_acknowledged_with_reason_passes_and_no_checks_always_pass():
    require_acknowledgement([CHECK], acknowledged=True, reason="Product limited by manufacture yield")
    require_acknowledgement([], acknowledged=False, reason="")
