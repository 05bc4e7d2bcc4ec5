"""Soft edit checks: data the protocol does not expect but that can be true.

A service computes its soft checks with the rules, then calls
`require_acknowledgement`; saving goes ahead only when the user acknowledged
the deviation and gave a reason, and `deviations_record` then files one
ProtocolDeviation per failed check. Hard checks are plain ValidationErrors
raised on the field.
"""
from dataclasses import dataclass

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class SoftCheck:
    rule: str  # a stable code, such as "cart_dose_range"
    field: str  # the form or API field it concerns
    message: str  # what a coordinator reads
    value: str  # the value that failed, as shown


class SoftChecksNotAcknowledged(ValidationError):
    """Raised when soft checks failed and were not acknowledged with a reason."""

    def __init__(self, checks: list[SoftCheck]):
        self.checks = list(checks)
        messages = [check.message for check in self.checks]
        messages.append("Saving anyway records a protocol deviation: tick the acknowledgement and give a reason.")
        super().__init__({"acknowledge_deviation": messages})


def require_acknowledgement(checks: list[SoftCheck], *, acknowledged: bool, reason: str) -> None:
    if checks and not (acknowledged and (reason or "").strip()):
        raise SoftChecksNotAcknowledged(checks)
