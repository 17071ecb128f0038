"""Routes under ``/job/X/`` and ``/createItem``: jobs, triggers and builds.

Each view answers as Jenkins core does, traps included: ``buildWithParameters``
answers 201 with a ``Location`` queue item, or 303 to the existing item when
an identical one is still queued (Jenkins 2.308 and later); ``stop``,
``submitDescription`` and ``configSubmit`` redirect to the build's page.
"""

from __future__ import annotations

import json
import re
import time

from capomastro_changes.testing.jenkins import pages, render
from capomastro_changes.testing.jenkins.server import (
    Request,
    Response,
    html_response,
    json_response,
    redirect,
    text_response,
)

_DELAY = re.compile(r"(\d+)\s*(?:sec|secs|s)?")


def create_item(app, request: Request) -> Response:
    name = request.query.get("name", "").strip()
    if not name or "/" in name:
        return text_response("No name is specified", 400, X_Error="No name is specified")
    if not request.headers.get("Content-Type"):
        return text_response("No Content-Type header set", 400)
    app.state.create_job(name, request.body.decode("utf-8"))
    return Response(200)


def job_page(app, request: Request, name: str) -> Response:
    with app.state.cond:
        return pages.job_page(app.state.job(name), app.url)


def job_api(app, request: Request, name: str) -> Response:
    with app.state.cond:
        job = app.state.job(name)
        all_builds = "allBuilds" in request.query.get("tree", "")
        return json_response(render.job_json(job, app.url, app.queue, all_builds))


def config_xml(app, request: Request, name: str) -> Response:
    if request.method == "POST":
        app.state.reconfigure(name, request.body.decode("utf-8"))
        return Response(200)
    with app.state.cond:
        text = app.state.job(name).config_xml
    return Response(200, text.encode(), "application/xml;charset=UTF-8")


def toggle(app, request: Request, name: str, action: str) -> Response:
    with app.state.cond:
        job = app.state.job(name)
        if action == "doDelete":
            app.state.delete_job(name)
            return redirect(app.url)
        job.disabled = action == "disable"
        app.state.cond.notify_all()
    return redirect(f"{app.url}job/{name}/")


def build(app, request: Request, name: str) -> Response:
    given = None
    form = request.form()
    if "json" in form:
        try:
            given = {p["name"]: str(p["value"]) for p in json.loads(form["json"])["parameter"]}
        except (ValueError, KeyError, TypeError):
            return text_response("the json form field is not a parameter list", 400)
    item, _ = app.queue.schedule(
        name, given, with_parameters=False, delay=_delay(request), cause=_cause(app)
    )
    # Jenkins answers 201 here even for a folded duplicate (JENKINS-66105's TODO).
    return Response(201, headers={"Location": f"{app.url}queue/item/{item.id}/"})


def build_with_parameters(app, request: Request, name: str) -> Response:
    if app.faults.trigger_delay:  # not queued yet: the trigger is still on its way
        time.sleep(app.faults.trigger_delay)
    given = {**request.query, **request.form()}
    given.pop("delay", None)
    given.pop("token", None)
    item, created = app.queue.schedule(
        name, given, with_parameters=True, delay=_delay(request), cause=_cause(app)
    )
    status = 201 if created else app.duplicate_status
    if app.faults.trigger_latency:  # queued already: only the answer is late
        time.sleep(app.faults.trigger_latency)
    return Response(status, headers={"Location": f"{app.url}queue/item/{item.id}/"})


def next_build_number(app, request: Request, name: str) -> Response:
    match = re.search(r"nextBuildNumber=(\d+)", request.body.decode("utf-8", "replace"))
    if not match:
        return text_response("nextBuildNumber is missing", 400)
    with app.state.cond:
        job = app.state.job(name)
        job.next_build_number = max(job.next_build_number, int(match.group(1)))
    return redirect(f"{app.url}job/{name}/")


def build_page(app, request: Request, name: str, number: str) -> Response:
    with app.state.cond:
        return pages.build_page(app.state.job(name), app.state.build(name, int(number)), app.url)


def build_api(app, request: Request, name: str, number: str) -> Response:
    with app.state.cond:
        build = app.state.build(name, int(number))
        kinds = render.parameter_kinds(app.state.jobs.get(name))
        return json_response(render.build_json(build, app.url, kinds))


def console_text(app, request: Request, name: str, number: str) -> Response:
    found = app.state.build(name, int(number))
    return text_response("".join(list(found.console)))


def artifact(app, request: Request, name: str, number: str, path: str) -> Response:
    found = app.state.build(name, int(number))
    if path not in found.artifacts:
        return html_response("Not Found", 404)
    data = (found.archive_dir / path).read_bytes()
    return Response(200, data, "application/octet-stream")


def stop(app, request: Request, name: str, number: str) -> Response:
    found = app.state.build(name, int(number))
    app.stop_build(found)
    return redirect(f"{app.url}job/{name}/{number}/")


def submit_description(app, request: Request, name: str, number: str) -> Response:
    # Run.doSubmitDescription reads req.getParameter("description"): the form or the query.
    text = request.form().get("description", request.query.get("description", ""))
    with app.state.cond:
        app.state.build(name, int(number)).description = text
    return redirect(f"{app.url}job/{name}/{number}/")


def config_submit(app, request: Request, name: str, number: str) -> Response:
    try:
        submitted = json.loads(request.form()["json"])
        display_name, description = submitted["displayName"], submitted["description"]
    except (KeyError, ValueError, TypeError):
        # Run.doConfigSubmit reads both keys with getString, which throws on a missing one.
        return text_response("json with displayName and description is required", 400)
    with app.state.cond:
        found = app.state.build(name, int(number))
        found.display_name = (display_name or "").strip() or None
        found.description = description
    return redirect(f"{app.url}job/{name}/{number}/")


def _delay(request: Request) -> float | None:
    match = _DELAY.fullmatch(request.query.get("delay", "").strip())
    return float(match.group(1)) if match else None


def _cause(app) -> str:
    return f"Started by user {app.username or 'anonymous'}"


def _r(method: str, pattern: str, view):
    return (method, re.compile(pattern), view)


_JOB = r"/job/(?P<name>[^/]+)"
_BUILD = _JOB + r"/(?P<number>\d+)"
ROUTES = [
    _r("POST", r"/createItem", create_item),
    _r("GET", _JOB + r"/?", job_page),
    _r("GET", _JOB + r"/api/json", job_api),
    _r("GET", _JOB + r"/config\.xml", config_xml),
    _r("POST", _JOB + r"/config\.xml", config_xml),
    _r("POST", _JOB + r"/(?P<action>enable|disable|doDelete)", toggle),
    _r("POST", _JOB + r"/build", build),
    _r("POST", _JOB + r"/buildWithParameters", build_with_parameters),
    _r("POST", _JOB + r"/nextbuildnumber/submit", next_build_number),
    _r("GET", _BUILD + r"/?", build_page),
    _r("GET", _BUILD + r"/api/json", build_api),
    _r("GET", _BUILD + r"/consoleText", console_text),
    _r("GET", _BUILD + r"/artifact/(?P<path>.+)", artifact),
    _r("POST", _BUILD + r"/stop", stop),
    _r("POST", _BUILD + r"/submitDescription", submit_description),
    _r("POST", _BUILD + r"/configSubmit", config_submit),
]
