"""The stand-in's job and build pages: plain HTML a person can read.

The demo points people at these URLs (a dependency's build links to its
Jenkins build page), so they show what Jenkins' own pages lead with: the
job's description, parameters and builds; a build's result, parameters
(password values hidden, as Jenkins hides them), description, artifacts and
console. Everything shown is escaped.
"""

from __future__ import annotations

from html import escape

from capomastro_changes.testing.jenkins.server import Response
from capomastro_changes.testing.jenkins.state import Build, Job

STYLE = "body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}"


def page(title: str, body: str) -> Response:
    text = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return Response(200, text.encode(), "text/html;charset=UTF-8")


def state_of(build: Build) -> str:
    if build.building:
        return "building" + (f" (result so far: {build.result})" if build.result else "")
    return build.result or "unknown"


def job_page(job: Job, base: str) -> Response:
    """``job/X/``: description, parameters, builds newest first."""
    parts = [f"<p>{escape(job.config.description)}</p>" if job.config.description else ""]
    if job.disabled:
        parts.append("<p><strong>This project is disabled.</strong></p>")
    if job.config.parameters:
        rows = "".join(
            f"<tr><td>{escape(p.name)}</td><td>{escape(p.kind.removesuffix('Definition'))}</td></tr>"
            for p in job.config.parameters
        )
        parts.append(f"<h2>Parameters</h2><table>{rows}</table>")
    rows = "".join(
        f"<tr><td><a href='{base}job/{escape(job.name)}/{n}/'>#{n}</a></td>"
        f"<td>{escape(state_of(job.builds[n]))}</td>"
        f"<td>{escape(job.builds[n].description or '')}</td></tr>"
        for n in sorted(job.builds, reverse=True)
    )
    parts.append(f"<h2>Build History</h2><table>{rows}</table>" if rows else "<p>No builds.</p>")
    return page(f"{job.name} [Jenkins]", "".join(parts))


def build_page(job: Job, build: Build, base: str) -> Response:
    """``job/X/N/``: result, description, parameters, artifacts, console link."""
    secret = job.config.sensitive_names()
    url = f"{base}job/{escape(job.name)}/{build.number}/"
    parts = [f"<p>Status: <strong>{escape(state_of(build))}</strong></p>"]
    if build.description:
        parts.append(f"<p>{escape(build.description)}</p>")
    parts.append("".join(f"<p>{escape(c)}</p>" for c in dict.fromkeys(build.causes)))
    if build.parameters:
        rows = "".join(
            f"<tr><td>{escape(k)}</td><td>{'****' if k in secret else escape(v)}</td></tr>"
            for k, v in build.parameters.items()
        )
        parts.append(f"<h2>Parameters</h2><table>{rows}</table>")
    if build.artifacts:
        links = "".join(
            f"<li><a href='{url}artifact/{escape(p)}'>{escape(p)}</a></li>" for p in build.artifacts
        )
        parts.append(f"<h2>Build Artifacts</h2><ul>{links}</ul>")
    parts.append(f"<p><a href='{url}consoleText'>Console Output</a></p>")
    return page(f"{job.name} #{build.number} [Jenkins]", "".join(parts))
