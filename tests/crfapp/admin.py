from django.contrib import admin

from patients.admin_base import CrfAdmin

from .models import SampleForm


@admin.register(SampleForm)
class SampleFormAdmin(CrfAdmin):
    list_display = ["patient", "assessment_date", "status"]
