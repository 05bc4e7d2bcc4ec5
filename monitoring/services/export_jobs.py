"""Who exported what, and the batches of casebook PDFs a Celery worker builds
(`monitoring.tasks.export_job_start` queues one; without a broker a thread of the web process builds it)."""
from __future__ import annotations

import zipfile
from collections.abc import Iterable
from io import BytesIO
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from ..models import ExportJob, ExportRecord
from ..reports import casebook_pdf
from ..texts import Text, in_languages

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from patients.models import Patient


def export_record(*, user: User, kind: str, description: Text) -> ExportRecord:
    """Log an export. ``description`` is kept in English, with its rendering in the other languages for the
    export log (a callable or a lazy string for that: monitoring/texts.py)."""
    english, translations = in_languages(description)
    record = ExportRecord(user=user, kind=kind, description=english[:300],
                          description_translations={code: text[:300] for code, text in translations.items()})
    record.full_clean()
    record.save()
    return record


@transaction.atomic
def export_job_create(*, by: User, patients: Iterable[Patient]) -> ExportJob:
    """A batch of casebook PDFs, recorded as an export; `monitoring.tasks.export_job_start`
    creates it and queues its build after commit."""
    patients = list(patients)
    if not patients:
        raise ValidationError({"study_ids": gettext("No patient matches.")})
    job = ExportJob(requested_by=by, total_count=len(patients))
    job.full_clean()
    job.save()
    job.patients.set(patients)
    ids = ", ".join(p.study_id for p in patients)
    export_record(user=by, kind="casebook_batch", description=lambda: ngettext(
        "Casebooks of %(count)s patient: %(ids)s", "Casebooks of %(count)s patients: %(ids)s", len(patients),
    ) % {"count": len(patients), "ids": ids})
    return job


def export_job_run(*, job_id: int, language: str = "") -> None:
    """Build the ZIP of casebooks; a job already done is left as it is (idempotent). The casebooks are in
    ``language``, the language of the user who asked for them (a worker has no request to take it from);
    without it, in the language active here."""
    if language:
        with translation.override(language):
            return export_job_run(job_id=job_id)
    job = ExportJob.objects.filter(pk=job_id).first()
    if job is None or job.status == ExportJob.Status.DONE:
        return
    patients = list(job.patients.select_related("site", "protocol").order_by("subject_id"))
    job.status = ExportJob.Status.RUNNING
    job.total_count, job.done_count = len(patients), 0
    job.save(update_fields=["status", "total_count", "done_count"])
    try:
        buffer = BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for patient in patients:
                archive.writestr(f"casebook-{patient.study_id}.pdf",
                                 casebook_pdf(patient=patient, by=job.requested_by))
                job.done_count += 1
                job.save(update_fields=["done_count"])  # the job page's progress bar
        job.file.save(f"casebooks-{job.pk}.zip", ContentFile(buffer.getvalue()), save=False)
        job.status = ExportJob.Status.DONE
        job.error = ""
    except Exception as error:  # recorded for the user; the task may be retried
        job.status = ExportJob.Status.FAILED
        job.error = str(error)[:2000]
        job.finished_at = timezone.now()
        job.save()
        raise
    job.finished_at = timezone.now()
    job.save()
