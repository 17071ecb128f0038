"""Dispatching a request the way Jenkins would: faults, auth, crumb, then the route.

The order matters and is Jenkins': a server still starting answers 503 to
everything; a bad password is a 401 before anything else is looked at; a
POST without a valid crumb is a 403. The ``/standin/`` routes are the
observer's window (build log, deliveries, fault knobs): they skip faults,
auth and crumbs so a test or harness can always read them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import time

from capomastro_changes.testing.jenkins import job_routes, render, view_routes
from capomastro_changes.testing.jenkins.build_queue import (
    NoSuchItem,
    NotBuildable,
    NotCancellable,
    NothingSubmitted,
    NotParameterized,
)
from capomastro_changes.testing.jenkins.config import JobConfigError
from capomastro_changes.testing.jenkins.faults import DISCONNECT
from capomastro_changes.testing.jenkins.server import (
    Request,
    Response,
    html_response,
    json_response,
    text_response,
)
from capomastro_changes.testing.jenkins.state import JobExists, NoSuchBuild, NoSuchJob
from capomastro_changes.testing.jenkins.tree import TreeSyntaxError, apply_tree, parse_tree
from capomastro_changes.testing.jenkins.view_state import NoSuchView, ViewConfigError, ViewRefused

CRUMB_FIELD = "Jenkins-Crumb"
STATUS_OF = {
    NoSuchJob: 404,
    NoSuchBuild: 404,
    NoSuchItem: 404,
    NotBuildable: 409,
    NotParameterized: 400,
    NothingSubmitted: 400,
    NotCancellable: 422,
    JobConfigError: 400,
    TreeSyntaxError: 400,
    NoSuchView: 404,
    ViewConfigError: 500,
}


def handle(app, request: Request) -> Response | None:
    """Answer one request; None means "drop the connection"."""
    if request.path.startswith("/standin/"):
        return _route(app, request, STANDIN_ROUTES)
    if time.monotonic() < app.starting_until:
        return html_response("Please wait while Jenkins is getting ready to work", 503)
    if app.faults.latency:
        time.sleep(app.faults.latency)
    fault = app.faults.request_fault()
    if fault == DISCONNECT:
        return None
    if fault is not None:
        return text_response(f"stand-in fault injected: HTTP {fault}", fault)
    refusal = _check_auth(app, request) or _check_crumb(app, request)
    if refusal is not None:
        return refusal
    try:
        response = _route(app, request, ROUTES + job_routes.ROUTES + view_routes.ROUTES)
    except JobExists as exc:
        message = f"A job already exists with the name ‘{exc}’"
        return text_response(message, 400, X_Error=message)
    except ViewRefused as exc:
        return text_response(str(exc), 400, X_Error=str(exc))
    except tuple(STATUS_OF) as exc:
        return text_response(str(exc) or type(exc).__name__, STATUS_OF[type(exc)])
    if request.query.get("tree") and response.content_type.startswith("application/json"):
        data = apply_tree(json.loads(response.body), parse_tree(request.query["tree"]))
        response = json_response(data, response.status)
    return response


def _route(app, request: Request, routes) -> Response:
    for method, pattern, view in routes:
        match = pattern.fullmatch(request.path)
        if match and request.method in (method, "HEAD" if method == "GET" else method):
            return view(app, request, **match.groupdict())
    if any(p.fullmatch(request.path) for _, p, _ in routes):
        return text_response("HTTP method not allowed here", 405)
    return html_response("Not Found", 404)


def _check_auth(app, request: Request) -> Response | None:
    """A wrong user or token is a 401; no credentials at all is a 403 for ``anonymous``.

    Jenkins core: ``BasicHeaderProcessor`` answers bad credentials 401, while an
    anonymous request without Overall/Read fails the permission check, and
    ``AccessDeniedException3.reportAsHeaders`` answers 403 with the
    ``X-You-Are-Authenticated-As: anonymous`` and ``X-Required-Permission``
    headers.
    """
    if app.username is None:
        return None
    if not request.headers.get("Authorization"):
        return text_response(
            "Authentication required", 403,
            X_You_Are_Authenticated_As="anonymous",
            X_Required_Permission="hudson.model.Hudson.Read",
        )  # fmt: skip
    user, password = _basic_credentials(request.headers.get("Authorization", ""))
    if user == app.username and hmac.compare_digest(password or "", app.password or ""):
        return None
    message = "Invalid password/token for user: " + (user or "anonymous")
    return text_response(message, 401, WWW_Authenticate='Basic realm="Jenkins"')


def _basic_credentials(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        user, _, password = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return user, password


def _check_crumb(app, request: Request) -> Response | None:
    if request.method != "POST" or not app.crumbs:
        return None
    if hmac.compare_digest(request.headers.get(CRUMB_FIELD, ""), app.crumb):
        return None
    return text_response("No valid crumb was included in the request", 403)


def root(app, request: Request) -> Response:
    return html_response("Dashboard [Jenkins]")


def root_api(app, request: Request) -> Response:
    with app.state.cond:
        jobs = [render.job_summary(job, app.url) for job in app.state.jobs.values()]
    views = [view_routes.view_json(app, view) for view in app.views.all()]
    return json_response(
        {
            "_class": "hudson.model.Hudson",
            "mode": "NORMAL",
            "nodeDescription": "the Jenkins stand-in of capomastro-changes",
            "nodeName": "",
            "numExecutors": app.queue.executors,
            "jobs": jobs,
            "primaryView": views[0],
            "views": views,
            "quietingDown": False,
            "useCrumbs": app.crumbs,
            "useSecurity": app.username is not None,
            "url": app.url,
        }
    )


def crumb_issuer(app, request: Request) -> Response:
    if not app.crumbs:
        return html_response("Not Found", 404)
    return json_response(
        {
            "_class": "hudson.security.csrf.DefaultCrumbIssuer",
            "crumb": app.crumb,
            "crumbRequestField": CRUMB_FIELD,
        }
    )


def whoami(app, request: Request) -> Response:
    user = app.username or "anonymous"
    return json_response(
        {
            "_class": "hudson.model.User",
            "absoluteUrl": f"{app.url}user/{user}",
            "description": None,
            "fullName": user,
            "id": user,
            "property": [],
        }
    )


def computers(app, request: Request) -> Response:
    node = _node(app)
    return json_response(
        {
            "_class": "hudson.model.ComputerSet",
            "busyExecutors": len(app.queue.busy),
            "computer": [node],
            "displayName": "Nodes",
            "totalExecutors": app.queue.executors,
        }
    )


def computer(app, request: Request, node: str) -> Response:
    if node not in ("(master)", "(built-in)", "Built-In Node"):
        raise NoSuchItem(f"no node {node}")
    return json_response(_node(app))


def _node(app) -> dict:
    with app.state.cond:
        running = {
            build.executor: build for job in app.state.jobs.values() for build in job.running()
        }
        executors = render.executors_json(running, app.queue.executors, app.url)
    return {
        "_class": "hudson.model.Hudson$MasterComputer",
        "assignedLabels": [{"name": "built-in"}],
        "description": "the Jenkins built-in node",
        "displayName": "Built-In Node",
        "executors": executors,
        "icon": "symbol-computer",
        "idle": not running,
        "numExecutors": app.queue.executors,
        "offline": False,
        "offlineCause": None,
        "temporarilyOffline": False,
    }


def queue_api(app, request: Request) -> Response:
    with app.state.cond:
        items = [render.queue_item_json(i, app.url, app.queue) for i in app.queue.waiting()]
    return json_response({"_class": "hudson.model.Queue", "discoverableItems": [], "items": items})


def queue_item(app, request: Request, queue_id: str) -> Response:
    with app.state.cond:
        item = app.queue.item(int(queue_id))
        return json_response(render.queue_item_json(item, app.url, app.queue))


def queue_item_page(app, request: Request, queue_id: str) -> Response:
    # Real Jenkins has no content at queue/item/N/: following a 303 there gives 404.
    return html_response("Not Found", 404)


def cancel_item(app, request: Request) -> Response:
    try:
        queue_id = int(request.query.get("id", ""))
    except ValueError:
        return text_response("id must be a number", 400)
    app.queue.cancel(queue_id)
    return Response(204)


def standin_builds(app, request: Request) -> Response:
    return json_response({"builds": [record.as_json() for record in app.build_log()]})


def standin_notifications(app, request: Request) -> Response:
    return json_response({"deliveries": [vars(d) for d in app.notifier.deliveries()]})


def standin_faults(app, request: Request) -> Response:
    if request.method == "POST":
        try:
            app.faults.update(**json.loads(request.body or b"{}"))
        except (ValueError, TypeError) as exc:
            return text_response(str(exc), 400)
    return json_response(app.faults.as_json())


def standin_restart(app, request: Request) -> Response:
    try:
        downtime = float(json.loads(request.body or b"{}").get("downtime", 0.0))
    except (ValueError, TypeError, AttributeError) as exc:
        return text_response(f"bad restart request: {exc}", 400)
    app.restart(downtime=downtime)
    return json_response({"restarted": True, "downtime": downtime})


def _r(method: str, pattern: str, view):
    return (method, re.compile(pattern), view)


ROUTES = [
    _r("GET", r"/", root),
    _r("GET", r"/api/json", root_api),
    _r("GET", r"/crumbIssuer/api/json", crumb_issuer),
    _r("GET", r"/me/api/json", whoami),
    _r("GET", r"/computer/api/json", computers),
    _r("GET", r"/computer/(?P<node>[^/]+)/api/json", computer),
    _r("GET", r"/queue/api/json", queue_api),
    _r("GET", r"/queue/item/(?P<queue_id>\d+)/api/json", queue_item),
    _r("GET", r"/queue/item/(?P<queue_id>\d+)/?", queue_item_page),
    _r("POST", r"/queue/cancelItem", cancel_item),
]
STANDIN_ROUTES = [
    _r("GET", r"/standin/builds", standin_builds),
    _r("GET", r"/standin/notifications", standin_notifications),
    _r("GET", r"/standin/faults", standin_faults),
    _r("POST", r"/standin/faults", standin_faults),
    _r("POST", r"/standin/restart", standin_restart),
]
