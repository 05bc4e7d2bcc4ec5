"""Building the submission packages: the SDTM and the ADaM datasets of the visible patients, as rows
and as the ZIP a regulator receives (XPT, CSV, define.xml)."""
from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from patients.models import Patient
from trial.models import Protocol

from .sdtm import sdtm_tables
from .selectors import study_for, subjects

if TYPE_CHECKING:
    from .sources import Study, Subject

SDTM, ADAM = "sdtm", "adam"
STANDARDS = (SDTM, ADAM)


def package_sources(*, patients: QuerySet[Patient], cutoff: datetime.date) -> tuple[Study, list[Subject]]:
    protocol = Protocol.objects.prefetch_related("eligibility_criteria", "visit_definitions").current()
    return study_for(protocol), list(subjects(patients, cutoff=cutoff))


def package_tables(*, standard: str, patients: QuerySet[Patient], cutoff: datetime.date) -> dict[str, list[dict]]:
    """The datasets of one package (``standard`` "sdtm" or "adam") as rows, by dataset name."""
    study, found = package_sources(patients=patients, cutoff=cutoff)
    sdtm = sdtm_tables(study, found)
    if standard == SDTM:
        return sdtm
    from .adam import adam_tables

    return adam_tables(study, found, sdtm=sdtm, cutoff=cutoff)

