"""What the stand-in reads from a freestyle job's config.xml.

Only the parts that change how a build behaves are read: parameter
definitions, ``disabled``, ``concurrentBuild``, ``quietPeriod``, the
``hudson.tasks.Shell`` steps, the ``ArtifactArchiver`` publisher and the
Notification plugin's endpoints (both the 1.5 ``<url>`` form and the current
``<urlInfo>`` form). The XML text is stored as Jenkins stores it
(:func:`stored_form`), so ``GET config.xml`` answers what Jenkins would, not
what was posted.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from xml.dom import minidom
from xml.parsers.expat import ExpatError

PARAMETER_TAGS = (
    "hudson.model.StringParameterDefinition",
    "hudson.model.TextParameterDefinition",
    "hudson.model.BooleanParameterDefinition",
    "hudson.model.ChoiceParameterDefinition",
    "hudson.model.PasswordParameterDefinition",
)
NOTIFICATION_ENDPOINT = "com.tikal.hudson.plugins.notification.Endpoint"


class JobConfigError(ValueError):
    """The posted config.xml cannot be read as a job (Jenkins answers 400/500 too)."""


@dataclass(frozen=True)
class ParameterDefinition:
    """One build parameter the job declares, with the value used when none is given."""

    name: str
    default: str
    kind: str = "StringParameterDefinition"


@dataclass(frozen=True)
class ShellStep:
    """A ``hudson.tasks.Shell`` builder: the script and its optional "unstable" exit code."""

    command: str
    unstable_return: int | None = None


@dataclass(frozen=True)
class Archiver:
    """The ``ArtifactArchiver`` publisher: comma-separated Ant patterns and its switches."""

    artifacts: str
    excludes: str = ""
    allow_empty: bool = False
    only_if_successful: bool = False


@dataclass(frozen=True)
class Endpoint:
    """A Notification plugin endpoint; ``event`` filters which phases it receives."""

    url: str
    event: str = "all"
    format: str = "JSON"
    timeout_ms: int = 30000
    retries: int = 0


@dataclass(frozen=True)
class JobConfig:
    """The behaviour-relevant content of one job's config.xml."""

    parameters: tuple[ParameterDefinition, ...] = ()
    disabled: bool = False
    concurrent: bool = False
    quiet_period: int | None = None
    description: str = ""
    shell_steps: tuple[ShellStep, ...] = ()
    archiver: Archiver | None = None
    endpoints: tuple[Endpoint, ...] = ()
    parameterized: bool = False

    def sensitive_names(self) -> frozenset[str]:
        """The password parameters: Jenkins' ``ParameterValue.isSensitive()`` ones."""
        return frozenset(p.name for p in self.parameters if p.kind == "PasswordParameterDefinition")

    def kinds(self) -> dict[str, str]:
        """Each declared parameter's definition kind, by name."""
        return {p.name: p.kind for p in self.parameters}

    def defaults(self) -> dict[str, str]:
        """The parameter values a build gets when the trigger names none."""
        return {p.name: p.default for p in self.parameters}


JENKINS_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def stored_form(xml_text: str | bytes) -> str:
    """config.xml as Jenkins writes it to disk and serves it back.

    Jenkins core's ``AbstractItem.updateByXml`` (``POST config.xml``) and
    ``ItemGroupMixIn.createProjectFromXML`` (``createItem``) pass the posted
    text through a JAXP identity transform (``XMLUtils.safeTransform``) into
    the job's config file, which ``GET config.xml`` copies out as it is. The
    transform writes its own declaration, ``<?xml version="1.0"
    encoding="UTF-8"?>``, whatever was sent (python-jenkins' own templates
    send ``version='1.0'`` in single quotes; ours send ``1.1``) and puts the
    root element right after it, double-quotes attributes, writes empty
    elements as ``<x/>``, and ends at the root's end tag with no newline.

    Raises:
        JobConfigError: the text is not well-formed XML.
    """
    try:
        root = minidom.parseString(xml_text).documentElement
    except ExpatError as exc:
        raise JobConfigError(f"config.xml is not well-formed XML: {exc}") from None
    return JENKINS_DECLARATION + root.toxml()


def parse_job_config(xml_text: str | bytes) -> JobConfig:
    """Read a job's config.xml.

    Raises:
        JobConfigError: the text is not XML, or its root is not a job.
    """
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise JobConfigError(f"config.xml is not well-formed XML: {exc}") from None
    if root.tag not in ("project", "hudson.model.FreeStyleProject"):
        raise JobConfigError(f"config.xml root <{root.tag}> is not a freestyle <project>")
    parameters_property = root.find("properties/hudson.model.ParametersDefinitionProperty")
    return JobConfig(
        parameters=_parameters(parameters_property),
        parameterized=parameters_property is not None,
        disabled=_flag(root.findtext("disabled")),
        concurrent=_flag(root.findtext("concurrentBuild")),
        quiet_period=_int_or_none(root.findtext("quietPeriod")),
        description=root.findtext("description") or "",
        shell_steps=tuple(_shell(el) for el in root.findall("builders/hudson.tasks.Shell")),
        archiver=_archiver(root.find("publishers/hudson.tasks.ArtifactArchiver")),
        endpoints=tuple(_endpoint(el) for el in root.iter(NOTIFICATION_ENDPOINT)),
    )


def _flag(text: str | None) -> bool:
    return (text or "").strip().lower() == "true"


def _int_or_none(text: str | None) -> int | None:
    try:
        return int((text or "").strip())
    except ValueError:
        return None


def _parameters(prop: ET.Element | None) -> tuple[ParameterDefinition, ...]:
    if prop is None:
        return ()
    found = []
    for element in prop.iterfind("parameterDefinitions/*"):
        kind = element.tag.rsplit(".", 1)[-1]
        name = (element.findtext("name") or "").strip()
        if not name:
            raise JobConfigError(f"a {kind} has no <name>")
        if element.tag == "hudson.model.ChoiceParameterDefinition":
            choices = element.findall(".//string")
            default = (choices[0].text or "") if choices else ""
        else:
            default = element.findtext("defaultValue") or ""
        found.append(ParameterDefinition(name=name, default=default, kind=kind))
    return tuple(found)


def _shell(element: ET.Element) -> ShellStep:
    return ShellStep(
        command=element.findtext("command") or "",
        unstable_return=_int_or_none(element.findtext("unstableReturn")),
    )


def _archiver(element: ET.Element | None) -> Archiver | None:
    if element is None:
        return None
    return Archiver(
        artifacts=(element.findtext("artifacts") or "").strip(),
        excludes=(element.findtext("excludes") or "").strip(),
        allow_empty=_flag(element.findtext("allowEmptyArchive")),
        only_if_successful=_flag(element.findtext("onlyIfSuccessful")),
    )


def _endpoint(element: ET.Element) -> Endpoint:
    url = element.findtext("urlInfo/urlOrId") or element.findtext("url") or ""
    return Endpoint(
        url=url.strip(),
        event=(element.findtext("event") or "all").strip().lower(),
        format=(element.findtext("format") or "JSON").strip().upper(),
        timeout_ms=_int_or_none(element.findtext("timeout")) or 30000,
        retries=_int_or_none(element.findtext("retries")) or 0,
    )
