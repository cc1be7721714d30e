"""Paths on file systems: the pathlib-like API of Cerulean.

A :class:`Path` is a pure POSIX path plus the file system it lives on. The
pure parts (``name``, ``parent``, ``/``...) are those of
:class:`pathlib.PurePosixPath`; everything that touches the file system is
delegated to the small set of primitives in
:class:`cerulean.file_system_impl.FileSystemImpl`, so each backend (local,
SFTP, WebDAV) only implements those. :meth:`Path.walk` is written here once,
on the listing primitives.

This module does not import :mod:`cerulean.file_system_impl`, which makes
Paths and imports it: a Path sees its file system through
:class:`Primitives`, and the records both speak in (:class:`FileStat`,
:class:`EntryType`, :class:`Permission`) are defined in a module below both
and are importable from here, as in Cerulean 1.0.
"""
from __future__ import annotations

import errno
import pathlib
import posixpath
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Protocol, Union

from cerulean._records import (
    Capability,
    EntryType,
    FileStat,
    Permission,
    entry_type_of_mode,
)

__all__ = ["MAX_LINK_DEPTH", "AbstractPath", "EntryType", "FileStat", "Path",
           "Permission", "Primitives", "entry_type_of_mode", "lstat_or_none",
           "stat_or_none"]

AbstractPath = Union[pathlib.Path, PurePosixPath, PureWindowsPath]
"""The pathlib path a :class:`Path` holds, as in Cerulean 1.0.

The FileSystemImpl methods of the Cerulean 1.0 protocol (``_exists``,
``_mkdir``...) take these; :class:`cerulean.path.Path` keeps the one its
file system made (a LocalFileSystem written for 1.0 uses ``pathlib.Path``).
"""

# A chain of more links than this is treated as a loop, as Linux does.
MAX_LINK_DEPTH = 40


class Primitives(Protocol):
    """What a Path asks of its file system.

    These are primitives of :class:`cerulean.file_system_impl.FileSystemImpl`,
    which documents them; every file system is a FileSystemImpl. Path is
    typed against this protocol rather than FileSystemImpl because
    FileSystemImpl makes Paths (``fs / 'name'``), so it imports this module.
    """

    def _can(self, capability: Capability) -> bool: ...

    def _stat(self, path: str) -> FileStat: ...

    def _lstat(self, path: str) -> FileStat: ...

    def _listdir(self, path: str) -> list[tuple[str, FileStat]]: ...

    def _listdirs(self, paths: list[str]
                  ) -> list[list[tuple[str, FileStat]] | OSError]: ...

    def _read_link(self, path: str) -> str: ...

    def _mkdir(self, path: str | PurePath, mode: int | None = None,
               parents: bool = False, exists_ok: bool = False) -> None: ...

    def _rmdir(self, path: str | PurePath, recursive: bool = False) -> None: ...

    def _remove_entry(self, path: str) -> None: ...

    def _remove_tree(self, path: str, info: FileStat | None = None) -> None: ...

    def _rename_entry(self, source: str, target: str) -> None: ...

    def _symlink(self, path: str, target: str) -> None: ...

    def _hard_link(self, path: str, target: str) -> None: ...

    def _set_mode(self, path: str, mode: int) -> None: ...

    def _touch_entry(self, path: str) -> None: ...

    def _read_stream(self, path: str,
                     size_hint: int | None = None) -> Iterator[bytes]: ...

    def _write_stream(self, path: str, data: Iterable[bytes],
                      mode: int | None = None, exclusive: bool = False) -> int: ...

    def _as_uri(self, path: str) -> str: ...


def _is_missing(error: OSError) -> bool:
    """Whether an error from a following stat means 'nothing is there'.

    A dangling link, a path through a non-directory and a link loop all
    mean that there is no object at the path, so exists() says False.
    """
    return isinstance(error, (FileNotFoundError, NotADirectoryError)) or (
        error.errno == errno.ELOOP)


def stat_or_none(fs: Primitives, path: str) -> FileStat | None:
    """stat() of path on fs, or None if nothing is there.

    A dangling link, a path through a non-directory and a link loop count
    as nothing (see :meth:`Path.exists`); any other error is raised.
    """
    try:
        return fs._stat(path)
    except OSError as error:
        if _is_missing(error):
            return None
        raise


def lstat_or_none(fs: Primitives, path: str) -> FileStat | None:
    """lstat() of path on fs, or None if nothing is there (or the path
    goes through a non-directory); any other error is raised."""
    try:
        return fs._lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


class Path:
    """A path on a file system.

    This class implements the pathlib.PurePosixPath interface fully, and a
    pathlib.PosixPath-like interface, although it has some omissions,
    additions, and improvements to make it more compatible with remote and
    non-standard file systems.

    To make a Path, create a FileSystem first, then use the / operator on
    it, e.g. ``fs / 'home' / 'user'``. Do not construct objects of this
    class directly.

    Paths can be compared for (non-)equality using == and !=. Paths that
    compare unequal could still refer to the same file, if it is
    accessible in multiple ways. For instance, a local path /tmp would
    compare unequal to a path /tmp on an SftpFileSystem, even if the
    SftpFileSystem is connected to localhost, and the paths do in fact
    refer to the same directory.

    Attributes:
        filesystem: The file system that this path is on.
    """

    __slots__ = ("__path", "filesystem")

    def __init__(self, filesystem: Primitives,
                 path: PurePath | str) -> None:
        """Create a Path; use ``fs / 'name'`` instead of calling this.

        :param filesystem: The file system the path is on.
        :param path: The path itself, as a pathlib path.
        """
        if isinstance(path, Path):
            raise TypeError("Path() needs a pathlib path, not a cerulean Path")
        self.filesystem = filesystem
        # Kept as made (not converted), so that a file system written for
        # Cerulean 1.0 gets back the path type it made, in
        # ``_Path__path`` as 1.0 had it.
        self.__path: PurePath = (
            path if isinstance(path, PurePath) else PurePosixPath(path))

    @staticmethod
    def _pure(segment: str | PurePath | Path) -> str | PurePath:
        return segment.__path if isinstance(segment, Path) else segment

    @property
    def _abstract_path(self) -> PurePath:
        """The pathlib path this Path holds, for the 1.0 protocol."""
        return self.__path

    # --- PurePath operators ------------------------------------------------

    def __str__(self) -> str:
        return str(self.__path)

    def __repr__(self) -> str:
        return f"Path({self.filesystem!r}, {str(self.__path)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Path):
            return NotImplemented
        return (self.filesystem == other.filesystem
                and self.__path == other.__path)

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, Path):
            return NotImplemented
        return not self == other

    def __hash__(self) -> int:
        # The path alone: consistent with __eq__, and it works with file
        # systems that are not hashable (a 1.0 subclass defining __eq__).
        return hash(self.__path)

    def _comparable(self, other: object) -> PurePath:
        if not isinstance(other, Path):
            raise TypeError(f"cannot compare a Path with {type(other).__name__}")
        if self.filesystem != other.filesystem:
            raise TypeError("cannot order Paths on different file systems")
        return other.__path

    def __lt__(self, other: object) -> bool:
        return self.__path < self._comparable(other)

    def __le__(self, other: object) -> bool:
        return self.__path <= self._comparable(other)

    def __gt__(self, other: object) -> bool:
        return self.__path > self._comparable(other)

    def __ge__(self, other: object) -> bool:
        return self.__path >= self._comparable(other)

    def __truediv__(self, suffix: str | Path) -> Path:
        if isinstance(suffix, Path):
            return self._with(self.__path / suffix.__path)
        # As in Cerulean 1.0, 'a' / '/b' appends rather than replacing.
        return self._with(self.__path / suffix.strip("/"))

    def _with(self, path: PurePath) -> Path:
        return Path(self.filesystem, path)

    # --- PurePath attributes and functions ---------------------------------

    @property
    def parts(self) -> tuple[str, ...]:
        """A tuple containing the path's components."""
        return self.__path.parts

    @property
    def drive(self) -> str:
        """The drive letter (including the colon), if any."""
        return self.__path.drive

    @property
    def root(self) -> str:
        """A string representing the root of the filesystem."""
        return self.__path.root

    @property
    def anchor(self) -> str:
        """The concatenation of the drive and the root."""
        return self.__path.anchor

    @property
    def parents(self) -> list[Path]:
        """A sequence containing the logical ancestors of the path."""
        return [self._with(p) for p in self.__path.parents]

    @property
    def parent(self) -> Path:
        """The logical parent of the path."""
        return self._with(self.__path.parent)

    @property
    def name(self) -> str:
        """The name of the file or directory.

        This excludes parents but includes the suffix.
        """
        return self.__path.name

    @property
    def suffix(self) -> str:
        """The file extension of the file or directory, if any."""
        return self.__path.suffix

    @property
    def suffixes(self) -> list[str]:
        """A list of all the extensions in the file name."""
        return self.__path.suffixes

    @property
    def stem(self) -> str:
        """The stem of this path.

        This is the name of the file or directory, excluding parents and
        excluding the suffix.
        """
        return self.__path.stem

    def as_posix(self) -> str:
        """Returns the path as a string with forward slashes."""
        return self.__path.as_posix()

    def as_uri(self) -> str:
        """Returns a URI representing the path.

        :raises ValueError: If the path is relative.
        :raises NotImplementedError: If the file system has no URI form.
        """
        if not self.__path.is_absolute():
            raise ValueError(f"relative path {self} cannot be a URI")
        return self.filesystem._as_uri(str(self.__path))

    def is_absolute(self) -> bool:
        """Returns whether the path is absolute."""
        return self.__path.is_absolute()

    def is_reserved(self) -> bool:
        """Return whether the path is reserved.

        This can only happen on Windows on a LocalFileSystem.
        """
        return False

    def joinpath(self, *other: str | Path) -> Path:
        """Joins another path or string onto the back of this one.

        :param other: The other path to append to this one.
        :returns: The combined path.
        """
        return self._with(self.__path.joinpath(*(Path._pure(o) for o in other)))

    def relative_to(self, *other: str | Path) -> Path:
        """Returns a version of this path relative to another path.

        Both paths must be on the same file system.

        :param other: The path to use as a reference.
        :raises ValueError: If this path is not below the other one, or the
            other path is on a different file system.
        """
        for item in other:
            if isinstance(item, Path) and item.filesystem != self.filesystem:
                raise ValueError(
                    f"{item!r} is on a different file system than {self!r}")
        return self._with(self.__path.relative_to(*(Path._pure(o) for o in other)))

    def with_name(self, name: str) -> Path:
        """Return a new path with the last component set to name.

        :param name: The new name to use.
        """
        return self._with(self.__path.with_name(name))

    def with_suffix(self, suffix: str) -> Path:
        """Return a new path with the suffix set to suffix.

        :param suffix: The new suffix to use.
        """
        return self._with(self.__path.with_suffix(suffix))

    # --- Metadata ----------------------------------------------------------

    def stat(self, follow_symlinks: bool = True) -> FileStat:
        """Returns size, mtime, mode, uid, gid and type in one round trip.

        This is an addition to the Cerulean 1.0 API.

        :param follow_symlinks: If True (the default), describe what a
            symbolic link points to; if False, describe the link itself.
        :returns: A :class:`FileStat` record.
        :raises FileNotFoundError: If there is nothing at this path (or,
            when following links, the link is dangling).
        :raises OSError: With errno ELOOP when following a link loop
            (SFTP servers report a loop as FileNotFoundError).
        """
        fs = self.filesystem
        return fs._stat(str(self)) if follow_symlinks else fs._lstat(str(self))

    def lstat(self) -> FileStat:
        """Like :meth:`stat`, but describes a symbolic link itself.

        This is an addition to the Cerulean 1.0 API.

        :raises FileNotFoundError: If there is nothing at this path.
        """
        return self.filesystem._lstat(str(self))

    def _stat_or_none(self) -> FileStat | None:
        return stat_or_none(self.filesystem, str(self))

    def exists(self) -> bool:
        """Returns true iff a filesystem object exists at this path.

        If the path denotes a symlink, returns whether the symlink points
        to an existing filesystem object, recursively. If the symlink is
        part of a link loop, returns False.

        :returns: True iff the path exists on the filesystem.
        """
        return self._stat_or_none() is not None

    def is_dir(self) -> bool:
        """Returns whether the path is a directory.

        :returns: True iff the path exists and is a directory, or a
            symbolic link pointing to a directory.
        """
        info = self._stat_or_none()
        return info is not None and info.is_dir()

    def is_file(self) -> bool:
        """Returns whether the path is a file.

        :returns: True iff the path exists and is a file, or a symbolic
            link pointing to a file.
        """
        info = self._stat_or_none()
        return info is not None and info.is_file()

    def is_symlink(self) -> bool:
        """Returns whether the path is a symlink.

        A dangling link is a symlink too; the link is not followed.

        :returns: True iff the path exists and is a symbolic link.
        """
        if not self.filesystem._can(Capability.SYMLINKS):
            return False  # nothing to ask where there are no links (WebDAV)
        info = lstat_or_none(self.filesystem, str(self))
        return info is not None and info.is_symlink()

    def entry_type(self) -> EntryType:
        """Returns the kind of directory entry type the path points to.

        Symbolic links are not followed: a link is SYMBOLIC_LINK.

        :returns: An EntryType enum value describing the filesystem entry.
        :raises FileNotFoundError: If there is no file here.
        """
        return self.filesystem._lstat(str(self)).entry_type

    def size(self) -> int:
        """Returns the size of the file.

        :returns: An integer with the number of bytes in the file.
        :raises FileNotFoundError: If there is no file here.
        """
        return self.filesystem._stat(str(self)).size

    def uid(self) -> int | None:
        """Returns the user id of the owner of the object.

        :returns: An integer with the id, or None if not supported.
        """
        return self.filesystem._stat(str(self)).uid

    def gid(self) -> int | None:
        """Returns the group id associated with the object.

        :returns: An integer with the id, or None of not supported.
        """
        return self.filesystem._stat(str(self)).gid

    def has_permission(self, permission: Permission) -> bool:
        """Checks permissions.

        :param permission: A particular file permission, see Permission
        :returns: True iff the object exists and has the given permission.
        """
        info = self._stat_or_none()
        return info is not None and info.has_permission(permission)

    def set_permission(self, permission: Permission,
                       value: bool = True) -> None:
        """Sets permissions.

        :param permission: The permission to set.
        :param value: Whether to enable or disable the permission.
        """
        mode = self.filesystem._stat(str(self)).mode
        mode = mode | permission.value if value else mode & ~permission.value
        self.filesystem._set_mode(str(self), mode)

    def chmod(self, mode: int) -> None:
        """Sets permissions.

        :param mode: The numerical mode describing the permissions to set.
            This uses standard POSIX mode definitions, see man chmod.
        """
        if not 0 <= mode <= 0o7777:
            raise ValueError(f"mode {mode:#o} is not a permission mode")
        self.filesystem._set_mode(str(self), mode)

    # --- Directories -------------------------------------------------------

    def mkdir(self, mode: int | None = None, parents: bool = False,
              exists_ok: bool = False) -> None:
        """Makes a directory with the given access rights.

        If mode is not set or None, assigns permissions according to the
        current umask. If parents is True, makes parent directories as
        needed. If exists_ok is True, silently ignores if the directory
        already exists.

        :param mode: A numerical Posix access permissions mode.
        :param parents: Whether to make parent directories.
        :param exists_ok: Don't raise if target already exists.
        :raises FileExistsError: If something exists here and exists_ok is
            False, or it is not a directory.
        :raises FileNotFoundError: If the parent is missing and parents is
            False.
        """
        if mode is not None and not 0 <= mode <= 0o7777:
            raise ValueError(f"mode {mode:#o} is not a permission mode")
        # Through the 1.0 protocol, so that a file system written for 1.0
        # makes its directories its own way.
        self.filesystem._mkdir(self.__path, mode, parents, exists_ok)

    def iterdir(self) -> Generator[Path, None, None]:
        """Iterates through a directory's contents.

        :yields: Paths of entries in the directory.
        """
        for name, _ in self.filesystem._listdir(str(self)):
            yield self / name

    def walk(self, topdown: bool = True,
             onerror: Callable[[OSError], None] | None = None,
             followlinks: bool = False
             ) -> Generator[tuple[Path, list[str], list[str]], None, None]:
        """Walks a directory hierarchy recursively.

        This is a version of Python's os.walk() function adapted to be a
        little bit more pathlib-like. It walks the directory and its
        subdirectories, yielding a tuple (dirpath, dirnames, filenames) for
        each directory. These are the path of the directory, as a Path, a
        list of strings containing the names of the subdirectories inside
        this directory, and a list of strings containing the names of the
        non-directories in this directory respectively. Symbolic links to
        directories are listed in dirnames, as os.walk() does.

        If topdown is True, the triple for a directory will be produced
        before the triples of its subdirectories; if it is False, it will
        be produced after (pre- and post-order traversal respectively).
        With topdown True, you may remove names from dirnames to keep the
        walk out of those subdirectories.

        If onerror is set, the function it is set to will be called if an
        error occurs, and passed an instance of OSError. The callback can
        handle the error in some way, or raise it to end the traversal. The
        OSError object will have an attribute filename containing the name
        of the file that triggered the problem as a string.

        If followlinks is True, this function will recurse into symlinks
        that point to directories, if it is False, it will silently skip
        them.

        Each directory is listed with one listing exchange; the entry
        attributes that come with the listing are reused, so only
        symbolic links cost an extra request.

        :yields: Tuples (dirpath, dirnames, filenames), as above.
        """
        try:
            entries = self.filesystem._listdir(str(self))
        except OSError as error:
            _report(error, self, onerror)
            return
        yield from _walk_listed(self, entries, topdown, onerror, followlinks)

    def rmdir(self, recursive: bool = False) -> None:
        """Removes a directory.

        If recursive is True, remove all files and directories inside as
        well. If recursive is False, the directory must be empty. Symbolic
        links inside are removed, never followed.

        :raises NotADirectoryError: If this is not a directory (a link to
            a directory is not a directory here); the exception is also a
            RuntimeError, which is what Cerulean 1.0 raised.
        :raises OSError: If the directory is not empty and recursive is
            False.
        """
        self.filesystem._rmdir(self.__path, recursive)

    def remove(self) -> None:
        """Removes a file, link, device or directory.

        Directories are removed recursively, links, devices and files are
        deleted. Link targets are left in place. Returns without error if
        there is nothing there already.

        Use this method to ensure that there is no entry at this path.
        """
        try:
            info = self.filesystem._lstat(str(self))
        except FileNotFoundError:
            return
        if info.is_dir():
            self.filesystem._remove_tree(str(self), info)
        else:
            self.filesystem._remove_entry(str(self))

    def unlink(self) -> None:
        """Removes a file or device node.

        For removing directories, see rmdir().

        :raises FileNotFoundError: If there is nothing here.
        :raises IsADirectoryError: If this is a directory.
        """
        self.filesystem._remove_entry(str(self))

    # --- File contents -----------------------------------------------------

    def touch(self) -> None:
        """Updates the access and modification times of file.

        If the file does not exist, it will be created, which is often what
        this function is used for.
        """
        self.filesystem._touch_entry(str(self))

    def streaming_read(self) -> Generator[bytes, None, None]:
        """Streams data from a file.

        This is a generator function that generates bytes objects
        containing consecutive chunks of the file.

        :raises FileNotFoundError: If the file does not exist.
        :raises IsADirectoryError: If this is a directory.
        """
        yield from self.filesystem._read_stream(str(self))

    def streaming_write(self, data: Iterable[bytes]) -> None:
        """Streams data to a file.

        Creates a new file (overwriting any existing file) at the current
        path, and writes data to it from the given iterable.

        :param data: An iterable of bytes containing data to be written.
        """
        self.filesystem._write_stream(str(self), data)

    def read_bytes(self) -> bytes:
        """Reads file contents as a bytes object.

        :returns: The contents of the file.
        """
        return b"".join(self.streaming_read())

    def read_text(self, encoding: str = "utf-8") -> str:
        """Reads file contents as a string.

        Assumes UTF-8 encoding.

        :param encoding: The encoding to assume.
        :returns: The contents of the file.
        """
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> None:
        """Writes bytes to the file.

        Overwrites the file if it exists.

        :param data: The data to be written.
        """
        self.streaming_write([data])

    def write_text(self, text: str, encoding: str = "utf-8") -> None:
        """Writes text to a file.

        Overwrites the file if it exists.

        :param text: The text to be written.
        :param encoding: The encoding to use.
        """
        self.write_bytes(text.encode(encoding))

    def rename(self, target: Path) -> None:
        """Renames a file.

        The new path must be in the same filesystem. If the new path exists,
        then it will be overwritten.

        :param target: The new path of the file.
        :raises ValueError: If target is on a different file system.
        """
        if not isinstance(target, Path):
            raise TypeError(f"rename() needs a Path, not {type(target).__name__}")
        if target.filesystem != self.filesystem:
            raise ValueError(
                f"cannot rename {self} to {target}: different file systems;"
                " use cerulean.copy() and remove() instead")
        self.filesystem._rename_entry(str(self), str(target))

    # --- Symbolic links ----------------------------------------------------

    def symlink_to(self, target: Path) -> None:
        """Makes a symlink from the current path to the target.

        The link holds the target path as given, so a relative target is
        taken relative to the directory containing the link.

        :param target: The path to symlink to.
        :raises FileExistsError: if you try to overwrite an existing entry
            with a symlink.
        :raises ValueError: If target is on a different file system.
        """
        if isinstance(target, Path):
            if target.filesystem != self.filesystem:
                raise ValueError(
                    f"cannot link {self} to {target}: different file systems")
            text = str(target)
        else:
            text = str(target)
        self.filesystem._symlink(str(self), text)

    def hardlink_to(self, target: Path | str) -> None:
        """Makes this path a hard link to the same file as target.

        An addition to Cerulean 1.0, with pathlib's name and argument
        order: ``p.hardlink_to(target)`` makes ``p`` a second name for the
        file ``target`` names (a relative string is taken relative to the
        current directory of the file system, as link(2) does). Local file
        systems and SFTP servers with OpenSSH's ``hardlink@openssh.com``
        can; see :attr:`Capability.HARD_LINKS
        <cerulean.file_system_impl.Capability.HARD_LINKS>`.

        :param target: The existing file to link to.
        :raises FileExistsError: If something is at this path already.
        :raises FileNotFoundError: If target does not exist.
        :raises ValueError: If target is on a different file system.
        :raises cerulean.UnsupportedOperationError: If the file system
            cannot make hard links (WebDAV, an SFTP server without the
            extension).
        """
        if isinstance(target, Path) and target.filesystem != self.filesystem:
            raise ValueError(
                f"cannot link {self} to {target}: different file systems")
        self.filesystem._hard_link(str(self), str(target))

    def readlink(self, recursive: bool = False) -> Path:
        """Reads the target of a symbolic link.

        Note that the result may be a relative path, which should then be
        taken relative to the directory containing the link.

        If recursive is True, this function will follow a chain of symlinks
        until it reaches something that is not a symlink, or until the
        maximum recursion depth is reached and a RunTimeError is raised. The
        result is then the final path, with each relative step resolved
        against the directory of the link that held it.

        :param recursive: Whether to resolve recursively.
        :returns: The path that the symlink points to.
        :raises RuntimeError: The recursion depth was reached, probably as
            a result of a link loop.
        :raises OSError: If this is not a symbolic link (EINVAL).
        """
        fs = self.filesystem
        if not recursive:
            return self._with(PurePosixPath(fs._read_link(str(self))))
        current = self.__path
        for _ in range(MAX_LINK_DEPTH):
            target = PurePosixPath(fs._read_link(str(current)))
            current = current.parent / target
            info = lstat_or_none(fs, str(current))
            # None: the chain ends in a dangling link.
            if info is None or not info.is_symlink():
                return self._with(current)
        raise RuntimeError(
            f"more than {MAX_LINK_DEPTH} symbolic links from {self}:"
            " probably a link loop")


# --- walk(), on the listing primitives ------------------------------------
#
# Each directory costs one _listdir exchange; the lstat records that come
# with the listing decide what is a directory, so only symbolic links need
# one more request (to see whether they point to a directory).

def _points_to_dir(fs: Primitives, path: str) -> bool:
    try:
        return fs._stat(path).is_dir()
    except OSError:
        return False  # dangling, a loop, or unreadable: not a directory


def _report(error: OSError, path: Path,
            onerror: Callable[[OSError], None] | None) -> None:
    if error.filename is None:
        error.filename = str(path)
    if onerror is not None:
        onerror(error)


def _walk_listed(top: Path, entries: list[tuple[str, FileStat]], topdown: bool,
                 onerror: Callable[[OSError], None] | None, followlinks: bool
                 ) -> Generator[tuple[Path, list[str], list[str]], None, None]:
    fs = top.filesystem
    dirnames: list[str] = []
    filenames: list[str] = []
    links: set[str] = set()
    for name, info in sorted(entries, key=lambda entry: entry[0]):
        if info.is_dir():
            dirnames.append(name)
        elif info.is_symlink() and _points_to_dir(
                fs, posixpath.join(str(top), name)):
            dirnames.append(name)
            links.add(name)
        else:
            filenames.append(name)

    if topdown:
        yield top, dirnames, filenames  # the caller may prune dirnames
    descend = [name for name in dirnames if name not in links or followlinks]
    # All subdirectories are listed at once, so a backend can have the
    # listings in flight together instead of one round trip after another.
    listings = fs._listdirs([str(top / name) for name in descend])
    for name, listing in zip(descend, listings):
        if isinstance(listing, OSError):
            _report(listing, top / name, onerror)
            continue
        yield from _walk_listed(top / name, listing, topdown, onerror,
                                followlinks)
    if not topdown:
        yield top, dirnames, filenames
