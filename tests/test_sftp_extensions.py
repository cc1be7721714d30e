"""The OpenSSH SFTP extensions cerulean uses where the server offers them.

Against the test sshd (OpenSSH's sftp-server announces fsync, copy-data,
hardlink and limits), and, for the fallbacks, against mockssh (paramiko's
SFTP server, which has none of them and answers "unsupported").
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import cerulean
from cerulean._sftp import protocol
from cerulean._sftp.channel import FSYNC, SftpChannel
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
