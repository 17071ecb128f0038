"""Unpacking refuses every archive that could write outside the workspace, or too much.

Each hostile archive is made here with ``tarfile`` the way an attacker would
write it, then fed to the unpacker as the download would feed it. A refused
archive leaves nothing outside the staging directory, which the restore
then removes.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from bygmester_hooks.ephemera.unpacking import Refused, Unpacker


def archive(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue())


def member(name: str, kind=tarfile.REGTYPE, data: bytes = b"", link: str = "", size=None):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if size is None else size
    info.mode = 0o644
    return info, (data if kind == tarfile.REGTYPE else None)


def unpack(tmp_path: Path, data: bytes, paths=("cache",), limit=1 << 20) -> Path:
    staging = tmp_path / "workspace" / ".staging"
    staging.mkdir(parents=True)
    chunks = iter([data[i : i + 7] for i in range(0, len(data), 7)])  # awkward chunk sizes
    Unpacker(staging, list(paths), limit).run(chunks)
    return staging


def test_a_clean_archive_is_unpacked_with_links_inside_it(tmp_path):
    staging = unpack(tmp_path, archive(
        member("cache", tarfile.DIRTYPE),
        member("cache/a.txt", data=b"alpha"),
        member("cache/sub", tarfile.DIRTYPE),
        member("cache/sub/up", tarfile.SYMTYPE, link="../a.txt"),
        member("cache/hard", tarfile.LNKTYPE, link="cache/a.txt"),
        member("cache/" + "long-" * 40 + "name.txt", data=b"pax path"),
    ))  # fmt: skip
    assert (staging / "cache/sub/up").read_text() == "alpha"
    assert os.stat(staging / "cache/hard").st_ino == os.stat(staging / "cache/a.txt").st_ino
    assert (staging / ("cache/" + "long-" * 40 + "name.txt")).read_text() == "pax path"


@pytest.mark.parametrize(
    "members, says",
    [
        ([member("cache/../../evil", data=b"x")], "out of the workspace"),
        ([member("../evil", data=b"x")], "out of the workspace"),
        ([member("/tmp/evil", data=b"x")], "absolute path"),
        ([member("elsewhere/file", data=b"x")], "not under the set's paths"),
        (
            [member("cache/etc", tarfile.SYMTYPE, link="/etc"),
             member("cache/etc/passwd", data=b"root::0:0::/:/bin/sh\n")],
            "absolute path",
        ),
        (
            [member("cache/up", tarfile.SYMTYPE, link="../.."),
             member("cache/up/escaped", data=b"x")],
            "written through the link cache/up",
        ),
        ([member("cache/shadow", tarfile.LNKTYPE, link="/etc/shadow")], "hard link"),
        ([member("cache/shadow", tarfile.LNKTYPE, link="../../etc/shadow")], "hard link"),
        ([member("cache/null", tarfile.CHRTYPE)], "device file"),
        ([member("cache/disk", tarfile.BLKTYPE)], "device file"),
        ([member("cache/pipe", tarfile.FIFOTYPE)], "FIFO"),
        ([member("cache/a", data=b"1"), member("cache/a", data=b"2")], "twice"),
    ],
    ids=[
        "dot-dot inside", "dot-dot first", "absolute", "outside the set",
        "symlink to /etc then a file through it", "symlink up and out then a file through it",
        "hard link to an absolute path", "hard link climbing out", "character device",
        "block device", "fifo", "the same file twice",
    ],
)  # fmt: skip
def test_a_hostile_archive_is_refused_and_nothing_is_written_outside(tmp_path, members, says):
    with pytest.raises(Refused, match=says):
        unpack(tmp_path, archive(*members))
    assert not (tmp_path / "evil").exists() and not (tmp_path / "workspace/evil").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["workspace"]


def test_a_symlink_that_resolves_out_only_through_another_link_is_refused(tmp_path):
    # "here" points at the workspace root, so "here/.." is its parent: lexically inside,
    # really outside. Links are resolved for real once they all exist.
    with pytest.raises(Refused, match="out of the workspace"):
        unpack(tmp_path, archive(
            member("cache/here", tarfile.SYMTYPE, link=".."),
            member("cache/out", tarfile.SYMTYPE, link="here/../.."),
        ))  # fmt: skip


def test_a_bomb_is_stopped_at_the_announced_size(tmp_path):
    bomb = archive(member("cache/zeros", data=bytes(8 << 20)))
    assert len(bomb) < 64 << 10  # small archive, huge content
    with pytest.raises(Refused, match="more bytes than"):
        unpack(tmp_path, bomb, limit=1 << 20)
    assert not (tmp_path / "workspace/.staging/cache/zeros").exists()


def test_a_member_longer_than_the_archive_is_refused_as_truncated(tmp_path):
    whole = io.BytesIO()
    with tarfile.open(fileobj=whole, mode="w") as tar:
        tar.addfile(*member("cache/big", data=b"x" * 5000)[:1], io.BytesIO(b"x" * 5000))
    cut = gzip.compress(whole.getvalue()[:2048])
    with pytest.raises(Refused, match="ends in the middle"):
        unpack(tmp_path, cut)


def test_bytes_that_are_not_gzip_are_refused(tmp_path):
    with pytest.raises(Refused, match="not a gzip"):
        unpack(tmp_path, b"PK\x03\x04 this is a zip file, not ours" * 20)


def test_a_negative_size_is_refused_before_anything_is_read(tmp_path):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info, _ = member("cache/x")
        info.pax_headers = {"size": "-1"}
        tar.addfile(info, io.BytesIO(b""))
    bomb = gzip.compress(raw.getvalue() + bytes(64 << 20))  # 64 MB of zeros after it
    read = []

    def chunks():
        for i in range(0, len(bomb), 4096):
            read.append(i)
            yield bomb[i : i + 4096]

    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(Refused, match="malformed size"):
        Unpacker(staging, ["cache"], 1 << 20).run(chunks())
    assert len(read) * 4096 < len(bomb)  # it stopped at the header, not at the end


def test_an_archive_of_nothing_but_directories_is_stopped_at_the_announced_size(tmp_path):
    dirs = [member(f"cache/d{i}", tarfile.DIRTYPE) for i in range(2000)]
    with pytest.raises(Refused, match="more bytes than the 10240 announced"):
        unpack(tmp_path, archive(*dirs), limit=10240)
    assert len(list((tmp_path / "workspace/.staging/cache").iterdir())) < 25


def raw_archive(*blocks: bytes) -> bytes:
    return gzip.compress(b"".join(blocks))


def header(name: str, kind=tarfile.REGTYPE, size: int = 0) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode = kind, size, 0o755
    return info.tobuf(format=tarfile.USTAR_FORMAT)


@pytest.mark.parametrize(
    "data, says",
    [
        (raw_archive(header("cache/d", tarfile.DIRTYPE, 512), header("cache/hidden"),
                     bytes(1024)), "a directory that carries data"),
        (raw_archive(header("cache/c", tarfile.CONTTYPE, 0), bytes(1024)), "of type"),
        (raw_archive(header("cache/f"), bytes(1024), b"trailing garbage"), "after the end of"),
        (raw_archive(header("cache/f"), bytes(1024)) + b"not gzip", "after the end of the gzip"),
        (raw_archive(header("cache/f")), "without its end-of-archive blocks"),
    ],
    ids=["directory with data", "contiguous file", "data after the end",
         "bytes after the gzip stream", "no end blocks"],
)  # fmt: skip
def test_what_tar_would_read_differently_is_refused(tmp_path, data, says):
    with pytest.raises(Refused, match=says):
        unpack(tmp_path, data)


def test_a_deflate_bomb_in_one_chunk_is_inflated_a_bounded_piece_at_a_time(tmp_path):
    import tracemalloc
    import zlib

    packer = zlib.compressobj(wbits=31)
    bomb = packer.compress(header("cache/f", size=1 << 30)[:512])
    zeros = bytes(1 << 20)
    bomb += b"".join(packer.compress(zeros) for _ in range(256)) + packer.flush()
    assert len(bomb) < 1 << 20  # 256 MB of zeros behind one header, in one network chunk
    staging = tmp_path / "staging"
    staging.mkdir()
    tracemalloc.start()
    with pytest.raises(Refused, match="more bytes than"):
        Unpacker(staging, ["cache"], 1 << 20).run(iter([bomb]))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 32 << 20, peak  # not the 256 MB the chunk inflates to


def test_a_member_deeper_than_any_cache_is_refused_without_a_traceback(tmp_path):
    deep = "cache/" + "/".join(["q"] * 2000)
    with pytest.raises(Refused, match="deeper or longer"):
        unpack(tmp_path, archive(member(deep, tarfile.DIRTYPE)), limit=1 << 20)


def test_zeros_after_the_end_beyond_tars_padding_are_refused(tmp_path):
    with pytest.raises(Refused, match="after the end of the archive"):
        unpack(tmp_path, raw_archive(header("cache/f"), bytes(1 << 20)))
