from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from patients.models import Patient

from .models import FollowUp, ResponseAssessment


class ReadOnlyCrfAdmin(SimpleHistoryAdmin):
    """Browse and audit only: entries go through the forms and the API, whose services
    derive the response and run the checks."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(patient__in=Patient.objects.visible_to(request.user))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ResponseAssessment)
class ResponseAssessmentAdmin(ReadOnlyCrfAdmin):
    list_display = ["patient", "assessment_date", "bone_marrow_blasts_percent", "response", "mrd_negative", "status"]
    list_filter = ["response", "status"]
    search_fields = ["patient__subject_id"]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyCrfAdmin):
    list_display = ["patient", "contact_date", "follow_up_status", "relapse_date", "hsct_date", "death_date", "status"]
    list_filter = ["follow_up_status", "status"]
    search_fields = ["patient__subject_id"]
