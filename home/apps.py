from django.apps import AppConfig


class HomeConfig(AppConfig):
    """The top floor: the home page and the demo loader, which gather from every app.
    Nothing imports from here."""

    name = "home"
