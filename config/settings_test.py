"""The settings of the test suite: production settings plus a test-only CRF app
(tests/crfapp), so that generic monitoring code runs against a concrete form."""
import os

from .settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.crfapp.apps.CrfAppConfig"]  # noqa: F405

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory: the browser tests' live server answers parallel
    # requests (a page's figures) on threads that each need their own connection.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / ".test-db.sqlite3")}  # noqa: F405

# A fast hash for the suite's many logins and users; production keeps Django's
# PBKDF2 default (settings.py), which costs ~0.3 s a hash by design.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Under pytest-xdist each worker process gets its own test database (pytest-django
# adds the _gwN suffix) and, here, its own Redis database, so that one worker's
# real Celery worker, queue purge or cache flush never reaches another's.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _xdist_worker:  # noqa: F405
    from urllib.parse import urlsplit, urlunsplit

    _url = urlsplit(REDIS_URL)  # noqa: F405
    _base_db = int(_url.path.strip("/") or 0)
    REDIS_URL = urlunsplit(_url._replace(path=f"/{_base_db + 1 + int(_xdist_worker.removeprefix('gw'))}"))
    CELERY_BROKER_URL = CELERY_RESULT_BACKEND = CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
