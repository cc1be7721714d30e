"""The file system objects: lifetime, equality, the factory, and how SFTP
uses its connection (round trips, reconnects, threads)."""
from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path as LocalPath
from typing import Any

import paramiko
import pytest

import cerulean
from cerulean._sftp import protocol
from cerulean._sftp.channel import SftpChannel
from tests.cerulean.fs_helpers import make_tree, open_fs
from tests.conftest import make_ssh_terminal


@pytest.fixture
def sftp(tmp_path: LocalPath) -> Iterator[tuple[Any, Any]]:
    with open_fs("sftp", tmp_path) as fs_base:
        yield fs_base


class RequestCounter:
    """Counts the SFTP requests sent, by type (a spy on SftpChannel.send)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.counts: Counter[int] = Counter()
        send, send_write = SftpChannel.send, SftpChannel.send_write

        def counting_send(channel: SftpChannel, kind: int, *args: Any) -> int:
            self.counts[kind] += 1
            return send(channel, kind, *args)

        def counting_write(channel: SftpChannel, *args: Any) -> int:
            self.counts[protocol.WRITE] += 1
            return send_write(channel, *args)

        monkeypatch.setattr(SftpChannel, "send", counting_send)
        monkeypatch.setattr(SftpChannel, "send_write", counting_write)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# --- Lifetime and identity ---------------------------------------------------

def test_local_file_system() -> None:
    with cerulean.LocalFileSystem() as fs:
        assert fs.root() == fs / ""
        assert (fs / "etc" / "passwd").read_text().startswith("root:")
        assert fs == cerulean.LocalFileSystem()
        assert hash(fs) == hash(cerulean.LocalFileSystem())
        assert (fs / "tmp").as_uri() == "file:///tmp"
    fs.close()  # closing twice is fine


class TerminalSpy:
    """Wraps an SshTerminal to see whether close() was called."""

    def __init__(self, term: Any) -> None:
        self.term = term
        self.closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.term, name)

    def close(self) -> None:
        self.closed = True
        self.term.close()


@pytest.mark.real_server("ssh")
@pytest.mark.parametrize("own_term", [False, True])
def test_sftp_closes_terminal_only_if_it_owns_it(own_term: bool) -> None:
    spy = TerminalSpy(make_ssh_terminal())
    try:
        with cerulean.SftpFileSystem(spy, own_term=own_term) as fs:  # type: ignore[arg-type]
            assert (fs / "home" / "cerulean").is_dir()
        assert spy.closed == own_term
        with pytest.raises(ValueError):
            (fs / "home").exists()  # a closed file system says so
    finally:
        spy.term.close()


@pytest.mark.real_server("ssh")
def test_sftp_equality() -> None:
    term = make_ssh_terminal()
    other = make_ssh_terminal()
    try:
        with cerulean.SftpFileSystem(term) as a, \
                cerulean.SftpFileSystem(term) as b, \
                cerulean.SftpFileSystem(other) as c:
            assert a == b and (a / "x") == (b / "x")
            assert a != cerulean.LocalFileSystem()
            assert (a / "x") != (cerulean.LocalFileSystem() / "x")
            assert (a == c) == (term == other)
    finally:
        term.close()
        other.close()


def test_sftp_needs_an_ssh_terminal() -> None:
    with pytest.raises(TypeError, match="SshTerminal"):
        cerulean.SftpFileSystem(cerulean.LocalTerminal())  # type: ignore[arg-type]


def test_make_file_system() -> None:
    fs = cerulean.make_file_system("local")
    assert isinstance(fs, cerulean.LocalFileSystem)
    with pytest.raises(ValueError):
        cerulean.make_file_system("gopher", "example.org")


# --- Round trips ---------------------------------------------------------

def test_metadata_calls_are_one_request(sftp: tuple[Any, Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = sftp
    tree = make_tree(base, fifo=False)
    counter = RequestCounter(monkeypatch)
    for call in (lambda: (tree / "file").exists(),
                 lambda: (tree / "dir").is_dir(),
                 lambda: (tree / "file").is_file(),
                 lambda: (tree / "abs_link").is_symlink(),
                 lambda: (tree / "file").stat(),
                 lambda: (tree / "file").size(),
                 lambda: (tree / "missing").exists()):
        before = counter.total
        call()
        assert counter.total - before == 1


def test_listings_reuse_readdir_attributes(sftp: tuple[Any, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _, base = sftp
    for d in range(5):
        (base / f"d{d}").mkdir()
        for f in range(150):  # more than one READDIR reply's worth
            (base / f"d{d}" / f"f{f}").write_bytes(b"")
    counter = RequestCounter(monkeypatch)
    walked = list(base.walk())
    assert sum(len(files) for _, _, files in walked) == 750
    # One OPENDIR per directory, no stat of any entry.
    assert counter.counts[protocol.OPENDIR] == 6
    assert counter.counts[protocol.STAT] == counter.counts[protocol.LSTAT] == 0
    assert counter.counts[protocol.READDIR] <= 6 * 4


# --- Connection drops and threads ------------------------------------------

def _drop(fs: Any) -> None:
    sock = fs._terminal.transport().sock
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def test_sftp_reconnects_for_the_next_call(sftp: tuple[Any, Any]) -> None:
    fs, base = sftp
    (base / "f").write_bytes(b"before")
    generation = fs._terminal.connection_generation
    _drop(fs)
    assert (base / "f").read_bytes() == b"before"
    assert fs._terminal.connection_generation > generation
    _drop(fs)
    (base / "g").write_bytes(b"after")  # a change, first thing after a drop
    _drop(fs)
    assert (base / "g").stat().size == 5
    _drop(fs)
    (base / "d").mkdir()
    _drop(fs)
    assert {p.name for p in base.iterdir()} == {"f", "g", "d"}



def test_sftp_reconnect_that_fails_too_is_a_connection_error(
        sftp: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection drops, and the SFTP session on the new one fails as
    well (the new connection drops while the session starts): still a
    ConnectionError, which callers retry on, never paramiko's EOFError."""
    fs, base = sftp
    (base / "f").write_bytes(b"before")
    _drop(fs)
    opened = paramiko.SFTPClient.from_transport

    def new_connection_drops(transport: Any) -> Any:
        raise EOFError  # what paramiko raises when the session's channel ends
    monkeypatch.setattr(paramiko.SFTPClient, "from_transport",
                        new_connection_drops)
    with pytest.raises(ConnectionError):
        (base / "f").read_bytes()
    monkeypatch.setattr(paramiko.SFTPClient, "from_transport", opened)
    assert (base / "f").read_bytes() == b"before"

def test_sftp_from_many_threads(sftp: tuple[Any, Any]) -> None:
    _, base = sftp
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            path = base / f"t{n}"
            for i in range(20):
                path.write_bytes(bytes([n, i]) * 1000)
                assert path.read_bytes() == bytes([n, i]) * 1000
                assert path.stat().size == 2000
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(list(base.iterdir())) == 6


@pytest.mark.parametrize("size", [0, 1, 131059, 131060, 300_000, 1_000_000])
def test_sftp_reads_what_is_there_whatever_the_listing_said(
        sftp: tuple[Any, Any], size: int) -> None:
    """copy() passes the size a listing reported; a file that changed
    since is still read whole (the hint only sizes the requests)."""
    import os
    fs, base = sftp
    data = os.urandom(size)
    (base / "f").write_bytes(data)
    path = str(base / "f")
    for hint in (None, 0, size // 2, size, size + 1, size * 2 + 7):
        assert b"".join(fs._read_stream(path, hint)) == data, hint
        assert list(fs._read_files([(path, hint or 0)])) == [data], hint
