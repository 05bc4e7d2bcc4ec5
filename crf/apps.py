from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import pre_delete
from django.utils.translation import gettext_lazy as _


class CrfConfig(AppConfig):
    """The CRF floor: the abstract form, the registry, the one audited save and the life cycle.
    It holds no table of its own and imports no app above `trial`."""

    name = "crf"
    verbose_name = _("Case report forms")

    def ready(self):
        from .models import crf_child_models, crf_models, refuse_hard_delete

        # A signal, not a delete() override: it also stops QuerySet.delete() and cascades.
        for model in [*crf_models(), *crf_child_models()]:
            pre_delete.connect(refuse_hard_delete, sender=model, dispatch_uid=f"refuse_hard_delete:{model._meta.label}")
        checks.register(_hooks_registered)


def _hooks_registered(app_configs, **kwargs):
    from .hooks import hooks_missing

    return [
        checks.Error(f"No {name} is registered with the CRF floor (crf.hooks).", id="crf.E001",
                     hint="The app that keeps locks, signatures and deviations registers them in ready().")
        for name in hooks_missing()
    ]
