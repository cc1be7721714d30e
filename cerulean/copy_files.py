"""copy(): files and directory trees between any two file systems.

Written once, on the primitives of :mod:`cerulean.file_system_impl`: a
planning pass (see :mod:`cerulean._copy_plan`) decides everything, then the
plan is carried out with every file landing atomically. Small files go
through the file systems' batch helpers, so backends can keep many of them
in flight; large ones are streamed with bounded memory, or, between two
paths of one SFTP server that offers copy-data, copied on the server.
"""
from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from typing import TypeVar

from cerulean._copy_plan import FileJob, Plan, Planner
from cerulean.file_system_impl import FileSystemImpl, WriteItem
from cerulean.path import FileStat, Path, lstat_or_none, stat_or_none

logger = logging.getLogger(__name__)

CopyCallback = Callable[[int, int], None]
"""The type of a callback function for the copy() function.

A callback function takes two arguments, the number of bytes copied thus
far, and the approximate total number of bytes to copy. To interrupt the
copy operation, raise an exception.
"""

SMALL_FILE = 256 * 1024
"""Files up to this size are copied in batches, whole, many at a time."""

CALLBACK_INTERVAL = 1.0
"""Seconds between progress reports."""

_OVERWRITE_MODES = ("always", "never", "raise")

_T = TypeVar("_T")


def copy(source_path: Path, target_path: Path, overwrite: str = "never",
         copy_into: bool = True, copy_permissions: bool = False,
         callback: CopyCallback | None = None) -> None:
    """Copy a file or directory from one path to another.

    Note that source_path and target_path may be paths on different file
    systems.

    The overwrite parameter decides what to do if a file is encountered on
    the target side that would be overwritten. If overwrite equals 'raise',
    then a FileExistsError is raised. If overwrite equals 'always', then the
    file is overwritten (removed and replaced if needed). If overwrite
    equals 'never', then the existing file is kept, and the source file not
    copied. The same holds for an existing directory: with 'never' it is
    left alone (and nothing is copied into it), with 'always' the source
    directory's contents are merged into it. With 'raise', all conflicts
    are found before anything is written.

    If the target is a directory and copy_into is True (the default), the
    source will be copied into the target directory. If an entry with the
    same name already exists within the target directory, then the
    overwrite parameter decides what happens. If copy_into is False, the
    source will be copied on top of the directory, subject to the setting
    for overwrite.

    If copy_permissions is True, this function will make the target's
    permissions match those of the source, including SETUID, SETGID and
    sticky bits. If copy_permissions is False, the target's permissions are
    left at their default values (according to the umask, on Unix-like
    systems), less any permissions that the source file does not have. The
    default for a new file has no execute bits (0o666 less the umask), so
    an executable arrives as a plain file, as in Cerulean 1.0; a file that
    is replaced gets the defaults too, not the old file's mode. A new
    directory gets 0o777 less the umask, less what the source lacks.

    If callback is provided, it should be a function taking two arguments,
    the current count of bytes copied and the total number of bytes to be
    copied. It will be called once at the beginning of the copy operation
    (with count == 0), once at the end (with count == total), and in
    between about once per second, if the copy takes long enough. Note that
    the total number of bytes passed to the callback is approximate, and
    that the count may be larger than the total if the estimate was off. To
    abort the copy, raise an exception from the callback function.

    Symbolic links inside a copied directory that point inside it are
    copied as links that point to the same place in the copy (an absolute
    link text is made relative to do so), whether or not they resolve: a
    dangling link or a link loop inside the tree arrives as the same links,
    as in Cerulean 1.0. Links that point outside are copied as what they
    point to, and so are all links when the target file system has no
    symbolic links (WebDAV). Links that resolve to nothing and cannot be
    copied as links, and special files (FIFOs, sockets, devices), are
    skipped, with a warning logged on the ``cerulean.copy_files`` logger.
    The source itself, if it is a link, is copied as what it points to.

    Every file lands atomically: it is written under a temporary name in
    its target directory and then renamed. An aborted or failed copy leaves
    each target file either as it was or completely copied, and no
    temporary files. Errors name the target path, never the temporary
    name.

    :param source_path: The path to the source file.
    :param target_path: A path to copy it to.
    :param overwrite: Selects behaviour when the target exists.
    :param copy_into: Whether to copy into target directories.
    :param copy_permissions: Whether to copy permissions along.
    :param callback: A callback function to call regularly with progress
        reports.
    :raises FileNotFoundError: If the source does not exist.
    :raises FileExistsError: If overwrite is 'raise' and something is in
        the way.
    :raises OSError: errno EINVAL, before anything is written, if the
        source is a directory and the target (after copy_into) is that
        directory or lies inside it, on the same file system, as ``cp -r``
        refuses; symbolic links on the way are resolved to tell.
    :raises ValueError: For an invalid overwrite value.
    """
    if overwrite not in _OVERWRITE_MODES:
        raise ValueError(f"Invalid value {overwrite!r} for overwrite; valid"
                         " values are 'always', 'never' and 'raise'")
    for name, value in (("source_path", source_path),
                        ("target_path", target_path)):
        if not isinstance(value, Path):
            raise TypeError(f"copy() needs a cerulean Path as {name}, not"
                            f" {type(value).__name__}")
    source_fs = _file_system(source_path, "source_path")
    target_fs = _file_system(target_path, "target_path")
    source = str(source_path)

    info = _source_info(source_fs, source)
    if info is None:
        logger.warning("copy: skipping %s: it is a broken symbolic link",
                       source)
        plan = Plan()
    else:
        target = str(target_path)
        existing = lstat_or_none(target_fs, target)
        if copy_into and existing is not None and (
                target_path.is_dir() if existing.is_symlink()
                else existing.is_dir()):
            target = str(target_path / source_path.name)
            existing = lstat_or_none(target_fs, target)
        if info.is_dir() and source_fs == target_fs:
            _refuse_copy_into_itself(source_fs, source, target)
        planner = Planner(source_fs, target_fs, overwrite, copy_permissions)
        plan = planner.plan_copy(source, info, target, existing)

    progress = _Progress(callback, plan.total)
    progress.report()
    _carry_out(plan, source_fs, target_fs, progress)
    progress.finish()


def _file_system(path: Path, name: str) -> FileSystemImpl:
    """The file system of path, with the batch and atomic helpers copy()
    uses (a Path only promises the primitives it calls itself)."""
    fs = path.filesystem
    if not isinstance(fs, FileSystemImpl):
        raise TypeError(f"copy() needs {name} on a cerulean file system (a"
                        f" FileSystemImpl), not on a {type(fs).__name__}")
    return fs


def _refuse_copy_into_itself(fs: FileSystemImpl, source: str,
                             target: str) -> None:
    """Raise if target is the directory source or lies inside it.

    As ``cp -r`` refuses: the copy would read what it writes (Cerulean 1.0
    recursed until the path grew too long). Links are resolved on both
    sides, so a way in through a link is caught too.
    """
    real_source = fs._real_path(source)
    real_target = fs._real_path(target)
    if real_target == real_source or real_target.startswith(
            real_source.rstrip("/") + "/"):
        raise OSError(errno.EINVAL, "Cannot copy a directory into itself",
                      source, None, target)


def _source_info(fs: FileSystemImpl, source: str) -> FileStat | None:
    """stat() of the source; None for a broken link; raises if missing."""
    info = stat_or_none(fs, source)
    if info is None and lstat_or_none(fs, source) is None:
        raise FileNotFoundError(
            errno.ENOENT, "Source path does not exist, cannot copy", source)
    return info


class _Progress:
    """Calls the user's callback at the start, about once a second, and at
    the end."""

    def __init__(self, callback: CopyCallback | None, total: int) -> None:
        self.callback = callback
        self.total = total
        self.count = 0
        self.next_report = time.monotonic() + CALLBACK_INTERVAL

    def report(self) -> None:
        """Call the callback with the current count and total."""
        if self.callback is not None:
            self.callback(self.count, self.total)

    def add(self, count: int) -> None:
        """Count bytes copied; report if a second has passed."""
        self.count += count
        if self.callback is not None and time.monotonic() >= self.next_report:
            self.next_report = time.monotonic() + CALLBACK_INTERVAL
            self.callback(self.count, self.total)

    def counting(self, chunks: Iterable[bytes]) -> Generator[bytes, None, None]:
        """Pass chunks through, counting them (and reporting) as they go."""
        for chunk in chunks:
            yield chunk
            self.add(len(chunk))

    def finish(self) -> None:
        """The final report."""
        # The last report has count == total, even if a file changed size
        # since the total was estimated.
        self.total = self.count
        self.report()


def _carry_out(plan: Plan, source_fs: FileSystemImpl,
               target_fs: FileSystemImpl, progress: _Progress) -> None:
    for path in plan.removals:
        _remove(target_fs, path)
    for dir_job in plan.dirs:
        if dir_job.create:
            target_fs._mkdir(dir_job.target, dir_job.mode)
    small = [job for job in plan.files if job.size <= SMALL_FILE]
    large = [job for job in plan.files if job.size > SMALL_FILE]
    _copy_small(small, source_fs, target_fs, progress)
    # Within one server (an equal file system is the same account on the
    # same host), large files are copied there, without the round trip
    # through here, where the file system can.
    within = source_fs is target_fs or source_fs == target_fs
    for file_job in large:
        if within and target_fs._copy_within(
                file_job.source, file_job.target, file_job.size,
                file_job.mode, file_job.exact_mode, progress.add) is not None:
            continue
        _copy_large(file_job, source_fs, target_fs, progress)
    for target, text in plan.links:
        target_fs._symlink(target, text)
    for dir_job in reversed(plan.dirs):
        if dir_job.final_mode is not None:
            target_fs._chmod(dir_job.target, dir_job.final_mode)
        elif dir_job.reduce_to is not None:
            created = target_fs._stat(dir_job.target).mode
            target_fs._chmod(dir_job.target, created & dir_job.reduce_to)


def _remove(fs: FileSystemImpl, path: str) -> None:
    info = lstat_or_none(fs, path)
    if info is None:
        return
    if info.is_dir():
        fs._remove_tree(path, info)
    else:
        fs._unlink(path)


def _copy_small(jobs: list[FileJob], source_fs: FileSystemImpl,
                target_fs: FileSystemImpl, progress: _Progress) -> None:
    """Copy whole small files through the batch helpers, many in flight."""
    if not jobs:
        return
    contents = source_fs._read_files((job.source, job.size) for job in jobs)
    with closing(_as_generator(contents)) as reading:
        items = _write_items(jobs, reading)
        with closing(items), closing(
                _as_generator(target_fs._write_files(items))) as landing:
            for count in landing:
                progress.add(count)


def _write_items(jobs: list[FileJob], contents: Iterator[bytes]
                 ) -> Generator[WriteItem, None, None]:
    for job, data in zip(jobs, contents):
        yield WriteItem(job.target, data, job.mode, job.exact_mode)


def _as_generator(items: Iterator[_T]) -> Generator[_T, None, None]:
    """Make sure an iterator can be closed (closing an outer generator
    is how an abort reaches a backend's clean-up code)."""
    if isinstance(items, Generator):
        return items
    return (item for item in items)


def _copy_large(job: FileJob, source_fs: FileSystemImpl,
                target_fs: FileSystemImpl, progress: _Progress) -> None:
    """Stream one file into place; memory stays at a few chunks."""
    chunks = _as_generator(source_fs._read_stream(job.source, job.size))
    with closing(chunks):
        target_fs._write_atomic(job.target, progress.counting(chunks),
                                job.mode, job.exact_mode)
