"""Building the submission packages: the SDTM and the ADaM datasets of the visible patients, as rows
and as the ZIP a regulator receives (XPT, CSV, define.xml)."""
from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from monitoring.services import export_record
from patients.models import Patient
from trial.models import Protocol

from . import metadata as md
from .models import SubmissionPackage
from .sdtm import sdtm_tables
from .selectors import study_for, subjects

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .sources import Study, Subject

SDTM, ADAM = "sdtm", "adam"
STANDARDS = (SDTM, ADAM)


def package_sources(*, patients: QuerySet[Patient], cutoff: datetime.date) -> tuple[Study, list[Subject]]:
    protocol = Protocol.objects.prefetch_related("eligibility_criteria", "visit_definitions").current()
    return study_for(protocol), list(subjects(patients, cutoff=cutoff))


def package_tables(*, standard: str, patients: QuerySet[Patient], cutoff: datetime.date) -> dict[str, list[dict]]:
    """The datasets of one package (``standard`` "sdtm" or "adam") as rows, by dataset name."""
    study, found = package_sources(patients=patients, cutoff=cutoff)
    return sdtm_tables(study, found) if standard == SDTM else _adam_tables(study, found, cutoff=cutoff)


def _adam_tables(study: Study, found: list[Subject], *, cutoff: datetime.date) -> dict[str, list[dict]]:
    """The ADaM datasets, from the SDTM domains they read (the others are not mapped)."""
    from .adam import SDTM_SOURCES, adam_tables

    return adam_tables(study, found, sdtm=sdtm_tables(study, found, domains=SDTM_SOURCES), cutoff=cutoff)


# The SDTM datasets mapped and written together, heaviest first, so that the worker processes finish together:
# AE and SUPPAE share the numbering of the events, and the trial design datasets are a few rows each.
SDTM_GROUPS = (("FA",), ("LB",), ("PC",), ("SV",), ("EX",), ("RS",), ("PP",), ("AE", "SUPPAE"), ("DS",), ("DM",),
               ("EC",), ("DV",), ("TS", "TA", "TE", "TV", "TI"))


def package_zip(*, standard: str, patients: QuerySet[Patient], cutoff: datetime.date,
                on_step: Callable[[int, int], None] | None = None, processes: int | None = None) -> bytes:
    """The package as a ZIP: one .xpt and one .csv per dataset, and define.xml (checked for references to
    nothing before it is handed out). ``on_step(done, total)`` follows the build: reading the records,
    then each dataset written. The datasets are mapped and written in ``processes`` worker processes
    (default: settings.SUBMISSION_PROCESSES)."""
    from .define import define_problems, define_xml
    from .package import DatasetFiles, DatasetMeasures, build_datasets, zip_bytes

    names = md.SDTM_DATASETS if standard == SDTM else md.ADAM_DATASETS
    total = 1 + len(names)
    study, found = package_sources(patients=patients, cutoff=cutoff)
    if standard == SDTM:
        groups = list(SDTM_GROUPS)

        def tables_of(group: tuple[str, ...]) -> dict[str, list[dict]]:
            return sdtm_tables(study, found, domains=group)
    else:
        # ADaM's datasets are read off ADSL and one another: mapped together here, written in parallel.
        tables = _adam_tables(study, found, cutoff=cutoff)
        groups = [(name,) for name in sorted(tables, key=lambda name: -len(tables[name]))]

        def tables_of(group: tuple[str, ...]) -> dict[str, list[dict]]:
            return {name: tables[name] for name in group}
    if {name for group in groups for name in group} != {dataset.name for dataset in names}:
        raise ValueError(f"the {standard} package's groups do not name each of its datasets once")
    if on_step is not None:
        on_step(1, total)

    def written() -> Iterator[DatasetFiles]:
        for done, dataset_files in enumerate(build_datasets(groups, tables_of, processes=settings.SUBMISSION_PROCESSES
                                                            if processes is None else processes), start=2):
            yield dataset_files
            if on_step is not None:
                on_step(done, total)

    def define_of(measures: dict[str, DatasetMeasures]) -> bytes:
        define = define_xml(study=study, standard=standard, datasets=list(names), measures=measures)
        problems = define_problems(define)
        if problems:  # a programming error in the metadata: never ship a define.xml that points at nothing
            raise ValueError("define.xml is not consistent: " + "; ".join(problems[:10]))
        return define

    return zip_bytes(written(), define_of)


def package_export(*, standard: str, user: User, cutoff: datetime.date) -> bytes:
    """The package of the patients ``user`` may see, built now and recorded as an export (the API's download)."""
    content = package_zip(standard=standard, patients=Patient.objects.visible_to(user), cutoff=cutoff)
    export_record(user=user, kind=f"{standard}_package",
                  description=f"{standard.upper()} package, data cut-off {cutoff:%Y-%m-%d}")
    return content


@transaction.atomic
def submission_package_create(*, by: User, standard: str, cutoff: datetime.date) -> SubmissionPackage:
    """A package to build in the background (`submission.tasks.submission_package_start` queues it), recorded
    as an export when asked for."""
    package = SubmissionPackage(requested_by=by, standard=standard, cutoff=cutoff,
                                total_steps=1 + len(md.SDTM_DATASETS if standard == SDTM else md.ADAM_DATASETS))
    package.full_clean()
    package.save()
    export_record(user=by, kind=f"{standard}_package",
                  description=f"{standard.upper()} package #{package.pk}, data cut-off {cutoff:%Y-%m-%d}")
    return package


def submission_package_run(*, package_id: int) -> None:
    """Build the package's ZIP from the patients its requester may see; a package already built is left as it
    is (idempotent: a retried task does nothing twice)."""
    package = SubmissionPackage.objects.select_related("requested_by").filter(pk=package_id).first()
    if package is None or package.status == SubmissionPackage.Status.DONE:
        return
    package.status, package.done_steps = SubmissionPackage.Status.RUNNING, 0
    package.save(update_fields=["status", "done_steps"])

    def step(done: int, total: int) -> None:
        package.done_steps, package.total_steps = done, total
        package.save(update_fields=["done_steps", "total_steps"])  # the package page's progress bar

    try:
        content = package_zip(standard=package.standard, patients=Patient.objects.visible_to(package.requested_by),
                              cutoff=package.cutoff, on_step=step)
        package.file.save(package.filename, ContentFile(content), save=False)
        package.status, package.error = SubmissionPackage.Status.DONE, ""
    except Exception as error:  # recorded for the user; the task may be retried
        package.status, package.error = SubmissionPackage.Status.FAILED, str(error)[:2000]
        package.finished_at = timezone.now()
        package.save()
        raise
    package.finished_at = timezone.now()
    package.save()
