from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "monitoring"
    verbose_name = _("Monitoring")

    def ready(self):
        from crf import hooks

        from .services import crf_values_changed, deviations_record
        from .services.locks import data_lock_reason

        # The floor (crf) imports nothing from here; it calls these (crf/hooks.py).
        hooks.register_lock_check(data_lock_reason)
        hooks.register_values_changed(crf_values_changed)
        hooks.register_deviation_recorder(deviations_record)
