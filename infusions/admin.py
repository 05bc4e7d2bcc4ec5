from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from patients.models import Patient

from .models import Infusion, Lymphodepletion


class _VisibleOnly(SimpleHistoryAdmin):
    """Read-only in the admin: entries go through the CRF pages and their checks."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(patient__in=Patient.objects.visible_to(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Lymphodepletion)
class LymphodepletionAdmin(_VisibleOnly):
    list_display = ["patient", "start_date", "bsa_m2", "status"]


@admin.register(Infusion)
class InfusionAdmin(_VisibleOnly):
    list_display = ["patient", "infusion_date", "product_lot", "dose_cells_per_kg", "dose_verdict", "status"]
