from django.contrib import admin

from patients.admin_base import CrfAdmin

from .models import EndOfStudy, FollowUp, ResponseAssessment


@admin.register(ResponseAssessment)
class ResponseAssessmentAdmin(CrfAdmin):
    list_display = ["patient", "assessment_date", "bone_marrow_blasts_percent", "response", "mrd_negative", "status"]
    list_filter = ["response", "status"]
    search_fields = ["patient__subject_id"]


@admin.register(FollowUp)
class FollowUpAdmin(CrfAdmin):
    list_display = ["patient", "contact_date", "follow_up_status", "relapse_date", "hsct_date", "death_date", "status"]
    list_filter = ["follow_up_status", "status"]
    search_fields = ["patient__subject_id"]


@admin.register(EndOfStudy)
class EndOfStudyAdmin(CrfAdmin):
    list_display = ["patient", "end_date", "end_reason", "status"]
    list_filter = ["end_reason", "status"]
    search_fields = ["patient__subject_id"]
