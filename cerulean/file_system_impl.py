"""The primitives a file system backend implements.

:class:`cerulean.Path` and :func:`cerulean.copy` are written once, on top of
the small set of primitives of :class:`FileSystemImpl` below (in the
spirit of fsspec). A backend (local, SFTP, WebDAV) implements these and
nothing else (Cerulean 1.0's protocol is served on top of them); it may also override the batch helpers at the end, which have
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
``_real_path`` (copy()), ``_temp_name`` and ``_discard``; and
``_copy_within`` (copy() between two paths of one file system, on the
server: by default not possible, so copy() streams).

Optional primitives, additions to Cerulean 1.0 for what neuro_compat's
Storage needs (reading part of a file, writing into one, disk usage):
``_read_range`` (a generic default reads and skips; backends seek, or ask
for a byte range), and ``_write_at``, ``_disk_usage`` and ``_hard_link``, which raise
:class:`cerulean.UnsupportedOperationError` unless ``_can`` reports
:attr:`Capability.WRITE_AT`, :attr:`Capability.DISK_USAGE` or
:attr:`Capability.HARD_LINKS`.
"""
from __future__ import annotations

import errno
import functools
import logging
import posixpath
import secrets
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import PurePath, PurePosixPath
from typing import Any, ClassVar, NamedTuple, Union, overload
from urllib.parse import quote

from cerulean._records import (
    Capability,
    EntryType,
    FileStat,
    Permission,
    stat_from_mode,
)
from cerulean.file_system import FileSystem, UnsupportedOperationError
from cerulean.path import (
    MAX_LINK_DEPTH,
    AbstractPath,
    Path,
    lstat_or_none,
    stat_or_none,
)

__all__ = ["AbstractPath", "Capability", "DirEntry", "DiskUsage", "FileSystemImpl",
           "NotADirectoryRuntimeError", "PathArg", "WriteItem", "stat_from_mode"]

logger = logging.getLogger(__name__)

DirEntry = tuple[str, FileStat]
"""One entry of a directory listing: its name and its lstat() record."""

TEMP_MARKER = ".cerulean-tmp"
"""Every temporary file name made by :meth:`FileSystemImpl._temp_name`
ends in this, so that leftovers are easy to recognise."""


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


class DiskUsage(NamedTuple):
    """Space on the file system holding a path, in bytes, as
    :func:`shutil.disk_usage` reports it; see
    :meth:`FileSystemImpl._disk_usage`. An addition to Cerulean 1.0.

    Attributes:
        total: The size of the file system.
        used: What is in use.
        free: What an unprivileged user may still fill (less than
            ``total - used`` where blocks are reserved for root).
    """

    total: int
    used: int
    free: int


PathArg = Union[str, PurePath]
"""A path as the primitives take it: our ``str``, or Cerulean 1.0's
:data:`AbstractPath` (any pathlib path; only its ``str()`` is used)."""

# Cerulean 1.0 named its features with these strings; OWNERSHIP had no name
# of its own there (uids came with 'permissions').
_CAPABILITY_OF_FEATURE = {
    "symlinks": Capability.SYMLINKS,
    "permissions": Capability.PERMISSIONS,
    "devices": Capability.SPECIAL_FILES,
}
_FEATURE_OF_CAPABILITY = {
    Capability.SYMLINKS: "symlinks",
    Capability.PERMISSIONS: "permissions",
    Capability.OWNERSHIP: "permissions",
    Capability.SPECIAL_FILES: "devices",
}


class NotADirectoryRuntimeError(NotADirectoryError, RuntimeError):
    """A NotADirectoryError that is also a RuntimeError.

    ``rmdir()`` of something that is not a directory raised RuntimeError in
    Cerulean 1.0 and raises NotADirectoryError here; this is both, so code
    written for either catches it.
    """


# --- Adapters for subclasses written for Cerulean 1.0 -----------------------
#
# These 1.0 protocol methods share their names with the ones our own code
# (copy(), neuro_compat) calls with str paths and Capability values. A 1.0
# subclass that overrides one gets it wrapped, so that it receives the path
# type it made (from its own ``/``) and the feature strings it knows.

_Method = Callable[..., Any]


def _adapt_paths(count: int) -> Callable[[_Method], _Method]:
    """Convert the first count arguments (paths) to the subclass's type."""
    def adapt(method: _Method) -> _Method:
        @functools.wraps(method)
        def adapted(self: FileSystemImpl, *args: Any, **kwargs: Any) -> Any:
            native = [self._native(arg) if index < count else arg
                      for index, arg in enumerate(args)]
            for key in ("path", "target"):
                if key in kwargs:
                    kwargs[key] = self._native(kwargs[key])
            return method(self, *native, **kwargs)
        return adapted
    return adapt


def _adapt_supports(method: _Method) -> _Method:
    @functools.wraps(method)
    def _supports(self: FileSystemImpl, feature: str | Capability) -> bool:
        if isinstance(feature, Capability):
            if feature not in _FEATURE_OF_CAPABILITY:
                return False  # an addition to 1.0, which it cannot have
            feature = _FEATURE_OF_CAPABILITY[feature]
        return bool(method(self, feature))
    return _supports


def _adapt_readlink(method: _Method) -> _Method:
    @functools.wraps(method)
    def _readlink(self: FileSystemImpl, path: PathArg,
                  recursive: bool | None = None) -> Any:
        if recursive is None:  # our convention: the link's text
            return str(method(self, self._native(path), False))
        return method(self, self._native(path), recursive)
    return _readlink


_ADAPTERS: dict[str, Callable[[_Method], _Method]] = {
    "_supports": _adapt_supports,
    "_readlink": _adapt_readlink,
    "_mkdir": _adapt_paths(1),
    "_rmdir": _adapt_paths(1),
    "_touch": _adapt_paths(1),
    "_unlink": _adapt_paths(1),
    "_chmod": _adapt_paths(1),
    "_rename": _adapt_paths(2),
}


class FileSystemImpl(FileSystem):
    """Base class of the file system backends: the primitive operations.

    :class:`cerulean.Path` and :func:`cerulean.copy` use the primitives
    below (``_stat``, ``_lstat``, ``_listdir``, ``_read_stream``,
    ``_write_stream``, ``_make_dir``, ``_remove_dir``, ``_remove_entry``,
    ``_rename_entry``, ``_symlink``, ``_set_mode``, ``_touch_entry``,
    ``_read_link``, ``_can``), which our backends implement.

    Cerulean 1.0's protocol (``_exists``, ``_mkdir``, ``_iterdir``,
    ``_rmdir``, ``_streaming_read``, ``_entry_type``...) is served on top
    of them here, with 1.0's signatures. The other way round, a subclass
    written for Cerulean 1.0, which implements only 1.0's abstract methods,
    gets working defaults for the primitives built from those, so it works
    with Path and copy() too (more slowly: 1.0 asks one question per
    request). Nothing is abstract, since neither kind of subclass has the
    other's methods; a method that neither provides raises
    NotImplementedError when called.

    The names start with an underscore because they are for Cerulean's own
    use, not for users.
    """

    _features: ClassVar[list[str]] = ["symlinks", "permissions", "devices"]
    """The feature names Cerulean 1.0's ``_supports`` takes."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Adapt 1.0 protocol methods a subclass overrides (see above)."""
        super().__init_subclass__(**kwargs)
        for name, adapter in _ADAPTERS.items():
            # Only the class's own definitions: an inherited one has been
            # adapted already, in the class that defined it.
            method = cls.__dict__.get(name)
            if callable(method):
                setattr(cls, name, adapter(method))

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

    # --- Between the two conventions ---------------------------------------

    def _native(self, path: PathArg) -> PurePath:
        """The path as this file system's own ``/`` makes it.

        A 1.0 subclass may rely on its own type (a LocalFileSystem written
        for 1.0 calls pathlib.Path methods on it). Relative paths (link
        texts) keep the type, without being made absolute.
        """
        if isinstance(path, PurePath):
            return path
        made = self / path.strip("/")
        native = getattr(made, "_abstract_path", None)
        if not isinstance(native, PurePath):
            native = PurePosixPath("/" + path.strip("/"))
        return native if path.startswith("/") else type(native)(path)

    def _legacy(self, name: str, ours: str) -> _Method:
        """The subclass's own 1.0 method name, to build a primitive on.

        :raises NotImplementedError: If the subclass has neither it nor
            the primitive ours (they would call each other for ever).
        """
        if getattr(type(self), name) is getattr(FileSystemImpl, name):
            raise NotImplementedError(
                f"{type(self).__name__} implements neither {ours} nor"
                f" Cerulean 1.0's {name}")
        method: _Method = getattr(self, name)
        return method

    # --- Primitives (defaults for 1.0 subclasses) --------------------------

    def _can(self, capability: Capability) -> bool:
        """Whether this file system can do the given thing at all."""
        if capability not in _FEATURE_OF_CAPABILITY:
            return False  # an addition: a 1.0 subclass has no such primitive
        return bool(self._legacy("_supports", "_can")(capability))

    def _stat(self, path: str) -> FileStat:
        """Describe the entry at path, following symbolic links.

        :raises FileNotFoundError: If nothing is there, or a link dangles.
        :raises OSError: errno ELOOP if the links form a loop.
        """
        native = self._native(path)
        if not self._legacy("_exists", "_stat")(native):
            raise not_found(path)
        if self._legacy("_is_dir", "_stat")(native):
            kind = EntryType.DIRECTORY
        elif self._legacy("_is_file", "_stat")(native):
            kind = EntryType.FILE
        else:
            entry_type = self._legacy("_entry_type", "_stat")
            kind = entry_type(native)
            if kind == EntryType.SYMBOLIC_LINK:
                final = self._legacy("_readlink", "_stat")(native, True)
                kind = entry_type(getattr(final, "_abstract_path", final))
        return self._legacy_record(native, kind)

    def _legacy_record(self, native: PurePath, kind: EntryType) -> FileStat:
        """A FileStat made of 1.0 questions (1.0 has no mtime: 0)."""
        size = (self._legacy("_size", "_stat")(native)
                if kind == EntryType.FILE else 0)
        if not self._can(Capability.PERMISSIONS):
            mode = 0o700 if kind == EntryType.DIRECTORY else 0o600
            return FileStat(kind, size, 0.0, mode, None, None)
        has = self._legacy("_has_permission", "_stat")
        mode = 0
        for permission in Permission:
            if has(native, permission):
                mode |= permission.value
        return FileStat(kind, size, 0.0, mode,
                        self._legacy("_uid", "_stat")(native),
                        self._legacy("_gid", "_stat")(native))

    def _lstat(self, path: str) -> FileStat:
        """Describe the entry at path itself, not following a final link.

        :raises FileNotFoundError: If nothing is there.
        """
        if self._can(Capability.SYMLINKS) and self._legacy(
                "_is_symlink", "_lstat")(self._native(path)):
            return FileStat(EntryType.SYMBOLIC_LINK, 0, 0.0, 0o777,
                            None, None)
        return self._stat(path)

    def _listdir(self, path: str) -> list[DirEntry]:
        """List a directory with the attributes the listing carries.

        One listing exchange (SFTP OPENDIR/READDIR.../CLOSE, one WebDAV
        PROPFIND with Depth 1); the records are those of lstat(), taken from
        the listing itself rather than asked for per entry. ``.`` and
        ``..`` are left out. The order is unspecified.

        :raises FileNotFoundError: If path does not exist.
        :raises NotADirectoryError: If path is not a directory.
        """
        entries = self._legacy("_iterdir", "_listdir")(self._native(path))
        return [(entry.name, self._lstat(str(entry))) for entry in entries]

    def _read_link(self, path: str) -> str:
        """Return the text of the symbolic link at path, unresolved.

        :raises OSError: errno EINVAL if path is not a symbolic link.
        """
        return str(self._legacy("_readlink", "_read_link")(
            self._native(path), False))

    def _make_dir(self, path: str, mode: int | None = None) -> None:
        """Make one directory; mode (default 0o777) is reduced by umask.

        :raises FileExistsError: If anything already exists at path.
        :raises FileNotFoundError: If the parent directory is missing.
        """
        self._legacy("_mkdir", "_make_dir")(self._native(path), mode,
                                            False, False)

    def _remove_entry(self, path: str) -> None:
        """Remove a file, symbolic link (not its target) or special file.

        :raises FileNotFoundError: If nothing is there.
        :raises IsADirectoryError: If path is a directory.
        """
        self._legacy("_unlink", "_remove_entry")(self._native(path))

    def _remove_dir(self, path: str) -> None:
        """Remove an empty directory.

        :raises FileNotFoundError: If nothing is there.
        :raises NotADirectoryError: If path is not a directory.
        :raises OSError: errno ENOTEMPTY if the directory is not empty.
        """
        self._legacy("_rmdir", "_remove_dir")(self._native(path), False)

    def _rename_entry(self, source: str, target: str) -> None:
        """Rename source to target, replacing a target file if present.

        Replacing must be atomic where the protocol allows it (POSIX
        rename, SFTP posix-rename, WebDAV MOVE with Overwrite: T), since
        copy() lands every file this way.

        :raises FileNotFoundError: If source does not exist.
        """
        self._legacy("_rename", "_rename_entry")(
            self._native(source), self._native(target))

    def _symlink(self, path: str, target: str) -> None:
        """Make a symbolic link at path whose text is target.

        :raises FileExistsError: If anything already exists at path.
        """
        native = self._native(path)
        self._legacy("_symlink_to", "_symlink")(native, type(native)(target))

    def _set_mode(self, path: str, mode: int) -> None:
        """Set the permission bits (0 to 0o7777) of path, following links."""
        self._legacy("_chmod", "_set_mode")(self._native(path), mode)

    def _touch_entry(self, path: str) -> None:
        """Set the modification time of path to now, creating an empty
        file if nothing is there."""
        self._legacy("_touch", "_touch_entry")(self._native(path))

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
        read = self._legacy("_streaming_read", "_read_stream")
        yield from read(self._native(path))

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
        write = self._legacy("_streaming_write", "_write_stream")
        native = self._native(path)
        exists = lstat_or_none(self, path) is not None
        if exists and exclusive:
            # 1.0 cannot create exclusively; this check is the best it has.
            raise FileExistsError(errno.EEXIST, "File exists", path)
        if not exists and mode is not None and self._can(
                Capability.PERMISSIONS):
            # Restrict the new, still empty file before any content is in
            # it, never beyond what the server gives a new file (its umask).
            self._touch_entry(path)
            self._set_mode(path, self._stat(path).mode & mode)
        count = 0

        def counted() -> Iterator[bytes]:
            nonlocal count
            for chunk in data:
                count += len(chunk)
                yield chunk
        write(native, counted())
        return count

    # --- Cerulean 1.0's protocol, on the primitives ------------------------

    def _supports(self, feature: str | Capability) -> bool:
        """Whether the file system supports the given feature.

        :param feature: One of :attr:`_features` (as in Cerulean 1.0) or a
            :class:`Capability`.
        :raises ValueError: For an unknown feature name.
        """
        if not isinstance(feature, Capability):
            capability = _CAPABILITY_OF_FEATURE.get(feature)
            if capability is None:
                try:
                    capability = Capability(feature)
                except ValueError:
                    raise ValueError(
                        'Invalid argument for "feature"') from None
            feature = capability
        return self._can(feature)

    def _exists(self, path: PathArg) -> bool:
        """Whether something is at path, following links (a dangling link
        or a link loop is not)."""
        return stat_or_none(self, str(path)) is not None

    def _mkdir(self, path: PathArg, mode: int | None = None,
               parents: bool = False, exists_ok: bool = False) -> None:
        """Make a directory, as :meth:`cerulean.Path.mkdir` documents.

        Parents are made with default permissions, as in pathlib.
        """
        text = str(path)
        try:
            self._make_dir(text, mode)
        except FileNotFoundError:
            parent = posixpath.dirname(text)
            if not parents or parent == text:
                raise
            self._mkdir(parent, None, parents=True, exists_ok=True)
            self._mkdir(text, mode, parents=False, exists_ok=exists_ok)
        except FileExistsError:
            if not exists_ok or not self._is_dir(text):
                raise

    def _iterdir(self, path: PathArg) -> Generator[PurePath, None, None]:
        """Yield the path of each entry of the directory at path."""
        native = self._native(path)
        for name, _ in self._listdir(str(native)):
            yield native / name

    def _rmdir(self, path: PathArg, recursive: bool = False) -> None:
        """Remove a directory; with recursive, everything in it too.

        Links inside are removed, never followed.

        :raises NotADirectoryRuntimeError: If path is not a directory.
        :raises OSError: ENOTEMPTY if it is not empty and not recursive.
        """
        text = str(path)
        try:
            if recursive:
                self._remove_tree(text)
            else:
                self._remove_dir(text)
        except NotADirectoryRuntimeError:
            raise
        except NotADirectoryError as error:
            raise NotADirectoryRuntimeError(
                error.errno, error.strerror, error.filename) from error

    def _touch(self, path: PathArg) -> None:
        """Set the modification time of path to now, creating an empty
        file if nothing is there."""
        self._touch_entry(str(path))

    def _streaming_read(self, path: PathArg
                        ) -> Generator[bytes, None, None]:
        """Yield the content of the file at path in chunks."""
        yield from self._read_stream(str(path))

    def _streaming_write(self, path: PathArg, data: Iterable[bytes]) -> None:
        """Create or truncate the file at path and write data to it."""
        self._write_stream(str(path), data)

    def _read_bytes(self, path: PathArg) -> bytes:
        """The whole content of the file at path."""
        return b"".join(self._streaming_read(path))

    def _read_text(self, path: PathArg, encoding: str = "utf-8",
                   errors: str = "strict") -> str:
        """The whole content of the file at path, decoded."""
        return self._read_bytes(path).decode(encoding, errors)

    def _write_bytes(self, path: PathArg, data: bytes) -> None:
        """Replace the content of the file at path with data."""
        self._streaming_write(path, [data])

    def _write_text(self, path: PathArg, data: str, encoding: str = "utf-8",
                    errors: str = "strict") -> None:
        """Replace the content of the file at path with encoded text."""
        self._write_bytes(path, data.encode(encoding, errors))

    def _rename(self, path: PathArg, target: PathArg) -> None:
        """Rename path to target, replacing a target file."""
        self._rename_entry(str(path), str(target))

    def _unlink(self, path: PathArg) -> None:
        """Remove a file, link or special file (not a directory)."""
        self._remove_entry(str(path))

    def _is_dir(self, path: PathArg) -> bool:
        """Whether path is a directory, or a link to one."""
        info = stat_or_none(self, str(path))
        return info is not None and info.is_dir()

    def _is_file(self, path: PathArg) -> bool:
        """Whether path is a regular file, or a link to one."""
        info = stat_or_none(self, str(path))
        return info is not None and info.is_file()

    def _is_symlink(self, path: PathArg) -> bool:
        """Whether path is a symbolic link (dangling or not)."""
        if not self._can(Capability.SYMLINKS):
            return False
        info = lstat_or_none(self, str(path))
        return info is not None and info.is_symlink()

    def _entry_type(self, path: PathArg) -> EntryType:
        """What kind of entry path is, not following a final link.

        :raises FileNotFoundError: If nothing is there.
        """
        return self._lstat(str(path)).entry_type

    def _size(self, path: PathArg) -> int:
        """The size in bytes of what path is or points to."""
        return self._stat(str(path)).size

    def _uid(self, path: PathArg) -> int:
        """The owner's user id; 0 where there are no owners, as in 1.0."""
        uid = self._stat(str(path)).uid
        return 0 if uid is None else uid

    def _gid(self, path: PathArg) -> int:
        """The group id; 0 where there are no owners, as in 1.0."""
        gid = self._stat(str(path)).gid
        return 0 if gid is None else gid

    def _has_permission(self, path: PathArg,
                        permission: Permission) -> bool:
        """Whether path exists and has the given permission bit."""
        info = stat_or_none(self, str(path))
        return info is not None and info.has_permission(permission)

    def _set_permission(self, path: PathArg, permission: Permission,
                        value: bool = True) -> None:
        """Set or clear one permission bit of path."""
        mode = self._stat(str(path)).mode
        mode = mode | permission.value if value else mode & ~permission.value
        self._set_mode(str(path), mode)

    def _chmod(self, path: PathArg, mode: int) -> None:
        """Set the permission bits of path."""
        self._set_mode(str(path), mode)

    def _symlink_to(self, path: PathArg, target: PathArg) -> None:
        """Make a symbolic link at path pointing to target (as given)."""
        self._symlink(str(path), str(target))

    @overload
    def _readlink(self, path: PathArg) -> str: ...

    @overload
    def _readlink(self, path: PathArg, recursive: bool) -> Path: ...

    def _readlink(self, path: PathArg,
                  recursive: bool | None = None) -> str | Path:
        """Read a symbolic link.

        Called with the path alone (our convention): the link's text.
        With recursive given (Cerulean 1.0's): a Path, the text itself if
        not recursive, else the end of the chain, as
        :meth:`cerulean.Path.readlink` documents.

        :raises RuntimeError: If recursive and the chain is too long.
        """
        if recursive is None:
            return self._read_link(str(path))
        native = self._native(path)
        if not recursive:
            return Path(self, type(native)(self._read_link(str(path))))
        return Path(self, native).readlink(recursive=True)

    # --- Optional, with generic defaults -----------------------------------

    def _as_uri(self, path: str) -> str:
        """Return a URI for the absolute path, for Path.as_uri()."""
        raise NotImplementedError(
            f"{type(self).__name__} has no URI form for paths")

    def _real_path(self, path: str) -> str:
        """The absolute path with every symbolic link in it resolved and
        ``.`` and ``..`` taken away, as realpath(3) makes it.

        From the first component that does not exist on, the rest is kept
        as written (normalised), so any path has an answer. Used by copy()
        to tell whether a target lies inside the source directory.

        The default looks at one component after the other (one lstat
        each, and a readlink per link); without symbolic links it only
        normalises the text. Backends with a realpath of their own
        override it.

        :raises OSError: errno ELOOP for more than MAX_LINK_DEPTH links.
        """
        if not self._can(Capability.SYMLINKS):
            return _normalised(path)
        pending = list(reversed(path.split("/")))
        resolved = "/"
        links = 0
        while pending:
            name = pending.pop()
            if name in ("", "."):
                continue
            if name == "..":
                resolved = posixpath.dirname(resolved)
                continue
            candidate = posixpath.join(resolved, name)
            info = lstat_or_none(self, candidate)
            if info is None:
                return _normalised("/".join([candidate, *reversed(pending)]))
            if not info.is_symlink():
                resolved = candidate
                continue
            links += 1
            if links > MAX_LINK_DEPTH:
                raise OSError(errno.ELOOP, "Too many levels of symbolic"
                              " links", path)
            text = self._read_link(candidate)
            if text.startswith("/"):
                resolved = "/"
            pending.extend(reversed(text.split("/")))
        return resolved

    def _read_range(self, path: str, offset: int,
                    size: int | None = None) -> Iterator[bytes]:
        """Yield the bytes of the file at path from offset, in chunks.

        At most size bytes (all to the end if None); fewer if the file
        ends first, none if offset is at or past its end. An addition to
        Cerulean 1.0. The default reads the file from the start and skips
        to offset (so it works for every file system); the backends start
        at offset (a seek, SFTP READs at offset, a WebDAV ranged GET).

        :raises FileNotFoundError: If nothing is there.
        :raises IsADirectoryError: If path is a directory.
        :raises ValueError: If offset or size is negative.
        """
        check_range(offset, size)
        return slice_stream(self._read_stream(path), offset, size)

    def _nothing_of(self, path: str) -> Iterator[bytes]:
        """No bytes of the file at path, after checking that it is one.

        For a range of no bytes, which backends answer without reading (an
        SFTP server opens a directory for reading, and a WebDAV Range of no
        bytes cannot be asked for), so a directory is still refused.
        """
        if self._stat(path).is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        yield from ()

    def _write_at(self, path: str, offset: int, data: Iterable[bytes]) -> int:
        """Write data into the existing file at path, starting at offset.

        Neither creates nor truncates the file: bytes past what data
        covers stay, and an offset past the end leaves a hole (zeros), as
        pwrite(2) does. Not atomic: a failure leaves what was written. An
        addition to Cerulean 1.0, for file systems that report
        :attr:`Capability.WRITE_AT`.

        :returns: The number of bytes written.
        :raises FileNotFoundError: If nothing is there.
        :raises IsADirectoryError: If path is a directory.
        :raises ValueError: If offset is negative.
        :raises cerulean.UnsupportedOperationError: Without WRITE_AT (the
            default).
        """
        raise UnsupportedOperationError(
            f"{type(self).__name__} cannot write into a file at an offset")

    def _disk_usage(self, path: str) -> DiskUsage:
        """Total, used and free bytes of the file system holding path.

        An addition to Cerulean 1.0, for file systems that report
        :attr:`Capability.DISK_USAGE` (local: statvfs; SFTP: OpenSSH's
        ``statvfs@openssh.com`` extension).

        :raises FileNotFoundError: If nothing is at path.
        :raises cerulean.UnsupportedOperationError: Without DISK_USAGE (the
            default).
        """
        raise UnsupportedOperationError(
            f"{type(self).__name__} cannot tell disk usage")

    def _hard_link(self, path: str, target: str) -> None:
        """Make path a new name (a hard link) for the existing file target.

        An addition to Cerulean 1.0, for file systems that report
        :attr:`Capability.HARD_LINKS` (local: link(2); SFTP: OpenSSH's
        ``hardlink@openssh.com`` extension).

        :raises FileExistsError: If something is at path already.
        :raises FileNotFoundError: If nothing is at target.
        :raises cerulean.UnsupportedOperationError: Without HARD_LINKS (the
            default).
        """
        raise UnsupportedOperationError(
            f"{type(self).__name__} cannot make hard links")

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
            self._remove_entry(path)
        except (FileNotFoundError, NotADirectoryError):
            pass  # never made: its directory is missing or not one
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
        temporary file is removed and whatever was at path stays. Errors
        name path, not the temporary name (see :func:`name_target`).

        :param mode: Creation permission bits, reduced by umask.
        :param exact_mode: Permission bits to set before landing.
        :returns: The number of bytes written.
        """
        temp = self._temp_name(path)
        try:
            count = self._write_stream(temp, data, mode, exclusive=True)
            if exact_mode is not None:
                self._set_mode(temp, exact_mode)
            self._rename_entry(temp, path)
        except BaseException as error:
            self._discard(temp)
            name_target(error, temp, path)
            raise
        return count

    def _copy_within(self, source: str, target: str, size: int,
                     mode: int | None = None, exact_mode: int | None = None,
                     progress: Callable[[int], None] | None = None
                     ) -> int | None:
        """Copy a file to target without its bytes coming through here.

        For copy() between two paths of this file system (or of an equal
        one: the same account on the same server). The copy lands
        atomically, as with :meth:`_write_atomic`, with the same mode
        arguments. None means this file system cannot (the default, or the
        server lacks what it takes), and nothing was changed: the caller
        streams the file instead. An addition to Cerulean 1.0.

        :param size: The size of the source, as listed: the progress
            counts up to it.
        :param progress: Called with the number of bytes of each piece
            copied, as they are; it may raise to abort the copy.
        :returns: The number of bytes copied, or None.
        """
        return None

    def _unlink_many(self, paths: list[str]) -> list[OSError | None]:
        """Unlink many files, links or special files; return each error.

        As :meth:`_remove_entry` for each path, with the errors returned in place
        (None for success). Backends override this to have all the requests
        in flight at once; the default removes one after the other.
        """
        errors: list[OSError | None] = []
        for path in paths:
            try:
                self._remove_entry(path)
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
        _remove_listed(self, path, self._listdir(path))

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


def _remove_listed(fs: FileSystemImpl, path: str,
                   entries: list[DirEntry]) -> None:
    """Remove the listed directory at path, depth first (see _remove_tree).

    The entries of a directory are removed with one batch call and its
    subdirectories are listed with another, so a backend can pipeline both.
    """
    subdirs = [posixpath.join(path, name) for name, info in entries
               if info.is_dir()]
    others = [posixpath.join(path, name) for name, info in entries
              if not info.is_dir()]
    for error in fs._unlink_many(others):
        if error is not None and not isinstance(error, FileNotFoundError):
            raise error
    for subdir, listing in zip(subdirs, fs._listdirs(subdirs)):
        if isinstance(listing, OSError):
            raise listing
        _remove_listed(fs, subdir, listing)
    fs._remove_dir(path)


def check_range(offset: int, size: int | None) -> None:
    """Refuse a negative offset or size (see FileSystemImpl._read_range)."""
    if offset < 0 or (size is not None and size < 0):
        raise ValueError(f"invalid byte range: offset {offset}, size {size}")


def slice_stream(chunks: Iterator[bytes], offset: int,
                 size: int | None) -> Iterator[bytes]:
    """The part of a stream of chunks from offset, at most size bytes.

    Skips what comes before offset and stops (closing chunks, so a remote
    file is released) once size bytes have been yielded.
    """
    try:
        for chunk in chunks:
            if offset >= len(chunk):
                offset -= len(chunk)
                continue
            if offset:
                chunk = chunk[offset:]
                offset = 0
            if size is not None:
                if len(chunk) >= size:
                    if size:
                        yield chunk[:size]
                    return
                size -= len(chunk)
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


def _normalised(path: str) -> str:
    """path, absolute, without ``.``, ``..`` and repeated slashes."""
    return posixpath.normpath("/" + path.lstrip("/"))


def name_target(error: BaseException, temp: str, path: str) -> None:
    """Make an error about a temporary file name the user's target instead.

    Atomic writes work on a temporary name beside the target (see
    :meth:`FileSystemImpl._temp_name`), so the errors they meet (a
    read-only or missing directory, a full disk) name it; the user never
    chose that name and should see the one they gave. The error is changed
    in place, so its type, errno and traceback stay as they are. Messages
    that quote the temporary name (WebDAV's name the URL, where it may be
    percent-encoded) get the target's name in its place.
    """
    if not isinstance(error, OSError):
        return
    if error.filename == temp:
        error.filename = path
    if error.filename2 == temp:
        error.filename2 = path
    if isinstance(error.strerror, str):
        temp_name, name = posixpath.basename(temp), posixpath.basename(path)
        text = error.strerror.replace(temp, path).replace(temp_name, name)
        error.strerror = text.replace(quote(temp_name), quote(name))


def not_found(path: str) -> FileNotFoundError:
    """A FileNotFoundError naming path, as the primitives raise it."""
    return FileNotFoundError(errno.ENOENT, "No such file or directory", path)
