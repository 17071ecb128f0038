"""Probe scripts that misbehave: missing, not executable, failing, garbage, silent,
too talkative, stuck, or placed outside the job type's branch; and paths out of
the branch that the admin refuses when the job type is saved.

Each runs through a real check of a source whose job type probes with a script
(``check.check_source``): the error is in the check history, the stored
revision untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ValidationError
from django.test import override_settings

from capomastro_changes.detection import check
from capomastro_changes.models import Dependency, Job, JobType, Source, SourceState
from capomastro_changes.testing.factories import make_server
from stress.corpus.case import Case, mark, validation_text

SEEDED = "1" * 40

SCRIPTS = {
    "exit 1": ("#!/bin/sh\necho 'cannot reach the repository' >&2\nexit 1\n", "status 1"),
    "garbage": ("#!/bin/sh\nprintf '\\377\\376garbage\\001'\n", "not JSON"),
    "no JSON": ("#!/bin/sh\necho revision=abc\n", "not JSON"),
    "JSON array": ("#!/bin/sh\necho '[1, 2]'\n", "not an object"),
    "no revision": ('#!/bin/sh\necho \'{"revno": 3}\'\n', "no 'revision'"),
    "two lines": ('#!/bin/sh\necho \'{"revision": "a"}\'\necho \'{"revision": "b"}\'\n', "2 lines"),
    "prints nothing": ("#!/bin/sh\nexit 0\n", "printed nothing"),
    "stderr only": ("#!/bin/sh\necho 'all is well' >&2\n", "printed nothing"),
    "huge output": ("#!/bin/sh\nhead -c 5000000 /dev/zero | tr '\\0' x\n", "more than .* bytes"),
    "sleeps forever": ("#!/bin/sh\nsleep 600\n", "no answer within"),
    "control chars in revision": (
        '#!/bin/sh\nprintf \'{"revision": "a\\\\u001b[31m"}\\n\'\n', "control characters"),
    "revision too long": (
        "#!/bin/sh\nprintf '{\"revision\": \"%s\"}\\n' $(head -c 4000 /dev/zero | tr '\\0' a)\n",
        "too long"),
    "killed by a signal": ("#!/bin/sh\nkill -9 $$\n", "status -9"),
    # A revision reaches a build script's command line: nothing option-like, nothing split.
    "revision like an option": (
        "#!/bin/sh\necho '{\"revision\": \"--upload-pack=touch /tmp/owned\"}'\n",
        "starting with '-'"),
    "revision a lone dash": ("#!/bin/sh\necho '{\"revision\": \"-\"}'\n", "starting with '-'"),
    "revision with a space": ("#!/bin/sh\necho '{\"revision\": \"abc def\"}'\n", "whitespace"),
    "revision with a tab": (
        "#!/bin/sh\nprintf '%s\\n' '{\"revision\": \"abc\\tdef\"}'\n",
        "control characters|whitespace"),
    "revision with a no-break space": (
        "#!/bin/sh\necho '{\"revision\": \"abc\\u00a0def\"}'\n", "whitespace"),
    "revision with a zero-width space": (
        "#!/bin/sh\necho '{\"revision\": \"abc\\u200bdef\"}'\n", "whitespace or control"),
    # Numbers Python holds but the database does not.
    "revno 2**64": ("#!/bin/sh\necho '{\"revision\": \"r\", \"revno\": 18446744073709551616}'\n",
                    "'revno' must be an integer from 0 to 2147483647"),
    "revno 2**31": ("#!/bin/sh\necho '{\"revision\": \"r\", \"revno\": 2147483648}'\n",
                    "'revno' must be an integer from 0 to 2147483647"),
    "revno 1e3": ("#!/bin/sh\necho '{\"revision\": \"r\", \"revno\": 1e3}'\n", "'revno' must be"),
    # Nesting that would exhaust the decoder's recursion.
    "5,000 nested arrays": (
        "#!/bin/sh\nprintf '{\"revision\": \"r\", \"x\": '\n"
        "head -c 5000 /dev/zero | tr '\\0' '['\nhead -c 5000 /dev/zero | tr '\\0' ']'\n"
        "printf '}\\n'\n", "nests deeper than"),
    "5,000 nested objects as the revision": (
        "#!/bin/sh\nprintf '{\"revision\": '\nfor i in $(seq 5000); do printf '{\"a\":'; done\n"
        "printf 1\nfor i in $(seq 5000); do printf '}'; done\nprintf '}\\n'\n",
        "nests deeper than"),
}  # fmt: skip


def branch_dir(root: Path) -> Path:
    """The job type's branch: every script above, plus a non-executable one and a symlink out."""
    branch = root / "branch"
    branch.mkdir(parents=True, exist_ok=True)
    for n, (text, _) in enumerate(SCRIPTS.values()):
        path = branch / f"probe-{n}"
        path.write_text(text)
        path.chmod(0o755)
    (branch / "not-executable").write_text('#!/bin/sh\necho \'{"revision": "x"}\'\n')
    outside = root / "outside-probe"
    outside.write_text('#!/bin/sh\necho \'{"revision": "x"}\'\n')
    outside.chmod(0o755)
    if not (branch / "escape-link").exists():
        os.symlink(outside, branch / "escape-link")
    return branch


def check_with_script(branch: Path, script: str) -> str:
    """A real check of a source whose job type runs ``script`` from ``branch``."""
    n = Source.objects.count()
    source = Source.objects.for_location("git", f"https://example.com/probe-{n}.git", "main")
    jobtype = JobType.objects.create(
        name=f"scripted-{n}", config_xml="<project/>", bygmester_branch=str(branch),
        probe_runner=JobType.PROBE_SCRIPT, probe_script=script,
    )  # fmt: skip
    job = Job.objects.create(server=make_server(), jobtype=jobtype, name=f"probe-job-{n}")
    Dependency.objects.create(name=f"probe-dep-{n}", job=job, source=source)
    SourceState.objects.filter(pk=source.pk).update(last_revision=SEEDED)
    mark()
    with override_settings(CAPOMASTRO_CHANGES_PROBE_TIMEOUT=2):
        record = check.check_source(source.pk)
    return f"{record.outcome}: {record.error}"


def cases(root: Path) -> list[Case]:
    branch = branch_dir(root)
    made = [
        Case("probe", name, (lambda n=n: check_with_script(branch, f"probe-{n}")), f"error: .*{e}")
        for n, (name, (_, e)) in enumerate(SCRIPTS.items())
    ]
    more = [
        ("missing script", "no-such-probe", "no such script"),
        ("not executable", "not-executable", "not executable"),
        ("path with ..", "../outside-probe", "leads outside"),
        ("absolute path", str(root / "outside-probe"), "leads outside"),
        ("symlink out of the branch", "escape-link", "leads outside"),
        ("a directory", ".", "no such script"),
    ]
    made += [
        Case("probe", name, (lambda s=s: check_with_script(branch, s)), f"error: .*{e}")
        for name, s, e in more
    ]
    saved = [
        ("saved with ..", "../outside-probe", "may not contain '..'"),
        ("saved absolute", str(root / "outside-probe"), "must be relative"),
        ("saved as an option", "-probe", "may not start with '-'"),
        ("saved with a newline", "probe\nfake", "control characters"),
    ]
    made += [
        Case("probe", name, (lambda s=s: save_jobtype(branch, s)), f"probe_script: .*{e}")
        for name, s, e in saved
    ]
    return made


def save_jobtype(branch: Path, script: str) -> str:
    """What the admin says to a job type whose probe script path leaves its branch."""
    jobtype = JobType(
        name=f"saved-{JobType.objects.count()}", config_xml="<project/>",
        bygmester_branch=str(branch), probe_runner=JobType.PROBE_SCRIPT, probe_script=script,
    )  # fmt: skip
    try:
        jobtype.full_clean()
    except ValidationError as exc:
        return validation_text(exc)
    jobtype.save()
    return "saved"
