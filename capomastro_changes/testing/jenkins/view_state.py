"""The stand-in's views: Jenkins' built-in "all" view and the list views clients create.

Jenkins keeps a view as XStream writes it back, not as it was posted: the
name is the one in the URL, ``jobNames`` come back sorted case-insensitively
and the declaration says XML 1.1. The stand-in stores views the same way, so a
client that compares config text instead of meaning fails here as it would
against a real Jenkins.
"""

from __future__ import annotations

import threading
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from capomastro_changes.testing.jenkins.state import StandInError

ALL = "all"
ALL_VIEW = "hudson.model.AllView"
LIST_VIEW = "hudson.model.ListView"
KINDS = (ALL_VIEW, LIST_VIEW)
UNSAFE = "?*/\\%!@#$^&|<>[]:;"
DECLARATION = "<?xml version='1.1' encoding='UTF-8'?>\n"
ALL_VIEW_XML = (
    f"<{ALL_VIEW}><name>{ALL}</name><filterExecutors>false</filterExecutors>"
    '<filterQueue>false</filterQueue><properties class="hudson.model.View$PropertyList"/>'
    f"</{ALL_VIEW}>"
)


class NoSuchView(StandInError):
    """The view name is unknown (404)."""


class ViewRefused(StandInError):
    """Jenkins' ``Failure`` for a view: a taken or unsafe name, no view type (400 + X-Error)."""


class ViewConfigError(StandInError):
    """The posted config.xml is not a view of the right type (Jenkins' IOException: 500)."""


@dataclass(frozen=True)
class View:
    """A view as Jenkins stores it: its type, the jobs it lists and its rewritten config.xml."""

    name: str
    kind: str
    job_names: tuple[str, ...]
    config_xml: str


def check_good_name(name: str) -> None:
    """Refuse what ``Jenkins.checkGoodName`` refuses.

    Raises:
        ViewRefused: an empty name, ``.`` or ``..``, a control character or an unsafe one.
    """
    if not name:
        raise ViewRefused("No name is specified")
    if name.strip() in (".", ".."):
        raise ViewRefused(f"“{name.strip()}” is not allowed name")
    for char in name:
        if unicodedata.category(char) == "Cc":
            raise ViewRefused(f"No control code is allowed: {name!r}")
        if char in UNSAFE:
            raise ViewRefused(f"‘{char}’ is an unsafe character")


def read_view(name: str, config_xml: str | bytes) -> View:
    """The view ``config_xml`` describes, named ``name`` whatever its ``<name>`` says.

    Raises:
        ViewConfigError: not XML, or not a view type the stand-in knows.
    """
    try:
        root = ET.fromstring(config_xml)
    except ET.ParseError as exc:
        raise ViewConfigError(f"Unable to read: {exc}") from None
    if root.tag not in KINDS:
        raise ViewConfigError(f"Unable to read: <{root.tag}> is not a view type")
    name_element = root.find("name")
    if name_element is None:
        name_element = ET.Element("name")
        root.insert(0, name_element)
    name_element.text = name
    job_names = _sort_job_names(root)
    text = DECLARATION + ET.tostring(root, encoding="unicode")
    return View(name=name, kind=root.tag, job_names=job_names, config_xml=text)


def _sort_job_names(root: ET.Element) -> tuple[str, ...]:
    """Rewrite ``jobNames`` as Jenkins' TreeSet keeps them: unique, case-insensitive order."""
    holder = root.find("jobNames")
    if holder is None:
        return ()
    strings = holder.findall("string")
    names = tuple(sorted({s.text or "" for s in strings}, key=lambda n: (n.lower(), n)))
    for element in strings:
        holder.remove(element)
    for job in names:
        ET.SubElement(holder, "string").text = job
    return names


class Views:
    """Every view of the stand-in, by name; "all" is there from the start and stays."""

    def __init__(self, lock: threading.RLock | threading.Condition):
        self.lock = lock
        self._views = {ALL: read_view(ALL, ALL_VIEW_XML)}

    def get(self, name: str) -> View:
        """The view called ``name``; "All" finds "all", as in an English-speaking Jenkins.

        Raises:
            NoSuchView: there is none.
        """
        with self.lock:
            found = self._views.get(ALL if name == "All" else name)
        if found is None:
            raise NoSuchView(name)
        return found

    def all(self) -> list[View]:
        """Every view, "all" first."""
        with self.lock:
            return list(self._views.values())

    def create(self, name: str, config_xml: bytes) -> View:
        """Add a view, as ``POST createView?name=`` with an XML body does.

        Raises:
            ViewRefused: the name is unsafe or taken.
            ViewConfigError: the body is not a view.
        """
        check_good_name(name)
        with self.lock:
            if name in self._views:
                raise ViewRefused(f'A view already exists with the name "{name}"')
            view = read_view(name, config_xml)
            self._views[name] = view
            return view

    def reconfigure(self, name: str, config_xml: bytes) -> View:
        """Replace a view's config, keeping its name and refusing another view type.

        Raises:
            NoSuchView, ViewConfigError.
        """
        with self.lock:
            old = self.get(name)
            view = read_view(old.name, config_xml)
            if view.kind != old.kind:
                raise ViewConfigError(f"Expecting view type: {old.kind} but got: {view.kind}")
            self._views[old.name] = view
            return view

    def delete(self, name: str) -> None:
        """Forget a view; the primary view "all" cannot go.

        Raises:
            NoSuchView, ViewRefused.
        """
        with self.lock:
            view = self.get(name)
            if view.name == ALL:
                raise ViewRefused("Cannot delete the primary view")
            del self._views[view.name]
