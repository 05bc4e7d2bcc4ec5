"""Optional per-app modules that the shared pages gather from, found the way
Django's admin finds `admin.py`: an app contributes by defining the module.

- `<app>/demo.py`: `load(*, created, users)` writes that app's CRFs for the
  demo patients just created (`created`: a list of (DemoPlan, Patient, User)).
- `<app>/timeline.py`: `timeline_events(patient) -> list[patients.timeline.TimelineEvent]`.
- `<app>/home.py`: `home_panels(request, roles) -> list[tuple[template_name, context]]`.
- `<app>/endpoints.py`: a section of the endpoints page and its PDF (outcomes/views.py):
  `endpoint_sections(*, user, cutoff, figure_src) -> list[tuple[template_name, context]]`, `endpoint_figures()
  -> dict[name, title]` and `endpoint_figure_bytes(*, user, name, cutoff) -> bytes` (PNG; served at the
  endpoints' figure address, `figure_src(name)`: a URL on the page, a data: URI in the PDF).
- `<app>/rederive.py`: `patient_dates_changed(*, patient, by, cause)` derives again what depends on
  the patient's birth date or day 0 once one is corrected (`patients.services.patient_dates_changed`);
  `death_recorded(*, patient, by, cause)` reconciles the patient's one death and end of study after a form
  recording (or having recorded) a death was saved or removed (`patients.services.patient_death_recorded`:
  outcomes keeps it; a death corrected away takes the patient back on study).
- `<app>/course.py`: `patient_course(patient)` -> the patient's course as the endpoints read it
  (`outcomes.statistics.PatientCourse`: relapse, HSCT and death dates), or None before the infusion; the
  laboratory's ICAHT grades stop at its first event (`laboratory.selectors.icaht_stop_day`).
"""
from importlib import import_module
from types import ModuleType

from django.apps import apps
from django.utils.module_loading import module_has_submodule

CLINICAL_APPS = ("trial", "patients", "infusions", "safety", "outcomes", "laboratory", "monitoring")


def app_modules(name: str) -> list[ModuleType]:
    """`<app>.<name>` of every clinical app that has one, in app order."""
    found = []
    for label in CLINICAL_APPS:
        config = apps.get_app_config(label)
        if module_has_submodule(config.module, name):
            found.append(import_module(f"{config.name}.{name}"))
    return found
