"""A patient's course as the endpoints read it (`selectors.patient_courses`: first relapse, allogeneic HSCT,
the one death), for the apps beside outcomes that may not import it: the laboratory's ICAHT grades stop at its
first event (`laboratory.selectors.icaht_stop_day` finds this module through `trial.hooks.app_modules`)."""
from __future__ import annotations

from patients.models import Patient

from .selectors import patient_courses
from .statistics import PatientCourse


def patient_course(patient: Patient) -> PatientCourse | None:
    """None for a patient not infused."""
    courses = patient_courses(Patient.objects.filter(pk=patient.pk))
    return courses[0] if courses else None
