"""The OpenSSH SFTP extensions cerulean uses where the server offers them.

Against the test sshd (OpenSSH's sftp-server announces fsync, copy-data,
hardlink and limits), and, for the fallbacks, against mockssh (paramiko's
SFTP server, which has none of them and answers "unsupported").
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import paramiko
import pytest

import cerulean
from cerulean import copy_files
from cerulean._sftp import batches, protocol
from cerulean._sftp.channel import COPY_DATA, FSYNC, Limits, SftpChannel
from cerulean.file_system_impl import Capability
from tests.cerulean.fs_helpers import run_on
from tests.conftest import ssh_scratch


@pytest.fixture
def sftp() -> Iterator[tuple[Any, Any]]:
    """(file system, scratch Path) on the test sshd."""
    with ssh_scratch() as (term, scratch), cerulean.SftpFileSystem(term) as fs:
        yield fs, fs / scratch.lstrip("/")


@pytest.fixture
def mock_sftp(mock_ssh: Any, tmp_path: Any) -> Iterator[tuple[Any, Any]]:
    """(file system, scratch Path) on mockssh: no OpenSSH extensions."""
    server, credential, known_hosts = mock_ssh
    with cerulean.SshTerminal(server.host, server.port, credential,
                              known_hosts=known_hosts) as term, \
            cerulean.SftpFileSystem(term) as fs:
        (tmp_path / "work").mkdir()  # apart from mockssh's key files
        yield fs, fs / str(tmp_path / "work").lstrip("/")


@pytest.fixture
def extended(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The names of the EXTENDED requests sent, in order, as they are sent."""
    names: list[bytes] = []
    send = SftpChannel.send

    def recording(self: SftpChannel, kind: int, payload: bytes,
                  handler: Any) -> int:
        if kind == protocol.EXTENDED:
            names.append(protocol.Reader(payload).string())
        return send(self, kind, payload, handler)

    monkeypatch.setattr(SftpChannel, "send", recording)
    return names


# --- fsync before the rename that lands a file --------------------------------

def test_an_atomic_write_is_fsynced_before_it_is_renamed(
        sftp: Any, extended: list[bytes]) -> None:
    fs, base = sftp
    fs._write_atomic(str(base / "f"), [b"x" * 1000])
    assert (base / "f").read_bytes() == b"x" * 1000
    assert extended[-2:] == [FSYNC, b"posix-rename@openssh.com"]


def test_a_batch_of_small_files_is_fsynced_file_by_file(
        sftp: Any, extended: list[bytes]) -> None:
    _, base = sftp
    (base / "src").mkdir()
    for index in range(5):
        (base / "src" / f"{index}").write_text(str(index))
    extended.clear()
    cerulean.copy(base / "src", base / "dst")
    assert sorted(p.name for p in (base / "dst").iterdir()) == [
        str(index) for index in range(5)]
    assert (base / "dst" / "3").read_text() == "3"
    assert extended.count(FSYNC) == 5
    assert extended.count(b"posix-rename@openssh.com") == 5


def test_without_fsync_writes_still_land(
        mock_sftp: Any, extended: list[bytes]) -> None:
    fs, base = mock_sftp
    fs._write_atomic(str(base / "f"), [b"one"])
    assert (base / "f").read_bytes() == b"one"
    fs._write_atomic(str(base / "f"), [b"two"])
    assert (base / "f").read_bytes() == b"two"
    assert [p.name for p in base.iterdir()] == ["f"]
    # Asked once, then remembered for every session of the file system.
    assert extended.count(FSYNC) == 1
    assert FSYNC in fs._lacks


# --- copy-data: copy() within one server, on the server ----------------------

BIG = 20 * 1024 * 1024


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Bytes received and sent by every paramiko channel, counted as they go."""
    counts = {"received": 0, "sent": 0}
    recv, sendall = paramiko.Channel.recv, paramiko.Channel.sendall

    def counting_recv(self: paramiko.Channel, nbytes: int) -> bytes:
        data = recv(self, nbytes)
        counts["received"] += len(data)
        return data

    def counting_sendall(self: paramiko.Channel, data: Any) -> None:
        counts["sent"] += len(data)
        sendall(self, data)

    monkeypatch.setattr(paramiko.Channel, "recv", counting_recv)
    monkeypatch.setattr(paramiko.Channel, "sendall", counting_sendall)
    return counts


def _server_sha256(fs: Any, *paths: Any) -> list[str]:
    out = run_on(fs, "sha256sum", *(str(path) for path in paths))
    return [line.split()[0] for line in out.splitlines()]


def test_copy_within_the_server_moves_no_bytes_through_the_client(
        sftp: Any, wire: dict[str, int], extended: list[bytes]) -> None:
    fs, base = sftp
    run_on(fs, "sh", "-c", f"head -c {BIG} /dev/urandom > {base}/big")
    reports: list[tuple[int, int]] = []
    before = dict(wire)
    cerulean.copy(base / "big", base / "copy",
                  callback=lambda count, total: reports.append((count, total)))
    moved = (wire["received"] - before["received"]) + (wire["sent"] - before["sent"])
    assert moved < BIG // 100
    assert COPY_DATA in extended
    first, second = _server_sha256(fs, base / "big", base / "copy")
    assert first == second
    assert reports[0] == (0, BIG) and reports[-1] == (BIG, BIG)
    assert sorted(p.name for p in base.iterdir()) == ["big", "copy"]  # no temp


def test_a_tree_is_copied_on_the_server_with_its_modes(
        sftp: Any, wire: dict[str, int]) -> None:
    fs, base = sftp
    run_on(fs, "sh", "-c", f"mkdir -p {base}/tree/sub && head -c {BIG} /dev/urandom"
           f" > {base}/tree/sub/big && chmod 750 {base}/tree/sub/big"
           f" && echo small > {base}/tree/small")
    before = wire["received"] + wire["sent"]
    cerulean.copy(base / "tree", base / "copy", copy_permissions=True)
    assert wire["received"] + wire["sent"] - before < BIG // 100
    first, second = _server_sha256(fs, base / "tree/sub/big", base / "copy/sub/big")
    assert first == second
    assert (base / "copy/small").read_text() == "small\n"
    assert (base / "copy/sub/big").stat().mode & 0o7777 == 0o750
    assert [p.name for p in (base / "copy/sub").iterdir()] == ["big"]


def test_copy_within_the_server_keeps_overwrite_semantics(sftp: Any) -> None:
    fs, base = sftp
    run_on(fs, "sh", "-c", f"head -c 1000000 /dev/zero > {base}/big")
    (base / "copy").write_text("old")
    cerulean.copy(base / "big", base / "copy", overwrite="never")
    assert (base / "copy").read_text() == "old"
    with pytest.raises(FileExistsError):
        cerulean.copy(base / "big", base / "copy", overwrite="raise")
    cerulean.copy(base / "big", base / "copy", overwrite="always")
    assert (base / "copy").size() == 1000000


def test_copy_between_two_file_systems_on_one_account_is_on_the_server(
        sftp: Any, wire: dict[str, int]) -> None:
    fs, base = sftp
    run_on(fs, "sh", "-c", f"head -c {BIG} /dev/urandom > {base}/big")
    with ssh_scratch() as (term, _), cerulean.SftpFileSystem(term) as other:
        assert other == fs and other is not fs
        before = wire["received"] + wire["sent"]
        cerulean.copy(base / "big", other / str(base / "copy").lstrip("/"))
        assert wire["received"] + wire["sent"] - before < BIG // 100
    first, second = _server_sha256(fs, base / "big", base / "copy")
    assert first == second


def test_an_aborted_copy_on_the_server_leaves_nothing(
        sftp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fs, base = sftp
    monkeypatch.setattr(copy_files, "CALLBACK_INTERVAL", 0.0)  # every piece
    run_on(fs, "sh", "-c", f"head -c {BIG} /dev/zero > {base}/big")

    def abort(count: int, total: int) -> None:
        if count:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cerulean.copy(base / "big", base / "copy", callback=abort)
    assert [p.name for p in base.iterdir()] == ["big"]
    assert (base / "big").read_bytes()[:4] == b"\0" * 4  # the session works


def test_without_copy_data_copy_streams(mock_sftp: Any,
                                        extended: list[bytes]) -> None:
    fs, base = mock_sftp
    data = bytes(range(256)) * 4000  # over SMALL_FILE: a stream
    fs._write_atomic(str(base / "big"), [data])
    cerulean.copy(base / "big", base / "copy")
    assert (base / "copy").read_bytes() == data
    cerulean.copy(base / "big", base / "again")
    assert (base / "again").read_bytes() == data
    assert extended.count(COPY_DATA) == 1  # asked once, then streamed
    assert sorted(p.name for p in base.iterdir()) == ["again", "big", "copy"]


# --- hardlink: Path.hardlink_to ----------------------------------------------

def test_hardlink_to_makes_a_second_name_for_a_file(filesystem: Any) -> None:
    fs, base = filesystem
    if not fs._can(Capability.HARD_LINKS):
        assert isinstance(fs, cerulean.WebdavFileSystem)
        (base / "f").write_text("data")
        with pytest.raises(cerulean.UnsupportedOperationError):
            (base / "g").hardlink_to(base / "f")
        return
    (base / "f").write_text("data")
    (base / "g").hardlink_to(base / "f")
    assert (base / "g").read_text() == "data"
    fs._write_at(str(base / "g"), 0, [b"DA"])  # one file, two names
    assert (base / "f").read_text() == "DAta"
    assert not (base / "g").is_symlink()
    with pytest.raises(FileExistsError):
        (base / "g").hardlink_to(base / "f")
    with pytest.raises(FileNotFoundError):
        (base / "h").hardlink_to(base / "missing")
    with cerulean.LocalFileSystem() as other:
        if other != fs:
            with pytest.raises(ValueError):
                (base / "h").hardlink_to(other / "etc/passwd")


def test_without_hardlink_an_sftp_server_refuses_clearly(mock_sftp: Any) -> None:
    fs, base = mock_sftp
    assert not fs._can(Capability.HARD_LINKS)
    fs._write_atomic(str(base / "f"), [b"x"])
    with pytest.raises(cerulean.UnsupportedOperationError, match="hardlink"):
        (base / "g").hardlink_to(base / "f")
    assert [p.name for p in base.iterdir()] == ["f"]


# --- limits: the largest requests the server takes --------------------------

@pytest.fixture
def request_sizes(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """The data lengths of the READ and WRITE requests sent, as they go."""
    sizes: dict[str, list[int]] = {"read": [], "write": []}
    send, send_write = SftpChannel.send, SftpChannel.send_write

    def recording(self: SftpChannel, kind: int, payload: bytes, handler: Any) -> int:
        if kind == protocol.READ:  # string handle, uint64 offset, uint32 length
            sizes["read"].append(int.from_bytes(payload[-4:], "big"))
        return send(self, kind, payload, handler)

    def recording_write(self: SftpChannel, handle: bytes, offset: int,
                        data: Any, handler: Any) -> int:
        sizes["write"].append(len(data))
        return send_write(self, handle, offset, data, handler)

    monkeypatch.setattr(SftpChannel, "send", recording)
    monkeypatch.setattr(SftpChannel, "send_write", recording_write)
    return sizes


def _round_trips(fs: Any, base: Any, size: int) -> None:
    """Write, read whole, read a range of and copy on the server a file."""
    data = os.urandom(size)
    fs._write_atomic(str(base / "f"), [data])
    assert b"".join(fs._read_stream(str(base / "f"))) == data
    assert b"".join(fs._read_range(str(base / "f"), 1000, size // 2)) == \
        data[1000:1000 + size // 2]
    cerulean.copy(base / "f", base / "g", overwrite="always")
    assert (base / "g").read_bytes() == data


def test_the_servers_limits_are_asked_once_and_kept(
        sftp: Any, extended: list[bytes]) -> None:
    fs, base = sftp
    limits = fs._sessions._limits
    # OpenSSH's sftp-server: messages of 256 KiB, a little less of data.
    assert limits is not None and limits.max_packet == 256 * 1024
    assert 0 < limits.max_read < limits.max_packet
    assert 0 < limits.max_write < limits.max_packet
    _round_trips(fs, base, 3 * 1024 * 1024 + 12345)
    assert b"limits@openssh.com" not in extended  # asked when the pool began


def test_requests_never_exceed_what_the_server_takes(
        sftp: Any, request_sizes: dict[str, list[int]]) -> None:
    """A server that takes less than our request sizes (here: told so)
    gets requests no larger, and every transfer still works."""
    fs, base = sftp
    small = Limits(max_packet=40 * 1024, max_read=20 * 1024, max_write=24 * 1024,
                   max_open_handles=8)
    fs._sessions._limits = small  # for sessions opened from now on
    for channel in fs._sessions._idle:
        channel.limits = small
    _round_trips(fs, base, 1024 * 1024 + 7)
    assert request_sizes["read"] and max(request_sizes["read"]) <= small.max_read
    assert request_sizes["write"] and max(request_sizes["write"]) <= small.max_write
    # Batches of small files keep at most half the handles open.
    with fs._sessions.session() as channel:
        assert batches.files_in_flight(channel) == 4
    tree = base / "tree"
    tree.mkdir()
    for i in range(20):
        (tree / f"{i}").write_text(str(i))
    cerulean.copy(tree, base / "copy")
    assert sorted((base / "copy" / p.name).read_text() for p in tree.iterdir()) == \
        sorted(str(i) for i in range(20))


def test_without_limits_our_sizes_serve(
        mock_sftp: Any, request_sizes: dict[str, list[int]]) -> None:
    fs, base = mock_sftp
    assert fs._sessions._limits is None
    data = os.urandom(1024 * 1024 + 7)
    fs._write_atomic(str(base / "f"), [data])
    assert b"".join(fs._read_stream(str(base / "f"))) == data
    assert max(request_sizes["write"]) > 64 * 1024
