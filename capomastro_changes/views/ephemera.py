"""The builder's ephemera endpoints: find a set, stage an upload, stream an archive down.

Every call carries the build's own token (``Authorization: Bearer``, minted
at trigger time, never in a URL); a token is good for its own dependency's
archives only, and only while its build is active. Staff with the view
permission may download any archive from the admin. Archives stream both
ways: nothing holds a whole one in memory. Refusals log the path and the
client, never the token.
"""

from __future__ import annotations

import json
import logging
import re

from django.http import FileResponse, HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from bygmester_hooks import bounds
from bygmester_hooks.ephemera.keys import KEY, NAME
from bygmester_hooks.ephemera.paths import PathRefused, member_path
from capomastro_changes.builds.ephemera import finding, staging
from capomastro_changes.builds.ephemera.grants import grant_of
from capomastro_changes.builds.ephemera.storage import (
    UploadRefused,
    UploadTooLarge,
    archive_storage,
)
from capomastro_changes.models import EphemeraPolicy, Ephemeron
from capomastro_changes.redaction import printable
from capomastro_changes.views.tokens import given_token

log = logging.getLogger(__name__)
DENIED = "missing, expired or foreign ephemera token"
SHA = re.compile(r"[0-9a-f]{64}")
MAX_PATHS = 64


def _refuse(request: HttpRequest, status: int, error: str) -> JsonResponse:
    log.warning(
        "ephemera %s %s refused (%s): %s", printable(request.method), printable(request.path),
        request.META.get("REMOTE_ADDR", "?"), printable(error),
    )  # fmt: skip
    return JsonResponse({"error": error}, status=status)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def ephemera_set(request: HttpRequest, name: str) -> JsonResponse:
    """GET: the newest archive this build may restore; POST: stage an upload."""
    grant = grant_of(given_token(request))
    if grant is None:
        return _refuse(request, 403, DENIED)
    dependency = grant.request.dependency
    policy = EphemeraPolicy.of(dependency.pk)
    key = request.GET.get("key", "")
    if not NAME.fullmatch(name) or not KEY.fullmatch(key):
        return _refuse(request, 400, "a set name (letters, digits, ._-) and a 64-hex key needed")
    if policy.mode == EphemeraPolicy.OFF:
        return _refuse(request, 403, f"ephemera are off for {dependency}")
    if request.method == "GET":
        fallback = request.GET.get("fallback") == "1" and policy.allow_fallback
        found = finding.newest(dependency.pk, name, key, fallback)
        if found is None:
            return JsonResponse({"error": f"no ephemera for {name} (key {key[:12]}…)"}, status=404)
        return JsonResponse(finding.description(found, key))
    if policy.mode != EphemeraPolicy.PERSIST:
        return _refuse(request, 403, f"{dependency} restores ephemera but keeps none")
    tainted = finding.invalidated_use(grant.request, name)
    if tainted is not None:
        return _refuse(request, 409, f"this build restored archive #{tainted} of {name}, since "
                       "invalidated: nothing made from it is kept")  # fmt: skip
    try:
        upload = announced(request, policy.max_size)
        archive = staging.stage(grant, name, key, request, upload, policy.max_size)
    except (UploadRefused, ValueError) as exc:
        return _refuse(request, 413 if isinstance(exc, UploadTooLarge) else 400, str(exc))
    return JsonResponse(
        {"id": archive.pk, "state": archive.state, "size": archive.size, "sha256": archive.sha256},
        status=201,
    )


def announced(request: HttpRequest, limit: int) -> dict:
    """What the builder says it sends: length, unpacked size, SHA-256, paths; checked.

    Raises:
        UploadTooLarge: the archive's files are larger than ``limit``.
        ValueError: a header is missing or malformed.
    """
    length = bounds.whole_number(request.META.get("CONTENT_LENGTH", ""), bounds.BIGINT_MAX)
    unpacked = bounds.whole_number(
        request.headers.get("X-Ephemera-Unpacked-Size", ""), bounds.BIGINT_MAX
    )
    if length is None or unpacked is None:
        raise ValueError("Content-Length and X-Ephemera-Unpacked-Size are needed")
    if unpacked > limit:
        raise UploadTooLarge(f"{unpacked} bytes unpacked is more than the {limit} allowed")
    sha = request.headers.get("X-Ephemera-SHA256", "")
    if not SHA.fullmatch(sha):
        raise ValueError("X-Ephemera-SHA256 must be 64 hex characters")
    try:
        paths = bounds.loads(request.headers.get("X-Ephemera-Paths", ""))
    except ValueError as exc:
        raise ValueError("X-Ephemera-Paths must be a JSON list of paths") from exc
    if not isinstance(paths, list) or not paths or len(paths) > MAX_PATHS:
        raise ValueError(f"X-Ephemera-Paths must list 1 to {MAX_PATHS} paths")
    try:
        clean = sorted({member_path(p) for p in paths if isinstance(p, str)})
    except PathRefused as exc:
        raise ValueError(str(exc)) from exc
    if len(clean) != len(set(paths)):
        raise ValueError("X-Ephemera-Paths must list relative paths, each once")
    return {"length": length, "unpacked_size": unpacked, "sha256": sha, "paths": clean}


@never_cache
@require_http_methods(["GET"])
def ephemera_archive(request: HttpRequest, archive_id: int):
    """The archive's bytes, streamed: for its dependency's build, or staff in the admin."""
    archive = Ephemeron.objects.filter(pk=archive_id).first()
    user = getattr(request, "user", None)
    staff = bool(
        user is not None and user.is_active and user.is_staff
        and user.has_perm("capomastro_changes.view_ephemeron")
    )  # fmt: skip
    grant = None if staff else grant_of(given_token(request))
    if not staff and (grant is None or archive is None):
        return _refuse(request, 403, DENIED)
    if not staff and archive.dependency_id != grant.request.dependency_id:
        return _refuse(request, 403, DENIED)
    if archive is None or not archive.storage_name:
        return _refuse(request, 404, "no such archive, or it was ended")
    if not staff and archive.state != Ephemeron.COMMITTED:
        return _refuse(request, 403, f"archive #{archive.pk} is {archive.state}")
    try:
        stored = archive_storage().open(archive.storage_name, "rb")
    except FileNotFoundError:
        log.error("ephemera archive #%s has a record but no file (%s)", archive.pk,
                  printable(archive.storage_name))  # fmt: skip
        return _refuse(request, 404, f"archive #{archive.pk} has no file in storage")
    if grant is not None:
        finding.note_download(archive, grant.request)
    response = FileResponse(
        stored,
        as_attachment=True,
        filename=f"{archive.name}-{archive.pk}.tar.gz",
        content_type="application/gzip",
    )
    response["Content-Length"] = str(archive.size)
    return response


@csrf_exempt
@require_POST
def ephemera_restored(request: HttpRequest, archive_id: int) -> JsonResponse:
    """The builder's word on a restore: unpacked, or refused and why."""
    grant = grant_of(given_token(request))
    archive = Ephemeron.objects.filter(pk=archive_id).first()
    if grant is None or archive is None or archive.dependency_id != grant.request.dependency_id:
        return _refuse(request, 403, DENIED)
    try:
        said = bounds.loads(request.read(4096))
    except ValueError:
        said = None
    if not isinstance(said, dict) or not isinstance(said.get("ok"), bool):
        return _refuse(request, 400, 'expected {"ok": true|false, "why": "..."}')
    why = str(said.get("why") or "")
    if not finding.note_outcome(archive, grant.request, said["ok"], why):
        return _refuse(request, 409, "this build never downloaded that archive")
    if not said["ok"]:
        log.warning(
            "request #%s refused ephemera archive #%s: %s", grant.request.pk, archive.pk,
            json.dumps(why)[:300],
        )  # fmt: skip
    return JsonResponse({"recorded": True})


@never_cache
@require_http_methods(["GET"])
def ephemera_root(request: HttpRequest) -> JsonResponse:
    """The base the builder is given as ``EPHEMERA_URL``: for a live token, what lies under it."""
    if grant_of(given_token(request)) is None:
        return _refuse(request, 403, DENIED)
    return JsonResponse({"sets": "sets/<name>/?key=<sha256>", "archives": "archives/<id>/"})
