from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InfusionsConfig(AppConfig):
    name = "infusions"
    verbose_name = _("Infusions")  # the admin's heading of the app, in the reader's language
