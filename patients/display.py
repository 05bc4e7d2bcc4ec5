"""Texts the record keeps in English, shown in the reader's language (docs/i18n.md).

Some texts are stored once, in English, and read by everyone: the names of the protocol's visits
(`trial.VisitDefinition.name`, "Day 28", "Month 3") and the reasons the visit status job writes beside a
status ("Window closed without data"). They come from a fixed set, so they are translated when shown;
anything else (a reason a person typed, a visit name an amendment chose) is shown as stored.
"""
import re

from django.utils.translation import gettext, gettext_noop

from trial.rules import visit_name_display

_MISSED_REASON = re.compile(r"^No data (\d+) days after the window closed$")
_OFF_STUDY_PREFIX = "Patient off study: "

#: The visit status reasons the services write (visits.services, trial.rules.VISIT_WINDOW_BANDS).
FIXED_VISIT_REASONS = (
    gettext_noop("Data entered"),
    gettext_noop("Window closed without data"),
    gettext_noop("Scheduled from the infusion date"),
    gettext_noop("no reason recorded"),
)


def visit_name(name: str) -> str:
    """"Day 28" → 第 28 天 in Chinese; a name outside the protocol's pattern as stored (trial's rule)."""
    return visit_name_display(str(name or ""))


def visit_status_reason(reason: str) -> str:
    """The reason beside a visit's status, translated when the system wrote it."""
    reason = str(reason or "")
    if reason and reason in FIXED_VISIT_REASONS:
        return gettext(reason)
    if match := _MISSED_REASON.match(reason):
        return gettext("No data %(days)s days after the window closed") % {"days": match[1]}
    if reason.startswith(_OFF_STUDY_PREFIX):
        # The off-study reason itself is the record's (a form's choice or free text): shown as stored.
        off_reason = reason.removeprefix(_OFF_STUDY_PREFIX)
        if off_reason == "no reason recorded":
            off_reason = gettext(off_reason)
        return gettext("Patient off study: %(reason)s") % {"reason": off_reason}
    return reason
