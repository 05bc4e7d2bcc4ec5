from functools import cache

from django.apps import apps
from django.db import connection
from django.shortcuts import get_object_or_404

from .models import Patient


def patient_for_user(*, user, study_id: str) -> Patient:
    """The patient by study ID, or 404 when it does not exist or the user
    may not see it — the two look the same, so IDs of other sites leak nothing.
    The Screening and Baseline CRFs come in the same query."""
    return get_object_or_404(
        Patient.objects.visible_to(user).select_related("site", "protocol", "screening", "baseline"),
        pk__in=Patient.objects.by_study_id(study_id).values("pk"),
    )


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
