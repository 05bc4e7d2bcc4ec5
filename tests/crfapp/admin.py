from django.contrib import admin

from monitoring.admin import CrfAdminMixin

from .models import SampleForm


@admin.register(SampleForm)
class SampleFormAdmin(CrfAdminMixin, admin.ModelAdmin):
    list_display = ["patient", "assessment_date", "status"]
