"""Admin for monitoring records, and the mixin every CRF's ModelAdmin uses so
that the admin obeys the same life cycle as the pages and the API."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from .models import (
    DataLock, DataQuery, ExportJob, ExportRecord, ProtocolDeviation, Signature, SourceVerification,
)
from .services import crf_lock_reason, crf_save


class CrfAdminForm(forms.ModelForm):
    reason_for_change = forms.CharField(
        required=False, max_length=300, help_text="Required when changing a submitted form; kept in the audit trail."
    )

    def clean(self):
        cleaned = super().clean()
        lock_reason = crf_lock_reason(self.instance)
        if lock_reason:
            raise ValidationError(lock_reason)
        return cleaned


class CrfAdminMixin:
    """For a CRF's ModelAdmin: locked forms are read-only and every save goes
    through `crf_save` (reason for change, SDV cleared, signatures voided).

    class InfusionAdmin(CrfAdminMixin, admin.ModelAdmin): ...
    """

    form = CrfAdminForm
    readonly_fields = ["status", "created_by"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and crf_lock_reason(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        # Nothing clinical is hard-deleted: removal is a status with a reason.
        return False

    def save_model(self, request, obj, form, change):
        try:
            crf_save(crf=obj, by=request.user, reason=form.cleaned_data.get("reason_for_change", ""))
        except ValidationError as error:
            # The form's clean() checked the lock; a missing reason surfaces here.
            form.add_error(None, error)
            raise


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
