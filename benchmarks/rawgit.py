"""The physical limit of a git check: a minimal client for one ref advertisement.

It opens the connection, asks for the ref advertisement (protocol v2
``ls-refs`` with the same ref prefixes our reader asks for), reads to the end
and closes: no URL policy, no deadline bookkeeping, no parsing beyond
pkt-line framing. Whatever our reader spends above this is overhead of ours.
Written for the benchmark from the protocol documentation
(gitprotocol-v2, gitprotocol-http); loopback only.
"""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

FLUSH = b"0000"
DELIM = b"0001"


def pkt(payload: bytes) -> bytes:
    """One pkt-line: four hex digits of length (itself included), then the payload."""
    return b"%04x" % (len(payload) + 4) + payload


def ls_refs_request(prefixes: list[bytes]) -> bytes:
    """The ``ls-refs`` command our reader sends, as one buffer."""
    args = [pkt(b"peel\n"), pkt(b"symrefs\n")]
    args += [pkt(b"ref-prefix " + prefix + b"\n") for prefix in prefixes]
    return pkt(b"command=ls-refs\n") + DELIM + b"".join(args) + FLUSH


def read_section(sock: socket.socket, pending: bytearray) -> int:
    """Read pkt-lines up to and including the next flush-pkt.

    Args:
        sock: The connection.
        pending: Bytes received but not yet framed; consumed in place.

    Returns:
        How many pkt-lines the section held.
    """
    lines = 0
    while True:
        while len(pending) < 4:
            _receive(sock, pending)
        size = int(pending[:4], 16)
        if size == 0:
            del pending[:4]
            return lines
        size = max(size, 4)
        while len(pending) < size:
            _receive(sock, pending)
        del pending[:size]
        lines += 1


def _receive(sock: socket.socket, pending: bytearray) -> None:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("the server hung up in the middle of a section")
    pending += chunk


def git_daemon_refs(url: str, prefixes: list[bytes], timeout: float = 10.0) -> int:
    """One ``ls-refs`` round trip over ``git://``; returns the number of refs read."""
    parts = urlsplit(url)
    request = b"git-upload-pack " + parts.path.encode() + b"\0host=" + parts.hostname.encode()
    request += b"\0\0version=2\0"
    with socket.create_connection((parts.hostname, parts.port or 9418), timeout) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(pkt(request))
        pending = bytearray()
        read_section(sock, pending)  # the capability advertisement
        sock.sendall(ls_refs_request(prefixes))
        refs = read_section(sock, pending)
        sock.sendall(FLUSH)
    return refs


def smart_http_refs(url: str, prefixes: list[bytes], timeout: float = 10.0) -> int:
    """One ``ls-refs`` round trip over smart HTTP (two requests, as every client makes).

    Returns:
        The size in bytes of the ``ls-refs`` answer.
    """
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    headers = {"Git-Protocol": "version=2"}
    _http(parts, "GET", f"{path}/info/refs?service=git-upload-pack", None, headers, timeout)
    headers["Content-Type"] = "application/x-git-upload-pack-request"
    body = ls_refs_request(prefixes)
    return len(_http(parts, "POST", f"{path}/git-upload-pack", body, headers, timeout))


def _http(parts, method: str, target: str, body, headers: dict, timeout: float) -> bytes:
    """One request on a fresh connection, read to the end."""
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status != 200:
            raise ConnectionError(f"{method} {target}: HTTP {response.status}")
        return payload
    finally:
        connection.close()


def fetch_refs(url: str, prefixes: list[bytes]) -> int:
    """The raw round trip for a ``git://`` or ``http://`` URL."""
    if url.startswith("git://"):
        return git_daemon_refs(url, prefixes)
    if url.startswith("http://"):
        return smart_http_refs(url, prefixes)
    raise ValueError(f"the raw client speaks git:// and http:// only, not {url!r}")
