"""The records and names that pass between Path, copy() and the backends.

:class:`cerulean.Path` calls the primitives of
:class:`cerulean.file_system_impl.FileSystemImpl`, and FileSystemImpl makes
Paths (``fs / 'name'``), so neither module can import the other without a
circle. What both speak in lives here, below both: the entry records
(:class:`FileStat`, :class:`EntryType`, :class:`Permission`) and the
:class:`Capability` flags. Import them from their documented homes
(``cerulean.path.FileStat``, ``cerulean.file_system_impl.Capability``...),
not from here: each says it lives there (``__module__``, set at the end),
so that the API documentation lists it there and pickles name it there, as
before it moved here.
"""
from __future__ import annotations

import stat as stat_module
from enum import Enum
from typing import NamedTuple


class EntryType(Enum):
    """The kind of a directory entry."""

    DIRECTORY = 1
    FILE = 2
    SYMBOLIC_LINK = 3
    CHARACTER_DEVICE = 4
    BLOCK_DEVICE = 5
    FIFO = 6
    SOCKET = 7


class Permission(Enum):
    """A single POSIX permission bit, see ``man chmod``."""

    OWNER_READ = stat_module.S_IRUSR
    OWNER_WRITE = stat_module.S_IWUSR
    OWNER_EXECUTE = stat_module.S_IXUSR

    GROUP_READ = stat_module.S_IRGRP
    GROUP_WRITE = stat_module.S_IWGRP
    GROUP_EXECUTE = stat_module.S_IXGRP

    OTHERS_READ = stat_module.S_IROTH
    OTHERS_WRITE = stat_module.S_IWOTH
    OTHERS_EXECUTE = stat_module.S_IXOTH

    SUID = stat_module.S_ISUID
    SGID = stat_module.S_ISGID
    STICKY = stat_module.S_ISVTX


_TYPE_OF_FORMAT = {
    stat_module.S_IFDIR: EntryType.DIRECTORY,
    stat_module.S_IFREG: EntryType.FILE,
    stat_module.S_IFLNK: EntryType.SYMBOLIC_LINK,
    stat_module.S_IFCHR: EntryType.CHARACTER_DEVICE,
    stat_module.S_IFBLK: EntryType.BLOCK_DEVICE,
    stat_module.S_IFIFO: EntryType.FIFO,
    stat_module.S_IFSOCK: EntryType.SOCKET,
}


def entry_type_of_mode(mode: int) -> EntryType | None:
    """Returns the EntryType encoded in a POSIX ``st_mode``.

    :param mode: A full ``st_mode`` value, including the file type bits.
    :returns: The entry type, or None if the type bits are unknown.
    """
    return _TYPE_OF_FORMAT.get(stat_module.S_IFMT(mode))


class FileStat(NamedTuple):
    """The metadata of a file system entry, fetched in one round trip.

    Returned by :meth:`Path.stat` and :meth:`Path.lstat`. Fields that a
    file system cannot tell are None (WebDAV has no owners, for example).
    It is an immutable named tuple, cheap to make by the thousand (every
    entry of a listing carries one).

    Attributes:
        entry_type: What kind of entry this is (see :class:`EntryType`).
            When the record was made by following symbolic links, this is
            the type of what the link points to.
        size: The size in bytes (0 for directories on some file systems).
        mtime: The modification time, in seconds since the Unix epoch.
        mode: The permission bits, including SUID, SGID and sticky bits
            (``stat.S_IMODE`` of ``st_mode``), without the file type bits.
        uid: The user id of the owner, or None if not known.
        gid: The group id of the group, or None if not known.
    """

    entry_type: EntryType
    size: int
    mtime: float
    mode: int
    uid: int | None
    gid: int | None

    def is_dir(self) -> bool:
        """Returns whether this entry is a directory."""
        return self.entry_type == EntryType.DIRECTORY

    def is_file(self) -> bool:
        """Returns whether this entry is a regular file."""
        return self.entry_type == EntryType.FILE

    def is_symlink(self) -> bool:
        """Returns whether this entry is a symbolic link."""
        return self.entry_type == EntryType.SYMBOLIC_LINK

    def has_permission(self, permission: Permission) -> bool:
        """Returns whether the given permission bit is set."""
        return bool(self.mode & permission.value)


def stat_from_mode(st_mode: int, size: int, mtime: float,
                   uid: int | None, gid: int | None) -> FileStat:
    """Make a FileStat from POSIX stat fields (st_mode with type bits).

    Entry types POSIX does not name (none exist on Linux) count as files.
    """
    entry_type = entry_type_of_mode(st_mode) or EntryType.FILE
    return FileStat(entry_type, size, mtime, st_mode & 0o7777, uid, gid)


class Capability(Enum):
    """Things a file system may or may not be able to do.

    See :meth:`cerulean.file_system_impl.FileSystemImpl._supports`. A
    subclass written for Cerulean 1.0 has only the first four (1.0's
    ``_supports`` names them); the others are False for it.
    """

    SYMLINKS = "symlinks"
    """Symbolic links can be made and read (``_symlink``, ``_read_link``)."""
    PERMISSIONS = "permissions"
    """``FileStat.mode`` is meaningful and ``_set_mode`` changes it."""
    OWNERSHIP = "ownership"
    """``FileStat.uid`` and ``gid`` are meaningful."""
    SPECIAL_FILES = "special_files"
    """FIFOs, sockets and devices can exist."""
    WRITE_AT = "write_at"
    """``_write_at`` writes into an existing file at any offset. An addition
    to Cerulean 1.0 (WebDAV cannot: a PUT replaces the whole file)."""
    DISK_USAGE = "disk_usage"
    """``_disk_usage`` tells the size and free space of the file system
    holding a path. An addition to Cerulean 1.0."""
    HARD_LINKS = "hard_links"
    """``_hard_link`` makes a second name for a file
    (:meth:`cerulean.Path.hardlink_to`). An addition to Cerulean 1.0."""


# The documented homes (see the module docstring).
EntryType.__module__ = "cerulean.path"
Permission.__module__ = "cerulean.path"
FileStat.__module__ = "cerulean.path"
entry_type_of_mode.__module__ = "cerulean.path"
Capability.__module__ = "cerulean.file_system_impl"
stat_from_mode.__module__ = "cerulean.file_system_impl"
