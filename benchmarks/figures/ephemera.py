"""Ephemera: a restore against ``tar -xzf`` of the same archive, and the server's memory.

``ephemera_restore_vs_tar``: ``bygmester-ephemera restore`` (a process, as a
build runs it: finding the archive, streaming it from the server over HTTP,
checking its SHA-256 and unpacking it safely into staging, then moving it into
place) against GNU ``tar -xzf`` of the very file the server stores, into a
directory on the same disk. A tree of many small files (10 kB each, half
random, half compressible: a cargo registry's shape), 200 MB unpacked. The
ratio is ours ÷ tar's, medians of alternating rounds; goal ≤ 1.3.

``ephemera_transfer_rss_mb``: the peak RSS of the gunicorn worker that serves
the endpoints, before and after it took a 1 GB upload and served a 1 GB
download. The value is the growth; goal < 50 MB (nothing holds an archive in
memory). The anchor is the worker's peak before the transfers.

Both run in a child process (``python -m benchmarks.figures.ephemera SIZE
OUT.json``) with its own SQLite database and data directory, and a gunicorn
server started with the site's own configuration.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from benchmarks.timing import figure, not_measured, spread, time_once

KEYS = ("ephemera_restore_vs_tar", "ephemera_transfer_rss_mb")
ROOT = Path(__file__).resolve().parents[2]
# size name: (files in the tree, bytes per file, rounds, transfer bytes)
SIZES = {
    "smoke": (200, 10_000, 1, 8 << 20),
    "quick": (20_000, 10_000, 5, 1 << 30),
    "full": (20_000, 10_000, 9, 1 << 30),
}
RESTORE_GOAL = 1.3
RSS_GOAL_MB = 50.0
CHILD_TIMEOUT = 900


def measure(ctx, quick: bool) -> dict:
    """Run the figures in a child process; its figures, or why there are none."""
    if shutil.which("tar") is None:
        return {key: not_measured("no tar on this machine") for key in KEYS}
    out = ctx.tmp / "ephemera.json"
    log = ctx.tmp / "ephemera-child.log"
    argv = [sys.executable, "-m", "benchmarks.figures.ephemera", ctx.sizes.name, str(out)]
    with log.open("wb") as sink:
        child = subprocess.Popen(argv, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT)
        try:
            child.wait(timeout=CHILD_TIMEOUT)
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                child.wait(timeout=30)
    if child.returncode != 0 or not out.exists():
        sys.stderr.write(log.read_text(errors="replace")[-3000:])
        raise RuntimeError(f"the ephemera child failed (exit {child.returncode})")
    return json.loads(out.read_text())


# --- the child's side ---------------------------------------------------------------


def make_tree(root: Path, files: int, size: int) -> None:
    """``files`` files of ``size`` bytes, 200 per directory, half random, half compressible."""
    half = size // 2
    for index in range(files):
        folder = root / f"d{index // 200:04d}"
        if index % 200 == 0:
            folder.mkdir(parents=True)
        (folder / f"f{index % 200:03d}.rs").write_bytes(os.urandom(half) + b"a" * (size - half))


def peak_rss_kb(pid: int) -> int:
    """A process's peak resident set (``VmHWM``), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def worker_of(master: int) -> int:
    """The one gunicorn worker the master forked."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def child_main(size_name: str, out: Path) -> None:
    import tempfile

    files, file_size, rounds, transfer = SIZES[size_name]
    with tempfile.TemporaryDirectory(prefix="bench-ephemera-") as scratch:
        tmp = Path(scratch)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "CAPOMASTRO_CHANGES_DATA_DIR": str(tmp / "data"),
            "CAPOMASTRO_CHANGES_WEB_WORKERS": "1",
            "DJANGO_SETTINGS_MODULE": "capomastro_changes.site.settings",
        }
        env.pop("REDIS_URL", None)
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "CAPOMASTRO_CHANGES_DATA_DIR",
                                                "DJANGO_SETTINGS_MODULE")})  # fmt: skip
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from capomastro_changes.testing.servers import LOOPBACK, _wait_for_port, free_port

        port = free_port()
        base = f"http://{LOOPBACK}:{port}"
        env["CAPOMASTRO_CHANGES_PUBLIC_URL"] = base
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:capomastro_changes.site.gunicorn_conf",
             "-b", f"{LOOPBACK}:{port}", "capomastro_changes.site.wsgi:application"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )  # fmt: skip
        try:
            if not _wait_for_port(port, server, 60):
                raise RuntimeError("gunicorn did not start")
            results = run_figures(tmp, env, base, server.pid, files, file_size, rounds, transfer)
        finally:
            server.terminate()
            server.wait(timeout=30)
    out.write_text(json.dumps(results))


def grant(name: str):
    """A dependency keeping ephemera, a build of it running, and that build's token."""
    from capomastro_changes.models import EphemeraGrant, EphemeraPolicy, RebuildRequest
    from capomastro_changes.testing.factories import make_dependency

    dep = make_dependency(name=name)
    EphemeraPolicy.objects.create(dependency=dep, max_size=4 << 30)
    request = RebuildRequest.objects.create(
        dependency=dep, revision="bench", reason="change", state="building"
    )
    return request, EphemeraGrant.mint(request, timedelta(hours=2))


def run_figures(tmp: Path, env: dict, base: str, master: int, files, file_size, rounds, transfer):
    from capomastro_changes.builds.ephemera.staging import settle_uploads
    from capomastro_changes.builds.ephemera.storage import archive_storage
    from capomastro_changes.models import Ephemeron

    command = str(Path(sys.executable).with_name("bygmester-ephemera"))
    ephemera_url = f"{base}/changes/ephemera/"
    worker = worker_of(master)

    # First, on a fresh worker: 1 GB up and 1 GB down; its peak RSS before and after.
    request, token = grant("bench-transfer")
    big = tmp / "big.bin"
    with big.open("wb") as handle:
        handle.write(b"\x1f\x8b")  # the server takes gzip data only; the rest may be a hole
        handle.truncate(transfer)
    from bygmester_hooks.ephemera.transfer import Missing, Server

    server = Server(ephemera_url, token)
    with contextlib.suppress(Missing):  # one request first: the worker's code is loaded
        server.find("big", "e" * 64, fallback=False)
    before = peak_rss_kb(worker)
    key = "e" * 64
    digest = hashlib.sha256()
    with big.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    server.upload("big", key, big, {
        "X-Ephemera-Unpacked-Size": str(transfer), "X-Ephemera-SHA256": digest.hexdigest(),
        "X-Ephemera-Paths": '["big"]',
    })  # fmt: skip
    settle_uploads(request, None, succeeded=True)
    found = server.find("big", key, fallback=False)
    received = sum(len(chunk) for chunk in server.download(found["id"]))
    after = peak_rss_kb(worker)
    growth = (after - before) / 1024
    figures = {}
    figures["ephemera_transfer_rss_mb"] = figure(
        growth, before / 1024, after / max(before, 1), unit="MB",
        anchor_is="the worker's peak RSS before the transfers",
        goal=f"growth < {RSS_GOAL_MB:g} MB", met=growth < RSS_GOAL_MB and received == transfer,
        transfer_bytes=transfer, received_bytes=received, peak_before_mb=round(before / 1024, 1),
        peak_after_mb=round(after / 1024, 1),
    )  # fmt: skip

    # The tree, persisted by the real command, committed as a SUCCESS would.
    request, token = grant("bench-restore")
    source = tmp / "source"
    make_tree(source / "cache", files, file_size)
    build_env = {**env, "EPHEMERA_URL": ephemera_url, "EPHEMERA_TOKEN": token,
                 "BYGMESTER_REVISION": "bench"}  # fmt: skip
    subprocess.run([command, "persist", "cache", "cache"], env={**build_env, "WORKSPACE": str(
        source)}, check=True, capture_output=True)  # fmt: skip
    settle_uploads(request, None, succeeded=True)
    stored = Ephemeron.objects.get(made_by_request=request, state=Ephemeron.COMMITTED)
    archive = Path(archive_storage().path(stored.storage_name))

    ours_dir, tar_dir = tmp / "ours", tmp / "tar"
    samples: dict[str, list[float]] = {"ours": [], "tar": []}

    def restore_ours():
        argv = [command, "restore", "cache", "cache"]
        done = subprocess.run(argv, capture_output=True, text=True,
                              env={**build_env, "WORKSPACE": str(ours_dir)})  # fmt: skip
        if "restored cache" not in done.stderr:
            raise RuntimeError(f"restore failed: {done.stderr.strip()}")

    def extract_tar():
        subprocess.run(["tar", "-xzf", str(archive), "-C", str(tar_dir)], check=True)

    for number in range(rounds + 1):  # the first round warms the page cache, untimed
        for name, call, where in (("ours", restore_ours, ours_dir), ("tar", extract_tar, tar_dir)):
            shutil.rmtree(where, ignore_errors=True)
            where.mkdir()
            subprocess.run(["sync"], check=False)
            took = time_once(call)
            if number:
                samples[name].append(took)
    same = subprocess.run(["diff", "-r", str(ours_dir / "cache"), str(tar_dir / "cache")],
                          capture_output=True).returncode == 0  # fmt: skip
    ours, anchor = (sorted(samples[k])[len(samples[k]) // 2] for k in ("ours", "tar"))
    figures["ephemera_restore_vs_tar"] = figure(
            ours, anchor, ours / anchor, unit="s",
            anchor_is="GNU tar -xzf of the stored archive, same disk",
            goal=f"ratio <= {RESTORE_GOAL}", met=ours / anchor <= RESTORE_GOAL and same,
            files=files, unpacked_bytes=files * file_size, archive_bytes=archive.stat().st_size,
            identical_trees=same, per_round={k: spread(v) for k, v in samples.items()},
    )  # fmt: skip

    return figures


if __name__ == "__main__":
    child_main(sys.argv[1], Path(sys.argv[2]))
