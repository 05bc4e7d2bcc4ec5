from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.db import connection
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .display import visit_name
from .models import Patient, Visit


def patient_for_user(*, user, study_id: str) -> Patient:
    """The patient by study ID, or 404 when it does not exist or the user
    may not see it — the two look the same, so IDs of other sites leak nothing.
    The Screening and Baseline CRFs come in the same query."""
    return get_object_or_404(
        Patient.objects.visible_to(user).select_related("site", "protocol", "screening", "baseline"),
        pk__in=Patient.objects.by_study_id(study_id).values("pk"),
    )


def visit_from_query(request, patient: Patient) -> Visit | None:
    """The visit a CRF page is entered for (?visit=<pk>, or the posted field), with its definition;
    None when there is none or it is not a number, 404 when it is not this patient's visit."""
    visit_pk = request.GET.get("visit") or request.POST.get("visit")
    if not visit_pk or not str(visit_pk).isdigit():
        return None
    return get_object_or_404(Visit.objects.select_related("definition"), pk=visit_pk, patient=patient)


@cache
def _patient_history_tables() -> tuple[tuple[str, str], ...]:
    """(history table, column naming the patient) of the patient and of every audited model with a
    foreign key to the patient: found, not listed, so a new CRF is covered the day it is added."""
    tables: list[tuple[str, str]] = [(Patient.history.model._meta.db_table, str(Patient._meta.pk.column))]
    for model in apps.get_models():
        history = getattr(model, "history", None)
        if history is None or model is Patient or not hasattr(history, "model"):
            continue
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is Patient and field.name == "patient":
                tables.append((history.model._meta.db_table, str(field.column)))
    return tuple(tables)


def patient_record_version(patient: Patient) -> str:
    """A string that changes whenever any audited record of the patient changes (every save writes a
    history row, whichever page, API, admin or job made it): the highest history id of each table, in
    one query of index look-ups. Child rows (doses, fractions) are saved with their form, whose own
    history row moves the version."""
    quote = connection.ops.quote_name
    parts = [f"(SELECT MAX(history_id) FROM {quote(table)} WHERE {quote(column)} = %s)"
             for table, column in _patient_history_tables()]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", [patient.pk] * len(parts))
        return "-".join(str(value) for value in cursor.fetchone())


# --- Progress at a glance ----------------------------------------------------------------

#: The treatment steps of the progress strip, in order: (CRF code, short label, full name).
PROGRESS_FORMS = (
    ("screening", pgettext_lazy("progress strip, short for screening", "Scr"), _("Screening")),
    ("baseline", pgettext_lazy("progress strip, short for baseline", "Base"), _("Baseline")),
    ("lymphodepletion", pgettext_lazy("progress strip, short for lymphodepletion", "LD"), _("Lymphodepletion")),
    ("cart_infusion", pgettext_lazy("progress strip, short for CAR-T infusion", "Inf"), _("CAR-T infusion")),
)


@dataclass(frozen=True)
class ProgressStep:
    short: str
    name: str
    status: str  # a CRF status, a visit status, or "not_entered"
    status_label: str


def patient_progress(patients) -> dict[int, list[ProgressStep]]:
    """Each patient's way through the trial: the screening, baseline,
    lymphodepletion and infusion forms with their status, then each scheduled
    visit with its status. Two queries whatever the number of patients."""
    from django.db.models import CharField, Value

    from crf.models import CrfStatus, crf_model
    from trial.rules import VisitStatus

    from .models import Visit

    ids = [patient.pk for patient in patients]
    if not ids:
        return {}
    statuses: dict[tuple[int, str], str] = {}
    queries = [
        crf_model(code).objects.filter(patient_id__in=ids, removed=False)
        .values_list("patient_id", "status", Value(code, output_field=CharField()))
        for code, _short, _name in PROGRESS_FORMS
    ]
    for patient_id, status, code in queries[0].union(*queries[1:], all=True):
        statuses[(patient_id, code)] = status
    crf_labels = {**dict(CrfStatus.choices), "not_entered": gettext("Not entered")}
    progress: dict[int, list[ProgressStep]] = {
        pk: [ProgressStep(str(short), str(name), statuses.get((pk, code), "not_entered"),
                          str(crf_labels[statuses.get((pk, code), "not_entered")]))
             for code, short, name in PROGRESS_FORMS]
        for pk in ids
    }
    visit_labels = {**dict(VisitStatus.choices), "not_expected": gettext("Not expected")}
    visits = (Visit.objects.filter(patient_id__in=ids).order_by("patient_id", "definition__target_day")
              .values_list("patient_id", "definition__code", "definition__name", "status"))
    for patient_id, code, name, status in visits:
        progress[patient_id].append(ProgressStep(code, visit_name(name), status,
                                                 str(visit_labels.get(status, status))))
    return progress
