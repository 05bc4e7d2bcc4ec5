"""Reads for the visit pages: what a visit expects and what is entered."""
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

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
            found.append(ExpectedForm(code=code, label=labels.get(code, code), available=False, entered=[]))
            continue
        # The patient comes along: each form's link names the subject (no query per form).
        entered = list(model.objects.filter(visit=visit, removed=False).select_related("patient", "visit")
                       .order_by("created_at"))
        try:
            url = reverse(f"{model._meta.app_label}:{code}_new", args=[visit.patient.study_id]) + f"?visit={visit.pk}"
        except NoReverseMatch:
            url = ""
        found.append(ExpectedForm(code=code, label=model.crf_label or labels.get(code, code),
                                  available=bool(url), entered=entered, entry_url=url))
    return found
