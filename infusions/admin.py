from django.contrib import admin

from patients.admin_base import CrfAdmin

from .models import Infusion, Lymphodepletion


@admin.register(Lymphodepletion)
class LymphodepletionAdmin(CrfAdmin):
    list_display = ["patient", "start_date", "bsa_m2", "status"]


@admin.register(Infusion)
class InfusionAdmin(CrfAdmin):
    list_display = ["patient", "infusion_date", "product_lot", "dose_cells_per_kg", "dose_verdict", "status"]
