from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .admin_base import CrfAdmin, PatientScopedAdmin, ReadOnlyAdmin
from .models import BaselineCRF, Patient, ScreeningCRF, Visit


@admin.register(Patient)
class PatientAdmin(PatientScopedAdmin, ReadOnlyAdmin, SimpleHistoryAdmin):
    """Read-only: screening, enrollment, treatment and follow-up move a patient
    on through their services, each with its checks and an audit reason."""

    list_display = ["study_id", "site", "status", "screening_date", "enrollment_date", "infusion_date"]
    list_filter = ["site", "status"]
    search_fields = ["subject_id", "screening_number"]
    patient_path = "pk"


@admin.register(Visit)
class VisitAdmin(PatientScopedAdmin, ReadOnlyAdmin, SimpleHistoryAdmin):
    """Read-only: the schedule comes from the infusion date, statuses from the daily job."""

    list_display = ["patient", "definition", "target_date", "window_start", "window_end", "status"]
    list_filter = ["status"]


@admin.register(ScreeningCRF, BaselineCRF)
class PatientCrfAdmin(CrfAdmin):
    list_display = ["patient", "status", "updated_at"]
