"""The admin's gate to patient data, shared by every app's admin: `CrfAdmin`,
the base of every CRF's ModelAdmin, so that the admin cannot bypass the CRF
life cycle, and `PatientScopedAdmin` for every record of a patient."""
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from .models import Patient


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written only by services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PatientScopedAdmin(admin.ModelAdmin):
    """The admin obeys the same gate as every page (`Patient.objects.visible_to`):
    another site's record — its change page and its history — is "not found"."""

    patient_path = "patient"  # the lookup from the record to its patient

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            **{f"{self.patient_path}__in": Patient.objects.visible_to(request.user)})

    def _visible_or_404(self, request, object_id) -> None:
        if not self.get_queryset(request).filter(pk=unquote(object_id)).exists():
            # simple-history would otherwise show the history of a record it cannot find.
            raise Http404("No such record.")

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context=extra_context)


class PatientScopedReadOnlyAdmin(PatientScopedAdmin, ReadOnlyAdmin):
    pass


class CrfAdmin(PatientScopedAdmin, ReadOnlyAdmin, SimpleHistoryAdmin):
    """Every CRF's admin: the forms of the patients the user may see, to browse
    with their history. Entries and corrections go through the CRF pages and
    the API, whose services run the edit checks, derive grades and responses,
    require a reason and honour locks and signatures; an admin form would
    bypass all of that, so here a CRF is read-only, locked or not."""

    list_filter = ["status"]
