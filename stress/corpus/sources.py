"""Source URLs and branches: options in disguise, transport tricks, refused schemes,
and hosts that refuse, hang, answer HTTP that is not git, or answer far too much.

A URL the model refuses never reaches a VCS client; one it accepts goes through
a real check (``check.check_source``) and must end as an error in the check
history, the stored revision untouched.
"""

from __future__ import annotations

import contextlib
import http.server
import threading

from django.core.exceptions import ValidationError
from django.test import override_settings

from capomastro_changes.detection import check
from capomastro_changes.models import Dependency, Source, SourceState
from capomastro_changes.testing import servers
from capomastro_changes.testing.factories import make_job
from stress.corpus.case import Case, mark, validation_text

SEEDED = "0" * 40  # what the stored state says before the check: it must stay so


def refuse_source(vcs: str, url: str, branch: str = "") -> str:
    """The error for this source: the model's refusal, or the check's recorded error."""
    try:
        source = Source.objects.for_location(vcs, url, branch)
    except ValidationError as exc:
        return validation_text(exc)
    Dependency.objects.create(name=f"dep-{source.pk}", job=make_job(), source=source)
    SourceState.objects.filter(pk=source.pk).update(last_revision=SEEDED)
    mark()
    record = check.check_source(source.pk)
    if record is None:
        return "check skipped"
    return f"{record.outcome}: {record.error}"


class _Huge(http.server.BaseHTTPRequestHandler):
    """Answers a ref advertisement of 100 MB (git's content type, endless refs)."""

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "application/x-git-upload-pack-advertisement")
        self.end_headers()
        self.wfile.write(b"001e# service=git-upload-pack\n0000")
        with contextlib.suppress(OSError):
            for chunk in range(100 * 1024 * 1024 // (64 * 1024)):
                refs = b"".join(_ref_line(chunk * 1000 + n) for n in range(1000))
                self.wfile.write(refs)

    def log_message(self, *args):
        pass


def _ref_line(n: int) -> bytes:
    body = f"{n:040x} refs/heads/b{n:010d}\n".encode()
    return f"{len(body) + 4:04x}".encode() + body


@contextlib.contextmanager
def huge_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Huge)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/repo.git"
    finally:
        server.shutdown()
        server.server_close()


def with_server(manager, url_of, vcs="git", **limits):
    def run() -> str:
        with manager() as where, override_settings(**limits):
            return refuse_source(vcs, url_of(where))

    return run


def url_cases() -> list[Case]:
    option = "may not start with '-'"
    helper = "transport helpers|remote-helper"
    scheme = "scheme cannot be read|not allowed"
    cases = [
        ("git -oProxyCommand", "git", "-oProxyCommand=touch /tmp/pwned", option),
        ("git --upload-pack", "git", "--upload-pack=touch /tmp/pwned", option),
        ("bzr -Dfoo option", "bzr", "-Oquiet=1", option),
        ("git ext::sh", "git", "ext::sh -c touch% /tmp/pwned", helper),
        ("bzr ext::sh", "bzr", "ext::sh -c id", helper),
        ("git fd::", "git", "fd::17", helper),
        ("git ext: prefix", "git", "ext:sh", helper),
        ("empty URL", "git", "", "empty"),
        ("blank URL", "git", "   ", "empty"),
        ("newline in URL", "git", "https://example.com/a\nb.git", "control characters"),
        ("NUL in URL", "git", "https://example.com/a\x00.git", "control characters"),
        ("gopher scheme", "git", "gopher://example.com/repo.git", scheme),
        ("ftp scheme", "git", "ftp://example.com/repo.git", scheme),
        ("javascript scheme", "bzr", "javascript:alert(1)", "not a URL|scheme"),
        ("relative path", "git", "repo.git", "not a URL or an absolute path"),
        ("ssh host as option", "git", "ssh://-oProxyCommand=id/repo", "start with '-'|host"),
        ("scp-like host option", "git", "-oProxyCommand=id:repo", option),
        ("percent-encoded space", "git", "https://example.com/a%20b.git", "spaces or control"),
    ]  # fmt: skip
    made = [Case("url", n, (lambda v=v, u=u: refuse_source(v, u)), e) for n, v, u, e in cases]
    no_file = {"CAPOMASTRO_CHANGES_ALLOWED_SCHEMES": ("https", "ssh", "git")}

    def file_refused(url: str):
        return lambda: _with(no_file, lambda: refuse_source("git", url))

    made += [
        Case("url", "file:// when not allowed", file_refused("file:///srv/repo.git"),
             "'file' scheme is not allowed"),
        Case("url", "absolute path when file not allowed", file_refused("/srv/repo.git"),
             "'file' scheme is not allowed"),
        Case("url", "host refuses (git http)",
             with_server(servers.refused_port, lambda p: f"http://127.0.0.1:{p}/r.git"),
             "error: .*(refused|could not connect|unreachable)"),
        Case("url", "host refuses (bzr)",
             with_server(servers.refused_port, lambda p: f"bzr://127.0.0.1:{p}/b", vcs="bzr"),
             "error: .*(refused|could not connect|unreachable)"),
        Case("url", "host hangs",
             with_server(servers.silent_server, lambda p: f"http://127.0.0.1:{p}/r.git",
                         CAPOMASTRO_CHANGES_PROBE_TIMEOUT=2),
             "error: .*(time|no answer)"),
        Case("url", "HTTP that is not git",
             with_server(servers.not_git_http, lambda u: u + "/r.git"),
             "error: .*(not a git|smart|content type|HTTP)"),
        # The cap, not the deadline, must end this one: 1 MB arrives well within the timeout.
        Case("url", "answers 100 MB",
             with_server(huge_server, lambda u: u,
                         CAPOMASTRO_CHANGES_GIT_MAX_ADVERTISEMENT=1024 * 1024),
             "error: .*(too large|more than|bytes|limit)"),
        Case("url", "password in a refused URL is not shown",
             with_server(servers.refused_port, lambda p: f"http://u:hunter2-corpus@127.0.0.1:{p}/r"),
             r"^(?!.*hunter2-corpus).*error: "),
    ]  # fmt: skip
    return made


def _with(overrides: dict, action):
    with override_settings(**overrides):
        return action()


def branch_cases() -> list[Case]:
    cases = [
        ("'..' in branch", "git", "main/../../etc", "may not contain '..'"),
        ("branch a..b", "git", "a..b", "may not contain '..'"),
        ("branch -D", "git", "-D", "may not start with '-'"),
        ("branch --upload-pack", "git", "--upload-pack=id", "may not start with '-'"),
        ("NUL in branch", "git", "ma\x00in", "control characters"),
        ("newline in branch", "git", "main\nfoo", "control characters"),
        ("escape sequence in branch", "git", "\x1b[31mred", "control characters"),
        ("10 KB branch", "git", "b" * 10240, "longer than 255"),
        ("space in branch", "git", "my branch", "not a valid branch name"),
        ("tilde in branch", "git", "main~1", "not a valid branch name"),
        ("caret in branch", "git", "HEAD^", "not a valid branch name"),
        ("branch ending in .lock", "git", "main.lock", "not a valid branch name"),
        ("bzr branch with a slash", "bzr", "a/b", "leave empty"),
    ]
    return [
        Case("branch", n, (lambda v=v, b=b: refuse_source(v, "https://example.com/r", b)), e)
        for n, v, b, e in cases
    ]
