"""The JSON shapes of Jenkins' remote API, built from the stand-in's state.

Callers hold the state's lock. Field names and ``_class`` values follow
Jenkins core's ``@Exported`` properties, so code written against these answers
works against a real Jenkins.
"""

from __future__ import annotations

import time
from urllib.parse import quote

from capomastro_changes.testing.jenkins.build_queue import BuildQueue, QueueItem
from capomastro_changes.testing.jenkins.state import Build, Job

FREESTYLE_BUILD = "hudson.model.FreeStyleBuild"
FREESTYLE_PROJECT = "hudson.model.FreeStyleProject"
COLORS = {
    "SUCCESS": "blue",
    "UNSTABLE": "yellow",
    "FAILURE": "red",
    "ABORTED": "aborted",
    "NOT_BUILT": "notbuilt",
}


def build_ref(build: Build | None, base: str) -> dict | None:
    """The short ``{number, url}`` form used in lists and ``lastBuild``."""
    if build is None:
        return None
    return {"_class": FREESTYLE_BUILD, "number": build.number, "url": build_url(build, base)}


def build_url(build: Build, base: str) -> str:
    """Absolute URL of a build's page."""
    return f"{base}job/{build.job}/{build.number}/"


def color(job: Job) -> str:
    """The ball colour: the last result's, ``_anime`` while building, or ``disabled``."""
    if job.disabled:
        return "disabled"
    last = job.last_build(lambda b: not b.building)
    shade = COLORS.get(last.result, "notbuilt") if last else "notbuilt"
    return f"{shade}_anime" if job.running() else shade


def job_summary(job: Job, base: str) -> dict:
    """A job as the root's and a view's ``jobs`` list it."""
    return {
        "_class": FREESTYLE_PROJECT,
        "name": job.name,
        "url": f"{base}job/{quote(job.name)}/",
        "color": color(job),
    }


def parameter_definitions(job: Job) -> list[dict]:
    """``parameterDefinitions`` as the job API exports them."""
    return [
        {
            "_class": f"hudson.model.{p.kind}",
            "defaultParameterValue": {"name": p.name, "value": p.default},
            "description": "",
            "name": p.name,
            "type": p.kind,
        }
        for p in job.config.parameters
    ]


def job_json(job: Job, base: str, queue: BuildQueue, with_all_builds: bool = False) -> dict:
    """``GET job/X/api/json``."""
    builds = [job.builds[n] for n in sorted(job.builds, reverse=True)]
    waiting = [i for i in queue.waiting() if i.job == job.name]
    props = []
    if job.config.parameterized:
        props.append(
            {
                "_class": "hudson.model.ParametersDefinitionProperty",
                "parameterDefinitions": parameter_definitions(job),
            }
        )
    data = {
        "_class": FREESTYLE_PROJECT,
        "actions": props,
        "description": job.config.description,
        "displayName": job.name,
        "displayNameOrNull": None,
        "fullDisplayName": job.name,
        "fullName": job.name,
        "name": job.name,
        "url": f"{base}job/{job.name}/",
        "buildable": not job.disabled,
        "builds": [build_ref(b, base) for b in builds[:100]],
        "color": color(job),
        "firstBuild": build_ref(builds[-1] if builds else None, base),
        "healthReport": [],
        "inQueue": bool(waiting),
        "keepDependencies": False,
        "lastBuild": build_ref(job.last_build(), base),
        "lastCompletedBuild": build_ref(job.last_build(lambda b: not b.building), base),
        "lastFailedBuild": build_ref(job.last_build(lambda b: b.result == "FAILURE"), base),
        "lastSuccessfulBuild": build_ref(job.last_build(lambda b: b.result == "SUCCESS"), base),
        "nextBuildNumber": job.next_build_number,
        "property": props,
        "queueItem": queue_item_json(waiting[0], base, queue) if waiting else None,
        "concurrentBuild": job.config.concurrent,
        "disabled": job.disabled,
        "downstreamProjects": [],
        "labelExpression": None,
        "scm": {"_class": "hudson.scm.NullSCM"},
        "upstreamProjects": [],
    }
    if with_all_builds:
        data["allBuilds"] = [build_ref(b, base) for b in builds]
    return data


def parameter_kinds(job: Job | None) -> dict[str, str]:
    """The job's parameter definition kinds, by name: how each value is exported."""
    return job.config.kinds() if job is not None else {}


def parameter_value(name: str, value: str, kinds: dict[str, str]) -> dict:
    """One parameter of a ParametersAction, typed as Jenkins exports it.

    Each ``ParameterValue`` subclass exports its own ``value`` (Jenkins core,
    ``hudson.model.*ParameterValue``): a ``BooleanParameterValue`` a JSON
    boolean, a string one a string; a ``PasswordParameterValue`` exports no
    value at all.
    """
    kind = kinds.get(name, "StringParameterDefinition")
    if kind == "PasswordParameterDefinition":
        return {"_class": "hudson.model.PasswordParameterValue", "name": name}
    if kind == "BooleanParameterDefinition":
        typed = value.strip().lower() == "true"
        return {"_class": "hudson.model.BooleanParameterValue", "name": name, "value": typed}
    value_class = (
        "TextParameterValue" if kind == "TextParameterDefinition" else "StringParameterValue"
    )
    return {"_class": f"hudson.model.{value_class}", "name": name, "value": value}


def cause_json(cause: str) -> dict:
    """A ``Cause$UserIdCause``, with the ``userId`` and ``userName`` Jenkins core exports."""
    data = {"_class": "hudson.model.Cause$UserIdCause", "shortDescription": cause}
    user = cause.removeprefix("Started by user ")
    if user != cause:
        data.update(userId=user, userName=user)
    return data


def actions(
    parameters: dict[str, str] | None, causes: list[str], kinds: dict[str, str] | None = None
) -> list[dict]:
    """The ParametersAction and CauseAction of an item or build."""
    found = []
    if parameters is not None:
        found.append(
            {
                "_class": "hudson.model.ParametersAction",
                "parameters": [parameter_value(k, v, kinds or {}) for k, v in parameters.items()],
            }
        )
    found.append(
        {
            "_class": "hudson.model.CauseAction",
            "causes": [cause_json(cause) for cause in dict.fromkeys(causes)],
        }
    )
    return found


def queue_item_json(item: QueueItem, base: str, queue: BuildQueue) -> dict:
    """``GET queue/item/N/api/json``: Waiting, Blocked, Buildable or Left."""
    if not item.waiting:
        kind = "hudson.model.Queue$LeftItem"
    elif item.blocked:
        kind = "hudson.model.Queue$BlockedItem"
    elif item.buildable:
        kind = "hudson.model.Queue$BuildableItem"
    else:
        kind = "hudson.model.Queue$WaitingItem"
    kinds = parameter_kinds(queue.state.jobs.get(item.job))
    secret = {k for k, kind in kinds.items() if kind == "PasswordParameterDefinition"}
    params = "".join(
        f"\n{k}={'****' if k in secret else v}" for k, v in (item.parameters or {}).items()
    )
    data = {
        "_class": kind,
        "actions": actions(item.parameters, item.causes, kinds),
        "blocked": item.blocked,
        "buildable": item.buildable,
        "id": item.id,
        "inQueueSince": int(item.queued_at * 1000),
        "params": params,
        "stuck": False,
        "task": {
            "_class": FREESTYLE_PROJECT,
            "name": item.job,
            "url": f"{base}job/{item.job}/",
        },
        "url": f"queue/item/{item.id}/",
        "why": item.why,
    }
    if item.waiting:
        data["timestamp"] = int((time.time() + max(0.0, item.due - time.monotonic())) * 1000)
    else:
        data["cancelled"] = item.cancelled
        data["executable"] = None
        build = queue.state.jobs.get(item.job)
        if item.build_number is not None and build is not None:
            ref = build.builds.get(item.build_number)
            young = (
                item.left_at is not None and time.monotonic() - item.left_at < queue.executable_lag
            )
            if ref is not None and not (young and ref.building):  # briefly null, as in Jenkins
                data["executable"] = build_ref(ref, base)
    return data


def build_json(build: Build, base: str, kinds: dict[str, str] | None = None) -> dict:
    """``GET job/X/N/api/json`` (``result`` is null while building)."""
    end = build.finished_at or time.time()
    return {
        "_class": FREESTYLE_BUILD,
        "actions": actions(build.parameters, build.causes, kinds),
        "artifacts": [
            {
                "displayPath": path.rsplit("/", 1)[-1],
                "fileName": path.rsplit("/", 1)[-1],
                "relativePath": path,
            }
            for path in build.artifacts
        ],
        "building": build.building,
        "inProgress": build.building,
        "description": build.description,
        "displayName": build.display_name or f"#{build.number}",
        "duration": 0 if build.building else int((end - build.started_at) * 1000),
        "estimatedDuration": -1,
        "executor": {"_class": "hudson.model.Executor"} if build.building else None,
        "fullDisplayName": f"{build.job} {build.display_name or f'#{build.number}'}",
        "id": str(build.number),
        "keepLog": False,
        "number": build.number,
        "queueId": build.queue_id,
        "result": build.result,
        "timestamp": int(build.started_at * 1000),
        "url": build_url(build, base),
        "builtOn": "",
        "changeSet": {"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None},
        "culprits": [],
    }


def executors_json(running: dict[int, Build], count: int, base: str) -> list[dict]:
    """The built-in node's executors, each with its ``currentExecutable``."""
    return [
        {
            "_class": "hudson.model.Executor",
            "number": number,
            "idle": number not in running,
            "currentExecutable": build_ref(running.get(number), base),
        }
        for number in range(count)
    ]
