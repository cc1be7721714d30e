"""WebDAV file systems, through one keep-alive ``requests.Session``.

Every primitive of :class:`cerulean.file_system_impl.FileSystemImpl` maps
onto one or two plain WebDAV requests, sent with requests directly rather
than through webdavclient3: webdavclient3 parses the server's XML with
lxml (not defusedxml), sends an extra existence check (HEAD) before many
operations, rewrites paths that contain ``/./`` or ``/../``-like names, and
reads or writes files in 64 KiB steps through a file object; none of that
helps here, so the distribution does not depend on it. The requests, and
the statuses that mean the same for every method, are in
:mod:`cerulean._webdav.http`; the XML in :mod:`cerulean._webdav.xml`; the
streamed GET and PUT of a file's bytes, and the batches that keep several
requests in flight, in :mod:`cerulean._webdav.transfer`.

How the operations map, and what each costs:

========================  ==================================================
primitive                 requests
========================  ==================================================
stat, lstat, exists, ...  1 PROPFIND, Depth 0
listdir (iterdir, walk)   1 PROPFIND, Depth 1; the entries' type, size and
                          mtime come from it and are never asked for again
read                      1 GET, streamed in 256 KiB chunks
write                     1 PUT, streamed (chunked transfer encoding)
atomic write (copy())     PUT to a temporary name, MOVE with Overwrite: F;
                          if the target exists, 1 PROPFIND and a MOVE with
                          Overwrite: T
mkdir                     1 MKCOL
unlink                    1 PROPFIND (a DELETE on a directory would delete
                          the whole tree), 1 DELETE with Depth: 0
rmdir                     1 PROPFIND, Depth 1 (must be empty), 1 DELETE
rmdir(recursive=True),    1 PROPFIND (must be a directory), 1 DELETE of
remove() of a directory   the whole collection
rename                    1 MOVE with Overwrite: F; if the target exists,
                          PROPFINDs to apply POSIX rename rules, then a MOVE
                          with Overwrite: T
touch (existing file)     PROPFIND, GET and PUT of the whole content to a
                          temporary name, MOVE over the file: WebDAV cannot
                          set a modification time (PROPPATCH of
                          getlastmodified is refused by wsgidav and Apache)
========================  ==================================================
"""
from __future__ import annotations

import errno
import logging
import os
import posixpath
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from functools import partial
from typing import TypeVar

import requests

from cerulean._webdav import http, transfer
from cerulean._webdav.xml import DavResource
from cerulean.credential import Credential, PasswordCredential
from cerulean.file_system import UnsupportedOperationError
from cerulean.file_system_impl import (
    Capability,
    DirEntry,
    FileSystemImpl,
    WriteItem,
    check_range,
    name_target,
)
from cerulean.path import EntryType, FileStat

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

READ_CHUNK = transfer.READ_CHUNK
"""Bytes per chunk of a streamed GET (set in :mod:`cerulean._webdav.transfer`)."""

PARALLEL = 4
"""Requests the batch helpers (walk, copy() of small files) keep in
flight. A Python server gains little from more (measured on wsgidav: 1.5
times the sequential rate with 4 to 8)."""

FILE_MODE = 0o600
"""The permission bits reported for files: WebDAV has no permissions, and
the server let us read this one (the emulation of Cerulean 1.0)."""

DIRECTORY_MODE = 0o700
"""The permission bits reported for directories."""

CUT_RECHECKS = (0.05, 0.1, 0.2, 0.4)
"""Seconds to wait before each look for a temporary file that reappeared
after its upload lost the connection (see
:meth:`WebdavFileSystem._discard_after_cut`): 0.75 s in all, spent only
when a connection broke."""

def _record(resource: DavResource) -> FileStat:
    if resource.is_collection:
        return FileStat(EntryType.DIRECTORY, 0, resource.mtime,
                        DIRECTORY_MODE, None, None)
    return FileStat(EntryType.FILE, resource.size, resource.mtime,
                    FILE_MODE, None, None)


class WebdavFileSystem(FileSystemImpl):
    """A FileSystem implementation that connects to a WebDAV server.

    WebdavFileSystem supports the / operation:

    .. code-block:: python

      fs / 'path'

    which produces a :class:`cerulean.Path`, through which you can do
    things with the remote files.

    It is also a context manager, so that you can (and should!) use it
    with a ``with`` statement, which will ensure that the connection is
    closed when you are done with it. Alternatively, you can call
    :meth:`close` to close the connection.

    The WebDAV protocol does not support all operations specified by the
    Cerulean API. In particular, symbolic links are not supported, nor are
    ownership and permissions. Read access to these properties is
    emulated: ``is_symlink()`` always returns False and ``readlink()``
    raises ``OSError`` (EINVAL); there are only files and directories;
    ``uid()`` and ``gid()`` return None (Cerulean 1.0 said 0, which would
    claim that root owns everything); the permission bits are those of a
    private file (``0o600``) or directory (``0o700``), since what the
    server lets us do is all we know.

    By default, if you try to run any of the related modifying methods,
    e.g. ``symlink_to()``, ``chmod()``, ``set_permission()`` or
    ``mkdir()`` with a ``mode``, an :class:`cerulean.UnsupportedOperationError`
    will be raised. If you set ``unsupported_methods_raise`` to False when
    creating a WebdavFileSystem, then these methods will simply return
    without doing anything.

    Other differences by design: modification times have a resolution of
    one second (HTTP dates); ``touch()`` on an existing file rewrites its
    content (WebDAV cannot set a time), which costs a download and an
    upload of the file; and ``unlink()`` and ``rmdir()`` check what is
    there before deleting, so a DELETE never removes more than asked.

    WebdavFileSystem supports both HTTP and HTTPS, but not client-side
    certificates. Names may hold any character, including spaces, ``#``,
    ``%`` and non-ASCII ones: each path segment is percent-encoded as
    UTF-8. All requests go over one keep-alive connection pool; all XML
    from the server is parsed with defusedxml.

    :param url: The server base location, e.g. http://example.com/webdav.
        Paths on this file system are relative to it.
    :param credential: The credential to use to connect: a
        :class:`cerulean.PasswordCredential` (HTTP basic authentication),
        or None for anonymous access.
    :param host_ca_cert_file: Path to a certificate file to use for
        authentication of the server. Useful for servers that use a
        self-signed certificate.
    :param unsupported_methods_raise: Raise on using an unsupported
        method, see above.
    :raises ValueError: If the url is not an http(s) URL, or the
        credential is not a PasswordCredential.
    :raises PermissionError: If the server rejects the credential.
    :raises FileNotFoundError: If the url does not exist on the server,
        or host_ca_cert_file does not exist.
    :raises ConnectionError: If the server cannot be reached, or its
        certificate cannot be verified.
    """

    def __init__(self, url: str, credential: Credential | None = None,
                 host_ca_cert_file: str | None = None,
                 unsupported_methods_raise: bool | None = True) -> None:
        """Create a WebdavFileSystem and check that the url answers.

        See the class documentation for the parameters.
        """
        http.split_base_url(url)  # a bad url is reported before the rest
        # As in Cerulean 1.0, None counts as False.
        self._raise_unsupported = bool(unsupported_methods_raise)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

        verify: bool | str = True
        if host_ca_cert_file is not None:
            ca_file = os.fspath(host_ca_cert_file)
            if not os.path.exists(ca_file):
                raise FileNotFoundError(
                    errno.ENOENT, "host_ca_cert_file does not exist", ca_file)
            # Passed with every request: a session-wide setting would be
            # overridden by a REQUESTS_CA_BUNDLE environment variable.
            verify = ca_file

        if credential is not None and not isinstance(
                credential, PasswordCredential):
            raise ValueError(
                "WebdavFileSystem needs a PasswordCredential (or None for"
                f" anonymous access), not a {type(credential).__name__}")
        auth = (None if credential is None
                else (credential.username, credential.password))
        # Several connections, so that threads (and a GET streaming into a
        # PUT, as touch() does) each get their own.
        self._http = http.DavSession(url, auth, verify, 2 * PARALLEL + 2)

        try:
            root = self._stat("/")
        except BaseException:
            self._http.close()
            raise
        if not root.is_dir():
            self._http.close()
            raise NotADirectoryError(
                errno.ENOTDIR, "WebDAV url is not a collection", url)
        logger.debug("connected to WebDAV server at %s", self._http.base_url)

    # --- The FileSystem interface -------------------------------------------

    def close(self) -> None:
        """Close connections and free resources, if any.

        FileSystem objects may hold resources that need to be freed when
        you are done with the object. You can free them by calling this
        function, or you can use the FileSystem as a context manager using
        a with statement. Using the file system after closing it raises
        ValueError.
        """
        # Closed first, so that requests the pool has not started yet fail.
        self._http.closed = True
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def __eq__(self, other: object) -> bool:
        """Whether other is a WebdavFileSystem with the same base URL."""
        return (isinstance(other, WebdavFileSystem)
                and self._http.base_url == other._http.base_url)

    def __hash__(self) -> int:
        return hash((WebdavFileSystem, self._http.base_url))

    def __repr__(self) -> str:
        return f"WebdavFileSystem({self._http.base_url!r})"

    def _as_uri(self, path: str) -> str:
        return self._http.url(path)

    def _can(self, capability: Capability) -> bool:
        # Only files and directories, without links, permissions or owners.
        return False

    def _parent_error(self, response: requests.Response,
                      path: str) -> OSError:
        """Explain a 409 Conflict of PUT, MKCOL or MOVE: the parent (of
        path) is missing or not a directory."""
        parent = posixpath.dirname(http.normalise(path))
        try:
            is_dir = self._stat(parent).is_dir()
        except FileNotFoundError:
            return FileNotFoundError(
                errno.ENOENT, f"No such file or directory: {parent}", path)
        if not is_dir:
            return NotADirectoryError(
                errno.ENOTDIR, f"Not a directory: {parent}", path)
        return http.status_error(response, path)

    def _unsupported(self, what: str) -> None:
        if self._raise_unsupported:
            raise UnsupportedOperationError(
                f"WebDAV does not support {what}; create the WebdavFileSystem"
                " with unsupported_methods_raise=False to make such calls do"
                " nothing")

    # --- Metadata -------------------------------------------------------------

    def _stat(self, path: str) -> FileStat:
        own = self._http.own(self._http.propfind(path, 0), path)
        if not 200 <= own.status < 300:
            raise FileNotFoundError(
                errno.ENOENT, f"WebDAV PROPFIND {self._http.url(path)}: the server"
                f" reports status {own.status}", path)
        return _record(own)

    def _lstat(self, path: str) -> FileStat:
        # No links: what is there is what a link-following stat sees.
        return self._stat(path)

    def _listdir(self, path: str) -> list[DirEntry]:
        resources = self._http.propfind(path, 1)
        own = self._http.own(resources, path)
        if not own.is_collection:
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
        entries: list[DirEntry] = []
        seen: set[str] = set()
        for resource in resources:
            # Only direct members: a server that ignores "Depth: 1" and
            # answers with the whole tree must not add grandchildren.
            if (resource is own
                    or posixpath.dirname(resource.path) != own.path):
                continue
            name = posixpath.basename(resource.path)
            if not name or name in seen:
                continue
            if not 200 <= resource.status < 300:
                logger.warning("WebDAV listing of %s: skipping %s (status"
                               " %d)", path, name, resource.status)
                continue
            seen.add(name)
            entries.append((name, _record(resource)))
        return entries

    def _read_link(self, path: str) -> str:
        self._stat(path)  # "no such file" rather than "not a link"
        raise OSError(errno.EINVAL, "Invalid argument (WebDAV has no"
                      " symbolic links)", path)

    # --- Name space -----------------------------------------------------------

    def _make_dir(self, path: str, mode: int | None = None) -> None:
        if mode is not None:
            self._unsupported(f"permissions (mkdir with mode {mode:#o})")
        response = self._http.send("MKCOL", self._http.url(path))
        if http.ok(response):
            return
        if response.status_code == 405:  # something is there already
            raise FileExistsError(errno.EEXIST, "File exists", path)
        if response.status_code == 409:
            raise self._parent_error(response, path)
        raise http.status_error(response, path)

    def _remove_entry(self, path: str) -> None:
        # A DELETE of a collection removes everything in it, so look first.
        if self._stat(path).is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        # "Depth: 0" makes wsgidav and Apache refuse (400) to delete a
        # directory that appeared since the PROPFIND.
        response = self._http.delete(path, {"Depth": "0"})
        if http.ok(response):
            return
        if response.status_code == 400 and self._stat(path).is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        raise http.status_error(response, path)

    def _remove_tree(self, path: str, info: FileStat | None = None) -> None:
        """Remove the directory at path and everything in it: one DELETE.

        A DELETE of a collection always removes the whole tree on the
        server (RFC 4918, 9.6.1), which takes one request instead of a
        listing per directory and two requests per file. The PROPFIND
        first makes sure it is a collection, so that a mistaken path to a
        file raises NotADirectoryError, as on every file system; it is left
        out when the caller passes the record it has just fetched
        (remove(), copy()).

        :param info: The stat() record of path, if the caller has it.
        :raises FileNotFoundError: If nothing is at path.
        :raises NotADirectoryError: If path is not a directory.
        :raises OSError: EBUSY for the root (the base URL itself: deleting
            it would remove the share); or, if the server could not delete
            some members (an answer of 207 Multi-Status), the error of the
            first of them.
        """
        if http.normalise(path) == "/":
            raise OSError(errno.EBUSY, "will not remove the root of a WebDAV"
                          " file system (the base URL)", path)
        if info is None:
            info = self._stat(path)
        if not info.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
        response = self._http.delete(path, {"Depth": "infinity"})
        if http.ok(response):
            return
        if response.status_code == 207:
            raise http.member_error(
                response, response.request.url or self._http.url(path), path)
        raise http.status_error(response, path)

    def _remove_dir(self, path: str) -> None:
        if self._listdir(path):
            raise OSError(errno.ENOTEMPTY, "Directory not empty", path)
        response = self._http.delete(path)
        if not http.ok(response):
            raise http.status_error(response, path)

    def _rename_entry(self, source: str, target: str) -> None:
        source_norm, target_norm = http.normalise(source), http.normalise(target)
        if source_norm == target_norm:
            self._stat(source)  # renaming onto itself does nothing
            return
        if target_norm.startswith(source_norm.rstrip("/") + "/"):
            raise OSError(errno.EINVAL, "Cannot move a directory into"
                          f" itself: {target}", source)
        self._move_posix(source, target, error_path=source)

    def _move_posix(self, source: str, target: str, error_path: str,
                    source_is_dir: bool | None = None) -> None:
        """MOVE source to target; if something is there, replace it only
        as POSIX rename would (see :meth:`_replace`).

        :param error_path: The path a failure of the MOVE names.
        :param source_is_dir: What source is, if known (saves a PROPFIND).
        """
        response = self._http.move(source, target, overwrite=False)
        if http.ok(response):
            return
        if response.status_code == 412:
            self._replace(source, target, source_is_dir)
            return
        if response.status_code == 409:
            raise self._parent_error(response, target)
        raise http.status_error(response, error_path)

    def _replace(self, source: str, target: str,
                 source_is_dir: bool | None = None) -> None:
        """Move source over an existing target, following POSIX rename:
        a file replaces a file, a directory replaces an empty directory.

        A MOVE with Overwrite: T would replace anything, even a full
        directory by a file, so the types are checked first.
        """
        try:
            target_is_dir = self._stat(target).is_dir()
        except FileNotFoundError:
            target_is_dir = False  # gone meanwhile: nothing to protect
        if source_is_dir is None:
            source_is_dir = self._stat(source).is_dir()
        if target_is_dir and not source_is_dir:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", target)
        if source_is_dir and not target_is_dir:
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", target)
        if target_is_dir and self._listdir(target):
            raise OSError(errno.ENOTEMPTY, "Directory not empty", target)
        response = self._http.move(source, target, overwrite=True)
        if not http.ok(response):
            raise http.status_error(response, source)

    def _symlink(self, path: str, target: str) -> None:
        self._unsupported("symbolic links")

    def _set_mode(self, path: str, mode: int) -> None:
        self._unsupported("permissions")

    def _touch_entry(self, path: str) -> None:
        try:
            info = self._stat(path)
        except FileNotFoundError:
            self._create_empty(path)
            return
        if info.is_dir():
            # Adding and removing a member updates a directory's mtime on
            # servers that store files in a file system (wsgidav, Apache).
            temp = self._temp_name(posixpath.join(http.normalise(path), "touch"))
            self._create_empty(temp)
            self._discard(temp)
        else:
            # Rewriting the content is the only portable way to set the
            # time; atomic, so the file is never seen half-written.
            with closing(self._get(path)) as content:
                self._write_atomic(path, content)

    def _create_empty(self, path: str) -> None:
        # If-None-Match: never truncate a file that appeared meanwhile.
        response = self._http.send("PUT", self._http.url(path), data=b"",
                              headers={"If-None-Match": "*"})
        if http.ok(response) or response.status_code in (405, 412):
            return  # created, or something appeared: it exists now
        if response.status_code == 409:
            raise self._parent_error(response, path)
        raise http.status_error(response, path)

    # --- Contents -------------------------------------------------------------

    def _read_stream(self, path: str,
                     size_hint: int | None = None) -> Iterator[bytes]:
        return self._get(path)

    def _get(self, path: str, offset: int = 0, size: int | None = None
             ) -> Generator[bytes, None, None]:
        """GET the file at path; from offset, at most size bytes, with a
        Range header (and skipping, if the server ignores it)."""
        return transfer.get(self._http, path, offset, size)

    # --- Optional primitives (additions to Cerulean 1.0) ----------------------
    #
    # _write_at is left to the default (unsupported): a PUT replaces a whole
    # file, and the partial PUT a few servers accept (Content-Range) needs
    # "prior agreement" (RFC 9110, 14.5), which a client cannot check.
    # _disk_usage too: RFC 4331's quota properties are optional, and what
    # they count (the share, the disk, the user) differs between servers.

    def _read_range(self, path: str, offset: int,
                    size: int | None = None) -> Iterator[bytes]:
        check_range(offset, size)
        if size == 0:
            return self._nothing_of(path)
        return self._get(path, offset, size)

    def _write_stream(self, path: str, data: Iterable[bytes],
                      mode: int | None = None,
                      exclusive: bool = False) -> int:
        # mode is ignored: the server decides what a new file's
        # permissions are, and copy() passes it for every file.
        response, count = transfer.put(self._http, path, data, exclusive)
        if http.ok(response):
            return count
        if response.status_code == 405:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        if response.status_code == 409:
            raise self._parent_error(response, path)
        if response.status_code == 412:
            raise FileExistsError(errno.EEXIST, "File exists", path)
        raise http.status_error(response, path)

    # --- Atomic landing -------------------------------------------------------

    def _write_atomic(self, path: str, data: Iterable[bytes],
                      mode: int | None = None,
                      exact_mode: int | None = None) -> int:
        """Write a file so that it appears at path whole, or not at all.

        PUT to a temporary name in the same directory, then MOVE over
        path. If anything fails (including the data iterable raising), the
        temporary file is deleted and whatever was at path stays.

        :param mode: Ignored (the server decides permissions).
        :param exact_mode: Permission bits to set: unsupported, so this
            raises UnsupportedOperationError before sending anything,
            unless unsupported_methods_raise is False.
        :returns: The number of bytes written.
        """
        if exact_mode is not None:
            self._unsupported("permissions")
        temp = self._temp_name(path)
        try:
            count = self._write_stream(temp, data, exclusive=True)
            self._land(temp, path)
        except BaseException as error:
            if isinstance(error, ConnectionError):
                self._discard_after_cut(temp)
            else:
                self._discard(temp)
            name_target(error, temp, path)
            raise
        return count

    def _discard_after_cut(self, path: str) -> None:
        """Delete a temporary file whose upload lost its connection.

        The server may not have seen the end of that PUT yet: requests it
        had received before the cut can still be in its queue or running,
        and wsgidav creates the file when it starts on a PUT (and opens it
        again to write). A DELETE sent at once can therefore come first
        and the file appear after it, so look again a few times, for
        about 0.75 s, and delete it if it is back.
        """
        self._discard(path)
        for delay in CUT_RECHECKS:
            time.sleep(delay)
            try:
                self._stat(path)
            except FileNotFoundError:
                continue
            except OSError as error:
                logger.warning("could not check for temporary file %s: %s",
                               path, error)
                return
            logger.debug("temporary file %s appeared again after its upload"
                         " broke off; deleting it again", path)
            self._discard(path)

    def _land(self, temp: str, path: str) -> None:
        """MOVE the file temp to path, replacing a file there."""
        self._move_posix(temp, path, error_path=path, source_is_dir=False)

    def _discard(self, path: str) -> None:
        """Delete a temporary file this file system made; never raises.

        With "Depth: 0", so that even a wrong name cannot delete a tree.
        """
        try:
            response = self._http.delete(path, {"Depth": "0"})
            if not http.ok(response) and response.status_code != 404:
                raise http.status_error(response, path)
        except Exception as error:  # noqa: BLE001 - must not mask the cause
            logger.warning("could not remove temporary file %s: %s",
                           path, error)

    # --- Batches: several requests in flight ------------------------------------

    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._http.closed:
                raise ValueError(f"{self!r} is closed")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    PARALLEL, thread_name_prefix="cerulean-webdav")
            return self._executor

    def _listdirs(self, paths: list[str]) -> list[list[DirEntry] | OSError]:
        if len(paths) < 2:
            return super()._listdirs(paths)
        return self._for_each(self._listdir, paths)

    def _unlink_many(self, paths: list[str]) -> list[OSError | None]:
        if len(paths) < 2:
            return super()._unlink_many(paths)
        # Each unlink is a PROPFIND and a DELETE (see _remove_entry); with
        # PARALLEL of them in flight the round trips overlap.
        return self._for_each(self._remove_entry, paths)

    def _for_each(self, call: Callable[[str], _T],
                  paths: list[str]) -> list[_T | OSError]:
        """call(path) for every path, PARALLEL at a time.

        Returns each result, or the OSError it raised, in place, so that
        one failure does not hide the others; any other exception is
        raised.
        """
        return transfer.for_each(self._pool(), call, paths)

    def _read_files(self, files: Iterable[tuple[str, int]]
                    ) -> Iterator[bytes]:
        return self._in_order(partial(self._read_whole, path)
                              for path, _ in files)

    def _read_whole(self, path: str) -> bytes:
        return b"".join(self._get(path))

    def _write_files(self, items: Iterable[WriteItem]) -> Iterator[int]:
        return self._in_order(
            partial(self._write_atomic, item.path, [item.data], item.mode,
                    item.exact_mode)
            for item in items)

    def _in_order(self, calls: Iterator[Callable[[], _T]]
                  ) -> Generator[_T, None, None]:
        """Run the calls PARALLEL at a time; yield their results in order.

        The calls are taken from the (possibly lazy) iterator only as
        room frees up, so at most 2 * PARALLEL results are held. If the
        consumer stops early or a call fails, calls not yet started are
        cancelled and the running ones are waited for, so that nothing
        keeps writing after this generator is done (each write lands whole
        or leaves nothing, see :meth:`_write_atomic`).
        """
        yield from transfer.in_order(self._pool(), calls, 2 * PARALLEL)
