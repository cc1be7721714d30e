"""Blocking storage operations on one cluster's file system.

Storage is built on cerulean's file system primitives
(:class:`cerulean.file_system_impl.FileSystemImpl`), including the optional
ones cerulean added for what neuro_sdk needs beyond Cerulean 1.0:

* ``_real_path``, to confine paths to the storage root in the presence of
  symbolic links (local: ``os.path.realpath``; SFTP: the REALPATH request;
  WebDAV has no links, so the path normalised);
* ``_read_range`` and ``_write_at``, for ``Storage.open(offset, size)``,
  ``Storage.write`` and ``continue_`` (WebDAV reads with a ranged GET, and
  cannot write at an offset: :attr:`Capability.WRITE_AT` is missing there);
* ``_disk_usage`` (:attr:`Capability.DISK_USAGE`): ``statvfs`` locally,
  OpenSSH's ``statvfs@openssh.com`` over SFTP. An SFTP server without that
  extension still has ``df`` through the cluster's terminal, so that is
  asked instead; WebDAV has no standard for it.

Everything goes through the one cerulean file system and its own session
pool (which reconnects after a dropped connection), so this module opens
nothing of its own and speaks no protocol itself.

Everything here blocks; :mod:`neuro_compat._bridge` runs it in worker
threads. All methods are thread-safe.
"""
from __future__ import annotations

import errno
import shlex
from collections.abc import Iterable, Iterator

from cerulean import SshTerminal, Terminal
from cerulean.file_system_impl import Capability, DirEntry, FileSystemImpl, WriteItem
from cerulean.path import FileStat

from ..errors import NotSupportedError


class Backend:
    """The storage operations on one file system.

    :param fs: the cerulean file system.
    :param kind: ``"local"``, ``"sftp"`` or ``"webdav"``, for messages.
    :param terminal: the SSH terminal the SFTP file system runs on, for
        ``df`` where the server cannot tell disk usage itself; None
        otherwise.
    """

    def __init__(self, fs: FileSystemImpl, kind: str,
                 terminal: SshTerminal | None = None) -> None:
        self.fs = fs
        self.kind = kind
        self.symlinks = fs._can(Capability.SYMLINKS)
        self._terminal = terminal

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
        return self.fs._read_link(path)

    def mkdir(self, path: str) -> None:
        """Make one directory."""
        self.fs._make_dir(path)

    def unlink(self, path: str) -> None:
        """Remove a file or link."""
        self.fs._remove_entry(path)

    def unlink_many(self, paths: list[str]) -> list[OSError | None]:
        """Remove many files or links, pipelined where possible; each
        path's error (or None) in place."""
        return self.fs._unlink_many(paths)

    def rmdir(self, path: str) -> None:
        """Remove an empty directory."""
        self.fs._remove_dir(path)

    def rename(self, source: str, target: str) -> None:
        """Rename source to target (replacing a target file)."""
        self.fs._rename_entry(source, target)

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

    # --- cerulean's optional primitives ---------------------------------------

    def realpath(self, path: str) -> str:
        """The path with every symbolic link resolved; from the first
        missing component on, the rest as written (normalised)."""
        return self.fs._real_path(path)

    def read_range(self, path: str, offset: int, size: int | None) -> Iterator[bytes]:
        """Up to ``size`` bytes of a file from ``offset`` (to the end if None)."""
        return self.fs._read_range(path, offset, size)

    @property
    def can_write_at(self) -> bool:
        """True if :meth:`write_at` works here."""
        return self.fs._can(Capability.WRITE_AT)

    def write_at(self, path: str, offset: int, data: Iterable[bytes]) -> int:
        """Write data into an existing file from ``offset`` (no truncation).

        :raises FileNotFoundError: if the file does not exist.
        :raises NotSupportedError: where the protocol cannot do it.
        """
        if not self.can_write_at:
            raise NotSupportedError(
                f"writing into the middle or end of a file is not supported on "
                f"{self.kind} storage ({path})")
        return self.fs._write_at(path, offset, data)

    def disk_usage(self, path: str) -> tuple[int, int, int]:
        """(total, used, free) bytes of the file system holding path.

        :raises NotSupportedError: where neither the file system nor a
            terminal on its host can tell.
        """
        if self.fs._can(Capability.DISK_USAGE):
            return self.fs._disk_usage(path)
        if self._terminal is not None:
            return _df(self._terminal, path)
        raise NotSupportedError(f"disk usage is not available on {self.kind} storage")

    def close(self) -> None:
        """Nothing to release: everything is the file system's, which the
        session closes."""


def _df(terminal: Terminal, path: str) -> tuple[int, int, int]:
    """Disk usage from ``df`` on the cluster, for SFTP servers without the
    statvfs extension."""
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


def make_backend(kind: str, fs: FileSystemImpl, terminal: Terminal | None) -> Backend:
    """The backend for a storage ``type`` of the cluster configuration."""
    return Backend(fs, kind, terminal if isinstance(terminal, SshTerminal) else None)
