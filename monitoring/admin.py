"""Admin for monitoring records, and `CrfAdmin`, the base of every CRF's
ModelAdmin, so that the admin cannot bypass the CRF life cycle."""
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from patients.models import Patient

from .models import (
    DataLock, DataQuery, ExportJob, ExportRecord, ProtocolDeviation, Signature, SourceVerification,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CrfAdmin(ReadOnlyAdmin, SimpleHistoryAdmin):
    """Every CRF's admin: the forms of the patients the user may see, to browse
    with their history. Entries and corrections go through the CRF pages and
    the API, whose services run the edit checks, derive grades and responses,
    require a reason and honour locks and signatures; an admin form would
    bypass all of that, so here a CRF is read-only, locked or not."""

    list_filter = ["status"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(patient__in=Patient.objects.visible_to(request.user))


@admin.register(Signature)
class SignatureAdmin(ReadOnlyAdmin):
    list_display = ["patient", "crf_label", "signer_full_name", "meaning", "signed_at", "voided_at"]


@admin.register(DataQuery)
class DataQueryAdmin(ReadOnlyAdmin):
    list_display = ["patient", "crf_label", "field_label", "status", "raised_at"]
    list_filter = ["status", "automatic"]


@admin.register(SourceVerification)
class SourceVerificationAdmin(ReadOnlyAdmin):
    list_display = ["patient", "content_type", "object_id", "field", "verified_by", "verified_at", "cleared_at"]


@admin.register(DataLock)
class DataLockAdmin(ReadOnlyAdmin):
    list_display = ["scope", "patient", "visit", "locked_by", "locked_at", "unlocked_at"]


@admin.register(ExportRecord)
class ExportRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "kind", "description"]


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "requested_by", "status", "file"]


@admin.register(ProtocolDeviation)
class ProtocolDeviationAdmin(ReadOnlyAdmin):
    list_display = ["patient", "crf_label", "rule", "value", "created_at"]
