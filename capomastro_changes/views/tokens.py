"""API tokens: who may read status, scrape metrics and push.

Tokens come from the ``CAPOMASTRO_CHANGES_API_TOKENS`` setting (a list, so a
token can be rotated by adding the new one before removing the old). A client
sends one as ``Authorization: Bearer <token>``; the push endpoint also takes
``?token=``, because git hooks and Jenkins' ``notifyCommit`` habits put it in
the URL. With no token configured every request is refused, and the answer
says why. Tokens are compared in constant time and never logged or echoed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging

from django.http import HttpRequest, JsonResponse

from capomastro_changes.conf import PREFIX, settings
from capomastro_changes.redaction import printable

log = logging.getLogger(__name__)
NOT_CONFIGURED = f"no API token is configured ({PREFIX}API_TOKENS): every request is refused"
WRONG_TOKEN = "missing or wrong API token"


def configured_tokens() -> list[str]:
    """The usable tokens: non-empty strings from the setting (system checks flag the rest)."""
    tokens = settings.API_TOKENS
    if isinstance(tokens, str):
        tokens = [tokens]
    return [t for t in tokens or () if isinstance(t, str) and t.strip()]


def token_matches(given: str, tokens: list[str]) -> bool:
    """True if ``given`` is one of ``tokens``, in time independent of where it differs.

    Both sides are hashed first so that the comparison also hides the tokens'
    lengths, and every token is compared, so a match ends nothing early.
    """
    if not given:
        return False
    digest = hashlib.sha256(given.encode()).digest()
    found = False
    for token in tokens:
        found |= hmac.compare_digest(digest, hashlib.sha256(token.encode()).digest())
    return found


def given_token(request: HttpRequest, allow_query: bool = False) -> str:
    """The token a request carries: the bearer header, else ``?token=`` where allowed."""
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.GET.get("token", "") if allow_query else ""


def refusal(request: HttpRequest, allow_query: bool = False) -> JsonResponse | None:
    """A 403 answer for a request without a valid token, or None to let it through."""
    tokens = configured_tokens()
    if not tokens:
        log.warning(
            "%s refused: %s (from %s)", printable(request.path), NOT_CONFIGURED, _peer(request)
        )
        return JsonResponse({"error": NOT_CONFIGURED}, status=403)
    if not token_matches(given_token(request, allow_query), tokens):
        log.warning(
            "%s refused: %s (from %s)", printable(request.path), WRONG_TOKEN, _peer(request)
        )
        return JsonResponse({"error": WRONG_TOKEN}, status=403)
    return None


def require_api_token(allow_query: bool = False):
    """Decorate a view so that it runs only for a request with a valid API token."""

    def decorate(view):
        @functools.wraps(view)
        def guarded(request: HttpRequest, *args, **kwargs):
            return refusal(request, allow_query) or view(request, *args, **kwargs)

        return guarded

    return decorate


def _peer(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "?")
