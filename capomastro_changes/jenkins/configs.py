"""Rendering a job type's config.xml template into the config of one Jenkins job.

Templates use Django's template language (``{{ notifications_url }}``, as
capomastro's job types do); values are XML-escaped by autoescaping.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from importlib import resources
from urllib.parse import urlencode

from django.template import Context, Engine
from django.urls import reverse

from capomastro_changes.conf import settings

_ENGINE = Engine(autoescape=True)


def notifications_url(server) -> str:
    """Where ``server``'s Notification plugin posts, secret included (Jenkins keeps it)."""
    path = reverse("capomastro_changes:jenkins-notification", args=[server.pk])
    query = f"?{urlencode({'secret': server.notification_secret})}"
    return settings.PUBLIC_URL.rstrip("/") + path + (query if server.notification_secret else "")


def render_config(job) -> str:
    """The config.xml for ``job``, from its job type's template."""
    context = Context(
        {
            "job": job.name,
            "jobtype": job.jobtype.name,
            "bygmester_branch": job.jobtype.bygmester_branch,
            "notifications_url": notifications_url(job.server),
        }
    )
    return _ENGINE.from_string(job.jobtype.config_xml).render(context)


def probe_template() -> str:
    """The probe job template that ``bygmester_hooks`` ships, read from the installed package."""
    return resources.files("bygmester_hooks").joinpath("templates", "probe-job.xml").read_text()


def render_probe_config(jobtype) -> str:
    """The config.xml of the probe job of ``jobtype`` (no notifications: the probe is polled)."""
    context = Context(
        {
            "jobtype": jobtype.name,
            "bygmester_branch": jobtype.bygmester_branch,
            "probe_script": jobtype.probe_script,
        }
    )
    return _ENGINE.from_string(probe_template()).render(context)


def same_config(stored: str | None, ours: str) -> bool:
    """Whether Jenkins' stored config.xml means what ours does.

    Jenkins does not keep the text it was sent: ``AbstractItem.updateByXml``
    and ``createItem`` pass it through an XML transform, which writes its own
    declaration (``<?xml version="1.0" encoding="UTF-8"?>``, no newline after
    it), double-quotes attributes and drops the newline at the end. So configs
    are compared canonicalised (C14N 2.0, whitespace-only text stripped),
    never byte for byte; text that is not XML is never the same.
    """
    if stored is None:
        return False
    try:
        return _canonical(stored) == _canonical(ours)
    except ET.ParseError:
        return False


def _canonical(text: str) -> str:
    body = text.lstrip("\ufeff").encode("utf-8")  # a declaration says the encoding
    return ET.canonicalize(xml_data=ET.tostring(ET.fromstring(body)), strip_text=True)
