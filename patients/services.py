"""Operations on patients. Each validates, saves with an audit reason, and is
called alike by views, the API, the demo loader and tests."""
from django.db import transaction

from trial.models import Site

from .models import Patient


@transaction.atomic
def subject_id_assign(*, patient: Patient) -> str:
    """Hand out the site's next subject ID (SZ-001, SZ-002, …).

    The site row is locked for the rest of the transaction, so two
    coordinators enrolling at the same moment get different numbers; a number
    is never reused, even if the enrollment that took it is later undone.
    """
    site = Site.objects.select_for_update().get(pk=patient.site_id)
    site.last_subject_number += 1
    site.save(update_fields=["last_subject_number"])
    patient.subject_id = f"{site.code}-{site.last_subject_number:03d}"
    return patient.subject_id
