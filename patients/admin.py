from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Patient, Visit


@admin.register(Patient)
class PatientAdmin(SimpleHistoryAdmin):
    list_display = ["study_id", "site", "status", "consent_date", "infusion_date"]
    list_filter = ["site", "status"]
    search_fields = ["subject_id", "screening_number"]

    def get_queryset(self, request):
        # The admin obeys the same gate as every other view.
        return Patient.objects.visible_to(request.user)


@admin.register(Visit)
class VisitAdmin(SimpleHistoryAdmin):
    list_display = ["patient", "definition", "target_date", "window_start", "window_end", "status"]
    list_filter = ["status"]
