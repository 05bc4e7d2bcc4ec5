from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from patients.models import Patient

from .models import AdverseEvent, CrsAssessment, IcansAssessment, SaeReport


class PatientScopedAdmin(SimpleHistoryAdmin):
    def get_queryset(self, request):
        # The admin obeys the same gate as every other view.
        return super().get_queryset(request).filter(patient__in=Patient.objects.visible_to(request.user))

    def has_change_permission(self, request, obj=None):
        return False  # edits go through the CRF pages and services (checks, grades, reasons)

    def has_add_permission(self, request):
        return False


@admin.register(AdverseEvent)
class AdverseEventAdmin(PatientScopedAdmin):
    list_display = ["patient", "term", "grade", "onset_date", "serious", "status"]
    list_filter = ["grade", "serious", "status"]


@admin.register(CrsAssessment)
class CrsAssessmentAdmin(PatientScopedAdmin):
    list_display = ["patient", "assessment_date", "grade", "status"]


@admin.register(IcansAssessment)
class IcansAssessmentAdmin(PatientScopedAdmin):
    list_display = ["patient", "assessment_date", "grade", "status"]


@admin.register(SaeReport)
class SaeReportAdmin(SimpleHistoryAdmin):
    list_display = ["adverse_event", "kind", "sent_at", "sent_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            adverse_event__patient__in=Patient.objects.visible_to(request.user))

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
