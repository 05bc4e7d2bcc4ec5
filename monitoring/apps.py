from django.apps import AppConfig
from django.db.models.signals import pre_delete


class MonitoringConfig(AppConfig):
    name = "monitoring"

    def ready(self):
        from patients.models import Patient, Visit

        from .crf import crf_child_models, crf_models, refuse_hard_delete

        # A signal, not a delete() override: it also stops QuerySet.delete() and cascades.
        for model in [*crf_models(), *crf_child_models(), Patient, Visit]:
            pre_delete.connect(refuse_hard_delete, sender=model, dispatch_uid=f"refuse_hard_delete:{model._meta.label}")
