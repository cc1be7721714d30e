"""copy() and the batch helpers it uses, where WebDAV works differently
from the other file systems: small files are written several at a time by
a thread pool, so an abort must also stop and clean up the writes in
flight.

The copy matrix itself (local <-> SFTP <-> WebDAV: files, trees, links,
permissions, overwrite modes, copy_into, progress, sha256, aborts and
dropped connections) is in tests/test_copy.py.
"""
from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path as LocalPath
from typing import Any

import pytest

import cerulean
from tests.cerulean.webdav_helpers import (
    count_requests,
    fresh_dir,
    on_disk,
    private_fs,
    temp_files,
)

pytestmark = pytest.mark.real_server("webdav")


def content(name: str, size: int) -> bytes:
    seed = hashlib.sha512(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@contextmanager
def webdav_dir() -> Iterator[Any]:
    with private_fs() as fs, fresh_dir(fs) as base:
        yield base


@contextmanager
def local_dir(tmp_path: LocalPath) -> Iterator[Any]:
    with cerulean.LocalFileSystem() as fs:
        yield fs / str(tmp_path).lstrip("/")


def test_abort_during_a_batch_of_small_files(
        tmp_path: LocalPath, monkeypatch: pytest.MonkeyPatch) -> None:
    # Small files are written several at a time; an abort must still leave
    # each one whole or absent, and no temporary files, once copy() returns.
    monkeypatch.setattr(cerulean.copy_files, "CALLBACK_INTERVAL", 0.0)

    class Stop(Exception):
        pass

    calls = []

    def callback(count: int, total: int) -> None:
        calls.append(count)
        if len(calls) == 12:
            raise Stop()

    with webdav_dir() as dav, local_dir(tmp_path) as local:
        src = local / "many"
        src.mkdir()
        for i in range(60):
            (src / f"f{i:02d}").write_bytes(content(f"f{i}", 20_000))
        with pytest.raises(Stop):
            cerulean.copy(src, dav, callback=callback)
        landed = os.listdir(on_disk(dav / "many"))
        assert 0 < len(landed) < 60
        assert temp_files(on_disk(dav / "many")) == []
        for name in landed:
            data = (on_disk(dav / "many") / name).read_bytes()
            assert data == content(f"f{int(name[1:])}", 20_000)
        # Nothing more lands after copy() has returned.
        time.sleep(0.3)
        assert os.listdir(on_disk(dav / "many")) == landed


def test_batches_keep_order_and_report_errors_in_place() -> None:
    with webdav_dir() as dav:
        fs = dav.filesystem
        items = [cerulean.file_system_impl.WriteItem(
            str(dav / f"f{i}"), content(str(i), 1000 + i)) for i in range(20)]
        assert list(fs._write_files(iter(items))) == [1000 + i
                                                      for i in range(20)]
        got = list(fs._read_files((str(dav / f"f{i}"), 0) for i in range(20)))
        assert got == [content(str(i), 1000 + i) for i in range(20)]
        (dav / "sub").mkdir()
        listings = fs._listdirs([str(dav), str(dav / "missing"),
                                 str(dav / "sub")])
        assert len(listings[0]) == 21
        assert isinstance(listings[1], FileNotFoundError)
        assert listings[2] == []
        # Unlinking: each path's error in place, and never a directory.
        paths = [str(dav / f"f{i}") for i in range(20)]
        errors = fs._unlink_many(
            [*paths, str(dav / "missing"), str(dav / "sub")])
        assert errors[:20] == [None] * 20
        assert isinstance(errors[20], FileNotFoundError)
        assert isinstance(errors[21], IsADirectoryError)
        assert os.listdir(on_disk(dav)) == ["sub"]


def test_copy_replaces_a_directory_with_one_delete(tmp_path: LocalPath
                                                   ) -> None:
    """overwrite='always' removes a directory in the way of a file with
    one DELETE of the tree, not a request per file in it."""
    with webdav_dir() as dav, local_dir(tmp_path) as local:
        (local / "f").write_bytes(b"new")
        disk = on_disk(dav / "f")
        for d in range(5):
            (disk / f"d{d}").mkdir(parents=True)
            for i in range(20):
                (disk / f"d{d}" / f"x{i}").write_bytes(b"old")
        with count_requests(dav.filesystem) as counts:
            cerulean.copy(local / "f", dav, overwrite="always")
        assert (dav / "f").read_bytes() == b"new"
        assert counts["DELETE"] == 1
        assert counts["PROPFIND"] <= 4
