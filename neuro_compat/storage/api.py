"""The :class:`Storage` class, ``Client.storage``: the async face of the
Storage API.

Each call resolves its ``storage:`` URI to a cluster and a path below that
cluster's storage root, then runs the blocking operations of
:mod:`~neuro_compat.storage.ops` (single paths) or
:mod:`~neuro_compat.storage.transfer` (uploads and downloads) in the
cluster's worker threads; ``glob`` walks with
:mod:`~neuro_compat.storage.glob`. See :mod:`neuro_compat.storage`.
"""
from __future__ import annotations

import builtins
import errno
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from collections.abc import Set as AbstractSet
from pathlib import Path, PurePosixPath
from stat import S_ISREG
from typing import TypeVar

from typing_extensions import Concatenate, ParamSpec
from yarl import URL

from .._cluster.session import ClusterSession, Sessions
from .._cluster.storage_root import StorageRoot
from .._uri import (
    local_path,
    normalize_local_uri,
    normalize_storage_uri,
    storage_relpath,
)
from .._utils import (
    UNSET,
    AsyncIteratorContext,
    NoPublicConstructor,
    _Unset,
    async_iterator_context,
)
from ..errors import IllegalArgumentError, StorageNotFoundError
from . import ops
from .filters import keep_all, with_ancestor_ignore_files
from .glob import expand
from .progress import (
    AbstractDeleteProgress,
    AbstractFileProgress,
    AbstractRecursiveFileProgress,
    StorageProgressDelete,
)
from .transfer import Transfer, download_offset, upload_offset
from .types import DiskUsageInfo, FileStatus

_T = TypeVar("_T")
_P = ParamSpec("_P")


class _Target:
    """A storage URI resolved to its cluster, root and path below the root."""

    __slots__ = ("rel", "session", "uri")

    def __init__(self, session: ClusterSession, uri: URL, rel: PurePosixPath) -> None:
        self.session = session
        self.uri = uri
        self.rel = rel

    async def root(self) -> StorageRoot:
        """The cluster's storage root (opened in a worker thread the first time)."""
        return await self.session.bridge.run(self.session.storage_root)

    async def run(self, fn: Callable[Concatenate[StorageRoot, PurePosixPath, URL, _P], _T],
                  *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``fn(root, rel, uri, *args, **kwargs)`` in a worker thread."""
        session, rel, uri = self.session, self.rel, self.uri

        def call() -> _T:
            # One worker call opens the session (first time) and does the work.
            return fn(session.storage_root(), rel, uri, *args, **kwargs)

        return await session.bridge.run(call)

    async def transfer(self, progress: object, *, update: bool = False,
                       continue_: bool = False) -> Transfer:
        """A :class:`~neuro_compat.storage.transfer.Transfer` onto this
        target's cluster, reporting to ``progress`` (the user's object, or
        None)."""
        return Transfer(self.session.bridge, await self.root(), progress, update=update,
                        continue_=continue_)


class Storage(metaclass=NoPublicConstructor):
    """Storage subsystem, available as ``Client.storage``.

    The subsystem can be used for listing remote storage, uploading and
    downloading files etc. ``storage:`` URIs name paths below the storage
    root of a configured cluster: ``storage:folder`` is ``folder`` in the
    user's directory, ``storage:/user/folder`` and
    ``storage://cluster/user/folder`` are absolute. Paths never lead out of
    the storage root: ``..`` and symbolic links pointing outside are refused
    with :class:`StoragePathError`.

    An interrupted upload or download leaves either nothing (files up to
    1 MiB in directory transfers, which land whole or not at all) or a
    prefix of the file, written front to back in place, which the same
    call with ``continue_=True`` completes byte-exactly.
    """

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    def _target(self, uri: URL) -> _Target:
        config = self._sessions.config
        uri = normalize_storage_uri(uri, config.username, config.cluster_name)
        assert uri.host is not None
        if uri.host not in config.clusters:
            raise IllegalArgumentError(
                f"Unknown cluster '{uri.host}' in {uri}; the configured clusters are "
                f"{', '.join(config.clusters)}")
        return _Target(self._sessions.get(uri.host), uri, storage_relpath(uri))

    # --- Remote file system operations ---------------------------------------

    @async_iterator_context
    async def list(self, uri: URL) -> AsyncGenerator[FileStatus, None]:
        """List a directory *uri* on the storage, e.g.::

            folder = yarl.URL("storage:folder")
            async with client.storage.list(folder) as statuses:
                async for status in statuses:
                    print(status.name, status.size)

        :param uri: directory to list.
        :returns: asynchronous iterator which emits :class:`FileStatus`
            objects for the directory content (sorted by name).
        :raises FileNotFoundError: if *uri* does not exist.
        :raises NotADirectoryError: if *uri* is not a directory.
        """
        target = self._target(uri)
        for status in await target.run(ops.listdir):
            yield status

    def glob(self, uri: URL, *, dironly: bool = False) -> AsyncIteratorContext[URL]:
        """Glob the given relative pattern *uri* in the directory represented
        by this *uri*, yielding all matching remote files (of any kind)::

            folder = yarl.URL("storage:folder/*")
            async with client.storage.glob(folder) as uris:
                async for uri in uris:
                    print(uri)

        The ``**`` pattern means "this directory and all sub-directories,
        recursively". Names starting with ``.`` are matched only by patterns
        starting with ``.``. A *uri* without wildcards is yielded as is.

        :param uri: a pattern to glob.
        :param dironly: search in directory names only, False by default.
        :returns: asynchronous iterator of the matching URIs.
        """
        return AsyncIteratorContext(expand(uri, dironly, self._exists, self._entries))

    async def _exists(self, uri: URL) -> bool:
        try:
            await self.stat(uri)
        except StorageNotFoundError:
            return False
        return True

    async def _entries(self, uri: URL, dironly: bool) -> builtins.list[FileStatus]:
        try:
            entries = await self._target(uri).run(ops.listdir)
        except (StorageNotFoundError, NotADirectoryError):
            return []
        return [e for e in entries if e.is_dir() or not dironly]

    async def mkdir(self, uri: URL, *, parents: bool = False,
                    exist_ok: bool = False) -> None:
        """Create a directory *uri*. Also create parent directories if
        *parents* is True, fail if directory exists and not *exist_ok*.

        :param uri: a path to directory for creation, e.g.
            ``yarl.URL("storage:folder/subfolder")``.
        :param parents: create parent directories if they do not exist,
            raise ``FileNotFoundError`` otherwise (False by default).
        :param exist_ok: finish successfully if directory *uri* already
            exists, raise ``FileExistsError`` otherwise (False by default).
        :raises FileExistsError: if the directory exists and *exist_ok* is
            not set (or a file is there).
        :raises FileNotFoundError: if parent directories don't exist and
            *parents* is not set.
        """
        await self._target(uri).run(ops.mkdir, parents, exist_ok)

    async def mv(self, src: URL, dst: URL) -> None:
        """Rename remote file or directory *src* to *dst*.

        :param src: remote source path, e.g. ``yarl.URL("storage:folder/file.bin")``.
        :param dst: remote destination path, e.g. ``yarl.URL("storage:folder/new.bin")``.
        :raises ValueError: if *src* and *dst* are on different clusters.
        :raises FileNotFoundError: if *src* or the parent of *dst* is missing.
        :raises IsADirectoryError: if *dst* is a directory and *src* is not.
        :raises NotADirectoryError: if *src* is a directory and *dst* is not.
        :raises OSError: ``ENOTEMPTY`` if *dst* is a directory that is not
            empty. The errors of the rename itself name both URIs, as
            ``os.rename`` names both paths.
        """
        source, target = self._target(src), self._target(dst)
        if source.uri.host != target.uri.host:
            raise ValueError("Cannot move cross-cluster")
        await source.run(ops.move, target.rel, target.uri)

    async def rm(self, uri: URL, *, recursive: bool = False,
                 progress: AbstractDeleteProgress | None = None) -> None:
        """Remove remote file or directory *uri*.

        :param uri: remote path to delete, e.g. ``yarl.URL("storage:folder/file.bin")``.
        :param recursive: remove a directory recursively with all nested
            files and folders if True (False by default).
        :param progress: receives a :class:`StorageProgressDelete` for each
            removed entry (a directory after its content), or None.
        :raises IsADirectoryError: if *uri* points on a directory and
            *recursive* flag is not set.
        :raises FileNotFoundError: if *uri* does not exist.
        """
        target = self._target(uri)
        transfer = await target.transfer(progress)

        def deleted(entry: URL, is_dir: bool) -> None:
            transfer.relay.emit("delete", StorageProgressDelete(entry, is_dir))

        await transfer.call(ops.remove, transfer.root, target.rel, target.uri, recursive, deleted,
                            transfer.token)

    async def stat(self, uri: URL) -> FileStatus:
        """Return information about *uri*.

        A symbolic link is described as itself (type ``SYMLINK``, with its
        ``target``).

        :param uri: storage path for requested info, e.g.
            ``yarl.URL("storage:folder/file.bin")``.
        :returns: data structure for given *uri*, :class:`FileStatus` object.
        :raises FileNotFoundError: (also a :class:`ResourceNotFound`) if
            *uri* does not exist.
        """
        return await self._target(uri).run(ops.stat)

    async def disk_usage(self, cluster_name: str | None = None,
                         org_name: str | None | _Unset = UNSET,
                         uri: URL | None = None) -> DiskUsageInfo:
        """Return information about disk usage of the storage of a cluster.

        :param cluster_name: cluster to retrieve info for; None for the
            current cluster.
        :param org_name: organization; only None is meaningful here.
        :param uri: a storage path whose file system to describe; default
            the user's directory on the cluster.
        :returns: :class:`DiskUsageInfo` of the file system holding the
            storage.
        :raises NotSupportedError: on WebDAV storage.
        """
        if not isinstance(org_name, _Unset) and org_name is not None:
            raise ValueError(f"Organizations do not exist on HPC clusters (org '{org_name}')")
        if uri is None:
            config = self._sessions.config
            cluster = cluster_name or config.cluster_name
            username = config.cluster_config(cluster).username
            uri = URL.build(scheme="storage", host=cluster, path=f"/{username}")
        target = self._target(uri)
        total, used, free = await target.run(ops.disk_usage)
        assert target.uri.host is not None
        return DiskUsageInfo(cluster_name=target.uri.host, total=total, used=used,
                             free=free, org_name=None, uri=target.uri)

    # --- File operations -------------------------------------------------------

    async def create(self, uri: URL, data: bytes | AsyncIterator[bytes]) -> None:
        """Create a file on storage under *uri* name, fill it with the
        content from *data* (bytes, or an asynchronous iterator of bytes),
        e.g.::

            async def gen():
                for i in range(10):
                    yield str(i).encode() * 10

            await client.storage.create(yarl.URL("storage:folder/file.bin"), gen())

        An existing file is replaced. The file appears whole, or (if *data*
        raises or the call is cancelled) not at all.

        :param uri: path to created file, e.g. ``yarl.URL("storage:folder/file.txt")``.
        :param data: the content.
        :raises FileNotFoundError: if the parent directory is missing.
        :raises IsADirectoryError: if *uri* is a directory.
        """
        target = self._target(uri)
        if isinstance(data, (bytes, bytearray, memoryview)):
            await target.run(ops.create, [bytes(data)])
            return
        root = await target.root()
        await target.session.bridge.feed(
            lambda chunks: ops.create(root, target.rel, target.uri, chunks), data)

    async def write(self, uri: URL, data: bytes, offset: int) -> None:
        """Overwrite the part of existing file on storage under *uri* name.

        :param uri: storage path of remote file, e.g.
            ``yarl.URL("storage:folder/file.txt")``.
        :param data: data to be written. Must be non-empty.
        :param offset: position in file from which to write.
        :raises ValueError: for empty *data* or a negative *offset*.
        :raises FileNotFoundError: if the file does not exist.
        :raises NotSupportedError: on WebDAV storage.
        """
        if not data:
            raise ValueError("empty data")
        if offset < 0:
            raise ValueError("offset should be >= 0")
        await self._target(uri).run(ops.write, bytes(data), offset)

    @async_iterator_context
    async def open(self, uri: URL, offset: int = 0,
                   size: int | None = None) -> AsyncGenerator[bytes, None]:
        """Get the content of remote file *uri* or its fragment as
        asynchronous iterator, e.g.::

            file = yarl.URL("storage:folder/file.txt")
            async with client.storage.open(file) as content:
                async for data in content:
                    print(data)

        :param uri: storage path of remote file.
        :param offset: position in file from which to read.
        :param size: maximal size of the read data; None reads to the end.
        :returns: asynchronous iterator used for retrieving the file content.
        :raises ValueError: for a negative *offset* or *size*.
        :raises FileNotFoundError: if the file does not exist.
        :raises IsADirectoryError: if *uri* is a directory.
        """
        if offset < 0:
            raise ValueError("offset should be >= 0")
        if size is not None and size < 0:
            raise ValueError("size should be >= 0")
        target = self._target(uri)
        root = await target.root()
        if size == 0:
            await target.session.bridge.run(ops.readable_file, root, target.rel, target.uri)
            return
        chunks = ops.read(root, target.rel, target.uri, offset, size)
        async for chunk in target.session.bridge.iterate(chunks, batch=1):
            yield chunk

    # --- Copy operations ----------------------------------------------------------

    async def upload_file(self, src: URL, dst: URL, *, update: bool = False,
                          continue_: bool = False,
                          progress: AbstractFileProgress | None = None) -> None:
        """Upload local file *src* to storage URL *dst*.

        :param src: path to uploaded file on local disk, e.g.
            ``yarl.URL("file:///home/andrew/folder/file.txt")``.
        :param dst: path on remote storage for saving uploading file, e.g.
            ``yarl.URL("storage:folder/file.txt")``.
        :param update: if true, upload only when the source file is newer
            than the destination file or when the destination file is
            missing.
        :param continue_: if true, upload only the part of the source file
            past the end of the destination file and append it to the
            destination file if the destination file is newer and not longer
            than the source file. Otherwise upload and overwrite the whole
            file.
        :param progress: a callback interface for reporting uploading
            progress, None for no progress report (default).
        :raises FileNotFoundError: if *src* does not exist.
        :raises IsADirectoryError: if *src* or *dst* is a directory.
        :raises NotADirectoryError: if the parent of *dst* is not an
            existing directory.
        """
        src = normalize_local_uri(src)
        path = local_path(src)
        target = self._target(dst)
        transfer = await target.transfer(progress, update=update, continue_=continue_)
        local = await transfer.call(_local_source_file, path)
        try:
            status: FileStatus | None = await target.run(ops.stat)
        except StorageNotFoundError:
            status = None
            parent = await target.run(_parent_kind)
            if parent is not True:
                raise NotADirectoryError(errno.ENOTDIR, "Not a directory",
                                         str(target.uri.parent)) from None
        offset: int | None = 0
        if status is not None:
            if status.is_dir() or (status.is_symlink()
                                   and await target.run(ops.is_dir) is True):
                raise IsADirectoryError(errno.EISDIR, "Is a directory", str(target.uri))
            if update or continue_:
                offset = upload_offset(local, status, update, continue_)
        if offset is None:
            return
        await transfer.upload_file(path, target.rel, src, target.uri, offset)

    async def download_file(self, src: URL, dst: URL, *, update: bool = False,
                            continue_: bool = False,
                            progress: AbstractFileProgress | None = None) -> None:
        """Download remote file *src* to local path *dst*.

        :param src: path on remote storage to download a file from, e.g.
            ``yarl.URL("storage:folder/file.bin")``.
        :param dst: local path to save downloaded file, e.g.
            ``yarl.URL("file:///home/andrew/folder/file.bin")``.
        :param update: as in :meth:`upload_file`, with the local file as the
            destination.
        :param continue_: as in :meth:`upload_file`, appending to the local
            file.
        :param progress: a callback interface for reporting downloading
            progress, None for no progress report (default).
        :raises FileNotFoundError: if *src* does not exist.
        :raises IsADirectoryError: if *src* is a directory.
        """
        target = self._target(src)
        dst = normalize_local_uri(dst)
        path = local_path(dst)
        transfer = await target.transfer(progress, update=update, continue_=continue_)
        _, st = await transfer.call(ops.readable_file, transfer.root, target.rel, target.uri)
        offset: int | None = 0
        if update or continue_:
            local = await transfer.call(_local_regular_or_none, path)
            if local is not None:
                offset = download_offset(local, st.mtime, st.size, update, continue_)
        if offset is None:
            return
        await transfer.download_file(target.rel, st.size, path, target.uri, dst, offset)

    async def upload_dir(self, src: URL, dst: URL, *, update: bool = False,
                         continue_: bool = False,
                         filter: Callable[[str], Awaitable[bool]] | None = None,
                         ignore_file_names: AbstractSet[str] = frozenset(),
                         progress: AbstractRecursiveFileProgress | None = None) -> None:
        """Recursively upload local directory *src* to storage URL *dst*.

        Several files move at once (up to 20, and batches of small files),
        over the cluster's one connection.

        :param src: path to uploaded directory on local disk, e.g.
            ``yarl.URL("file:///home/andrew/folder")``.
        :param dst: path on remote storage for saving uploading directory,
            e.g. ``yarl.URL("storage:folder")``.
        :param update: if true, upload only files newer than the destination
            files, or missing there.
        :param continue_: if true, append the missing end of destination
            files that are newer and shorter than the source files; see
            :meth:`upload_file`.
        :param filter: a callback function for determining which files and
            subdirectories be uploaded. It is called with a relative path of
            file or directory (directories end with ``/``) and if the result
            is false the file or directory will be skipped.
        :param ignore_file_names: a set of names of files which specify
            filters for skipping files and subdirectories, in ``.gitignore``
            format; such files in *src*, below it and in its parent
            directories apply.
        :param progress: a callback interface for reporting uploading
            progress, None for no progress report (default).
        :raises FileNotFoundError: if *src* does not exist, or the parent of
            *dst* is missing.
        :raises NotADirectoryError: if *src* or *dst* is not a directory.
        """
        src = normalize_local_uri(src)
        path = local_path(src)
        target = self._target(dst)
        transfer = await target.transfer(progress, update=update, continue_=continue_)
        path = await transfer.call(_local_source_dir, path)
        keep = filter if filter is not None else keep_all
        if ignore_file_names:
            keep = await transfer.call(with_ancestor_ignore_files, keep,
                                       frozenset(ignore_file_names), path)
        await transfer.upload_dir(src, path, target.uri, target.rel, "", keep,
                                  frozenset(ignore_file_names))

    async def download_dir(self, src: URL, dst: URL, *, update: bool = False,
                           continue_: bool = False,
                           filter: Callable[[str], Awaitable[bool]] | None = None,
                           progress: AbstractRecursiveFileProgress | None = None) -> None:
        """Recursively download remote directory *src* to local path *dst*.

        :param src: path on remote storage to download a directory from,
            e.g. ``yarl.URL("storage:folder")``.
        :param dst: local path to save downloaded directory, e.g.
            ``yarl.URL("file:///home/andrew/folder")``.
        :param update: if true, download only files newer than the local
            files, or missing locally.
        :param continue_: if true, append the missing end of local files
            that are newer and shorter; see :meth:`download_file`.
        :param filter: a callback function for determining which files and
            subdirectories be downloaded, called with a relative path (see
            :meth:`upload_dir`).
        :param progress: a callback interface for reporting downloading
            progress, None for no progress report (default).
        :raises FileNotFoundError: if *src* does not exist.
        :raises NotADirectoryError: if *src* or *dst* is not a directory.
        """
        target = self._target(src)
        dst = normalize_local_uri(dst)
        path = local_path(dst)
        transfer = await target.transfer(progress, update=update, continue_=continue_)
        if await target.run(ops.is_dir) is not True:
            await target.run(ops.stat)  # FileNotFoundError if missing
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(target.uri))
        keep = filter if filter is not None else keep_all
        await transfer.download_dir(target.uri, target.rel, dst, path, "", keep)


def _parent_kind(root: StorageRoot, rel: PurePosixPath, uri: URL) -> bool | None:
    return ops.is_dir(root, rel.parent, uri.parent)


def _local_source_file(path: Path) -> os.stat_result:
    st = path.stat()  # FileNotFoundError if missing
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "Is a directory, use recursive copy", str(path))
    return st


def _local_source_dir(path: Path) -> Path:
    resolved = path.resolve()
    if not resolved.exists():
        raise FileNotFoundError(errno.ENOENT, "No such file", str(path))
    if not resolved.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(path))
    return resolved


def _local_regular_or_none(path: Path) -> os.stat_result | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st if S_ISREG(st.st_mode) else None

