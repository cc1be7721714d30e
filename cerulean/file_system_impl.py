"""The primitives a file system backend implements.

:class:`cerulean.Path` and :func:`cerulean.copy` are written once, on top of
the small set of abstract methods of :class:`FileSystemImpl` below (in the
spirit of fsspec). A backend (local, SFTP, WebDAV) implements these and
nothing else; it may also override the batch helpers at the end, which have
correct but sequential default implementations, to pipeline requests.

Conventions every primitive follows:

* Paths are ``str``, absolute POSIX paths as the user wrote them (``str`` of
  a :class:`cerulean.Path`); the backend quotes or encodes them as its
  protocol needs.
* Errors are raised as the matching ``OSError`` subclass, with the path in
  ``filename``: ``FileNotFoundError``, ``FileExistsError``,
  ``NotADirectoryError``, ``IsADirectoryError``, ``PermissionError``;
  following a link loop raises ``OSError`` with ``errno.ELOOP``. A lost
  connection raises ``ConnectionError`` (also an ``OSError``), never one of
  the "not found" kinds, so that ``exists()`` cannot turn a network failure
  into False. Operations a backend cannot do at all raise
  :class:`cerulean.UnsupportedOperationError` (or silently do nothing, if
  the user asked for that, as WebDAV's ``unsupported_methods_raise``).
* Each primitive costs at most one round trip to the server where the
  protocol allows it, and never asks for what an earlier reply said.
* Primitives may be called from several threads at once.

Helpers with generic defaults, which a backend may override to be faster:
``_write_atomic`` (land a file whole, used by copy() for large files),
``_read_files`` and ``_write_files`` (many small files, used by copy()),
``_listdirs`` (used by walk), ``_unlink_many`` (used when removing trees),
``_remove_tree`` (rmdir(recursive=True), remove() and copy()), ``_as_uri``,
``_temp_name`` and ``_discard``.
"""
from __future__ import annotations

import errno
import logging
import posixpath
import secrets
from abc import abstractmethod
from collections.abc import Iterable, Iterator
from enum import Enum
from pathlib import PurePosixPath
from typing import NamedTuple

from cerulean._walk import remove_tree
from cerulean.file_system import FileSystem
from cerulean.path import EntryType, FileStat, Path, entry_type_of_mode

logger = logging.getLogger(__name__)

DirEntry = tuple[str, FileStat]
"""One entry of a directory listing: its name and its lstat() record."""

TEMP_MARKER = ".cerulean-tmp"
"""Every temporary file name made by :meth:`FileSystemImpl._temp_name`
ends in this, so that leftovers are easy to recognise."""


class Capability(Enum):
    """Things a file system may or may not be able to do.

    See :meth:`FileSystemImpl._supports`.
    """

    SYMLINKS = "symlinks"
    """Symbolic links can be made and read (``_symlink``, ``_readlink``)."""
    PERMISSIONS = "permissions"
    """``FileStat.mode`` is meaningful and ``_chmod`` changes it."""
    OWNERSHIP = "ownership"
    """``FileStat.uid`` and ``gid`` are meaningful."""
    SPECIAL_FILES = "special_files"
    """FIFOs, sockets and devices can exist."""


class WriteItem(NamedTuple):
    """One small file for :meth:`FileSystemImpl._write_files`.

    Attributes:
        path: Where the file lands (atomically).
        data: The whole content.
        mode: Permission bits to create the file with, which the server's
            umask then reduces; None for the default (0o666 less umask).
        exact_mode: If not None, the permission bits (including SUID, SGID,
            sticky) to set after writing, before the file lands.
    """

    path: str
    data: bytes
    mode: int | None = None
    exact_mode: int | None = None


class FileSystemImpl(FileSystem):
    """Base class of the file system backends: the primitive operations.

    Subclasses implement the abstract methods; :class:`cerulean.Path` and
    :func:`cerulean.copy` use nothing else. The names start with an
    underscore because they are for Cerulean's own use, not for users.
    """

    # --- The FileSystem interface, the same for every backend --------------

    def __truediv__(self, segment: str) -> Path:
        """Returns the Path ``/segment`` on this file system."""
        if not isinstance(segment, str):
            raise TypeError(
                f"file system / needs a str, not {type(segment).__name__}")
        return Path(self, PurePosixPath("/" + segment.strip("/")))

    def root(self) -> Path:
        """Returns a Path representing the root of the file system."""
        return Path(self, PurePosixPath("/"))

    # --- Metadata ----------------------------------------------------------

    @abstractmethod
    def _stat(self, path: str) -> FileStat:
        """Describe the entry at path, following symbolic links.

        :raises FileNotFoundError: If nothing is there, or a link dangles.
        :raises OSError: errno ELOOP if the links form a loop.
        """

    @abstractmethod
    def _lstat(self, path: str) -> FileStat:
        """Describe the entry at path itself, not following a final link.

        :raises FileNotFoundError: If nothing is there.
        """

    @abstractmethod
    def _listdir(self, path: str) -> list[DirEntry]:
        """List a directory with the attributes the listing carries.

        One listing exchange (SFTP OPENDIR/READDIR.../CLOSE, one WebDAV
        PROPFIND with Depth 1); the records are those of lstat(), taken from
        the listing itself rather than asked for per entry. ``.`` and
        ``..`` are left out. The order is unspecified.

        :raises FileNotFoundError: If path does not exist.
        :raises NotADirectoryError: If path is not a directory.
        """

    @abstractmethod
    def _readlink(self, path: str) -> str:
        """Return the text of the symbolic link at path, unresolved.

        :raises OSError: errno EINVAL if path is not a symbolic link.
        """

    @abstractmethod
    def _supports(self, capability: Capability) -> bool:
        """Whether this file system can do the given thing at all."""

    # --- Changing the name space -------------------------------------------

    @abstractmethod
    def _mkdir(self, path: str, mode: int | None = None) -> None:
        """Make one directory; mode (default 0o777) is reduced by umask.

        :raises FileExistsError: If anything already exists at path.
        :raises FileNotFoundError: If the parent directory is missing.
        """

    @abstractmethod
    def _unlink(self, path: str) -> None:
        """Remove a file, symbolic link (not its target) or special file.

        :raises FileNotFoundError: If nothing is there.
        :raises IsADirectoryError: If path is a directory.
        """

    @abstractmethod
    def _rmdir(self, path: str) -> None:
        """Remove an empty directory.

        :raises FileNotFoundError: If nothing is there.
        :raises NotADirectoryError: If path is not a directory.
        :raises OSError: errno ENOTEMPTY if the directory is not empty.
        """

    @abstractmethod
    def _rename(self, source: str, target: str) -> None:
        """Rename source to target, replacing a target file if present.

        Replacing must be atomic where the protocol allows it (POSIX
        rename, SFTP posix-rename, WebDAV MOVE with Overwrite: T), since
        copy() lands every file this way.

        :raises FileNotFoundError: If source does not exist.
        """

    @abstractmethod
    def _symlink(self, path: str, target: str) -> None:
        """Make a symbolic link at path whose text is target.

        :raises FileExistsError: If anything already exists at path.
        """

    @abstractmethod
    def _chmod(self, path: str, mode: int) -> None:
        """Set the permission bits (0 to 0o7777) of path, following links."""

    @abstractmethod
    def _touch(self, path: str) -> None:
        """Set the modification time of path to now, creating an empty
        file if nothing is there."""

    # --- Contents ----------------------------------------------------------

    @abstractmethod
    def _read_stream(self, path: str,
                     size_hint: int | None = None) -> Iterator[bytes]:
        """Yield the content of the file at path in consecutive chunks.

        Chunks are sized for throughput (tens to hundreds of KiB), never the
        whole file at once, so memory use stays flat for any file size.
        Closing the generator early releases the remote file.

        :param size_hint: The size an earlier listing or stat reported, if
            known; a backend may use it to size its requests (and must still
            return what the file holds). Backends may ignore it.

        :raises FileNotFoundError: If nothing is there.
        :raises IsADirectoryError: If path is a directory.
        """

    @abstractmethod
    def _write_stream(self, path: str, data: Iterable[bytes],
                      mode: int | None = None,
                      exclusive: bool = False) -> int:
        """Create (or truncate) the file at path and write data to it.

        Data is sent as it is produced (streaming, pipelined where the
        protocol allows), never collected into one buffer first.

        :param mode: Permission bits for a newly created file, reduced by
            umask; None means the default (0o666 less umask). An existing
            file keeps its permissions.
        :param exclusive: Fail with FileExistsError if anything exists at
            path (used for temporary files).
        :returns: The number of bytes written.
        """

    # --- Optional, with generic defaults -----------------------------------

    def _as_uri(self, path: str) -> str:
        """Return a URI for the absolute path, for Path.as_uri()."""
        raise NotImplementedError(
            f"{type(self).__name__} has no URI form for paths")

    def _temp_name(self, path: str) -> str:
        """A fresh, hidden name beside path, for landing a file atomically.

        It lives in the same directory so that the final rename stays on
        one file system (and is therefore atomic).
        """
        directory, name = posixpath.split(path)
        # Keep the whole name within NAME_MAX (255 bytes) for long names.
        stem = name.encode()[:180].decode(errors="ignore")
        token = secrets.token_hex(6)
        return posixpath.join(directory, f".{stem}.{token}{TEMP_MARKER}")

    def _discard(self, path: str) -> None:
        """Remove a temporary file, if it is there; never raises.

        Called while another error propagates, so it only logs failures.
        """
        try:
            self._unlink(path)
        except FileNotFoundError:
            pass
        except Exception as error:  # noqa: BLE001 - must not mask the cause
            logger.warning("could not remove temporary file %s: %s",
                           path, error)

    def _write_atomic(self, path: str, data: Iterable[bytes],
                      mode: int | None = None,
                      exact_mode: int | None = None) -> int:
        """Write a file so that it appears at path whole, or not at all.

        Writes to a temporary name in the same directory, sets exact_mode
        if given, then renames over path. If anything fails (including the
        data iterable raising, which is how a copy is aborted), the
        temporary file is removed and whatever was at path stays.

        :param mode: Creation permission bits, reduced by umask.
        :param exact_mode: Permission bits to set before landing.
        :returns: The number of bytes written.
        """
        temp = self._temp_name(path)
        try:
            count = self._write_stream(temp, data, mode, exclusive=True)
            if exact_mode is not None:
                self._chmod(temp, exact_mode)
            self._rename(temp, path)
        except BaseException:
            self._discard(temp)
            raise
        return count

    def _unlink_many(self, paths: list[str]) -> list[OSError | None]:
        """Unlink many files, links or special files; return each error.

        As :meth:`_unlink` for each path, with the errors returned in place
        (None for success). Backends override this to have all the requests
        in flight at once; the default removes one after the other.
        """
        errors: list[OSError | None] = []
        for path in paths:
            try:
                self._unlink(path)
                errors.append(None)
            except OSError as error:
                errors.append(error)
        return errors

    def _remove_tree(self, path: str, info: FileStat | None = None) -> None:
        """Remove the directory at path and everything in it.

        Symbolic links inside are removed themselves, never followed, and
        path itself must be a directory, not a link to one (so that
        removing a link can never remove what it points to).

        The default lists each directory once and removes its entries with
        :meth:`_unlink_many` and its subdirectories' listings with
        :meth:`_listdirs`, so a backend that pipelines those gets a
        pipelined removal. A backend whose protocol removes a whole tree in
        one request (WebDAV's DELETE) overrides this.

        :param info: The lstat() record of path, if the caller has just
            fetched it (remove(), copy()); it is then not asked for again.
        :raises FileNotFoundError: If nothing is at path.
        :raises NotADirectoryError: If path is not a directory.
        """
        if info is None:
            info = self._lstat(path)
        if not info.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
        remove_tree(self, path)

    def _listdirs(self, paths: list[str]) -> list[list[DirEntry] | OSError]:
        """List many directories; return each one's entries or error.

        Backends override this to have all the listings in flight at once;
        the default lists one directory after the other. Errors are
        returned in place (not raised), so one unreadable directory does
        not hide the others.
        """
        results: list[list[DirEntry] | OSError] = []
        for path in paths:
            try:
                results.append(self._listdir(path))
            except OSError as error:
                results.append(error)
        return results

    def _read_files(self, files: Iterable[tuple[str, int]]
                    ) -> Iterator[bytes]:
        """Yield the whole content of each of many small files, in order.

        Backends override this to keep many requests in flight; the default
        reads one file after the other.

        :param files: (path, expected size) pairs; the size comes from an
            earlier listing and lets a backend size its read requests. The
            content is what the file holds, whatever its size turns out to
            be.
        """
        for path, size in files:
            yield b"".join(self._read_stream(path, size))

    def _write_files(self, items: Iterable[WriteItem]) -> Iterator[int]:
        """Land many small files atomically; yield each one's size when done.

        Each file lands as in :meth:`_write_atomic`. The generator yields
        after every file that has landed, in order. If it is closed early or
        fails, files that had not landed leave no temporary files behind.
        Backends override this to keep many files in flight; the default
        writes one after the other. ``items`` may itself be a lazy generator
        (for example another file system's :meth:`_read_files`).
        """
        for item in items:
            yield self._write_atomic(
                item.path, [item.data], item.mode, item.exact_mode)


def stat_from_mode(st_mode: int, size: int, mtime: float,
                   uid: int | None, gid: int | None) -> FileStat:
    """Make a FileStat from POSIX stat fields (st_mode with type bits).

    Entry types POSIX does not name (none exist on Linux) count as files.
    """
    entry_type = entry_type_of_mode(st_mode) or EntryType.FILE
    return FileStat(entry_type, size, mtime, st_mode & 0o7777, uid, gid)


def not_found(path: str) -> FileNotFoundError:
    """A FileNotFoundError naming path, as the primitives raise it."""
    return FileNotFoundError(errno.ENOENT, "No such file or directory", path)
