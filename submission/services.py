"""Building the submission packages: the SDTM and the ADaM datasets of the visible patients, as rows
and as the ZIP a regulator receives (XPT, CSV, define.xml)."""
from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from patients.models import Patient
from trial.models import Protocol

from . import metadata as md
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


def package_zip(*, standard: str, patients: QuerySet[Patient], cutoff: datetime.date) -> bytes:
    """The package as a ZIP: one .xpt and one .csv per dataset, and define.xml (checked for references to
    nothing before it is handed out)."""
    from .define import define_problems, define_xml
    from .package import zip_bytes

    study, found = package_sources(patients=patients, cutoff=cutoff)
    tables = sdtm_tables(study, found)
    if standard == ADAM:
        from .adam import adam_tables

        tables = adam_tables(study, found, sdtm=tables, cutoff=cutoff)
    datasets = [md.DATASETS[name] for name in tables]
    define = define_xml(study=study, standard=standard, datasets=datasets, tables=tables)
    problems = define_problems(define)
    if problems:  # a programming error in the metadata: never ship a define.xml that points at nothing
        raise ValueError("define.xml is not consistent: " + "; ".join(problems[:10]))
    return zip_bytes(tables, define)
