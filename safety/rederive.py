"""What safety derives from the patient's dates, derived again when one is corrected
(`patients.services.patient_dates_changed` finds this module through `trial.hooks`)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .services import icans_assessments_rederive

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from patients.models import Patient


def patient_dates_changed(*, patient: Patient, by: User | None, cause: str) -> None:
    """The age on each ICANS assessment date chooses ICE or CAPD, and so the grade."""
    icans_assessments_rederive(patient=patient, by=by, cause=cause)
