"""What outcomes keeps for the whole record: the patient's one death and end of study, reconciled whenever a
form that records (or recorded) a death is saved or removed (`patients.services.patient_death_recorded` finds
this module through `trial.hooks`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .services import patient_death_reconcile

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from patients.models import Patient


def death_recorded(*, patient: Patient, by: User | None, cause: str = "") -> None:
    patient_death_reconcile(patient=patient, by=by, cause=cause)
