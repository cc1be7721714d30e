"""The blocking storage operations on single paths, behind :class:`Storage`.

Each function takes the cluster's :class:`StorageRoot`, the path below the
root (``rel``) and the URI (for messages and results), runs in a worker
thread, and raises the errors neuro_sdk raises, naming the URI rather than
the path on the server.
"""
from __future__ import annotations

import contextlib
import errno
import posixpath
from collections.abc import Callable, Iterable, Iterator
from pathlib import PurePosixPath

from yarl import URL

from cerulean.path import EntryType, FileStat

from .._bridge import CancelToken
from .._cluster.storage_root import StorageRoot, makedirs
from ..errors import IllegalArgumentError, StorageNotFoundError, StoragePathError
from .types import Action, FileStatus, FileStatusType

_TYPES = {
    EntryType.DIRECTORY: FileStatusType.DIRECTORY,
    EntryType.FILE: FileStatusType.FILE,
    EntryType.SYMBOLIC_LINK: FileStatusType.SYMLINK,
}


@contextlib.contextmanager
def os_errors(uri: object, uri2: object = None) -> Iterator[None]:
    """Re-raise OS errors of the file system naming ``uri`` (and ``uri2``,
    the target of a two-path operation such as a rename).

    A missing path becomes :class:`StorageNotFoundError` (both
    ``FileNotFoundError`` and ``ResourceNotFound``); other errors keep their
    class (``IsADirectoryError``, ``PermissionError``, ...) and errno, but
    name the URIs instead of paths on the storage's file system, which may
    be a temporary file the user never heard of. Connection errors, and
    error classes of other libraries (their constructors may differ), pass
    unchanged.
    """
    try:
        yield
    except (StorageNotFoundError, StoragePathError, ConnectionError):
        raise
    except FileNotFoundError as e:
        raise StorageNotFoundError(e.strerror or "No such file or directory", uri) from e
    except OSError as e:
        if e.errno is None or type(e).__module__ != "builtins":
            raise
        if uri2 is None:
            raise type(e)(e.errno, e.strerror or str(e), str(uri)) from e
        # The fourth argument is Windows' error code; the second name is fifth.
        raise type(e)(e.errno, e.strerror or str(e), str(uri), None, str(uri2)) from e


def permission(st: FileStat, owner_uid: int | None) -> Action:
    """The neuro_sdk permission of an entry: MANAGE for our own entries (or
    where owners are unknown), WRITE if writable by others, else READ."""
    if st.uid is None or owner_uid is None or st.uid == owner_uid:
        return Action.MANAGE
    if st.mode & 0o022:
        return Action.WRITE
    return Action.READ


def file_status(st: FileStat, path: str, uri: URL, owner_uid: int | None,
                target: str | None = None) -> FileStatus:
    """A :class:`FileStatus` from a cerulean FileStat."""
    return FileStatus(path=path, size=st.size if st.is_file() or st.is_symlink() else 0,
                      type=_TYPES.get(st.entry_type, FileStatusType.UNKNOWN),
                      modification_time=int(st.mtime),
                      permission=permission(st, owner_uid), uri=uri, target=target)


def _display_path(rel: PurePosixPath) -> str:
    return "/" if str(rel) == "." else "/" + str(rel)


def stat(root: StorageRoot, rel: PurePosixPath, uri: URL) -> FileStatus:
    """``Storage.stat``: the entry itself (a link is reported as a link)."""
    with os_errors(uri):
        path = root.resolve(rel, uri, follow=False)
        st = root.backend.lstat(path)
        target = root.backend.readlink(path) if st.is_symlink() else None
    return file_status(st, _display_path(rel), uri, root.owner_uid, target)


def listdir(root: StorageRoot, rel: PurePosixPath, uri: URL) -> list[FileStatus]:
    """``Storage.list``: the entries of a directory, sorted by name."""
    with os_errors(uri):
        path = root.resolve(rel, uri, follow=True)
        entries = root.backend.listdir(path)
        result = []
        for name, st in sorted(entries):
            target = None
            if st.is_symlink():
                target = root.backend.readlink(posixpath.join(path, name))
            result.append(file_status(st, name, uri / name, root.owner_uid, target))
    return result


def is_dir(root: StorageRoot, rel: PurePosixPath, uri: URL) -> bool | None:
    """True for a directory (or a link to one inside the root), False for
    anything else, None if nothing is there."""
    try:
        with os_errors(uri):
            path = root.resolve(rel, uri, follow=True)
            return root.backend.stat(path).is_dir()
    except StorageNotFoundError:
        return None


def _require_parent_dir(root: StorageRoot, rel: PurePosixPath, uri: URL) -> None:
    """Raise FileNotFoundError if the parent of ``rel`` is missing, and
    NotADirectoryError if it is something else than a directory."""
    kind = is_dir(root, rel.parent, uri)
    if kind is None:
        raise FileNotFoundError(errno.ENOENT, "No such directory", str(uri.parent))
    if not kind:
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(uri.parent))


def mkdir(root: StorageRoot, rel: PurePosixPath, uri: URL, parents: bool,
          exist_ok: bool) -> None:
    """``Storage.mkdir`` with neuro_sdk's errors."""
    with os_errors(uri):
        if str(rel) == ".":
            if exist_ok:
                return
            raise FileExistsError(errno.EEXIST, "File exists", str(uri))
        existing = _lstat_or_none(root, rel, uri)
        if existing is not None:
            if exist_ok and (existing.is_dir() or is_dir(root, rel, uri)):
                return
            raise FileExistsError(errno.EEXIST, "File exists", str(uri))
        parent_kind = is_dir(root, rel.parent, uri)
        if parent_kind is None:
            if not parents:
                raise FileNotFoundError(errno.ENOENT, "No such directory",
                                        str(uri.parent))
            _make_parents(root, rel.parent, uri)
        elif not parent_kind:
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(uri.parent))
        try:
            root.backend.mkdir(root.resolve(rel, uri, follow=False))
        except FileExistsError:
            if not exist_ok:
                raise
            # made by someone else meanwhile: fine if it is a directory


def _make_parents(root: StorageRoot, rel: PurePosixPath, uri: URL) -> None:
    """Make the missing directories of ``rel``, each in a checked parent."""
    missing: list[str] = []
    here = rel
    while str(here) != "." and is_dir(root, here, uri) is None:
        missing.append(here.name)
        here = here.parent
    if str(here) != "." and not is_dir(root, here, uri):
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(uri))
    path = root.resolve(here, uri, follow=True)
    for name in reversed(missing):
        path = posixpath.join(path, name)
        makedirs(root.backend, path)


def _lstat_or_none(root: StorageRoot, rel: PurePosixPath, uri: URL) -> FileStat | None:
    try:
        return root.backend.lstat(root.resolve(rel, uri, follow=False))
    except FileNotFoundError:
        return None


def remove(root: StorageRoot, rel: PurePosixPath, uri: URL, recursive: bool,
           on_delete: Callable[[URL, bool], None], token: CancelToken) -> None:
    """``Storage.rm``; ``on_delete(uri, is_dir)`` after each entry is gone,
    a directory after everything in it."""
    if str(rel) == ".":
        raise IllegalArgumentError(f"Refusing to remove the storage root ({uri})")
    with os_errors(uri):
        path = root.resolve(rel, uri, follow=False)
        st = root.backend.lstat(path)
        if not st.is_dir():
            root.backend.unlink(path)
            on_delete(uri, False)
            return
        if not recursive:
            raise IsADirectoryError(errno.EISDIR, "Is a directory, use recursive remove",
                                    str(uri))
        _remove_tree(root, path, uri, on_delete, token)


def _remove_tree(root: StorageRoot, path: str, uri: URL,
                 on_delete: Callable[[URL, bool], None], token: CancelToken) -> None:
    # Entries come from the listing of a resolved directory; links are
    # removed, never followed, so nothing outside the root is touched. The
    # files of a directory go in one batch (pipelined over SFTP).
    token.check()
    entries = root.backend.listdir(path)
    files = sorted(name for name, st in entries if not st.is_dir())
    errors = root.backend.unlink_many([posixpath.join(path, name) for name in files])
    for name, error in zip(files, errors):
        if error is not None and not isinstance(error, FileNotFoundError):
            raise error
        on_delete(uri / name, False)
    for name, st in sorted(entries):
        if st.is_dir():
            _remove_tree(root, posixpath.join(path, name), uri / name, on_delete, token)
    root.backend.rmdir(path)
    on_delete(uri, True)


def move(root: StorageRoot, src_rel: PurePosixPath, src: URL, dst_rel: PurePosixPath,
         dst: URL) -> None:
    """``Storage.mv``: rename within one cluster's storage."""
    if str(src_rel) == ".":
        raise IllegalArgumentError(f"Refusing to move the storage root ({src})")
    if str(dst_rel) == "." or dst_rel == src_rel or src_rel in dst_rel.parents:
        raise OSError(errno.EINVAL, "Cannot move a directory into itself", str(dst))
    with os_errors(src):
        source = root.resolve(src_rel, src, follow=False)
        root.backend.lstat(source)
    with os_errors(dst):
        target = root.resolve(dst_rel, dst, follow=False)
        _require_parent_dir(root, dst_rel, dst)
    with os_errors(src, dst):
        try:
            root.backend.rename(source, target)
        except OSError as e:
            better = _rename_error(root, source, target, e)
            if better is None:
                raise
            raise better from e


def _rename_error(root: StorageRoot, source: str, target: str,
                  error: OSError) -> OSError | None:
    """The error a failed rename means, where the server said too little.

    SFTP servers report a directory in the way, or one that is not empty,
    as a generic FAILURE, and OpenSSH reports a directory moved onto a file
    as "no such file"; both entries are looked at to say what local file
    systems say. None: the error stands.
    """
    generic = error.errno in (None, errno.EIO) or isinstance(error, FileNotFoundError)
    if not generic:
        return None
    try:
        source_dir = root.backend.lstat(source).is_dir()
        target_dir = root.backend.lstat(target).is_dir()
    except OSError:
        return None  # one of them is gone: the error stands
    if target_dir and not source_dir:
        return IsADirectoryError(errno.EISDIR, "Is a directory")
    if source_dir and not target_dir:
        return NotADirectoryError(errno.ENOTDIR, "Not a directory")
    if source_dir and target_dir:
        return OSError(errno.ENOTEMPTY, "Directory not empty")
    return None


def writable_path(root: StorageRoot, rel: PurePosixPath, uri: URL) -> str:
    """The checked path to create or overwrite a file at.

    :raises IsADirectoryError: if a directory is there.
    :raises FileNotFoundError: if the parent directory is missing.
    :raises NotADirectoryError: if the parent is not a directory.
    """
    with os_errors(uri):
        if str(rel) == ".":
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(uri))
        path = root.resolve(rel, uri, follow=True)
        _require_parent_dir(root, rel, uri)
        try:
            if root.backend.stat(path).is_dir():
                raise IsADirectoryError(errno.EISDIR, "Is a directory", str(uri))
        except FileNotFoundError:
            pass
    return path


def create(root: StorageRoot, rel: PurePosixPath, uri: URL, data: Iterable[bytes]) -> None:
    """``Storage.create``: the file appears whole (atomically) or not at all."""
    path = writable_path(root, rel, uri)
    with os_errors(uri):
        root.backend.write_atomic(path, data)


def write(root: StorageRoot, rel: PurePosixPath, uri: URL, data: bytes,
          offset: int) -> None:
    """``Storage.write``: overwrite part of an existing file."""
    with os_errors(uri):
        path = root.resolve(rel, uri, follow=True)
        if root.backend.stat(path).is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(uri))
        root.backend.write_at(path, offset, [data])


def readable_file(root: StorageRoot, rel: PurePosixPath, uri: URL) -> tuple[str, FileStat]:
    """The checked path and stat record of an existing regular file."""
    with os_errors(uri):
        path = root.resolve(rel, uri, follow=True)
        st = root.backend.stat(path)
        if st.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(uri))
    return path, st


def read(root: StorageRoot, rel: PurePosixPath, uri: URL, offset: int,
         size: int | None) -> Iterator[bytes]:
    """``Storage.open``: the content from ``offset``, at most ``size`` bytes."""
    path, _ = readable_file(root, rel, uri)
    chunks = (root.backend.read_stream(path) if offset == 0 and size is None
              else root.backend.read_range(path, offset, size))
    with os_errors(uri):
        try:
            yield from chunks
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


def disk_usage(root: StorageRoot, rel: PurePosixPath, uri: URL) -> tuple[int, int, int]:
    """``Storage.disk_usage``: (total, used, free) of the storage there."""
    with os_errors(uri):
        return root.backend.disk_usage(root.resolve(rel, uri, follow=True))
