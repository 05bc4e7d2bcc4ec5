from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LaboratoryConfig(AppConfig):
    name = "laboratory"
    verbose_name = _("Laboratory")  # the admin's heading of the app, in the reader's language
