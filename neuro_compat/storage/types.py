"""Dataclasses and enums describing storage entries, as in neuro_sdk."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import PurePosixPath

from yarl import URL


class Action(str, enum.Enum):
    """*Enumeration* that describes granted rights.

    ``READ`` is read-only access, ``WRITE`` read and write access, ``MANAGE``
    full access (read, write and change access mode are allowed).
    """

    READ = "read"
    WRITE = "write"
    MANAGE = "manage"


class FileStatusType(str, enum.Enum):
    """Type of a storage entry: ``DIRECTORY``, ``FILE``, ``SYMLINK`` or
    ``UNKNOWN`` (a FIFO, socket or device)."""

    DIRECTORY = "DIRECTORY"
    FILE = "FILE"
    SYMLINK = "SYMLINK"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True)
class FileStatus:
    """*Read-only* dataclass for describing remote entry (file or directory).

    :ivar path: path to the entry, ``str``: the entry's name in listings, its
        path from the storage root (``/user/dir/name``) from ``stat()``.
    :ivar size: file size in bytes, ``int``.
    :ivar type: entry type, :class:`FileStatusType` instance.
    :ivar modification_time: modification time in seconds since the epoch,
        like the value returned from ``time.time()``, ``int``.
    :ivar permission: permission (*read*, *write* or *manage*), :class:`Action`.
    :ivar uri: the entry's full ``storage://cluster/...`` URI, ``yarl.URL``.
    :ivar target: for a symbolic link, what it points to; otherwise None.
    """

    path: str
    size: int
    type: FileStatusType
    modification_time: int
    permission: Action
    uri: URL
    target: str | None = None

    def is_file(self) -> bool:
        """True if :attr:`type` is ``FileStatusType.FILE``."""
        return self.type == FileStatusType.FILE

    def is_dir(self) -> bool:
        """True if :attr:`type` is ``FileStatusType.DIRECTORY``."""
        return self.type == FileStatusType.DIRECTORY

    def is_symlink(self) -> bool:
        """True if :attr:`type` is ``FileStatusType.SYMLINK``."""
        return self.type == FileStatusType.SYMLINK

    @property
    def name(self) -> str:
        """File or directory name, the last part of :attr:`path`."""
        return PurePosixPath(self.path).name


@dataclass(frozen=True)
class DiskUsageInfo:
    """*Read-only* dataclass for describing disk usage in particular cluster.

    :ivar cluster_name: name of cluster, ``str``.
    :ivar total: total storage size in bytes, ``int``.
    :ivar used: used storage size in bytes, ``int``.
    :ivar free: free storage size in bytes, ``int``.
    :ivar org_name: the organization, always None here (no orgs on HPC).
    :ivar uri: the storage URI the figures are for.
    """

    cluster_name: str
    total: int
    used: int
    free: int
    org_name: str | None = None
    uri: URL | None = None
