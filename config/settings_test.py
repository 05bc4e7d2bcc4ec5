"""The settings of the test suite: production settings plus a test-only CRF app
(tests/crfapp), so that generic monitoring code runs against a concrete form."""
from .settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.crfapp.apps.CrfAppConfig"]  # noqa: F405
