from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import EligibilityCriterion, Protocol, Site, SiteMembership, VisitDefinition


class EligibilityCriterionInline(admin.TabularInline):
    model = EligibilityCriterion
    extra = 0


class VisitDefinitionInline(admin.TabularInline):
    model = VisitDefinition
    extra = 0


@admin.register(Protocol)
class ProtocolAdmin(SimpleHistoryAdmin):
    list_display = ["code", "version", "effective_date", "planned_enrollment"]
    inlines = [EligibilityCriterionInline, VisitDefinitionInline]


@admin.register(Site)
class SiteAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "location", "require_two_factor_for_signing"]


@admin.register(SiteMembership)
class SiteMembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "site", "role"]
    list_filter = ["role", "site"]
