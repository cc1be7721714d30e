"""WebDAV file systems, through one keep-alive ``requests.Session``.

Every primitive of :class:`cerulean.file_system_impl.FileSystemImpl` maps
onto one or two plain WebDAV requests, sent with requests directly rather
than through webdavclient3: webdavclient3 parses the server's XML with
lxml (not defusedxml), sends an extra existence check (HEAD) before many
operations, rewrites paths that contain ``/./`` or ``/../``-like names, and
reads or writes files in 64 KiB steps through a file object; none of that
helps here.

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
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import closing
from functools import partial
from typing import TypeVar, cast
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cerulean._webdav_xml import PROPFIND_BODY, DavResource, parse_multistatus
from cerulean.credential import Credential, PasswordCredential
from cerulean.file_system import UnsupportedOperationError
from cerulean.file_system_impl import (
    Capability,
    DirEntry,
    FileSystemImpl,
    WriteItem,
    name_target,
)
from cerulean.path import EntryType, FileStat

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

READ_CHUNK = 256 * 1024
"""Bytes per chunk of a streamed GET: large, so the per-chunk Python
overhead stays small next to the copying."""

PUT_PIECE = 64 * 1024
"""Largest piece of a chunked PUT body. Larger chunks the caller gives are
sent as several pieces (memoryview slices, not copies), because cheroot,
the server under wsgidav, re-slices each received chunk per 8 KiB read,
which costs time quadratic in the chunk size."""

PARALLEL = 4
"""Requests the batch helpers (walk, copy() of small files) keep in
flight. A Python server gains little from more (measured on wsgidav: 1.5
times the sequential rate with 4 to 8)."""

TIMEOUT = (30.0, 300.0)
"""Seconds to connect, and to wait for the next bytes of an answer."""

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

_XML_HEADERS = {"Content-Type": 'application/xml; charset="utf-8"'}

# Methods urllib3 may send again after the connection failed while reading
# the answer (a keep-alive connection the server had just closed): those
# that change nothing. PUT is not repeated (its body may be a generator),
# nor MOVE, DELETE and MKCOL (a repeat would answer 404 or 405 for a change
# that had in fact happened).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND"})


def _split_base_url(url: str) -> tuple[str, str]:
    """(``scheme://host:port``, percent-encoded base path without a
    trailing slash) of the URL given to the constructor."""
    if not isinstance(url, str):
        raise TypeError(f"WebDAV url must be a str, not {type(url).__name__}")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"WebDAV url {url!r} must start with http:// or"
                         " https://")
    if not parts.hostname:
        raise ValueError(f"WebDAV url {url!r} has no host name")
    if parts.username is not None or parts.password is not None:
        # They would end up in error messages and logs; a credential never
        # does (PasswordCredential hides its password in repr()).
        raise ValueError("put the user name and password in a"
                         " PasswordCredential, not in the WebDAV url")
    if parts.query or parts.fragment:
        raise ValueError(f"WebDAV url {url!r} must not have a query or a"
                         " fragment")
    # Decode, then encode once: a base given with spaces or with %20
    # ends up the same.
    base = quote(unquote(parts.path), safe="/").rstrip("/")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}", base


def _normalise(path: str) -> str:
    """The absolute, lexically normalised form of a path.

    WebDAV has no symbolic links, so resolving ``..`` lexically is exact;
    doing it here (rather than leaving it to urllib3) also keeps every
    request inside the base URL.
    """
    normal = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if normal == "//" else normal


def _record(resource: DavResource) -> FileStat:
    if resource.is_collection:
        return FileStat(EntryType.DIRECTORY, 0, resource.mtime,
                        DIRECTORY_MODE, None, None)
    return FileStat(EntryType.FILE, resource.size, resource.mtime,
                    FILE_MODE, None, None)


def _ok(response: requests.Response) -> bool:
    # 207 is excluded: for DELETE, MOVE and MKCOL a Multi-Status answer
    # lists members that failed.
    return 200 <= response.status_code < 300 and response.status_code != 207


class _BodyFeeder:
    """The body of a streamed PUT: the caller's chunks, in pieces.

    If the caller's iterable raises (which is how a copy is aborted), the
    error is kept and the body simply ends, so that the request completes
    and the server has finished with the file before anyone tries to
    remove it; :meth:`WebdavFileSystem._write_stream` then raises the
    error. Cutting the connection instead would leave the server writing
    the partial file while the client's clean-up DELETE races it.
    """

    def __init__(self, data: Iterable[bytes]) -> None:
        self._data = data
        self.count = 0
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[bytes | memoryview]:
        chunks = iter(self._data)
        while True:
            try:
                chunk = next(chunks)
                if not isinstance(chunk, (bytes, bytearray, memoryview)):
                    raise TypeError("streaming_write needs bytes chunks, not"
                                    f" {type(chunk).__name__}")
            except StopIteration:
                return
            except BaseException as error:  # noqa: BLE001 - re-raised later
                self.error = error
                return
            view = memoryview(chunk).cast("B")
            self.count += len(view)
            for start in range(0, len(view), PUT_PIECE):
                yield view[start:start + PUT_PIECE]


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
        origin, self._base_path = _split_base_url(url)
        self._base_url = origin + self._base_path
        self._base_decoded = unquote(self._base_path, errors="surrogateescape")
        # As in Cerulean 1.0, None counts as False.
        self._raise_unsupported = bool(unsupported_methods_raise)
        self._closed = False
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

        self._verify: bool | str = True
        if host_ca_cert_file is not None:
            ca_file = os.fspath(host_ca_cert_file)
            if not os.path.exists(ca_file):
                raise FileNotFoundError(
                    errno.ENOENT, "host_ca_cert_file does not exist", ca_file)
            # Passed with every request: a session-wide setting would be
            # overridden by a REQUESTS_CA_BUNDLE environment variable.
            self._verify = ca_file

        if credential is not None and not isinstance(
                credential, PasswordCredential):
            raise ValueError(
                "WebdavFileSystem needs a PasswordCredential (or None for"
                f" anonymous access), not a {type(credential).__name__}")

        self._session = requests.Session()
        if credential is not None:
            # Basic authentication, sent with every request: no extra
            # round trip for a 401 challenge first.
            self._session.auth = (credential.username, credential.password)
        retry = Retry(total=2, connect=2, read=2, status=0, other=0,
                      redirect=0, allowed_methods=_IDEMPOTENT,
                      raise_on_redirect=False, raise_on_status=False)
        # Several connections, so that threads (and a GET streaming into a
        # PUT, as touch() does) each get their own.
        adapter = HTTPAdapter(pool_connections=1,
                              pool_maxsize=2 * PARALLEL + 2,
                              max_retries=retry)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

        try:
            root = self._stat("/")
        except BaseException:
            self._session.close()
            raise
        if not root.is_dir():
            self._session.close()
            raise NotADirectoryError(
                errno.ENOTDIR, "WebDAV url is not a collection", url)
        logger.debug("connected to WebDAV server at %s", self._base_url)

    # --- The FileSystem interface -------------------------------------------

    def close(self) -> None:
        """Close connections and free resources, if any.

        FileSystem objects may hold resources that need to be freed when
        you are done with the object. You can free them by calling this
        function, or you can use the FileSystem as a context manager using
        a with statement. Using the file system after closing it raises
        ValueError.
        """
        self._closed = True
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self._session.close()

    def __eq__(self, other: object) -> bool:
        """Whether other is a WebdavFileSystem with the same base URL."""
        return (isinstance(other, WebdavFileSystem)
                and self._base_url == other._base_url)

    def __hash__(self) -> int:
        return hash((WebdavFileSystem, self._base_url))

    def __repr__(self) -> str:
        return f"WebdavFileSystem({self._base_url!r})"

    def _as_uri(self, path: str) -> str:
        return self._url(path)

    def _can(self, capability: Capability) -> bool:
        # Only files and directories, without links, permissions or owners.
        return False

    # --- HTTP -----------------------------------------------------------------

    def _url(self, path: str) -> str:
        segments = [segment for segment in _normalise(path).split("/")
                    if segment]
        return self._base_url + "/" + "/".join(
            quote(segment, safe="", errors="surrogateescape")
            for segment in segments)

    def _decoded(self, path: str) -> str:
        """The path as the server's hrefs show it, decoded."""
        return (self._base_decoded + _normalise(path)).rstrip("/") or "/"

    def _send(self, method: str, url: str, *,
              headers: dict[str, str] | None = None,
              data: bytes | Iterable[bytes | memoryview] | None = None,
              stream: bool = False) -> requests.Response:
        """Send one request; turn transport failures into ConnectionError.

        The status is not checked here: each caller maps it, since what a
        status means depends on the method (405 is "exists" for MKCOL, "is
        a directory" for PUT).
        """
        if self._closed:
            raise ValueError(f"{self!r} is closed")
        response = self._request(method, url, headers, data, stream)
        if (response.is_redirect and method not in ("GET", "PUT")
                and not url.endswith("/")):
            # Some servers send a collection's URL without the final "/"
            # to the one with it, for any method; follow that (and only
            # that: a redirect elsewhere would send the request, and the
            # credential, somewhere we were not asked to go).
            there = urlsplit(urljoin(url, response.headers.get("Location", "")))
            here = urlsplit(url)
            if (there.scheme, there.netloc.lower(), there.path) == (
                    here.scheme, here.netloc.lower(), here.path + "/"):
                response.close()
                return self._request(method, url + "/", headers, data, stream)
        return response

    def _request(self, method: str, url: str,
                 headers: dict[str, str] | None,
                 data: bytes | Iterable[bytes | memoryview] | None,
                 stream: bool) -> requests.Response:
        try:
            return self._session.request(
                method, url, headers=headers,
                # The stubs do not know that requests sends memoryviews too.
                data=cast("bytes | Iterable[bytes] | None", data),
                stream=stream,
                allow_redirects=False, timeout=TIMEOUT, verify=self._verify)
        except requests.exceptions.SSLError as error:
            raise ConnectionError(
                f"WebDAV {method} {url}: TLS failed ({error}); if the server"
                " uses a self-signed certificate, pass its CA certificate as"
                " host_ca_cert_file") from error
        except (requests.exceptions.ConnectionError,
                requests.exceptions.Timeout) as error:
            raise ConnectionError(
                f"WebDAV {method} {url}: connection failed ({error})"
            ) from error
        except requests.exceptions.RequestException as error:
            raise OSError(errno.EIO, f"WebDAV {method} {url}: {error}"
                          ) from error

    def _error(self, response: requests.Response, path: str) -> OSError:
        """The exception for a failed request, naming method, URL and
        status."""
        method = response.request.method or "?"
        status = response.status_code
        what = f"WebDAV {method} {response.url}: {status} {response.reason}"
        if status == 401:
            return PermissionError(
                errno.EACCES, f"{what} (the server did not accept the"
                " credential, or needs one)", path)
        if status == 403:
            return PermissionError(errno.EACCES, what, path)
        if status in (404, 410):
            return FileNotFoundError(errno.ENOENT, what, path)
        if status == 507:
            return OSError(errno.ENOSPC, what, path)
        if status == 423:
            return OSError(errno.EBUSY, f"{what} (locked)", path)
        return OSError(errno.EIO, what, path)

    def _parent_error(self, response: requests.Response,
                      path: str) -> OSError:
        """Explain a 409 Conflict of PUT, MKCOL or MOVE: the parent (of
        path) is missing or not a directory."""
        parent = posixpath.dirname(_normalise(path))
        try:
            is_dir = self._stat(parent).is_dir()
        except FileNotFoundError:
            return FileNotFoundError(
                errno.ENOENT, f"No such file or directory: {parent}", path)
        if not is_dir:
            return NotADirectoryError(
                errno.ENOTDIR, f"Not a directory: {parent}", path)
        return self._error(response, path)

    def _propfind(self, path: str, depth: int) -> list[DavResource]:
        url = self._url(path)
        headers = dict(_XML_HEADERS, Depth=str(depth))
        response = self._send("PROPFIND", url, headers=headers,
                              data=PROPFIND_BODY)
        if response.status_code != 207:
            if _ok(response):
                raise OSError(errno.EPROTO, f"WebDAV PROPFIND {url}: expected"
                              f" 207 Multi-Status, got {response.status_code}",
                              path)
            raise self._error(response, path)
        resources = parse_multistatus(response.content, url)
        if not resources:
            raise OSError(errno.EPROTO, f"WebDAV PROPFIND {url}: the answer"
                          " describes no resource", path)
        return resources

    def _own(self, resources: list[DavResource], path: str) -> DavResource:
        """The resource describing path itself in a PROPFIND answer."""
        decoded = self._decoded(path)
        for resource in resources:
            if resource.path == decoded:
                return resource
        # Servers list the requested resource first; use that if its href
        # is spelled in a way we did not foresee.
        return resources[0]

    def _move(self, source: str, target: str,
              overwrite: bool) -> requests.Response:
        headers = {"Destination": self._url(target),
                   "Overwrite": "T" if overwrite else "F"}
        return self._send("MOVE", self._url(source), headers=headers)

    def _unsupported(self, what: str) -> None:
        if self._raise_unsupported:
            raise UnsupportedOperationError(
                f"WebDAV does not support {what}; create the WebdavFileSystem"
                " with unsupported_methods_raise=False to make such calls do"
                " nothing")

    # --- Metadata -------------------------------------------------------------

    def _stat(self, path: str) -> FileStat:
        own = self._own(self._propfind(path, 0), path)
        if not 200 <= own.status < 300:
            raise FileNotFoundError(
                errno.ENOENT, f"WebDAV PROPFIND {self._url(path)}: the server"
                f" reports status {own.status}", path)
        return _record(own)

    def _lstat(self, path: str) -> FileStat:
        # No links: what is there is what a link-following stat sees.
        return self._stat(path)

    def _listdir(self, path: str) -> list[DirEntry]:
        resources = self._propfind(path, 1)
        own = self._own(resources, path)
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
        response = self._send("MKCOL", self._url(path))
        if _ok(response):
            return
        if response.status_code == 405:  # something is there already
            raise FileExistsError(errno.EEXIST, "File exists", path)
        if response.status_code == 409:
            raise self._parent_error(response, path)
        raise self._error(response, path)

    def _delete(self, path: str, headers: dict[str, str] | None = None
                ) -> requests.Response:
        return self._send("DELETE", self._url(path), headers=headers)

    def _remove_entry(self, path: str) -> None:
        # A DELETE of a collection removes everything in it, so look first.
        if self._stat(path).is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        # "Depth: 0" makes wsgidav and Apache refuse (400) to delete a
        # directory that appeared since the PROPFIND.
        response = self._delete(path, {"Depth": "0"})
        if _ok(response):
            return
        if response.status_code == 400 and self._stat(path).is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        raise self._error(response, path)

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
        if _normalise(path) == "/":
            raise OSError(errno.EBUSY, "will not remove the root of a WebDAV"
                          " file system (the base URL)", path)
        if info is None:
            info = self._stat(path)
        if not info.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
        response = self._delete(path, {"Depth": "infinity"})
        if _ok(response):
            return
        if response.status_code == 207:
            raise self._member_error(response, path)
        raise self._error(response, path)

    def _member_error(self, response: requests.Response,
                      path: str) -> OSError:
        """The error of a DELETE whose Multi-Status answer lists members
        the server could not delete (the others are gone)."""
        url = response.request.url or self._url(path)
        failed = [resource for resource in parse_multistatus(
                      response.content, url)
                  if not 200 <= resource.status < 300]
        if not failed:
            return self._error(response, path)
        first = failed[0]
        what = (f"WebDAV DELETE {url}: {len(failed)} member(s) could not be"
                f" deleted, the first {first.path} with status {first.status}")
        if first.status in (401, 403):
            return PermissionError(errno.EACCES, what, path)
        if first.status == 423:
            return OSError(errno.EBUSY, f"{what} (locked)", path)
        return OSError(errno.EIO, what, path)

    def _remove_dir(self, path: str) -> None:
        if self._listdir(path):
            raise OSError(errno.ENOTEMPTY, "Directory not empty", path)
        response = self._delete(path)
        if not _ok(response):
            raise self._error(response, path)

    def _rename_entry(self, source: str, target: str) -> None:
        source_norm, target_norm = _normalise(source), _normalise(target)
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
        response = self._move(source, target, overwrite=False)
        if _ok(response):
            return
        if response.status_code == 412:
            self._replace(source, target, source_is_dir)
            return
        if response.status_code == 409:
            raise self._parent_error(response, target)
        raise self._error(response, error_path)

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
        response = self._move(source, target, overwrite=True)
        if not _ok(response):
            raise self._error(response, source)

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
            temp = self._temp_name(posixpath.join(_normalise(path), "touch"))
            self._create_empty(temp)
            self._discard(temp)
        else:
            # Rewriting the content is the only portable way to set the
            # time; atomic, so the file is never seen half-written.
            with closing(self._get(path)) as content:
                self._write_atomic(path, content)

    def _create_empty(self, path: str) -> None:
        # If-None-Match: never truncate a file that appeared meanwhile.
        response = self._send("PUT", self._url(path), data=b"",
                              headers={"If-None-Match": "*"})
        if _ok(response) or response.status_code in (405, 412):
            return  # created, or something appeared: it exists now
        if response.status_code == 409:
            raise self._parent_error(response, path)
        raise self._error(response, path)

    # --- Contents -------------------------------------------------------------

    def _read_stream(self, path: str,
                     size_hint: int | None = None) -> Iterator[bytes]:
        return self._get(path)

    def _get(self, path: str) -> Generator[bytes, None, None]:
        url = self._url(path)
        response = self._send("GET", url, stream=True)
        with response:  # also when the consumer stops early
            if response.status_code in (301, 302, 303, 307, 308):
                # The server redirects a directory's URL to one ending in
                # "/" (and would then send an HTML index).
                location = response.headers.get("Location", "")
                if urlsplit(location).path.endswith("/"):
                    raise IsADirectoryError(errno.EISDIR, "Is a directory",
                                            path)
            if response.status_code != 200:
                raise self._error(response, path)
            try:
                yield from response.iter_content(READ_CHUNK)
            except requests.exceptions.RequestException as error:
                raise ConnectionError(
                    f"WebDAV GET {url}: the download broke off ({error})"
                ) from error

    def _write_stream(self, path: str, data: Iterable[bytes],
                      mode: int | None = None,
                      exclusive: bool = False) -> int:
        # mode is ignored: the server decides what a new file's
        # permissions are, and copy() passes it for every file.
        url = self._url(path)
        headers = {"If-None-Match": "*"} if exclusive else {}
        feeder: _BodyFeeder | None = None
        body: bytes | Iterable[bytes | memoryview]
        if isinstance(data, (list, tuple)) and all(
                isinstance(chunk, (bytes, bytearray)) for chunk in data):
            # Already in memory (write_bytes): send it with a Content-Length.
            body = b"".join(data)
            count = len(body)
        else:
            feeder = _BodyFeeder(data)
            body = feeder
            count = 0
        response = self._send("PUT", url, headers=headers, data=body,
                              stream=True)
        if _ok(response):
            try:
                _ = response.content  # read to the end: the connection is reused
            except requests.exceptions.RequestException as error:
                raise ConnectionError(
                    f"WebDAV PUT {url}: the answer broke off ({error})"
                ) from error
        else:
            # A refusal (409 for a missing parent...) can come before the
            # server has read the body, whose rest then waits in the
            # connection, to be taken as the start of the next request
            # (wsgidav answered that one 400). Closed unread, the
            # connection is not reused. The refusal needs only the status.
            response.close()
        if feeder is not None:
            if feeder.error is not None:
                raise feeder.error
            count = feeder.count
        if _ok(response):
            return count
        if response.status_code == 405:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        if response.status_code == 409:
            raise self._parent_error(response, path)
        if response.status_code == 412:
            raise FileExistsError(errno.EEXIST, "File exists", path)
        raise self._error(response, path)

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
            response = self._delete(path, {"Depth": "0"})
            if not _ok(response) and response.status_code != 404:
                raise self._error(response, path)
        except Exception as error:  # noqa: BLE001 - must not mask the cause
            logger.warning("could not remove temporary file %s: %s",
                           path, error)

    # --- Batches: several requests in flight ------------------------------------

    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._closed:
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
        futures = [self._pool().submit(call, path) for path in paths]
        results: list[_T | OSError] = []
        for future in futures:
            error = future.exception()
            if error is None:
                results.append(future.result())
            elif isinstance(error, OSError):
                results.append(error)
            else:
                raise error
        return results

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
        pool = self._pool()
        window: deque[Future[_T]] = deque()
        try:
            for call in calls:
                window.append(pool.submit(call))
                if len(window) >= 2 * PARALLEL:
                    yield window.popleft().result()
            while window:
                yield window.popleft().result()
        finally:
            for future in window:
                future.cancel()
            wait(window)
