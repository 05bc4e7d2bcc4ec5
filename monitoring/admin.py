"""Admin for monitoring records (read-only: only their services write them)."""
from django.contrib import admin

from patients.admin_base import PatientScopedReadOnlyAdmin, ReadOnlyAdmin
from patients.models import Patient

from .models import (
    DataLock,
    DataQuery,
    ExportJob,
    ExportRecord,
    ProtocolDeviation,
    Signature,
    SourceVerification,
)


@admin.register(Signature)
class SignatureAdmin(PatientScopedReadOnlyAdmin):
    list_display = ["patient", "crf_label", "signer_full_name", "meaning", "signed_at", "voided_at"]


@admin.register(DataQuery)
class DataQueryAdmin(PatientScopedReadOnlyAdmin):
    list_display = ["patient", "crf_label", "field_label", "status", "raised_at"]
    list_filter = ["status", "automatic"]


@admin.register(SourceVerification)
class SourceVerificationAdmin(PatientScopedReadOnlyAdmin):
    list_display = ["patient", "content_type", "object_id", "field", "verified_by", "verified_at", "cleared_at"]


@admin.register(DataLock)
class DataLockAdmin(PatientScopedReadOnlyAdmin):
    list_display = ["scope", "patient", "visit", "locked_by", "locked_at", "unlocked_at"]


@admin.register(ExportRecord)
class ExportRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "description"]


@admin.register(ExportJob)
class ExportJobAdmin(PatientScopedReadOnlyAdmin):
    list_display = ["created_at", "requested_by", "status", "file"]

    def get_queryset(self, request):
        # A batch is shown only when the user may see every patient in it.
        hidden = Patient.objects.exclude(pk__in=Patient.objects.visible_to(request.user).values("pk"))
        return ExportJob.objects.exclude(patients__in=hidden)


@admin.register(ProtocolDeviation)
class ProtocolDeviationAdmin(PatientScopedReadOnlyAdmin):
    list_display = ["patient", "crf_label", "rule", "value", "created_at"]
