from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from .models import ApiToken, EligibilityCriterion, Protocol, Site, SiteMembership, VisitDefinition
from .services import user_deactivate
from .tokens import api_token_revoke


class ReasonForChangeForm(forms.ModelForm):
    reason = forms.CharField(
        label="Reason for change", max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept on the audit trail with your name and the time.")


class AuditedAdmin(SimpleHistoryAdmin):
    """An admin change needs a reason, stored on the history row of the record
    and of each inline row it changes (HistoryRequestMiddleware records who)."""

    form = ReasonForChangeForm

    def save_model(self, request, obj, form, change):
        obj._change_reason = form.cleaned_data["reason"]
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            inline_form.instance._change_reason = form.cleaned_data["reason"]
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


# --- Users: deactivated, never deleted ---------------------------------------------------------

class UserAdmin(DjangoUserAdmin):
    """Django's user admin, except that a user is never deleted (their name is on the audit trail of
    everything they did): unticking "active", or the "Deactivate" action, goes through
    `user_deactivate`, which also revokes their API tokens."""

    actions = ["deactivate_users"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        deactivating = change and "is_active" in form.changed_data and not obj.is_active
        if deactivating:
            obj.is_active = True  # the service makes that change, with its checks and log
        super().save_model(request, obj, form, change)
        if deactivating:
            try:
                user_deactivate(user=obj, by=request.user, reason="Unticked 'active' in the administration pages")
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), level=messages.ERROR)

    @admin.action(description="Deactivate the selected users (they are never deleted)")
    def deactivate_users(self, request, queryset):
        done = 0
        for user in queryset.filter(is_active=True):
            try:
                user_deactivate(user=user, by=request.user, reason="Deactivated in the administration pages")
            except ValidationError as error:
                self.message_user(request, f"{user.username}: {' '.join(error.messages)}", level=messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"{done} user(s) deactivated.")


admin.site.unregister(User)
admin.site.register(User, UserAdmin)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Who holds which token: never a key (only its digest is stored). An administrator can revoke
    one; tokens are made by their owners (the API or the "API tokens" page)."""

    list_display = ["prefix", "user", "name", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "prefix", "name"]
    readonly_fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at",
                       "revoked_reason"]
    exclude = ["digest"]
    actions = ["revoke_tokens"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a revoked token stays on record

    @admin.action(description="Revoke the selected tokens")
    def revoke_tokens(self, request, queryset):
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, by=request.user, reason=f"Revoked by administrator {request.user}")
        self.message_user(request, "Tokens revoked.")
