"""WebDAV over HTTP: requests on one pooled session, and what statuses mean.

:class:`DavSession` sends each request through one keep-alive
``requests.Session`` (a pool of connections, so that threads each get
their own), turns transport failures into ``ConnectionError`` and follows
the one redirect WebDAV servers send on their own (to a collection's URL
with its final ``/``). It does not judge statuses: what one means depends
on the method (405 is "exists" for MKCOL and "is a directory" for PUT), so
:class:`cerulean.WebdavFileSystem` decides, with :func:`status_error` for
the statuses that mean the same everywhere.
"""
from __future__ import annotations

import errno
import posixpath
from collections.abc import Iterable, Iterator
from typing import cast
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cerulean._webdav.xml import PROPFIND_BODY, DavResource, parse_multistatus

TIMEOUT = (30.0, 300.0)
"""Seconds to connect, and to wait for the next bytes of an answer."""

PUT_PIECE = 64 * 1024
"""Largest piece of a chunked PUT body. Larger chunks the caller gives are
sent as several pieces (memoryview slices, not copies), because cheroot,
the server under wsgidav, re-slices each received chunk per 8 KiB read,
which costs time quadratic in the chunk size."""

XML_HEADERS = {"Content-Type": 'application/xml; charset="utf-8"'}
"""The headers of a request with an XML body (PROPFIND)."""

# Methods urllib3 may send again after the connection failed while reading
# the answer (a keep-alive connection the server had just closed): those
# that change nothing. PUT is not repeated (its body may be a generator),
# nor MOVE, DELETE and MKCOL (a repeat would answer 404 or 405 for a change
# that had in fact happened).
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND"})


def split_base_url(url: str) -> tuple[str, str]:
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


def normalise(path: str) -> str:
    """The absolute, lexically normalised form of a path.

    WebDAV has no symbolic links, so resolving ``..`` lexically is exact;
    doing it here (rather than leaving it to urllib3) also keeps every
    request inside the base URL.
    """
    normal = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if normal == "//" else normal


def ok(response: requests.Response) -> bool:
    """Whether the request succeeded, with nothing left to look at."""
    # 207 is excluded: for DELETE, MOVE and MKCOL a Multi-Status answer
    # lists members that failed.
    return 200 <= response.status_code < 300 and response.status_code != 207


def status_error(response: requests.Response, path: str) -> OSError:
    """The exception for a failed request, naming method, URL and status.

    Only for statuses that mean the same whatever the method (401, 403,
    404, 410, 423, 507); any other becomes EIO.
    """
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


def member_error(response: requests.Response, url: str,
                 path: str) -> OSError:
    """The error of a DELETE whose Multi-Status answer lists members the
    server could not delete (the others are gone)."""
    failed = [resource for resource in parse_multistatus(response.content, url)
              if not 200 <= resource.status < 300]
    if not failed:
        return status_error(response, path)
    first = failed[0]
    what = (f"WebDAV DELETE {url}: {len(failed)} member(s) could not be"
            f" deleted, the first {first.path} with status {first.status}")
    if first.status in (401, 403):
        return PermissionError(errno.EACCES, what, path)
    if first.status == 423:
        return OSError(errno.EBUSY, f"{what} (locked)", path)
    return OSError(errno.EIO, what, path)


class BodyFeeder:
    """The body of a streamed PUT: the caller's chunks, in pieces.

    If the caller's iterable raises (which is how a copy is aborted), the
    error is kept and the body simply ends, so that the request completes
    and the server has finished with the file before anyone tries to
    remove it; :meth:`cerulean.WebdavFileSystem._write_stream` then raises
    the error. Cutting the connection instead would leave the server
    writing the partial file while the client's clean-up DELETE races it.
    """

    def __init__(self, data: Iterable[bytes]) -> None:
        """Feed the chunks of data (counted in :attr:`count`)."""
        self._data = data
        self.count = 0
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[bytes | memoryview]:
        """Yield the pieces of the body; stop at the first error."""
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


class DavSession:
    """Requests to one WebDAV base URL, on a pool of keep-alive connections.

    :param url: The base URL (see :func:`split_base_url`).
    :param auth: (user, password) for basic authentication, or None.
    :param verify: True, or the CA certificate file to check the server
        against.
    :param connections: How many connections the pool keeps.
    """

    def __init__(self, url: str, auth: tuple[str, str] | None,
                 verify: bool | str, connections: int) -> None:
        """Make the session; nothing is sent yet."""
        origin, self.base_path = split_base_url(url)
        self.base_url = origin + self.base_path
        self.base_decoded = unquote(self.base_path, errors="surrogateescape")
        self.closed = False
        self._verify = verify
        self.session = requests.Session()
        if auth is not None:
            # Basic authentication, sent with every request: no extra
            # round trip for a 401 challenge first.
            self.session.auth = auth
        retry = Retry(total=2, connect=2, read=2, status=0, other=0,
                      redirect=0, allowed_methods=_IDEMPOTENT,
                      raise_on_redirect=False, raise_on_status=False)
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=connections,
                              max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        """Close the connections; later requests raise ValueError."""
        self.closed = True
        self.session.close()

    def url(self, path: str) -> str:
        """The URL of path, each segment percent-encoded as UTF-8."""
        segments = [segment for segment in normalise(path).split("/")
                    if segment]
        return self.base_url + "/" + "/".join(
            quote(segment, safe="", errors="surrogateescape")
            for segment in segments)

    def decoded(self, path: str) -> str:
        """The path as the server's hrefs show it, decoded."""
        return (self.base_decoded + normalise(path)).rstrip("/") or "/"

    def send(self, method: str, url: str, *,
             headers: dict[str, str] | None = None,
             data: bytes | Iterable[bytes | memoryview] | None = None,
             stream: bool = False) -> requests.Response:
        """Send one request; turn transport failures into ConnectionError.

        The status is not checked here: each caller maps it, since what a
        status means depends on the method.

        :raises ValueError: If the session is closed.
        """
        if self.closed:
            raise ValueError(f"WebdavFileSystem({self.base_url!r}) is closed")
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
            return self.session.request(
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

    def propfind(self, path: str, depth: int) -> list[DavResource]:
        """PROPFIND path with the given Depth; the resources described.

        :raises OSError: The status's error, or EPROTO for an answer that
            is not a Multi-Status describing something.
        """
        url = self.url(path)
        headers = dict(XML_HEADERS, Depth=str(depth))
        response = self.send("PROPFIND", url, headers=headers,
                             data=PROPFIND_BODY)
        if response.status_code != 207:
            if ok(response):
                raise OSError(errno.EPROTO, f"WebDAV PROPFIND {url}: expected"
                              f" 207 Multi-Status, got {response.status_code}",
                              path)
            raise status_error(response, path)
        resources = parse_multistatus(response.content, url)
        if not resources:
            raise OSError(errno.EPROTO, f"WebDAV PROPFIND {url}: the answer"
                          " describes no resource", path)
        return resources

    def own(self, resources: list[DavResource], path: str) -> DavResource:
        """The resource describing path itself in a PROPFIND answer."""
        decoded = self.decoded(path)
        for resource in resources:
            if resource.path == decoded:
                return resource
        # Servers list the requested resource first; use that if its href
        # is spelled in a way we did not foresee.
        return resources[0]

    def move(self, source: str, target: str,
             overwrite: bool) -> requests.Response:
        """MOVE source to target, replacing what is there if overwrite."""
        headers = {"Destination": self.url(target),
                   "Overwrite": "T" if overwrite else "F"}
        return self.send("MOVE", self.url(source), headers=headers)

    def delete(self, path: str, headers: dict[str, str] | None = None
               ) -> requests.Response:
        """DELETE path (with headers such as Depth)."""
        return self.send("DELETE", self.url(path), headers=headers)
