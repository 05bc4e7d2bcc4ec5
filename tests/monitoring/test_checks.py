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


@pytest.mark.parametrize(("checks", "acknowledged", "reason"), [
    ([CHECK], True, "Product limited by manufacture yield"),
    ([], False, ""),  # nothing failed: nothing to acknowledge
], ids=["acknowledged-with-a-reason", "no-failed-check"])
def test_acknowledged_with_reason_passes_and_no_checks_always_pass(checks, acknowledged, reason):
    """A check that refuses an acknowledged deviation (or a save with nothing to acknowledge) raises here."""
    try:
        require_acknowledgement(checks, acknowledged=acknowledged, reason=reason)
    except ValidationError as refused:
        pytest.fail(f"refused: {refused.messages}")
