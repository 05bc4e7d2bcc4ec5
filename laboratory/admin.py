from django.contrib import admin

from patients.admin_base import CrfAdmin
from trial.admin import AuditedAdmin

from .models import Laboratory, NormalRange


@admin.register(Laboratory)
class LaboratoryAdmin(CrfAdmin):
    list_display = ["patient", "collection_date", "status"]


@admin.register(NormalRange)
class NormalRangeAdmin(AuditedAdmin):
    """Normal ranges are reference data, not a patient's: an administrator records a site's own (with a reason,
    kept on the history row); flags and grades already stored are not recomputed."""

    list_display = ["analyte", "site", "sex", "age_from_years", "age_to_years", "lower", "upper"]
    list_filter = ["site", "analyte"]
