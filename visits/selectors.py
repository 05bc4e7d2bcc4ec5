"""Reads for the visit pages: what a visit expects and what is entered."""
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext

from crf.models import crf_model
from patients.models import Visit
from trial.rules import Crf


@dataclass
class ExpectedForm:
    code: str
    label: str
    available: bool  # False while the app that owns the CRF has not built it yet
    entered: list  # this visit's CRFs of that kind
    entry_url: str = ""


def visit_expected_forms(visit: Visit) -> list[ExpectedForm]:
    """Each CRF the visit definition expects, with the forms already linked and the entry link."""
    labels = dict(Crf.choices)
    found = []
    for code in visit.definition.forms:
        try:
            model = crf_model(code)
        except LookupError:
            found.append(ExpectedForm(code=code, label=str(labels.get(code, code)), available=False, entered=[]))
            continue
        # The patient comes along: each form's link names the subject (no query per form).
        entered = list(model.objects.filter(visit=visit, removed=False).select_related("patient", "visit")
                       .order_by("created_at"))
        try:
            url = reverse(f"{model._meta.app_label}:{code}_new", args=[visit.patient.study_id]) + f"?visit={visit.pk}"
        except NoReverseMatch:
            url = ""
        # A CRF's label is kept in English (it is stored and exported) and marked for the catalogues:
        # shown in the reader's language.
        label = gettext(str(model.crf_label)) if model.crf_label else str(labels.get(code, code))
        found.append(ExpectedForm(code=code, label=label,
                                  available=bool(url), entered=entered, entry_url=url))
    return found


def visit_calendar(*, visits, year: int, month: int) -> list[list[tuple]]:
    """A month as weeks (Monday first) of (date or None, visits targeted that day),
    for the visits given (already limited to what the user may see). One query."""
    import calendar
    import datetime

    first = datetime.date(year, month, 1)
    last = datetime.date(year, month, calendar.monthrange(year, month)[1])
    by_day: dict = {}
    for visit in (visits.filter(target_date__range=(first, last))
                  .select_related("patient", "patient__site", "definition").order_by("target_date", "pk")):
        by_day.setdefault(visit.target_date, []).append(visit)
    return [[(day if day.month == month else None, by_day.get(day, []) if day.month == month else [])
             for day in week]
            for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)]
