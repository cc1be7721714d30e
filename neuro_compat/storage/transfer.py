"""Uploads and downloads: ``upload_file``, ``download_file``, ``upload_dir``,
``download_dir``.

The walk over directories runs on the event loop, as in neuro_sdk (so the
async ``filter`` and the progress callbacks run there); the data moves in
worker threads:

* files up to cerulean's :data:`cerulean.copy_files.SMALL_FILE` bytes in a
  directory go in batches through cerulean's batched primitives
  (``_read_files`` and ``_write_files``, on the storage and on a local
  file system), which keep many requests in flight on one connection, and
  land whole or not at all, under cerulean's temporary names (as
  :func:`cerulean.copy` does);
* other files stream in chunks of 1 MiB, front to back, in place, up to
  :data:`MAX_CONCURRENT` at once (neuro_sdk's limit), so an interrupted
  transfer leaves a prefix of the file that ``continue_=True`` completes by
  appending.

``update`` and ``continue_`` follow neuro_sdk's rules, including its
tolerance of two seconds for clocks and truncated modification times.
"""
from __future__ import annotations

import asyncio
import errno
import os
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from typing_extensions import ParamSpec
from yarl import URL

from cerulean.copy_files import SMALL_FILE
from cerulean.file_system_impl import WriteItem
from cerulean.local_file_system import LocalFileSystem
from cerulean.path import FileStat

from .._bridge import Bridge, CancelToken, OperationCancelled, ProgressRelay
from .._cluster.storage_root import StorageRoot
from ..errors import StorageNotFoundError
from . import ops
from .filters import AsyncFilter, with_ignore_file
from .progress import (
    StorageProgressComplete,
    StorageProgressEnterDir,
    StorageProgressFail,
    StorageProgressLeaveDir,
    StorageProgressStart,
    StorageProgressStep,
)
from .types import FileStatus

CHUNK = 1024 * 1024
"""Bytes per read or write when streaming a file."""

BATCH = 64
"""Files per batch; a large directory is split so batches run in parallel."""

MAX_CONCURRENT = 20
"""How many files (or batches) of a directory transfer move at once."""

TIME_THRESHOLD = 1.0
"""Seconds of tolerance for clock differences, as neuro_sdk has."""

_T = TypeVar("_T")
_P = ParamSpec("_P")


def upload_offset(local: os.stat_result, remote: FileStatus, update: bool,
                  continue_: bool) -> int | None:
    """Where to start uploading over an existing file, None to skip it.

    The local file counts as newer unless the remote one is newer by more
    than the tolerance (remote times are whole seconds). Then ``update``
    skips the file, and ``continue_`` skips a complete one and appends to a
    shorter one.
    """
    if local.st_mtime - remote.modification_time > -2 * TIME_THRESHOLD:
        return 0
    if update:
        return None
    if continue_:
        if local.st_size == remote.size:
            return None
        if local.st_size > remote.size:
            return remote.size
    return 0


def download_offset(local: os.stat_result, remote_mtime: float, remote_size: int,
                    update: bool, continue_: bool) -> int | None:
    """Where to start downloading over an existing local file, None to skip."""
    if local.st_mtime - int(remote_mtime) < 2 * TIME_THRESHOLD:
        return 0
    if update:
        return None
    if continue_:
        if local.st_size == remote_size:
            return None
        if local.st_size < remote_size:
            return local.st_size
    return 0


@dataclass(frozen=True)
class _LocalEntry:
    name: str
    kind: str  # "file", "dir" or "other"
    stat: os.stat_result | None


def _scan_local(path: Path) -> list[_LocalEntry]:
    entries = []
    with os.scandir(path) as it:
        for entry in it:
            try:
                if entry.is_file():
                    entries.append(_LocalEntry(entry.name, "file", entry.stat()))
                elif entry.is_dir():
                    entries.append(_LocalEntry(entry.name, "dir", None))
                else:
                    entries.append(_LocalEntry(entry.name, "other", None))
            except OSError:  # vanished, or a dangling link
                entries.append(_LocalEntry(entry.name, "other", None))
    entries.sort(key=lambda e: e.name)
    return entries


_LOCAL = LocalFileSystem()
"""Where downloads land: small files through its batch primitive, so that
they get cerulean's atomic writes and temporary names."""


class Transfer:
    """One transfer operation: its worker threads, progress and cancellation.

    :param bridge: the cluster's worker threads.
    :param root: the cluster's storage root.
    :param progress: the user's progress object, or None.
    :param update: the ``update`` flag.
    :param continue_: the ``continue_`` flag.
    """

    def __init__(self, bridge: Bridge, root: StorageRoot, progress: Any, *,
                 update: bool = False, continue_: bool = False) -> None:
        self.bridge = bridge
        self.root = root
        self.token = CancelToken()
        self.relay = ProgressRelay(progress, self.token)
        self.update = update
        self.continue_ = continue_
        self._slots = asyncio.Semaphore(MAX_CONCURRENT)

    async def call(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run a blocking step; stop it on cancellation; surface a failed
        progress callback."""
        try:
            result = await self.bridge.run_cancellable(lambda token: fn(*args, **kwargs),
                                                       self.token)
        except OperationCancelled:
            self.relay.raise_error()  # a callback failed: that is the error to show
            raise
        self.relay.raise_error()
        return result

    # --- Single files (blocking parts) --------------------------------------

    def _chunks(self, f: Any, src: URL, dst: URL, current: int, size: int) -> Iterator[bytes]:
        while True:
            self.token.check()
            chunk = f.read(CHUNK)
            if not chunk:
                return
            yield chunk
            current += len(chunk)
            self.relay.emit("step", StorageProgressStep(src, dst, current, size))

    def _upload_one(self, local: Path, path: str, offset: int, src: URL, dst: URL) -> None:
        with open(local, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if offset and not self.root.backend.can_write_at:
                offset = 0  # cannot append here: upload the whole file again
            self.relay.emit("start", StorageProgressStart(src, dst, size))
            with ops.os_errors(dst):
                if offset:
                    f.seek(offset)
                    self.relay.emit("step", StorageProgressStep(src, dst, offset, size))
                    self.root.backend.write_at(path, offset,
                                               self._chunks(f, src, dst, offset, size))
                else:
                    self.root.backend.write_stream(path, self._chunks(f, src, dst, 0, size))
        self.relay.emit("complete", StorageProgressComplete(src, dst, size))

    def _download_one(self, path: str, size: int, local: Path, offset: int, src: URL,
                      dst: URL) -> None:
        self.relay.emit("start", StorageProgressStart(src, dst, size))
        backend = self.root.backend
        with ops.os_errors(src):
            chunks = (backend.read_range(path, offset, None) if offset
                      else backend.read_stream(path))
        with open(local, "r+b" if offset else "wb") as f:
            current = offset
            if offset:
                f.seek(offset)
                f.truncate()
                self.relay.emit("step", StorageProgressStep(src, dst, current, size))
            try:
                with ops.os_errors(src):
                    for chunk in chunks:
                        self.token.check()
                        f.write(chunk)
                        current += len(chunk)
                        self.relay.emit("step", StorageProgressStep(src, dst, current, size))
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        self.relay.emit("complete", StorageProgressComplete(src, dst, current))

    # --- Single files (async) -----------------------------------------------

    async def upload_file(self, local: Path, rel: PurePosixPath, src: URL, dst: URL,
                          offset: int) -> None:
        """Upload one file (checks done by the caller)."""
        async with self._slots:
            await self.call(self._upload_file_blocking, local, rel, src, dst, offset)

    def _upload_file_blocking(self, local: Path, rel: PurePosixPath, src: URL, dst: URL,
                              offset: int) -> None:
        path = ops.writable_path(self.root, rel, dst)
        self._upload_one(local, path, offset, src, dst)

    async def download_file(self, rel: PurePosixPath, size: int, local: Path, src: URL,
                            dst: URL, offset: int) -> None:
        """Download one file (checks done by the caller)."""
        async with self._slots:
            await self.call(self._download_file_blocking, rel, size, local, src, dst,
                            offset)

    def _download_file_blocking(self, rel: PurePosixPath, size: int, local: Path,
                                src: URL, dst: URL, offset: int) -> None:
        path, _ = ops.readable_file(self.root, rel, src)
        self._download_one(path, size, local, offset, src, dst)

    # --- Batches of small files (blocking) --------------------------------

    def _upload_batch(self, items: list[tuple[Path, str, URL, URL, int]]) -> None:
        # As copy() moves small files: one file system's _read_files feeding
        # the other's _write_files.
        contents = _LOCAL._read_files((str(local), size) for local, _, _, _, size in items)
        self._land_batch(contents, [(path, src, dst) for _, path, src, dst, _ in items],
                         self.root.backend.write_files, items[0][3].parent)

    def _download_batch(self, items: list[tuple[str, int, Path, URL, URL]]) -> None:
        contents = self.root.backend.read_files((path, size) for path, size, *_ in items)
        try:
            self._land_batch(contents,
                             [(str(local), src, dst) for _, _, local, src, dst in items],
                             _LOCAL._write_files, items[0][3].parent)
        finally:
            _close(contents)  # the remote reads stop too

    def _land_batch(self, contents: Iterator[bytes], names: list[tuple[str, URL, URL]],
                    write_files: Callable[[Iterator[WriteItem]], Iterator[int]],
                    errors_of: URL) -> None:
        """Write ``contents`` (in the order of ``names``: destination path,
        source and destination URIs) with ``write_files``, reporting each
        file as it starts and as it lands; OS errors name ``errors_of``."""
        pending: deque[tuple[URL, URL, int]] = deque()

        def produce() -> Iterator[WriteItem]:
            for (path, src, dst), data in zip(names, contents):
                self.token.check()
                self.relay.emit("start", StorageProgressStart(src, dst, len(data)))
                pending.append((src, dst, len(data)))
                yield WriteItem(path, data)

        landing = write_files(produce())
        try:
            with ops.os_errors(errors_of):
                for _ in landing:
                    src, dst, size = pending.popleft()
                    if size:
                        self.relay.emit("step", StorageProgressStep(src, dst, size, size))
                    self.relay.emit("complete", StorageProgressComplete(src, dst, size))
        finally:
            _close(landing)  # unlanded files leave no temporary files behind

    # --- Directories (async) ------------------------------------------------

    async def upload_dir(self, src: URL, local: Path, dst: URL, rel: PurePosixPath,
                         rel_path: str, keep: AsyncFilter,
                         ignore_file_names: AbstractSet[str]) -> None:
        """Upload the directory ``local`` to ``rel`` (URI ``dst``) recursively."""
        compare = self.update or self.continue_
        real_dir, existing = await self.call(_prepare_remote_dir, self.root, rel, dst,
                                             compare)
        self.relay.call("enter", StorageProgressEnterDir(src, dst))
        async with self._slots:
            entries = await self.call(_scan_local, local)
        if ignore_file_names:
            for entry in entries:
                if entry.kind == "file" and entry.name in ignore_file_names:
                    keep = await self.call(with_ignore_file, keep, local / entry.name,
                                           rel_path)
        small: list[tuple[Path, str, URL, URL, int]] = []
        tasks: list[Awaitable[None]] = []
        for entry in entries:
            child_rel = rel_path + entry.name + ("/" if entry.kind == "dir" else "")
            if not await keep(child_rel):
                continue
            child_src, child_dst = src / entry.name, dst / entry.name
            if entry.kind == "file":
                assert entry.stat is not None
                offset: int | None = 0
                remote = existing.get(entry.name)
                if remote is not None:
                    offset = upload_offset(entry.stat, remote, self.update, self.continue_)
                if offset is None:
                    continue
                if offset == 0 and entry.stat.st_size <= SMALL_FILE:
                    small.append((local / entry.name, f"{real_dir}/{entry.name}",
                                  child_src, child_dst, entry.stat.st_size))
                else:
                    tasks.append(self.upload_file(local / entry.name, rel / entry.name,
                                                  child_src, child_dst, offset))
            elif entry.kind == "dir":
                tasks.append(self.upload_dir(child_src, local / entry.name, child_dst,
                                             rel / entry.name, child_rel, keep,
                                             ignore_file_names))
            else:
                self.relay.call("fail", StorageProgressFail(
                    child_src, child_dst,
                    f"Cannot upload {local / entry.name}, not regular file/directory"))
        await self._finish_dir(src, dst, self._upload_batch, small, tasks)

    async def _finish_dir(self, src: URL, dst: URL, fn: Callable[[list[Any]], None],
                          small: list[Any], tasks: list[Awaitable[None]]) -> None:
        """Run a directory's tasks, and ``fn`` on its small files in batches
        of :data:`BATCH`, all at once; then report leaving the directory,
        whose files are all done."""
        batches = [self._run_batch(fn, small[i:i + BATCH])
                   for i in range(0, len(small), BATCH)]
        await run_concurrently(batches + tasks)
        self.relay.call("leave", StorageProgressLeaveDir(src, dst))

    async def _run_batch(self, fn: Callable[[list[Any]], None], items: list[Any]) -> None:
        async with self._slots:
            await self.call(fn, items)

    async def download_dir(self, src: URL, rel: PurePosixPath, dst: URL, local: Path,
                           rel_path: str, keep: AsyncFilter) -> None:
        """Download the directory ``rel`` (URI ``src``) to ``local`` recursively."""
        await self.call(_make_local_dir, local, dst)
        self.relay.call("enter", StorageProgressEnterDir(src, dst))
        existing: dict[str, os.stat_result] = {}
        if self.update or self.continue_:
            existing = {e.name: e.stat for e in await self.call(_scan_local, local)
                        if e.kind == "file" and e.stat is not None}
        async with self._slots:
            real_dir, entries = await self.call(_list_remote_dir, self.root, rel, src)
        small: list[tuple[str, int, Path, URL, URL]] = []
        tasks: list[Awaitable[None]] = []
        for name, st in entries:
            child_src, child_dst = src / name, dst / name
            if st.is_symlink():
                st = await self.call(_follow, self.root, rel / name, child_src)
            child_rel = rel_path + name + ("/" if st.is_dir() else "")
            if not await keep(child_rel):
                continue
            if st.is_file():
                offset: int | None = 0
                mine = existing.get(name)
                if mine is not None:
                    offset = download_offset(mine, st.mtime, st.size, self.update,
                                             self.continue_)
                if offset is None:
                    continue
                if offset == 0 and st.size <= SMALL_FILE and not st.is_symlink():
                    small.append((f"{real_dir}/{name}", st.size, local / name,
                                  child_src, child_dst))
                else:
                    tasks.append(self.download_file(rel / name, st.size, local / name,
                                                    child_src, child_dst, offset))
            elif st.is_dir():
                tasks.append(self.download_dir(child_src, rel / name, child_dst,
                                               local / name, child_rel, keep))
            else:
                self.relay.call("fail", StorageProgressFail(
                    child_src, child_dst,
                    f"Cannot download {child_src}, not regular file/directory"))
        await self._finish_dir(src, dst, self._download_batch, small, tasks)


# --- Blocking helpers of the directory walk -----------------------------------

def _close(stream: object) -> None:
    """Close a batch generator now (not when it is collected), so that the
    backend's clean-up runs while the error that stopped it propagates."""
    close = getattr(stream, "close", None)
    if close is not None:
        close()


def _prepare_remote_dir(root: StorageRoot, rel: PurePosixPath, uri: URL,
                        compare: bool) -> tuple[str, dict[str, FileStatus]]:
    """Make the destination directory if needed; return its checked path and,
    if ``compare``, its files by name."""
    existing: dict[str, FileStatus] = {}
    if compare:
        try:
            existing = {s.name: s for s in ops.listdir(root, rel, uri) if s.is_file()}
        except StorageNotFoundError:
            pass
        except NotADirectoryError:
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(uri)) from None
    if not existing:
        try:
            ops.mkdir(root, rel, uri, parents=False, exist_ok=True)
        except FileExistsError:
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(uri)) from None
    with ops.os_errors(uri):
        return root.resolve(rel, uri, follow=True), existing


def _list_remote_dir(root: StorageRoot, rel: PurePosixPath,
                     uri: URL) -> tuple[str, list[tuple[str, FileStat]]]:
    with ops.os_errors(uri):
        path = root.resolve(rel, uri, follow=True)
        return path, sorted(root.backend.listdir(path))


def _follow(root: StorageRoot, rel: PurePosixPath, uri: URL) -> FileStat:
    """The stat record of what a link inside the storage points to; its own
    record if it points outside the storage root or nowhere."""
    try:
        with ops.os_errors(uri):
            return root.backend.stat(root.resolve(rel, uri, follow=True))
    except (OSError, ValueError):
        with ops.os_errors(uri):
            return root.backend.lstat(root.resolve(rel, uri, follow=False))


def _make_local_dir(local: Path, uri: URL) -> None:
    try:
        local.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(uri)) from None


async def run_concurrently(coros: list[Awaitable[None]]) -> None:
    """Run coroutines at once; on the first failure cancel the rest, wait
    for them to stop, and raise it."""
    if not coros:
        return
    tasks: list[asyncio.Future[None]] = [asyncio.ensure_future(c) for c in coros]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except BaseException:
        await _stop(tasks)
        raise
    errors: list[BaseException] = []
    for task in tasks:
        if task.done() and not task.cancelled():
            error = task.exception()
            if error is not None:
                errors.append(error)
    if errors:
        await _stop(tasks)
        # Tasks stopped because another failed report OperationCancelled;
        # the cause is the other error.
        errors.sort(key=lambda e: isinstance(e, OperationCancelled))
        raise errors[0]


async def _stop(tasks: list[asyncio.Future[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)
    for task in tasks:  # retrieve, so asyncio does not log them
        if not task.cancelled():
            task.exception()
