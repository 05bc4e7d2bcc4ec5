from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from patients.admin_base import CrfAdmin
from trial.admin import AuditedAdmin, ReasonForChangeForm

from .models import Laboratory, NormalRange
from .services import normal_range_change_blockers, normal_range_save


@admin.register(Laboratory)
class LaboratoryAdmin(CrfAdmin):
    list_display = ["patient", "collection_date", "status"]


class NormalRangeForm(ReasonForChangeForm):
    """A change that would judge again a result of a locked form is refused here, before anything is saved."""

    class Meta:
        model = NormalRange
        fields = "__all__"

    def _post_clean(self):
        super()._post_clean()  # the instance now holds the values entered
        if not self.errors:
            blockers = normal_range_change_blockers(normal_range=self.instance)
            if blockers:
                self.add_error(None, ValidationError(
                    [_("This change would re-grade results of locked forms:"), *blockers]))


@admin.register(NormalRange)
class NormalRangeAdmin(AuditedAdmin):
    """Normal ranges are reference data, not a patient's: an administrator records a site's own (with a reason,
    kept on the history row). The service judges again the stored results the range covered or covers
    (`laboratory.services.normal_range_save`): their flags and CTCAE grades follow, audited with the cause.
    A range is never deleted (the results judged against it keep it on record): change it instead."""

    form = NormalRangeForm
    list_display = ["analyte", "site", "sex", "age_from_years", "age_to_years", "lower", "upper"]
    list_filter = ["site", "analyte"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        changed = normal_range_save(normal_range=obj, by=request.user, reason=form.cleaned_data["reason"])
        self.message_user(request, ngettext(
            "%(count)d stored result re-graded against the new range.",
            "%(count)d stored results re-graded against the new range.", len(changed)) % {"count": len(changed)},
            messages.INFO)
