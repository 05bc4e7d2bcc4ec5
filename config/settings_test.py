"""The settings of the test suite: production settings plus a test-only CRF app
(tests/crfapp), so that generic monitoring code runs against a concrete form."""
from .settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.crfapp.apps.CrfAppConfig"]  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: the browser tests' live server answers parallel
    # requests (a page's figures) on threads that each need their own connection.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}  # noqa: F405

# A fast hash for the suite's many logins and users; production keeps Django's
# PBKDF2 default (settings.py), which costs ~0.3 s a hash by design.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
