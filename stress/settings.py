"""Django settings for a chaos run: the standalone site's, with every timer shortened.

The harness and the worker and beat processes it starts all load this module,
so they agree on the database, the Redis prefix and the timers. Timers come
from ``STRESS_*`` environment variables set by the harness (defaults suit a
quick run): a run of minutes must see checks, reaps and lock expiries that
production spaces out over hours.
"""

import os

from capomastro_changes.site.settings import *  # noqa: F403

_env = os.environ.get


def _seconds(name: str, default: float) -> float:
    return float(_env(f"STRESS_{name}", default))


CAPOMASTRO_CHANGES_CHECK_INTERVAL = _seconds("CHECK_INTERVAL", 2)
CAPOMASTRO_CHANGES_MIN_CHECK_INTERVAL = 1
CAPOMASTRO_CHANGES_MAX_CHECK_INTERVAL = _seconds("MAX_CHECK_INTERVAL", 8)
CAPOMASTRO_CHANGES_CHECK_LOCK_TTL = _seconds("CHECK_LOCK_TTL", 15)
CAPOMASTRO_CHANGES_PROBE_TIMEOUT = _seconds("PROBE_TIMEOUT", 10)
CAPOMASTRO_CHANGES_BUILD_LOCK_TTL = _seconds("BUILD_LOCK_TTL", 600)
CAPOMASTRO_CHANGES_TRIGGER_STALL_AFTER = _seconds("TRIGGER_STALL_AFTER", 6)
CAPOMASTRO_CHANGES_REAP_AFTER = _seconds("REAP_AFTER", 10)
CAPOMASTRO_CHANGES_JENKINS_TIMEOUT = _seconds("JENKINS_TIMEOUT", 2)
CAPOMASTRO_CHANGES_REDIS_SOCKET_TIMEOUT = 5.0
CAPOMASTRO_CHANGES_ALLOWED_SCHEMES = ("file", "git", "http", "https", "bzr")

_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
_LOG_FILE = _env("STRESS_LOG_FILE")
LOGGING = {**LOGGING}  # noqa: F405  (the site's, with its request-line redaction)
LOGGING["formatters"] = {**LOGGING["formatters"], "plain": {"format": _FORMAT}}
LOGGING["loggers"] = {**LOGGING["loggers"], "django.request": {"handlers": ["console"]}}
LOGGING["handlers"] = {
    **LOGGING["handlers"],
    "console": {"class": "logging.FileHandler", "filename": _LOG_FILE, "formatter": "plain"}
    if _LOG_FILE
    else {"class": "logging.StreamHandler", "formatter": "plain"},
}
