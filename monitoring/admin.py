"""Admin for monitoring records, and `CrfAdmin`, the base of every CRF's
ModelAdmin, so that the admin cannot bypass the CRF life cycle."""
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404
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


class PatientScopedAdmin(admin.ModelAdmin):
    """The admin obeys the same gate as every page (`Patient.objects.visible_to`):
    another site's record — its change page and its history — is "not found"."""

    patient_path = "patient"  # the lookup from the record to its patient

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            **{f"{self.patient_path}__in": Patient.objects.visible_to(request.user)})

    def _visible_or_404(self, request, object_id) -> None:
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            # simple-history would otherwise show the history of a record it cannot find.
            raise Http404("No such record.")

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context=extra_context)


class PatientScopedReadOnlyAdmin(PatientScopedAdmin, ReadOnlyAdmin):
    pass


class CrfAdmin(PatientScopedAdmin, ReadOnlyAdmin, SimpleHistoryAdmin):
    """Every CRF's admin: the forms of the patients the user may see, to browse
    with their history. Entries and corrections go through the CRF pages and
    the API, whose services run the edit checks, derive grades and responses,
    require a reason and honour locks and signatures; an admin form would
    bypass all of that, so here a CRF is read-only, locked or not."""

    list_filter = ["status"]


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
