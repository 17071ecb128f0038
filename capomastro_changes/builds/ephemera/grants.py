"""Who a request with a bearer token is: the build (rebuild request) it was minted for.

Tokens are minted by the trigger (:func:`capomastro_changes.rebuilds.trigger.ephemera_parameters`).

A token is good while its request is active and it has not expired; the
dependency's policy (:meth:`EphemeraPolicy.of`) then says what the build may do.
"""

from __future__ import annotations

from django.utils import timezone

from capomastro_changes.models import EphemeraGrant
from capomastro_changes.models.querysets import ACTIVE


def grant_of(token: str) -> EphemeraGrant | None:
    """The live grant behind ``token``, or None (unknown, expired, or its build is over)."""
    if not token:
        return None
    grant = (
        EphemeraGrant.objects.select_related("request__dependency")
        .filter(token_hash=EphemeraGrant.hash(token), expires_at__gt=timezone.now())
        .first()
    )
    if grant is None or grant.request.state not in ACTIVE:
        return None
    return grant
