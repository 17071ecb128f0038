"""Jenkins list views as config.xml: the name a project's view takes, and the jobs it lists.

Pure functions: :mod:`capomastro_changes.builds.dashboards` decides which
views should exist; the client writes them.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from xml.sax.saxutils import escape

LIST_VIEW = "hudson.model.ListView"
# What Jenkins.checkGoodName refuses, beside control characters.
UNSAFE = "?*/\\%!@#$^&|<>[]:;"


class InvalidViewName(ValueError):
    """A project name Jenkins cannot take as a view name; the project gets no view."""


def view_name(project_name: str) -> str:
    """The name of a project's view: the project's own, refused where Jenkins would refuse it.

    Refused rather than escaped: two projects escaped to one name would fight over it.

    Raises:
        InvalidViewName: empty, ``.`` or ``..``, a character Jenkins calls unsafe or a
            control character, or "all", the name of Jenkins' own view of every job.
    """
    if not project_name.strip() or project_name.strip() in (".", ".."):
        raise InvalidViewName(f"{project_name!r} is not a name Jenkins allows")
    if project_name.lower() == "all":
        raise InvalidViewName(f"{project_name!r} is Jenkins' own view of every job")
    for char in project_name:
        if char in UNSAFE or unicodedata.category(char) == "Cc":
            raise InvalidViewName(f"{char!r} cannot be in a Jenkins view name")
    return project_name


def sorted_jobs(jobs: Iterable[str]) -> tuple[str, ...]:
    """Job names without repeats, in Jenkins' case-insensitive order (ties by case)."""
    return tuple(sorted(set(jobs), key=lambda job: (job.lower(), job)))


def list_view_xml(name: str, jobs: Iterable[str]) -> str:
    """The config.xml of a list view called ``name`` showing exactly ``jobs``."""
    strings = "".join(f"\n    <string>{escape(job)}</string>" for job in sorted_jobs(jobs))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{LIST_VIEW}>
  <name>{escape(name)}</name>
  <filterExecutors>false</filterExecutors>
  <filterQueue>false</filterQueue>
  <properties class="hudson.model.View$PropertyList"/>
  <jobNames>
    <comparator class="hudson.util.CaseInsensitiveComparator"/>{strings}
  </jobNames>
  <jobFilters/>
  <columns>
    <hudson.views.StatusColumn/>
    <hudson.views.WeatherColumn/>
    <hudson.views.JobColumn/>
    <hudson.views.LastSuccessColumn/>
    <hudson.views.LastFailureColumn/>
    <hudson.views.LastDurationColumn/>
    <hudson.views.BuildButtonColumn/>
  </columns>
</{LIST_VIEW}>
"""


def listed_jobs(config_xml: str) -> tuple[str, ...]:
    """The jobs a list view's config.xml names, in :func:`sorted_jobs` order.

    Raises:
        ValueError: not XML, or not a list view (a view someone else made: left alone).
    """
    try:
        root = ET.fromstring(config_xml)
    except ET.ParseError as exc:
        raise ValueError(f"the view's config.xml is not XML ({exc})") from None
    if root.tag != LIST_VIEW:
        raise ValueError(f"the view is a {root.tag}, not a list view: left alone")
    return sorted_jobs(s.text or "" for s in root.iterfind("jobNames/string"))
