"""Settings, read from the environment (django-environ), in one place.

Without DATABASE_URL the application uses an embedded SQLite file; without
REDIS_URL Celery runs tasks eagerly in the web process. Production sets both,
plus SECRET_KEY, ALLOWED_HOSTS and DEBUG=false.
"""
import os
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
SECRET_KEY = env("SECRET_KEY", default="insecure-development-key-change-me")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "trial",
    "crf",
    "patients",
    "infusions",
    "safety",
    "outcomes",
    "laboratory",
    "monitoring",
    "visits",
    "submission",
    "home",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the session or a view queries: a NUL byte is a 400, not a database error.
    "config.middleware.RejectNullCharactersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the login page's switch (a cookie), else the browser's Accept-Language;
    # a signed-in user's own choice is applied after authentication (trial.middleware).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # A signed-in user's own language before the switch's cookie and Accept-Language (docs/i18n.md).
    "trial.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "trial.middleware.IdleSessionTimeoutMiddleware",
    "trial.middleware.ContentSecurityPolicyMiddleware",
    "trial.middleware.FriendlyNotFoundMiddleware",
    # Records request.user as the author of every history row.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns locked-out logins into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "home.context_processors.trial",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# Persistent connections, checked before each request reuses one: after a PostgreSQL restart (or a
# dropped connection) the next request reconnects instead of failing, and the app needs no restart.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# 12 characters at least: one factor guards clinical data, so the password must
# outlast offline guessing (NIST SP 800-63B allows 8; length beats complexity rules).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env.int("PASSWORD_MIN_LENGTH", default=12)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Refuses nothing: a new password revokes the user's API tokens.
    {"NAME": "trial.tokens.RevokeApiTokensOnPasswordChange"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Signed out after this long without a request (trial.middleware); SESSION_COOKIE_AGE is the absolute limit.
SESSION_IDLE_TIMEOUT_MINUTES = env.int("SESSION_IDLE_TIMEOUT_MINUTES", default=30)

# Failed logins, failed API token requests and failed e-signature passwords or authenticator codes
# all count (trial/lockout.py). Five failures lock the username from that address for an hour;
# beside that, AXES_USERNAME_FAILURE_LIMIT failures from any addresses lock the username for
# AXES_USERNAME_WINDOW_HOURS (a guessing attack spread over many addresses).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FAILURE_LIMIT = env.int("AXES_USERNAME_FAILURE_LIMIT", default=20)
AXES_USERNAME_WINDOW_HOURS = env.int("AXES_USERNAME_WINDOW_HOURS", default=24)
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_HANDLER = "trial.lockout.AxesHandler"
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # one row per failure: the per-username window counts them
AXES_LOCKOUT_CALLABLE = "trial.lockout.lockout_response"
# The client's address is REMOTE_ADDR, unless the deployment sits behind a reverse proxy: then the
# proxy overwrites one header with the address it saw, and CLIENT_IP_HEADER names it, such as
# X-Real-IP (docs/operations.md, "Client addresses behind a proxy").
CLIENT_IP_HEADER = env("CLIENT_IP_HEADER", default="")
AXES_CLIENT_IP_CALLABLE = "trial.lockout.client_ip_address"
# API tokens (trial.models.ApiToken) expire this many days after they are issued.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=30)

LANGUAGE_CODE = "en-gb"
# The two languages of the application (docs/i18n.md). Stored values, CSV codes, ODM, CDISC datasets
# and the API do not change with the language; only what a person reads does.
LANGUAGES = [("en-gb", "English"), ("zh-hans", "简体中文")]
# base.html, the login and error pages and config/; each app keeps its own catalogue in <app>/locale/.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedStaticFilesStorage"
        )
    },
}

# A reason for change is clinical record: keep it whole, however long.
SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "trial.tokens.ApiTokenAuthentication",  # hashed, expiring, revocable (trial.models.ApiToken)
        # DRF's, refusing a session that has not passed its user's second factor.
        "trial.auth.SessionAuthentication",
    ],
    # DRF's parsers, with a nesting limit on JSON (config/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "config.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    # A service's refusal answered the same on every route (409, 400 per field, 403).
    "EXCEPTION_HANDLER": "config.api_errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CAR-T EDC API",
    "DESCRIPTION": "Electronic data capture for the CD19 CAR-T trial in R/R B-cell ALL.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI served from our own static files: sites may have no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "GeneticResultEnum": "outcomes.models.GeneticResult",  # karyotype and molecular results
        "CrfStatusEnum": "crf.models.CrfStatus",
        "RelatednessEnum": "safety.rules.Relatedness",
        "VisitStatusEnum": "trial.rules.VisitStatus",
        "PatientStatusEnum": "patients.models.PatientStatus",
    },
}

# The submission packages (SDTM, ADaM) map and write their datasets in this many worker processes
# (submission.package.build_datasets); 1 builds them in the requesting process.
SUBMISSION_PROCESSES = env.int("SUBMISSION_PROCESSES", default=min(os.cpu_count() or 1, 4))

# Celery: a real broker when REDIS_URL is set, otherwise tasks run in-process.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task killed mid-way is redelivered, so tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message a killed worker had taken (acks_late) goes back to the queue once it is older than the
# visibility timeout, when a worker starts or sweeps. Keep it above the longest task and retry countdown.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_connect_timeout": 5,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Visit statuses (due / overdue / missed / not expected) and the coordinators' reminder e-mails.
    "visits-daily": {"task": "visits.tasks.visits_daily", "schedule": crontab(hour=6, minute=0)},
    # Catch-up: infused patients whose scheduling task was never queued (Redis was down) or was lost.
    "visits-schedule-missing": {"task": "visits.tasks.visits_schedule_missing", "schedule": crontab(minute="*/10")},
    # Daily: flag and e-mail SAE initial reports past their 24-hour deadline.
    "safety-sae-overdue": {"task": "safety.sae_overdue_notify", "schedule": crontab(hour=7, minute=0)},
    # Recompute the cached endpoints after a change, before an investigator opens the page
    # (one cheap version query when nothing changed).
    "endpoints-cache-refresh": {"task": "outcomes.tasks.endpoints_cache_refresh", "schedule": crontab()},
    # The same for the cohort kinetics page and plot and the B-cell recovery of the endpoints page.
    "laboratory-cache-refresh": {"task": "laboratory.tasks.cohort_cache_refresh", "schedule": crontab()},
}

# The cache holds what is expensive and derived (the endpoints and their figures), keyed on a
# version of the data read from the database, so a stale entry is never served: Redis when
# REDIS_URL is set (shared by every web process), otherwise memory of the one process. With Redis
# down, pages compute without it (trial/cache.py); short timeouts keep that from hanging a page.
CACHES = {
    "default": (
        {"BACKEND": "trial.cache.FaultTolerantRedisCache", "LOCATION": REDIS_URL,
         "KEY_PREFIX": "edc-cache", "TIMEOUT": 24 * 3600,
         "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "edc", "TIMEOUT": 24 * 3600}
    ),
}

EMAIL_CONFIG = env.email("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="edc@localhost")

# Production hardening, on whenever DEBUG is off and the deployment says HTTPS.
SECURE_SSL = env.bool("SECURE_SSL", default=False)
SESSION_COOKIE_SECURE = SECURE_SSL
CSRF_COOKIE_SECURE = SECURE_SSL
SECURE_SSL_REDIRECT = SECURE_SSL
SECURE_HSTS_SECONDS = 31536000 if SECURE_SSL else 0
# Every subdomain on HTTPS too, and eligible for the browsers' preload list; turn off
# (SECURE_HSTS_INCLUDE_SUBDOMAINS=false) when other hosts of the domain still serve HTTP.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_SSL)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=SECURE_SSL)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = env(
    "CONTENT_SECURITY_POLICY",
    default="frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_SSL else None
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Eager tasks would log every success into the web server's console.
    "loggers": {"celery.app.trace": {"level": "INFO" if REDIS_URL else "WARNING"},
                # WeasyPrint logs every layout step of every page at INFO.
                "weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
