from django.apps import AppConfig


class CrfAppConfig(AppConfig):
    """A test-only CRF, so that monitoring's generic code is tested on a real
    concrete form (the clinical CRFs live in other apps). Installed only by
    config/settings_test.py."""

    name = "tests.crfapp"
    label = "crfapp"
    default_auto_field = "django.db.models.BigAutoField"
