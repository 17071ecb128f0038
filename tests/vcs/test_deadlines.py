"""One deadline for a whole remote read: a server that sends slowly gets no more time.

Each server here sends a byte every 0.1 s, far within any per-receive
timeout, and never finishes; only a deadline over the whole read (every
call, every receive) ends the wait in time.
"""

from __future__ import annotations

import multiprocessing
import struct
import sys
import time

import pytest

from capomastro_changes.vcs.bzr import read_tip
from capomastro_changes.vcs.errors import ReadError, ReadTimeout
from capomastro_changes.vcs.git import read_head

TIMEOUT = 1.0
SLACK = 0.75  # thread wake-ups and teardown on a busy machine; nowhere near a second read
ALLOWED = ("git", "http", "bzr")
GIT_ADVERTISEMENT = "application/x-git-upload-pack-advertisement"


def http_head(content_type: str, length: int = 100_000_000) -> bytes:
    """Response headers promising a body far longer than any test waits for."""
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def read_git(url: str):
    return read_head(url, "main", timeout=TIMEOUT, allowed_schemes=ALLOWED)


def read_bzr(url: str):
    return read_tip(url, timeout=TIMEOUT, allowed_schemes=ALLOWED)


TRICKLERS = {
    # A smart-HTTP answer whose first pkt-line ("aaaa": 43,686 bytes) never ends.
    "git smart HTTP, slow body": (read_git, "http", http_head(GIT_ADVERTISEMENT)),
    # A header line that never ends: the answer never even starts.
    "git smart HTTP, slow headers": (read_git, "http", b"HTTP/1.1 200 OK\r\nX-Slow: "),
    "git://": (read_git, "git", b""),
    "bzr over HTTP": (read_bzr, "http", http_head("text/plain")),
    # A smart-protocol answer whose 100 MB header block comes a byte at a time.
    "bzr://": (read_bzr, "bzr", b"bzr message 3 (bzr 1.6)\n" + struct.pack(">I", 100_000_000)),
}


@pytest.mark.parametrize("kind", TRICKLERS)
def test_a_server_that_trickles_bytes_is_a_timeout_within_the_time_limit(trickler, kind):
    read, scheme, prefix = TRICKLERS[kind]
    port = trickler(prefix, interval=0.1)
    started = time.monotonic()
    with pytest.raises(ReadTimeout, match="no answer within 1 seconds"):
        read(f"{scheme}://127.0.0.1:{port}/repo")
    assert time.monotonic() - started < TIMEOUT + SLACK


def test_a_smart_http_server_that_stalls_mid_answer_is_a_timeout_not_a_crash(trickler):
    """urllib3's ReadTimeoutError used to escape the reader from here."""
    port = trickler(http_head(GIT_ADVERTISEMENT) + b"001e# service=git-upload-pack\n", None)
    started = time.monotonic()
    with pytest.raises(ReadTimeout, match="no answer within 1 seconds"):
        read_git(f"http://127.0.0.1:{port}/repo.git")
    assert time.monotonic() - started < TIMEOUT + SLACK


def test_a_smart_http_answer_cut_short_is_a_clear_error(trickler):
    head = http_head(GIT_ADVERTISEMENT, length=500)
    port = trickler(head + b"001e# service=git-up", interval=None, close=True)
    with pytest.raises(ReadError, match="broke off before the answer was complete") as caught:
        read_git(f"http://127.0.0.1:{port}/repo.git")
    assert not isinstance(caught.value, ReadTimeout)


def _timed_read_in_child(url: str) -> None:
    started = time.monotonic()
    try:
        read_git(url)
    except ReadTimeout:
        sys.exit(0 if time.monotonic() - started < TIMEOUT + SLACK else 2)
    sys.exit(1)


def test_a_forked_worker_keeps_the_deadline(trickler):
    """Celery's prefork workers are forked: the deadline's watchdog must work in each child."""
    port = trickler(http_head(GIT_ADVERTISEMENT), interval=0.1)
    url = f"http://127.0.0.1:{port}/repo.git"
    with pytest.raises(ReadTimeout):
        read_git(url)  # the watchdog now runs in this process; a fork does not copy it
    child = multiprocessing.get_context("fork").Process(target=_timed_read_in_child, args=(url,))
    child.start()
    child.join(TIMEOUT * 10)
    assert child.exitcode == 0
