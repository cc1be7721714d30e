"""The local file system, through the os module."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath

from cerulean.file_system_impl import (
    Capability,
    DirEntry,
    DiskUsage,
    FileSystemImpl,
    check_range,
    stat_from_mode,
)
from cerulean.path import FileStat

CHUNK_SIZE = 256 * 1024
"""Bytes per read: large enough to keep the per-call overhead small."""


def _record(result: os.stat_result) -> FileStat:
    return stat_from_mode(result.st_mode, result.st_size, result.st_mtime,
                          result.st_uid, result.st_gid)


class LocalFileSystem(FileSystemImpl):
    """Represents the local file system.

    To create an instance, just call LocalFileSystem().

    LocalFileSystem support a single operation:

    .. code-block:: python

      fs / 'path'

    which produces a Path, through which you can do things with local
    files.

    LocalFileSystem is a context manager, so you can use it in a with
    statement, and it has a close() method, but since it doesn't hold any
    resources, you do not need to use them. It may be good to do so anyway,
    to avoid leaks if you ever replace it with a different FileSystem that
    does.
    """

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalFileSystem)

    def __hash__(self) -> int:
        return hash(LocalFileSystem)

    def __repr__(self) -> str:
        return "LocalFileSystem()"

    def _as_uri(self, path: str) -> str:
        return PurePosixPath(path).as_uri()

    def _can(self, capability: Capability) -> bool:
        return True

    def _real_path(self, path: str) -> str:
        return os.path.realpath(path)

    # --- Metadata ----------------------------------------------------------

    def _stat(self, path: str) -> FileStat:
        return _record(os.stat(path))

    def _lstat(self, path: str) -> FileStat:
        return _record(os.lstat(path))

    def _listdir(self, path: str) -> list[DirEntry]:
        with os.scandir(path) as entries:
            return [(entry.name, _record(entry.stat(follow_symlinks=False)))
                    for entry in entries]

    def _read_link(self, path: str) -> str:
        return os.readlink(path)

    # --- Name space --------------------------------------------------------

    def _make_dir(self, path: str, mode: int | None = None) -> None:
        os.mkdir(path, 0o777 if mode is None else mode)

    def _remove_entry(self, path: str) -> None:
        os.unlink(path)

    def _remove_dir(self, path: str) -> None:
        os.rmdir(path)

    def _rename_entry(self, source: str, target: str) -> None:
        os.replace(source, target)

    def _symlink(self, path: str, target: str) -> None:
        os.symlink(target, path)

    def _hard_link(self, path: str, target: str) -> None:
        # Of the link itself, should target be one, as ln does.
        os.link(target, path, follow_symlinks=False)

    def _set_mode(self, path: str, mode: int) -> None:
        os.chmod(path, mode)

    def _touch_entry(self, path: str) -> None:
        try:
            os.utime(path, None)
        except FileNotFoundError:
            # O_NONBLOCK: never hang on a FIFO that appeared meanwhile.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK,
                             0o666))

    # --- Contents ----------------------------------------------------------

    def _read_stream(self, path: str,
                     size_hint: int | None = None) -> Iterator[bytes]:
        with open(path, "rb", buffering=0) as stream:
            while True:
                chunk = stream.read(CHUNK_SIZE)
                if not chunk:
                    return
                yield chunk

    def _write_stream(self, path: str, data: Iterable[bytes],
                      mode: int | None = None,
                      exclusive: bool = False) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        if exclusive:
            flags |= os.O_EXCL
        fd = os.open(path, flags, 0o666 if mode is None else mode)
        count = 0
        with open(fd, "wb", buffering=0) as stream:
            for chunk in data:
                view = memoryview(chunk)
                while view:
                    written = stream.write(view)
                    if written is None:  # only for non-blocking files
                        continue
                    view = view[written:]
                count += len(chunk)
        return count

    # --- Optional primitives (additions to Cerulean 1.0) ---------------------

    def _read_range(self, path: str, offset: int,
                    size: int | None = None) -> Iterator[bytes]:
        check_range(offset, size)
        return self._read_from(path, offset, size)

    def _read_from(self, path: str, offset: int,
                   size: int | None) -> Iterator[bytes]:
        with open(path, "rb", buffering=0) as stream:
            stream.seek(offset)
            left = size
            while left is None or left > 0:
                chunk = stream.read(CHUNK_SIZE if left is None
                                    else min(CHUNK_SIZE, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    def _write_at(self, path: str, offset: int, data: Iterable[bytes]) -> int:
        if offset < 0:
            raise ValueError(f"invalid offset {offset}")
        # O_WRONLY without O_CREAT or O_TRUNC: into the file as it is.
        fd = os.open(path, os.O_WRONLY)
        count = 0
        try:
            for chunk in data:
                view = memoryview(chunk).cast("B")
                while view:
                    written = os.pwrite(fd, view, offset + count)
                    view = view[written:]
                    count += written
        finally:
            os.close(fd)
        return count

    def _disk_usage(self, path: str) -> DiskUsage:
        usage = shutil.disk_usage(path)
        return DiskUsage(usage.total, usage.used, usage.free)
