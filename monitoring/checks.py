"""Soft edit checks: data the protocol does not expect but that can be true.

A service computes its soft checks with the rules, then calls
`require_acknowledgement`; saving goes ahead only when the user acknowledged
the deviation and gave a reason, and `deviations_record` then files one
ProtocolDeviation per failed check. Hard checks are plain ValidationErrors
raised on the field.
"""
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


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


def errors_onto_form(form, error: ValidationError) -> None:
    """A service's ValidationError shown on a form: on the field it names when
    the form has it, above the form (naming the field) otherwise."""
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for field, messages in error.message_dict.items():
        target = field if field in form.fields else None
        for message in messages:
            if target is None and field != NON_FIELD_ERRORS:
                message = f"{field.replace('_', ' ').capitalize()}: {message}"
            form.add_error(target, message)


def error_detail(error: ValidationError, *, renamed: dict[str, str] | None = None) -> dict[str, list[str]]:
    """A service's ValidationError as the API's 400 body: messages per field
    (`renamed` maps model field names to their API names)."""
    names = {NON_FIELD_ERRORS: "non_field_errors", **(renamed or {})}
    if not hasattr(error, "error_dict"):
        return {"non_field_errors": error.messages}
    return {names.get(field, field): messages for field, messages in error.message_dict.items()}
