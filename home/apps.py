from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HomeConfig(AppConfig):
    """The top floor: the home page and the demo loader, which gather from every app.
    Nothing imports from here."""

    name = "home"
    verbose_name = _("Home")
