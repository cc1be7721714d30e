"""copy() between WebDAV and the local and SFTP file systems, on the real
servers, checked with sha256 on both sides and on the WebDAV server's
disk."""
from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path as LocalPath
from typing import Any

import pytest

import cerulean
from tests.conftest import make_ssh_terminal, remote_scratch_dir, remove_remote_dir
from tests.webdav_helpers import new_dir_name, on_disk, private_fs, temp_files

pytestmark = pytest.mark.real_server("webdav", "ssh")

# name -> size; a large file is streamed, the small ones go in batches.
FILES = {"big.bin": 9 * 1024 * 1024 + 17, "small.txt": 1000, "empty": 0,
         "name with space #%é.txt": 4096, "sub/inner.bin": 300 * 1024,
         "sub/deeper/leaf": 5}


def content(name: str, size: int) -> bytes:
    seed = hashlib.sha512(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def path_sha(path: Any) -> str:
    digest = hashlib.sha256()
    for chunk in path.streaming_read():
        digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def webdav_dir() -> Iterator[Any]:
    name = new_dir_name()
    with private_fs() as fs:
        base = fs / name
        base.mkdir()
        try:
            yield base
        finally:
            shutil.rmtree(on_disk(base), ignore_errors=True)


@contextmanager
def sftp_dir() -> Iterator[Any]:
    term = make_ssh_terminal()
    scratch = remote_scratch_dir(term)
    try:
        with cerulean.SftpFileSystem(term) as fs:
            yield fs / scratch.lstrip("/")
    finally:
        remove_remote_dir(term, scratch)
        term.close()


@contextmanager
def local_dir(tmp_path: LocalPath) -> Iterator[Any]:
    with cerulean.LocalFileSystem() as fs:
        yield fs / str(tmp_path).lstrip("/")


def fill(base: Any) -> Any:
    """Make the test tree in base/'src'; return that Path."""
    src = base / "src"
    for name, size in FILES.items():
        (src / name).parent.mkdir(parents=True, exists_ok=True)
        (src / name).write_bytes(content(name, size))
    return src


def check(copied: Any) -> None:
    for name, size in FILES.items():
        assert path_sha(copied / name) == sha(content(name, size)), name
    names = {p.name for p in copied.iterdir()}
    assert names == {n.split("/")[0] for n in FILES}
    assert temp_files_under(copied) == []


def temp_files_under(path: Any) -> list[str]:
    return [str(d / n) for d, _, files in path.walk() for n in files
            if n.endswith(".cerulean-tmp")]


@pytest.mark.parametrize("other", ["local", "sftp"])
@pytest.mark.parametrize("direction", ["to-webdav", "from-webdav"])
def test_copy_tree_with_sha256(other: str, direction: str,
                               tmp_path: LocalPath) -> None:
    with ExitStack() as stack:
        dav = stack.enter_context(webdav_dir())
        there = stack.enter_context(
            local_dir(tmp_path) if other == "local" else sftp_dir())
        source_base, target_base = (there, dav) if direction == "to-webdav" \
            else (dav, there)
        src = fill(source_base)
        cerulean.copy(src, target_base)  # copy_into: lands as target/src
        check(target_base / "src")
        if target_base is dav:
            # What the WebDAV server stored, byte for byte.
            disk = on_disk(dav / "src")
            for name, size in FILES.items():
                assert sha((disk / name).read_bytes()) == sha(
                    content(name, size))


def test_single_file_and_overwrite_modes(tmp_path: LocalPath) -> None:
    with webdav_dir() as dav, local_dir(tmp_path) as local:
        (local / "f").write_bytes(b"new content")
        (dav / "f").write_bytes(b"old")
        cerulean.copy(local / "f", dav / "f", overwrite="never")
        assert (dav / "f").read_bytes() == b"old"
        with pytest.raises(FileExistsError):
            cerulean.copy(local / "f", dav / "f", overwrite="raise")
        cerulean.copy(local / "f", dav / "f", overwrite="always")
        assert (dav / "f").read_bytes() == b"new content"
        (dav / "d").mkdir()
        cerulean.copy(local / "f", dav / "d")  # into the directory
        assert (dav / "d" / "f").read_bytes() == b"new content"
        cerulean.copy(dav / "d" / "f", local / "back")
        assert (local / "back").read_bytes() == b"new content"
        assert temp_files(on_disk(dav)) == []
        with pytest.raises(FileNotFoundError):
            cerulean.copy(dav / "missing", local / "x")


def test_links_become_what_they_point_to_on_webdav(tmp_path: LocalPath
                                                   ) -> None:
    # By design: WebDAV has no links, so a link inside the copied tree
    # arrives as a copy of its target.
    with webdav_dir() as dav, local_dir(tmp_path) as local:
        src = local / "src"
        src.mkdir()
        (src / "file").write_bytes(b"target data")
        (src / "link").symlink_to(src / "file")
        cerulean.copy(src, dav)
        assert (dav / "src" / "link").read_bytes() == b"target data"
        assert not (dav / "src" / "link").is_symlink()


def test_abort_from_callback_mid_stream_keeps_old_target(
        tmp_path: LocalPath, monkeypatch: pytest.MonkeyPatch) -> None:
    class Stop(Exception):
        pass

    # Report after every chunk, so the second call comes mid-stream.
    monkeypatch.setattr(cerulean.copy_files, "CALLBACK_INTERVAL", 0.0)
    calls = []

    def callback(count: int, total: int) -> None:
        calls.append((count, total))
        if len(calls) == 3:
            raise Stop()

    size = 12 * 1024 * 1024
    with webdav_dir() as dav, local_dir(tmp_path) as local:
        (local / "f").write_bytes(content("abort", size))
        (dav / "f").write_bytes(b"old target")
        with pytest.raises(Stop):
            cerulean.copy(local / "f", dav / "f", overwrite="always",
                          callback=callback)
        assert calls[0] == (0, size) and 0 < calls[-1][0] < size
        assert (dav / "f").read_bytes() == b"old target"
        assert os.listdir(on_disk(dav)) == ["f"]
        with pytest.raises(Stop):
            calls.clear()
            cerulean.copy(local / "f", dav / "new", callback=callback)
        assert os.listdir(on_disk(dav)) == ["f"]


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
