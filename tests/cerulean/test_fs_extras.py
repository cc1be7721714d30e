"""The optional file system primitives: byte ranges, writes at an offset,
disk usage (additions to Cerulean 1.0, for neuro_compat's Storage).

Against the real servers: SFTP through the test sshd (OpenSSH's
sftp-server), WebDAV through wsgidav. Where a file system cannot do one
(WebDAV writing at an offset, or telling disk usage), the test asserts the
capability is absent and the call refused, rather than skipping.
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path as LocalPath
from typing import Any

import pytest

import cerulean
from cerulean.file_system_impl import Capability, DiskUsage, slice_stream
from tests.cerulean.webdav_helpers import fresh_dir, on_disk, private_fs

DATA = bytes(range(256)) * 1200  # 307200 bytes: several READ chunks

RANGES = [
    (0, None), (0, 10), (5, 100), (131071, 200_000), (len(DATA) - 3, 10),
    (len(DATA), 5), (len(DATA) + 10, None), (7, 0), (100, None),
]


def _local_dir(fs: Any, base: Any) -> LocalPath:
    """Where base is on this machine's disk (all test servers are local)."""
    if isinstance(fs, cerulean.WebdavFileSystem):
        return LocalPath(on_disk(base))
    return LocalPath(str(base))


@pytest.mark.real_server("ssh", "webdav")
@pytest.mark.parametrize(("offset", "size"), RANGES)
def test_read_range_is_the_slice_asked_for(filesystem: Any, offset: int,
                                           size: int | None) -> None:
    fs, base = filesystem
    (base / "f").write_bytes(DATA)
    got = b"".join(fs._read_range(str(base / "f"), offset, size))
    assert got == DATA[offset:None if size is None else offset + size]


@pytest.mark.real_server("ssh", "webdav")
def test_read_range_of_an_empty_file_and_errors(filesystem: Any) -> None:
    fs, base = filesystem
    (base / "empty").write_bytes(b"")
    assert b"".join(fs._read_range(str(base / "empty"), 0, 10)) == b""
    assert b"".join(fs._read_range(str(base / "empty"), 3)) == b""
    (base / "dir").mkdir()
    for size in (None, 0, 5):
        with pytest.raises(FileNotFoundError):
            b"".join(fs._read_range(str(base / "missing"), 1, size))
        with pytest.raises(IsADirectoryError):
            b"".join(fs._read_range(str(base / "dir"), 1, size))
    with pytest.raises(ValueError):
        fs._read_range(str(base / "empty"), -1, 1)
    with pytest.raises(ValueError):
        fs._read_range(str(base / "empty"), 0, -1)


@pytest.mark.real_server("ssh", "webdav")
def test_read_range_stopped_early_releases_the_file(filesystem: Any) -> None:
    fs, base = filesystem
    (base / "f").write_bytes(DATA)
    for _ in range(3):  # each would hold a session or connection if leaked
        chunks = fs._read_range(str(base / "f"), 1000)
        assert next(iter(chunks))[:1] == DATA[1000:1001]
        chunks.close()
    assert (base / "f").read_bytes() == DATA


@pytest.mark.real_server("webdav")
def test_webdav_read_range_is_one_ranged_get() -> None:
    with private_fs() as fs, fresh_dir(fs) as base:
        (base / "f").write_bytes(DATA)
        statuses: list[tuple[str | None, int, str | None]] = []

        def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
            statuses.append((response.request.method, response.status_code,
                             response.request.headers.get("Range")))
            return response

        fs._http.session.hooks["response"].append(hook)
        got = b"".join(fs._read_range(str(base / "f"), 200_000, 1000))
        assert got == DATA[200_000:201_000]
        assert statuses == [("GET", 206, "bytes=200000-200999")]


def _pieces() -> Iterator[bytes]:
    yield b"ab"
    yield memoryview(b"-" * 300_000)  # larger than one WRITE request
    yield b"cd"


@pytest.mark.real_server("ssh", "webdav")
def test_write_at_writes_into_the_file_as_it_is(filesystem: Any) -> None:
    fs, base = filesystem
    target = base / "f"
    target.write_bytes(DATA)
    if not fs._can(Capability.WRITE_AT):
        assert isinstance(fs, cerulean.WebdavFileSystem)
        with pytest.raises(cerulean.UnsupportedOperationError):
            fs._write_at(str(target), 0, [b"x"])
        assert target.read_bytes() == DATA
        return
    assert fs._write_at(str(target), 10, [b"XYZ"]) == 3
    expected = DATA[:10] + b"XYZ" + DATA[13:]
    assert target.read_bytes() == expected  # not truncated

    count = fs._write_at(str(target), 1000, _pieces())
    assert count == 300_004
    expected = expected[:1000] + b"ab" + b"-" * 300_000 + b"cd" + expected[301_004:]
    assert target.read_bytes() == expected

    # Past the end: a hole of zeros, as pwrite(2) makes it.
    end = len(expected)
    assert fs._write_at(str(target), end + 5, [b"tail"]) == 4
    assert target.read_bytes() == expected + b"\0" * 5 + b"tail"

    assert fs._write_at(str(target), 0, []) == 0


@pytest.mark.real_server("ssh", "webdav")
def test_write_at_neither_creates_nor_writes_a_directory(filesystem: Any) -> None:
    fs, base = filesystem
    if not fs._can(Capability.WRITE_AT):
        return  # refused whatever is there (see above)
    with pytest.raises(FileNotFoundError):
        fs._write_at(str(base / "missing"), 0, [b"x"])
    assert not (base / "missing").exists()
    (base / "dir").mkdir()
    with pytest.raises(IsADirectoryError):
        fs._write_at(str(base / "dir"), 0, [b"x"])
    with pytest.raises(ValueError):
        fs._write_at(str(base / "dir"), -1, [b"x"])


@pytest.mark.real_server("ssh", "webdav")
def test_disk_usage_is_what_the_disk_says(filesystem: Any) -> None:
    fs, base = filesystem
    if not fs._can(Capability.DISK_USAGE):
        assert isinstance(fs, cerulean.WebdavFileSystem)
        with pytest.raises(cerulean.UnsupportedOperationError):
            fs._disk_usage(str(base))
        return
    usage = fs._disk_usage(str(base))
    assert isinstance(usage, DiskUsage)
    truth = shutil.disk_usage(_local_dir(fs, base))
    assert usage.total == truth.total
    # Other tests write meanwhile: close, not equal.
    assert abs(usage.free - truth.free) < 2**30
    assert abs(usage.used - truth.used) < 2**30
    assert usage.free <= usage.total - usage.used
    with pytest.raises(FileNotFoundError):
        fs._disk_usage(str(base / "missing"))


def test_sftp_server_without_statvfs_has_no_disk_usage(mock_ssh: Any) -> None:
    # paramiko's SFTP server, under mockssh, has no OpenSSH extensions.
    server, credential, known_hosts = mock_ssh
    with cerulean.SshTerminal(server.host, server.port, credential,
                              known_hosts=known_hosts) as term, \
            cerulean.SftpFileSystem(term) as fs:
        assert not fs._can(Capability.DISK_USAGE)
        assert fs._supports("disk_usage") is False
        with pytest.raises(cerulean.UnsupportedOperationError):
            fs._disk_usage("/")
        assert fs._can(Capability.WRITE_AT)


def test_local_file_system_has_every_addition(tmp_path: LocalPath) -> None:
    fs = cerulean.LocalFileSystem()
    assert fs._can(Capability.WRITE_AT) and fs._can(Capability.DISK_USAGE)
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    os.chmod(path, 0o200)  # write-only: _write_at needs no read permission
    try:
        assert fs._write_at(str(path), 2, [b"ab"]) == 2
    finally:
        os.chmod(path, 0o600)
    assert path.read_bytes() == b"01ab456789"


def test_slice_stream_closes_what_it_slices() -> None:
    closed: list[bool] = []

    def chunks() -> Iterator[bytes]:
        try:
            yield b"abc"
            yield b"defg"
            yield b"hij"
        finally:
            closed.append(True)

    assert b"".join(slice_stream(chunks(), 2, 4)) == b"cdef"
    assert closed == [True]
    assert b"".join(slice_stream(chunks(), 4, None)) == b"efghij"
    assert b"".join(slice_stream(chunks(), 20, 3)) == b""
    assert b"".join(slice_stream(chunks(), 1, 0)) == b""
    assert closed == [True] * 4
