"""Soft edit checks: data the protocol does not expect but that can be true.

A service computes its soft checks with the rules, then calls
`require_acknowledgement`; saving goes ahead only when the user acknowledged
the deviation and gave a reason, and `deviations_record` then files one
ProtocolDeviation per failed check. Hard checks are plain ValidationErrors
raised on the field.
"""
import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from trial.rules import visit_window_message

ACKNOWLEDGE = gettext_lazy(
    "Saving anyway records a protocol deviation: tick the acknowledgement and give a reason.")


@dataclass(frozen=True)
class SoftCheck:
    rule: str  # a stable code, such as "cart_dose_range"
    field: str  # the form or API field it concerns
    message: str  # what a coordinator reads: lazy (`trial.i18n.lazy_message`), so it is stored in English
    value: str  # the value that failed, as shown
    severity: str = "minor"  # "major" when the deviation may affect the patient's safety or the data's reliability


class SoftChecksNotAcknowledged(ValidationError):
    """Raised when soft checks failed and were not acknowledged with a reason."""

    def __init__(self, checks: list[SoftCheck]):
        self.checks = list(checks)
        messages: list[Any] = [check.message for check in self.checks]
        messages.append(ACKNOWLEDGE)
        super().__init__({"acknowledge_deviation": messages})


@dataclass(frozen=True)
class CrfChange:
    """One value another user changed since an editor loaded the form."""

    field: str
    label: str
    old: str
    new: str
    by: str
    at: datetime.datetime
    reason: str

    @property
    def message(self) -> str:
        return f"{self.label}: {self.old} → {self.new} ({self.by}, {timezone.localtime(self.at):%Y-%m-%d %H:%M})"


class CrfConflict(ValidationError):
    """The form was saved by someone else after this editor loaded it (optimistic
    concurrency, `crf.services.crf_save`): nothing was saved. Carries what
    the other saves changed, so the page and the API can show it."""

    def __init__(self, *, crf_label: str, expected_version: int, current_version: int, changes: list[CrfChange]):
        self.crf_label = crf_label
        self.expected_version = expected_version
        self.current_version = current_version
        self.changes = list(changes)
        who = sorted({change.by for change in self.changes}) or [_("another user")]
        self.summary = _(
            "Not saved: %(who)s saved this %(form)s after you opened it. Your entries are still in the form; "
            "compare them with the values below, then save again to replace them, or reload the page to start "
            "from the saved values."
        ) % {"who": _(" and ").join(who), "form": crf_label or _("form")}
        super().__init__([self.summary, *(_("Changed — %(change)s") % {"change": change.message}
                                          for change in self.changes)])

    def as_dict(self) -> dict:
        """The API's 409 body."""
        return {
            "detail": self.summary,
            "version": self.expected_version,
            "current_version": self.current_version,
            "changes": [
                {"field": change.field, "label": change.label, "old": change.old, "new": change.new,
                 "by": change.by, "at": change.at.isoformat(), "reason": change.reason}
                for change in self.changes
            ],
        }


def visit_window_check(*, visit: Any, on_date: datetime.date | None, field: str) -> list[SoftCheck]:
    """The visit-window soft check every dated CRF runs: data dated outside the linked
    visit's window can be true, so it is acknowledged with a reason and recorded as a deviation."""
    if visit is None or on_date is None:
        return []
    message = visit_window_message(on_date=on_date, visit_code=visit.definition.code,
                                   window_start=visit.window_start, window_end=visit.window_end)
    if message is None:
        return []
    return [SoftCheck(rule="visit_window", field=field, message=message, value=f"{on_date:%Y-%m-%d}")]


def first_error_per_field(*groups: Mapping[str, str]) -> dict[str, str]:
    """Hard checks written as small rules (each answering field -> message) joined in the
    order given: a field keeps the first message, as the later ones usually follow from it."""
    errors: dict[str, str] = {}
    for group in groups:
        for field, message in group.items():
            errors.setdefault(field, message)
    return errors


def every_error_per_field(*groups: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Hard checks written as small rules (each answering field -> messages) joined in the
    order given: a field shows every message."""
    errors: dict[str, list[str]] = {}
    for group in groups:
        for field, messages in group.items():
            errors.setdefault(field, []).extend(messages)
    return errors


def require_acknowledgement(checks: list[SoftCheck], *, acknowledged: bool, reason: str) -> None:
    if checks and not (acknowledged and (reason or "").strip()):
        raise SoftChecksNotAcknowledged(checks)


def errors_onto_form(form: Any, error: ValidationError, *, renamed: dict[str, str] | None = None) -> None:
    """A service's ValidationError shown on a form: on the field it names when
    the form has it (`renamed` maps a service's field name to the form's, where
    the form takes the value in other units), above the form (naming the field) otherwise.

    A `CrfConflict` is shown above the form, and the form's hidden `version`
    is moved to the current one: the user's entries stay, and saving again is
    a deliberate choice made after seeing the other user's values."""
    if isinstance(error, CrfConflict) and "version" in form.fields and form.is_bound:
        form.data = form.data.copy()
        form.data[form.add_prefix("version")] = str(error.current_version)
    if not hasattr(error, "error_dict"):
        for message in error.messages:
            form.add_error(None, message)
        return
    for field, messages in error.message_dict.items():
        field = (renamed or {}).get(field, field)
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
