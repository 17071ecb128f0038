"""HTTP endpoints: the Jenkins Notification-plugin receiver, pushes, status and metrics.

The notification receiver is authenticated by the Jenkins server's notification
secret, given in the endpoint URL (``?secret=``, since the plugin cannot send
headers) or in an ``X-Notification-Secret`` header. The other endpoints take an
API token (see :mod:`capomastro_changes.views.tokens`). Both are compared in
constant time and never logged: refusals log the path and the client address.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import asdict

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from prometheus_client.exposition import choose_encoder

from bygmester_hooks import bounds
from capomastro_changes import metrics
from capomastro_changes.builds.events import UnknownJob, record_event
from capomastro_changes.builds.notifications import MAX_BODY_BYTES, BadNotification, parse_event
from capomastro_changes.detection import push
from capomastro_changes.models import JenkinsServer
from capomastro_changes.redaction import printable
from capomastro_changes.views import status
from capomastro_changes.views.tokens import require_api_token

log = logging.getLogger(__name__)


def secret_matches(given: str, expected: str) -> bool:
    """Constant-time comparison; an unset secret never matches."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@csrf_exempt
@require_POST
def jenkins_notification(request: HttpRequest, server_id: int) -> JsonResponse:
    """Take one Notification-plugin POST for the Jenkins server ``server_id``."""
    server = JenkinsServer.objects.filter(pk=server_id).first()
    given = request.headers.get("X-Notification-Secret") or request.GET.get("secret", "")
    # An unknown server gets the wrong secret's answer, so server ids cannot be probed
    # from outside; the log says which it was.
    expected = server.notification_secret if server else secrets.token_hex(16)
    if not secret_matches(given, expected):
        log.warning(
            "notification for %s refused: %s (from %s)",
            server or f"Jenkins server {server_id}",
            "missing or wrong secret" if server else "no such server",
            _peer(request),
        )
        return JsonResponse({"error": "missing or wrong notification secret"}, status=403)
    body = request.read(MAX_BODY_BYTES + 1)
    try:
        event = parse_event(body)
        build = record_event(server, event)
    except (BadNotification, UnknownJob) as exc:
        log.warning("bad notification for %s: %s", server, printable(str(exc)))
        return JsonResponse({"error": str(exc)}, status=400)
    answer = {"build": build.pk, "job": build.job.name, "phase": build.phase}
    if build.unexpected:  # kept and shown, but it moved no request and no lock
        answer["unexpected"] = True
    return JsonResponse(answer)


@csrf_exempt
@require_POST
@require_api_token(allow_query=True)
def push_notification(request: HttpRequest) -> JsonResponse:
    """A repository was pushed to: make its sources due now and list them.

    Parameters (query string, form body or a JSON object): ``url``, optional
    ``branches`` (comma-separated) and ``sha1`` or ``revision`` (only logged and
    echoed: the check reads the revision itself). An unknown URL schedules nothing.
    """
    try:
        pushed = push.parse_push(_push_parameters(request))
    except push.BadPush as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    answer = {"scheduled": [asdict(s) for s in push.schedule(pushed)]}
    if pushed.revision:
        answer["revision"] = pushed.revision
    return JsonResponse(answer)


def _push_parameters(request: HttpRequest) -> dict[str, str]:
    """Query string, overridden by a form body or a JSON object body."""
    params = {k: request.GET.get(k, "") for k in ("url", "branches", "sha1", "revision")}
    if request.content_type == "application/json":
        try:
            body = bounds.loads(request.read(push.MAX_URL_LENGTH * 20) or b"{}")
        except bounds.TooDeep as exc:
            raise push.BadPush(f"the body is refused: {exc}") from None
        except ValueError:
            raise push.BadPush("the body is not JSON") from None
        if not isinstance(body, dict):
            raise push.BadPush("the JSON body must be an object")
        if isinstance(body.get("branches"), list):
            body["branches"] = ",".join(str(b) for b in body["branches"])
        body = {k: str(v) for k, v in body.items() if v is not None}
    else:
        body = request.POST
    params.update({k: body[k] for k in params if body.get(k)})
    return params


@never_cache
@require_GET
@require_api_token()
def source_status(request: HttpRequest, source_id: int) -> JsonResponse:
    """A source's last and next check, and each dependency on it: building, waiting, lock."""
    document = status.source_status(source_id)
    if document is None:
        return JsonResponse({"error": f"unknown source {source_id}"}, status=404)
    return JsonResponse(document)


@never_cache
@require_GET
@require_api_token()
def project_status(request: HttpRequest, project_id: int) -> JsonResponse:
    """A project's dependencies with their current builds, and its latest project builds."""
    given = request.GET.get("builds", "10")
    builds = bounds.whole_number(given, bounds.BIGINT_MAX)
    if builds is None:
        return JsonResponse({"error": "builds must be a whole number, in ASCII digits"}, status=400)
    document = status.project_status(project_id, builds)
    if document is None:
        return JsonResponse({"error": f"unknown project {project_id}"}, status=404)
    return JsonResponse(document)


@never_cache
@require_GET
@require_api_token()
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """Every process's counters and the database gauges, in the Prometheus text format.

    The format follows the scraper's ``Accept`` header (OpenMetrics when asked).
    """
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(metrics.scrape_registry()), content_type=content_type)


def _peer(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "?")
