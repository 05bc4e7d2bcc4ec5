from django.apps import AppConfig
from django.db.models.signals import pre_delete
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "patients"
    verbose_name = _("Patients")

    def ready(self):
        from crf.models import refuse_hard_delete

        from .models import Patient, Visit

        # Patients and visits are never hard-deleted either (the CRFs: crf/apps.py).
        for model in (Patient, Visit):
            pre_delete.connect(refuse_hard_delete, sender=model, dispatch_uid=f"refuse_hard_delete:{model._meta.label}")
