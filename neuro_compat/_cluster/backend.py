"""Blocking storage operations on one cluster's file system.

Storage is built on cerulean's file system primitives
(:class:`cerulean.file_system_impl.FileSystemImpl`: stat, listdir with
attributes, mkdir, rename, streaming and batched reads and writes). neuro_sdk
needs a few things those primitives do not offer, which this module adds per
backend:

* ``realpath``, to confine paths to the storage root in the presence of
  symbolic links (local: ``os.path.realpath``; SFTP: the SFTP REALPATH
  request; WebDAV has no links, so the path itself);
* reading from an offset and writing at an offset or appending
  (``Storage.open(offset, size)``, ``Storage.write``, ``continue_``): the
  local file system seeks; SFTP uses sessions of its own on the terminal's
  connection (``SshTerminal.open_sftp``); WebDAV reads and skips, and cannot
  write at an offset;
* disk usage: ``shutil.disk_usage`` locally, ``df`` through the terminal
  over SSH; WebDAV has no standard for it.

Everything here blocks; :mod:`neuro_compat._bridge` runs it in worker
threads. All methods are thread-safe.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import posixpath
import shlex
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

import paramiko

from cerulean import SshTerminal, Terminal
from cerulean.file_system_impl import Capability, DirEntry, FileSystemImpl, WriteItem
from cerulean.path import FileStat

from ..errors import NotSupportedError

log = logging.getLogger(__name__)

_T = TypeVar("_T")

CHUNK = 1024 * 1024
"""Bytes per chunk when streaming through the extras."""


class Backend:
    """The storage operations on one file system.

    :param fs: the cerulean file system.
    :param kind: ``"local"``, ``"sftp"`` or ``"webdav"``, for messages.
    """

    def __init__(self, fs: FileSystemImpl, kind: str) -> None:
        self.fs = fs
        self.kind = kind
        self.symlinks = fs._supports(Capability.SYMLINKS)

    # --- cerulean primitives, unchanged -----------------------------------

    def stat(self, path: str) -> FileStat:
        """Metadata of path, following links."""
        return self.fs._stat(path)

    def lstat(self, path: str) -> FileStat:
        """Metadata of path itself."""
        return self.fs._lstat(path)

    def listdir(self, path: str) -> list[DirEntry]:
        """Names and lstat records of a directory's entries."""
        return self.fs._listdir(path)

    def readlink(self, path: str) -> str:
        """The text of a symbolic link."""
        return self.fs._readlink(path)

    def mkdir(self, path: str) -> None:
        """Make one directory."""
        self.fs._mkdir(path)

    def unlink(self, path: str) -> None:
        """Remove a file or link."""
        self.fs._unlink(path)

    def unlink_many(self, paths: list[str]) -> list[OSError | None]:
        """Remove many files or links, pipelined where possible; each
        path's error (or None) in place."""
        return self.fs._unlink_many(paths)

    def rmdir(self, path: str) -> None:
        """Remove an empty directory."""
        self.fs._rmdir(path)

    def rename(self, source: str, target: str) -> None:
        """Rename source to target (replacing a target file)."""
        self.fs._rename(source, target)

    def read_stream(self, path: str) -> Iterator[bytes]:
        """The whole content of a file, in chunks."""
        return self.fs._read_stream(path)

    def write_stream(self, path: str, data: Iterable[bytes]) -> int:
        """Create or truncate path and write data to it, front to back."""
        return self.fs._write_stream(path, data)

    def write_atomic(self, path: str, data: Iterable[bytes]) -> int:
        """Write a file that appears whole at path, or not at all."""
        return self.fs._write_atomic(path, data)

    def write_files(self, items: Iterable[WriteItem]) -> Iterator[int]:
        """Land many small files atomically, pipelined where possible."""
        return self.fs._write_files(items)

    def read_files(self, files: Iterable[tuple[str, int]]) -> Iterator[bytes]:
        """The contents of many small files, pipelined where possible."""
        return self.fs._read_files(files)

    # --- extras --------------------------------------------------------------

    def realpath(self, path: str) -> str:
        """The path with every symbolic link resolved.

        :raises FileNotFoundError: if path (or, for some servers, a link
            on the way) does not exist.
        """
        return posixpath.normpath(path)

    def read_range(self, path: str, offset: int, size: int | None) -> Iterator[bytes]:
        """Up to ``size`` bytes of a file from ``offset`` (to the end if None)."""
        return _slice(self.fs._read_stream(path), offset, size)

    def write_at(self, path: str, offset: int, data: Iterable[bytes]) -> int:
        """Write data into an existing file from ``offset`` (no truncation).

        :raises FileNotFoundError: if the file does not exist.
        :raises NotSupportedError: where the protocol cannot do it.
        """
        raise NotSupportedError(
            f"writing into the middle or end of a file is not supported on "
            f"{self.kind} storage ({path})")

    def disk_usage(self, path: str) -> tuple[int, int, int]:
        """(total, used, free) bytes of the file system holding path."""
        raise NotSupportedError(f"disk usage is not available on {self.kind} storage")

    @property
    def can_write_at(self) -> bool:
        """True if :meth:`write_at` works here."""
        return False

    def close(self) -> None:
        """Release what the extras opened (not the cerulean file system)."""


class LocalBackend(Backend):
    """Storage on this machine."""

    def realpath(self, path: str) -> str:
        """See :meth:`Backend.realpath`; missing parts resolve lexically."""
        return os.path.realpath(path)

    def read_range(self, path: str, offset: int, size: int | None) -> Iterator[bytes]:
        """See :meth:`Backend.read_range`."""
        with open(path, "rb") as f:
            yield from _read_from(f, offset, size)

    def write_at(self, path: str, offset: int, data: Iterable[bytes]) -> int:
        """See :meth:`Backend.write_at`."""
        with open(path, "r+b") as f:
            return _write_from(f, offset, data)

    @property
    def can_write_at(self) -> bool:
        """True: local files can be written anywhere."""
        return True

    def disk_usage(self, path: str) -> tuple[int, int, int]:
        """See :meth:`Backend.disk_usage`."""
        usage = shutil.disk_usage(path)
        return usage.total, usage.used, usage.free


class SftpBackend(Backend):
    """Storage reached over SFTP on a cluster's SSH terminal.

    :param fs: the cerulean SftpFileSystem.
    :param terminal: the SshTerminal it runs on; the extras open SFTP
        sessions of their own on its connection.
    """

    def __init__(self, fs: FileSystemImpl, terminal: SshTerminal) -> None:
        super().__init__(fs, "sftp")
        self._terminal = terminal
        self._lock = threading.Lock()
        self._idle: list[tuple[int, paramiko.SFTPClient]] = []

    def _borrow(self) -> tuple[int, paramiko.SFTPClient]:
        """An SFTP session of the current connection, and its generation."""
        generation = self._terminal.connection_generation
        with self._lock:
            while self._idle:
                gen, candidate = self._idle.pop()
                if gen == generation and _healthy(candidate):
                    return gen, candidate
                # From a connection that dropped (the terminal may not have
                # reconnected yet: nothing else has used it since).
                _close_quietly(candidate)
        # open_sftp() reconnects first if the connection is down; the
        # generation is read after it, so that it is the client's own.
        client = self._terminal.open_sftp()
        return self._terminal.connection_generation, client

    @contextlib.contextmanager
    def _sftp(self, first: Callable[[paramiko.SFTPClient], _T]) -> Iterator[_T]:
        """Borrow an SFTP session and make its first request, ``first(session)``.

        ``first`` must be safe to repeat (it changes nothing on the server):
        if the connection turns out to be lost there, it runs once more on a
        new connection, as cerulean's own SFTP calls do. A connection lost
        later comes out as ConnectionError, like cerulean's.
        """
        for retry in (True, False):
            generation, client = self._borrow()
            try:
                value = first(client)
            except BaseException as e:
                lost = _lost(client, e)
                _close_quietly(client)
                if not lost:
                    raise
                if not retry:
                    raise ConnectionError(f"SFTP connection lost: {e or type(e).__name__}"
                                          ) from e
                log.info("SFTP connection lost; retrying on a new one")
                continue
            break
        try:
            yield value
        except BaseException as e:
            # A failed request may leave the session in a bad state (or the
            # connection gone); use a fresh one next time.
            lost = _lost(client, e)
            _close_quietly(client)
            if lost and not isinstance(e, ConnectionError):
                raise ConnectionError(f"SFTP connection lost: {e or type(e).__name__}"
                                      ) from e
            raise
        with self._lock:
            self._idle.append((generation, client))

    def realpath(self, path: str) -> str:
        """See :meth:`Backend.realpath` (the SFTP REALPATH request)."""
        with self._sftp(lambda sftp: _request(sftp, path, lambda: sftp.normalize(path))
                        ) as real:
            return real

    def read_range(self, path: str, offset: int, size: int | None) -> Iterator[bytes]:
        """See :meth:`Backend.read_range`."""
        with self._sftp(lambda sftp: _request(sftp, path, lambda: sftp.open(path, "rb"))
                        ) as f, f:
            yield from _read_from(f, offset, size)

    def write_at(self, path: str, offset: int, data: Iterable[bytes]) -> int:
        """See :meth:`Backend.write_at`."""
        # Opening with r+b neither creates nor truncates: safe to repeat.
        with self._sftp(lambda sftp: _request(sftp, path, lambda: sftp.open(path, "r+b"))
                        ) as f, f:
            f.set_pipelined(True)
            return _write_from(f, offset, data)

    @property
    def can_write_at(self) -> bool:
        """True: SFTP writes at any offset."""
        return True

    def disk_usage(self, path: str) -> tuple[int, int, int]:
        """See :meth:`Backend.disk_usage` (``df`` on the cluster)."""
        return _df(self._terminal, path)

    def close(self) -> None:
        """Close the SFTP sessions of the extras."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, client in idle:
            _close_quietly(client)


class _OpenFile(Protocol):
    """What :func:`_read_from` and :func:`_write_from` use of a local or SFTP file."""

    def seek(self, offset: int, /) -> object: ...

    def read(self, size: int, /) -> bytes: ...

    def write(self, data: bytes, /) -> object: ...


def _read_from(f: _OpenFile, offset: int, size: int | None) -> Iterator[bytes]:
    """Stream ``size`` bytes (all if None) of an open file from ``offset``, in chunks."""
    f.seek(offset)
    left = size
    while left is None or left > 0:
        chunk = f.read(CHUNK if left is None else min(CHUNK, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


def _write_from(f: _OpenFile, offset: int, data: Iterable[bytes]) -> int:
    """Write the chunks into an open file from ``offset``; the bytes written."""
    count = 0
    f.seek(offset)
    for chunk in data:
        f.write(chunk)
        count += len(chunk)
    return count


def _df(terminal: Terminal, path: str) -> tuple[int, int, int]:
    code, out, err = terminal.run(60.0, "df", ["-P", "-k", "--", shlex.quote(path)])
    lines = out.strip().splitlines()
    if code != 0 or len(lines) < 2:
        raise OSError(errno.EIO, f"df failed on the cluster: {err.strip() or out.strip()}",
                      path)
    fields = lines[-1].split()
    try:
        total, used, free = (int(fields[i]) * 1024 for i in (1, 2, 3))
    except (IndexError, ValueError):
        raise OSError(errno.EIO, f"cannot read the output of df: {lines[-1]!r}",
                      path) from None
    return total, used, free


def _slice(chunks: Iterator[bytes], offset: int, size: int | None) -> Iterator[bytes]:
    """Skip ``offset`` bytes of a stream and stop after ``size`` more."""
    try:
        for chunk in chunks:
            if offset >= len(chunk):
                offset -= len(chunk)
                continue
            chunk = chunk[offset:]
            offset = 0
            if size is not None:
                chunk = chunk[:size]
                size -= len(chunk)
            if chunk:
                yield chunk
            if size is not None and size <= 0:
                return
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _with_path(error: OSError, path: str) -> OSError:
    """paramiko raises IOError(errno, text) without the path; add it."""
    if error.errno is not None and error.filename is None:
        return type(error)(error.errno, error.strerror or str(error), path)
    if error.errno is None and "No such file" in str(error):
        return FileNotFoundError(errno.ENOENT, str(error), path)
    return error


def _request(sftp: paramiko.SFTPClient, path: str, call: Callable[[], _T]) -> _T:
    """``call()``, a request on ``sftp``; an error the server sent gets the path."""
    try:
        return call()
    except OSError as e:
        if not _healthy(sftp):
            raise  # the connection, not the server: see SftpBackend._sftp
        raise _with_path(e, path) from None


def _healthy(client: paramiko.SFTPClient) -> bool:
    """Whether an SFTP session's channel and connection are still open."""
    channel = client.get_channel()
    if channel is None or channel.closed:
        return False
    transport = channel.get_transport()
    return transport is not None and transport.is_active()


def _lost(client: paramiko.SFTPClient, error: BaseException) -> bool:
    """Whether ``error`` came from the connection going away under ``client``."""
    return (isinstance(error, (OSError, EOFError, paramiko.SSHException))
            and not _healthy(client))


def _close_quietly(client: Any) -> None:
    with contextlib.suppress(Exception):  # the session is being discarded anyway
        client.close()


def make_backend(kind: str, fs: FileSystemImpl, terminal: Terminal | None) -> Backend:
    """The backend for a storage ``type`` of the cluster configuration."""
    if kind == "local":
        return LocalBackend(fs, "local")
    if kind == "sftp":
        assert isinstance(terminal, SshTerminal)
        return SftpBackend(fs, terminal)
    return Backend(fs, kind)
