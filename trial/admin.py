from django import forms
from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import EligibilityCriterion, Protocol, Site, SiteMembership, VisitDefinition


class ReasonForChangeForm(forms.ModelForm):
    change_reason = forms.CharField(
        label="Reason for change", max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept on the audit trail with your name and the time.")


class AuditedAdmin(SimpleHistoryAdmin):
    """An admin change needs a reason, stored on the history row of the record
    and of each inline row it changes (HistoryRequestMiddleware records who)."""

    form = ReasonForChangeForm

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data["change_reason"]
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            inline_form.instance._change_reason = form.cleaned_data["change_reason"]
        super().save_formset(request, form, formset, change)


class EligibilityCriterionInline(admin.TabularInline):
    model = EligibilityCriterion
    extra = 0


class VisitDefinitionInline(admin.TabularInline):
    model = VisitDefinition
    extra = 0


@admin.register(Protocol)
class ProtocolAdmin(AuditedAdmin):
    list_display = ["code", "version", "effective_date", "planned_enrollment"]
    inlines = [EligibilityCriterionInline, VisitDefinitionInline]


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ["code", "name", "location", "require_two_factor_for_signing"]


@admin.register(SiteMembership)
class SiteMembershipAdmin(AuditedAdmin):
    list_display = ["user", "site", "role"]
    list_filter = ["role", "site"]
