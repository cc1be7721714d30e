"""WebDAV file contents: a streamed GET, a streamed PUT, and batches.

What :class:`cerulean.WebdavFileSystem` sends to read and write a file's
bytes, and how it keeps several requests in flight (a thread pool, since
each request waits on its own connection). The statuses of a PUT are left
to the file system, which knows what a conflict means there; those of a
GET mean the same wherever it is sent, and are mapped here.
"""
from __future__ import annotations

import errno
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Executor, Future, wait
from typing import TypeVar
from urllib.parse import urlsplit

import requests

from cerulean._webdav import http
from cerulean.file_system_impl import slice_stream

_T = TypeVar("_T")

READ_CHUNK = 256 * 1024
"""Bytes per chunk of a streamed GET: large, so the per-chunk Python
overhead stays small next to the copying."""


def get(dav: http.DavSession, path: str, offset: int = 0,
        size: int | None = None) -> Generator[bytes, None, None]:
    """GET the file at path; from offset, at most size bytes, with a Range
    header (and skipping, if the server ignores it).

    A generator: the request is sent when the first chunk is asked for,
    and the answer is closed when the consumer stops, early or not.

    :raises IsADirectoryError: If the server redirects to a collection.
    :raises ConnectionError: If the download breaks off.
    """
    url = dav.url(path)
    ranged = offset > 0 or size is not None
    headers = None
    if ranged:
        last = "" if size is None else str(offset + size - 1)
        headers = {"Range": f"bytes={offset}-{last}"}
    response = dav.send("GET", url, headers=headers, stream=True)
    with response:  # also when the consumer stops early
        if response.status_code in (301, 302, 303, 307, 308):
            # The server redirects a directory's URL to one ending in
            # "/" (and would then send an HTML index).
            location = response.headers.get("Location", "")
            if urlsplit(location).path.endswith("/"):
                raise IsADirectoryError(errno.EISDIR, "Is a directory",
                                        path)
        if ranged and response.status_code == 416:
            return  # Range Not Satisfiable: offset is past the end
        if response.status_code not in ((200, 206) if ranged else (200,)):
            raise http.status_error(response, path)
        chunks: Iterator[bytes] = response.iter_content(READ_CHUNK)
        if ranged and response.status_code == 200:
            # The whole file: this server does not do ranges.
            chunks = slice_stream(chunks, offset, size)
        try:
            yield from chunks
        except requests.exceptions.RequestException as error:
            raise ConnectionError(
                f"WebDAV GET {url}: the download broke off ({error})"
            ) from error


def put(dav: http.DavSession, path: str, data: Iterable[bytes],
        exclusive: bool) -> tuple[requests.Response, int]:
    """PUT data to path (only if nothing is there, if exclusive).

    Data already in memory (a list or tuple of bytes) goes with a
    Content-Length; anything else is streamed (chunked).

    :returns: The answer, already read or closed, for the caller to judge
        by its status; and the number of bytes sent.
    :raises ConnectionError: If the answer to a PUT the server took
        breaks off.
    :raises Exception: What the data iterable raised, if it did.
    """
    url = dav.url(path)
    headers = {"If-None-Match": "*"} if exclusive else {}
    feeder: http.BodyFeeder | None = None
    body: bytes | Iterable[bytes | memoryview]
    if isinstance(data, (list, tuple)) and all(
            isinstance(chunk, (bytes, bytearray)) for chunk in data):
        # Already in memory (write_bytes): send it with a Content-Length.
        body = b"".join(data)
        count = len(body)
    else:
        feeder = http.BodyFeeder(data)
        body = feeder
        count = 0
    response = dav.send("PUT", url, headers=headers, data=body, stream=True)
    if http.ok(response):
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
    return response, count


def for_each(pool: Executor, call: Callable[[str], _T],
             paths: list[str]) -> list[_T | OSError]:
    """call(path) for every path, on the pool.

    Returns each result, or the OSError it raised, in place, so that one
    failure does not hide the others; any other exception is raised.
    """
    futures = [pool.submit(call, path) for path in paths]
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


def in_order(pool: Executor, calls: Iterator[Callable[[], _T]],
             ahead: int) -> Generator[_T, None, None]:
    """Run the calls on the pool; yield their results in order.

    The calls are taken from the (possibly lazy) iterator only as room
    frees up, so at most ``ahead`` results are held. If the consumer stops
    early or a call fails, calls not yet started are cancelled and the
    running ones are waited for, so that nothing keeps writing after this
    generator is done.
    """
    window: deque[Future[_T]] = deque()
    try:
        for call in calls:
            window.append(pool.submit(call))
            if len(window) >= ahead:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        for future in window:
            future.cancel()
        wait(window)
