"""Routes under ``/view/X/`` and ``/createView``: list views, as python-jenkins drives them.

Each route answers as Jenkins core does: ``createView`` takes the config.xml
as the body (200), and answers a taken or unsafe name with 400 and an
``X-Error`` header; ``config.xml`` gives back the view as Jenkins rewrote it
and takes a new one of the same type; ``doDelete`` redirects to the root.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from capomastro_changes.testing.jenkins import render
from capomastro_changes.testing.jenkins.server import (
    Request,
    Response,
    html_response,
    json_response,
    redirect,
)
from capomastro_changes.testing.jenkins.view_state import (
    ALL,
    ALL_VIEW,
    View,
    ViewRefused,
    check_good_name,
)

XML_TYPES = ("application/xml", "text/xml")


def create_view(app, request: Request) -> Response:
    name = request.query.get("name", "")
    check_good_name(name)  # Jenkins looks at the name first, then at what kind of request it is
    if not (request.headers.get("Content-Type") or "").startswith(XML_TYPES):
        raise ViewRefused("No view type is specified")  # no XML body and no form "mode"
    app.views.create(name, request.body)
    return Response(200)


def view_page(app, request: Request, name: str) -> Response:
    view = app.views.get(name)
    return html_response(f"{view.name} [Jenkins]")


def view_api(app, request: Request, name: str) -> Response:
    view = app.views.get(name)
    with app.state.cond:
        jobs = [render.job_summary(job, app.url) for job in _listed(app, view)]
    return json_response(view_json(app, view) | {"description": None, "jobs": jobs, "property": []})


def view_json(app, view: View) -> dict:
    """The short ``{_class, name, url}`` form of ``/api/json``'s ``views`` and ``primaryView``."""
    url = app.url if view.name == ALL else f"{app.url}view/{quote(view.name)}/"
    return {"_class": view.kind, "name": view.name, "url": url}


def _listed(app, view: View) -> list:
    """The jobs a view shows: every job for "all"; for a list view, its names that exist."""
    if view.kind == ALL_VIEW:
        return list(app.state.jobs.values())
    return [app.state.jobs[name] for name in view.job_names if name in app.state.jobs]


def config_xml(app, request: Request, name: str) -> Response:
    if request.method == "POST":
        app.views.reconfigure(name, request.body)
        return Response(200)
    text = app.views.get(name).config_xml
    return Response(200, text.encode(), "application/xml;charset=UTF-8")


def delete_view(app, request: Request, name: str) -> Response:
    app.views.delete(name)
    return redirect(app.url)


def _r(method: str, pattern: str, view):
    return (method, re.compile(pattern), view)


_VIEW = r"/view/(?P<name>[^/]+)"
ROUTES = [
    _r("POST", r"/createView", create_view),
    _r("GET", _VIEW + r"/?", view_page),
    _r("GET", _VIEW + r"/api/json", view_api),
    _r("GET", _VIEW + r"/config\.xml", config_xml),
    _r("POST", _VIEW + r"/config\.xml", config_xml),
    _r("POST", _VIEW + r"/doDelete", delete_view),
]
