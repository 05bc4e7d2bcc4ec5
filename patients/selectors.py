from django.shortcuts import get_object_or_404

from .models import Patient


def patient_for_user(*, user, study_id: str) -> Patient:
    """The patient by study ID, or 404 when it does not exist or the user
    may not see it — the two look the same, so IDs of other sites leak nothing.
    The Screening and Baseline CRFs come in the same query."""
    return get_object_or_404(
        Patient.objects.visible_to(user).select_related("site", "protocol", "screening", "baseline"),
        pk__in=Patient.objects.by_study_id(study_id).values("pk"),
    )
