"""Django system checks for the app's settings, so a bad value is caught at start-up."""

from __future__ import annotations

from django.core import checks

from capomastro_changes.conf import DEFAULTS, PREFIX, is_positive, settings
from capomastro_changes.detection.scheduling import READS_SHARE
from capomastro_changes.vcs.urls import SUPPORTED_SCHEMES

# Only what some reader can speak: a scheme nothing reads would pass the URL
# policy at save time and fail at every check.
_KNOWN_SCHEMES = frozenset().union(*SUPPORTED_SCHEMES.values())
MIN_TOKEN_LENGTH = 24
_POSITIVE_NUMBERS = (
    "PROBE_TIMEOUT",
    "PROBE_MAX_OUTPUT",
    "GIT_MAX_ADVERTISEMENT",
    "CHECK_INTERVAL",
    "MIN_CHECK_INTERVAL",
    "MAX_CHECK_INTERVAL",
    "CHECK_LOCK_TTL",
    "JENKINS_PROBE_DEADLINE",
    "BUILD_LOCK_TTL",
    "TRIGGER_STALL_AFTER",
    "REAP_AFTER",
    "JENKINS_TIMEOUT",
    "HISTORY_KEEP",
    "REDIS_SOCKET_TIMEOUT",
    "CHECK_BATCH_MAX",
    "CHECK_BATCH_THREADS",
    "SWEEP_LIMIT",
)
# Counts: lists are cut and threads started with them, so 2.5 is no more a count than -1.
_COUNTS = frozenset(
    {"HISTORY_KEEP", "CHECK_BATCH_MAX", "CHECK_BATCH_THREADS", "SWEEP_LIMIT", "PROBE_MAX_OUTPUT",
     "GIT_MAX_ADVERTISEMENT"}
)  # fmt: skip


@checks.register()
def check_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every numeric setting positive, bounds ordered, schemes known, switches boolean."""
    errors = _check_numbers()
    if not errors and not (
        settings.MIN_CHECK_INTERVAL <= settings.CHECK_INTERVAL <= settings.MAX_CHECK_INTERVAL
    ):
        errors.append(
            checks.Error(
                f"{PREFIX}CHECK_INTERVAL must lie between MIN_CHECK_INTERVAL "
                "and MAX_CHECK_INTERVAL.",
                id="capomastro_changes.E003",
            )
        )
    errors += _check_schemes()
    if not errors:
        errors += _check_batch_fits_its_lock()
    if not isinstance(settings.JENKINS_VIEWS, bool):
        errors.append(
            checks.Error(
                f"{PREFIX}JENKINS_VIEWS must be True or False, not {settings.JENKINS_VIEWS!r}.",
                id="capomastro_changes.E006",
            )
        )
    return errors


def _check_numbers() -> list[checks.CheckMessage]:
    errors = []
    for name in _POSITIVE_NUMBERS:
        value = getattr(settings, name)
        kinds, what = (int, "whole number") if name in _COUNTS else (int | float, "number")
        if not is_positive(value, kinds):
            errors.append(
                checks.Error(
                    f"{PREFIX}{name} must be a positive {what}, not {value!r}.",
                    hint=f"The default is {DEFAULTS[name]!r}.",
                    id="capomastro_changes.E001",
                )
            )
    workers = settings.SWEEP_WORKERS
    if workers is not None and not is_positive(workers, int):
        errors.append(
            checks.Error(
                f"{PREFIX}SWEEP_WORKERS must be a positive whole number or None (this "
                f"machine's CPU count), not {workers!r}.",
                id="capomastro_changes.E001",
            )
        )
    cap = settings.MAX_BUILDS_IN_FLIGHT
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
        errors.append(
            checks.Error(
                f"{PREFIX}MAX_BUILDS_IN_FLIGHT must be a whole number ≥ 0 (0: no cap), "
                f"not {cap!r}.",
                id="capomastro_changes.E002",
            )
        )
    return errors


def _check_batch_fits_its_lock() -> list[checks.CheckMessage]:
    """A read must be able to end within the share of the check lock's life a batch reads in."""
    room = READS_SHARE * float(settings.CHECK_LOCK_TTL)
    if settings.PROBE_TIMEOUT <= room:
        return []
    return [
        checks.Error(
            f"{PREFIX}PROBE_TIMEOUT ({settings.PROBE_TIMEOUT:g} s) must stay within "
            f"{READS_SHARE:g} × CHECK_LOCK_TTL ({room:g} s): a check would outlive its lock.",
            hint="Lower PROBE_TIMEOUT or raise CHECK_LOCK_TTL.",
            id="capomastro_changes.E007",
        )
    ]


def _check_schemes() -> list[checks.CheckMessage]:
    schemes = settings.ALLOWED_SCHEMES
    unknown = sorted(set(schemes) - _KNOWN_SCHEMES) if isinstance(schemes, list | tuple) else None
    if unknown is None or unknown or not schemes:
        return [
            checks.Error(
                f"{PREFIX}ALLOWED_SCHEMES must be a non-empty list of URL schemes a reader "
                "can speak" + (f"; unknown: {', '.join(unknown)}." if unknown else "."),
                hint=f"Known schemes: {', '.join(sorted(_KNOWN_SCHEMES))}.",
                id="capomastro_changes.E004",
            )
        ]
    return []


@checks.register()
def check_api_tokens(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """API tokens: a list of non-empty strings; short ones are guessable."""
    tokens = settings.API_TOKENS
    if not isinstance(tokens, list | tuple) or not all(
        isinstance(t, str) and t.strip() for t in tokens
    ):
        return [
            checks.Error(
                f"{PREFIX}API_TOKENS must be a list of non-empty strings.",
                hint="Tokens are sent as 'Authorization: Bearer <token>'.",
                id="capomastro_changes.E005",
            )
        ]
    if any(len(t) < MIN_TOKEN_LENGTH for t in tokens):
        return [
            checks.Warning(
                f"{PREFIX}API_TOKENS has a token shorter than {MIN_TOKEN_LENGTH} characters.",
                hint="Make them long and random: python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'.",
                id="capomastro_changes.W005",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def check_admin_guards_secrets(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every registered admin refuses lookups by a secret field; an unguarded one is an error.

    The guard is put on in the app's ``ready``, after the admin discovered the
    other apps' admins; a host that lists this app before ``django.contrib.admin``
    would leave them unguarded.
    """
    from django.apps import apps

    if not apps.is_installed("django.contrib.admin"):
        return []
    from django.contrib import admin

    from capomastro_changes.admin.secret_lookups import SecretLookupGuard

    bare = sorted(
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, SecretLookupGuard)
    )
    if not bare:
        return []
    return [
        checks.Error(
            f"These admins could be filtered by a secret field: {', '.join(bare)}.",
            hint="List 'capomastro_changes' after 'django.contrib.admin' in INSTALLED_APPS.",
            id="capomastro_changes.E008",
        )
    ]
