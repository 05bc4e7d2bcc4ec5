from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from patients.admin_base import CrfAdmin, PatientScopedAdmin, ReadOnlyAdmin

from .models import AdverseEvent, CrsAssessment, IcansAssessment, SaeReport


@admin.register(AdverseEvent)
class AdverseEventAdmin(CrfAdmin):
    list_display = ["patient", "term", "grade", "onset_date", "serious", "status"]
    list_filter = ["grade", "serious", "status"]


@admin.register(CrsAssessment)
class CrsAssessmentAdmin(CrfAdmin):
    list_display = ["patient", "assessment_date", "grade", "status"]


@admin.register(IcansAssessment)
class IcansAssessmentAdmin(CrfAdmin):
    list_display = ["patient", "assessment_date", "grade", "status"]


@admin.register(SaeReport)
class SaeReportAdmin(PatientScopedAdmin, ReadOnlyAdmin, SimpleHistoryAdmin):
    list_display = ["adverse_event", "kind", "sent_at", "sent_by"]
    patient_path = "adverse_event__patient"
