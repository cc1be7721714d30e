"""Pipelined SFTP operations: listings, streams and batches of small files.

Every function here keeps several requests in flight on one
:class:`SftpChannel` and reacts to each reply as it arrives, so the cost is
set by bandwidth and per-message work, not by round trips:

* listings send the next READDIR before the previous reply is in;
* reads keep a window of READ requests ahead of the consumer;
* writes are sent without waiting, and acknowledged in bulk;
* batches of small files keep dozens of files in flight at once, each
  moving from OPEN to WRITE/READ to CLOSE (and RENAME) as its replies come.
"""
from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

from cerulean import _sftp_protocol as P
from cerulean._sftp_channel import SftpChannel, check_status, expect
from cerulean.file_system_impl import DirEntry, WriteItem
from cerulean.path import FileStat

logger = logging.getLogger(__name__)

READ_CHUNK = 128 * 1024
"""Bytes per READ request; OpenSSH serves up to 255 KiB per request."""
READ_WINDOW = 16
"""READ requests in flight per stream: 2 MiB, paramiko's receive window."""
WRITE_CHUNK = 128 * 1024
"""Bytes per WRITE request (OpenSSH accepts up to 255 KiB)."""
WRITE_WINDOW = 16
"""WRITE requests in flight before waiting for acknowledgements."""
FILES_IN_FLIGHT = 64
"""Small files in flight at once in a batch."""
DIRS_IN_FLIGHT = 32
"""Directories being listed at once."""
READDIR_AHEAD = 2
"""READDIR requests in flight per directory, so EOF costs no extra trip."""

WRITE_FLAGS = P.FLAG_WRITE | P.FLAG_CREAT | P.FLAG_TRUNC
POSIX_RENAME = b"posix-rename@openssh.com"


class _Task(Protocol):
    done: bool


def _done(task: _Task) -> Callable[[], bool]:
    """A predicate for SftpChannel.wait_for: the task is done."""
    return lambda: task.done


def _replied(request: _Read) -> Callable[[], bool]:
    """A predicate for SftpChannel.wait_for: the request has its reply."""
    return lambda: request.reply is not None


def open_file(ch: SftpChannel, path: str, flags: int,
              mode: int | None = None) -> bytes:
    """OPEN path with flags (and creation mode); return the handle."""
    payload = P.path_string(path) + P.uint32(flags) + P.attrs(mode)
    kind, reader = ch.call(P.OPEN, payload)
    return expect(kind, reader, P.HANDLE, path).string()


def close_handle(ch: SftpChannel, handle: bytes,
                 path: str | None = None, wait: bool = True) -> None:
    """CLOSE handle; with wait False the reply is not waited for."""
    if not wait:
        ch.send(P.CLOSE, P.string(handle), ignore_reply)
        return
    kind, reader = ch.call(P.CLOSE, P.string(handle))
    check_status(kind, reader, path)


def ignore_reply(kind: int, reader: P.Reader) -> None:
    """Handler for replies nobody needs (a CLOSE after an error...)."""


def rename_payload(source: str, target: str) -> bytes:
    """The EXTENDED posix-rename request body: atomic, replaces target."""
    return P.string(POSIX_RENAME) + P.path_string(source) + P.path_string(
        target)


# --- Listings ---------------------------------------------------------------

class _Listing:
    """One directory being listed."""

    __slots__ = ("done", "entries", "error", "handle", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.entries: list[DirEntry] = []
        self.error: OSError | None = None
        self.done = False
        self.handle = b""


def list_dirs(ch: SftpChannel, paths: Iterable[str]
              ) -> Iterator[tuple[str, list[DirEntry] | OSError]]:
    """List directories, several at once; yield (path, entries or error).

    Results come in the order of paths. Each directory costs one OPENDIR,
    READDIRs until EOF (with the next one always already sent) and a CLOSE
    that is not waited for.
    """
    queue = deque(paths)
    active: deque[_Listing] = deque()

    def start(listing: _Listing) -> None:
        def on_handle(kind: int, reader: P.Reader) -> None:
            try:
                listing.handle = expect(kind, reader, P.HANDLE,
                                        listing.path).string()
            except OSError as error:
                listing.error = error
                listing.done = True
                return
            for _ in range(READDIR_AHEAD):
                readdir()

        def readdir() -> None:
            ch.send(P.READDIR, P.string(listing.handle), on_names)

        def on_names(kind: int, reader: P.Reader) -> None:
            if listing.done:
                return  # a READDIR sent ahead, answered after EOF
            try:
                names = expect(kind, reader, P.NAME, listing.path)
            except EOFError:
                listing.done = True
                close_handle(ch, listing.handle, wait=False)
                return
            except OSError as error:
                listing.error = error
                listing.done = True
                close_handle(ch, listing.handle, wait=False)
                return
            for _ in range(names.uint32()):
                name = names.text()
                names.string()  # the ls -l style long name
                info = names.stat()
                if name not in (".", ".."):
                    listing.entries.append((name, info))
            readdir()

        ch.send(P.OPENDIR, P.path_string(listing.path), on_handle)

    while queue or active:
        while queue and len(active) < DIRS_IN_FLIGHT:
            listing = _Listing(queue.popleft())
            start(listing)
            active.append(listing)
        first = active[0]
        ch.wait_for(_done(first))
        active.popleft()
        yield first.path, first.error if first.error else first.entries


def list_dir(ch: SftpChannel, path: str) -> list[DirEntry]:
    """List one directory (see list_dirs)."""
    for _, result in list_dirs(ch, [path]):
        if isinstance(result, OSError):
            raise result
        return result
    raise AssertionError("list_dirs yields one result per path")


# --- Streams ----------------------------------------------------------------

class _Read:
    """A READ request in flight."""

    __slots__ = ("length", "offset", "reply")

    def __init__(self, offset: int, length: int) -> None:
        self.offset = offset
        self.length = length
        self.reply: tuple[int, P.Reader] | None = None


def read_stream(ch: SftpChannel, handle: bytes, path: str,
                size_hint: int | None = None) -> Iterator[bytes]:
    """Yield the content behind an open handle, reading ahead.

    With a size hint, READs cover exactly size+1 bytes, so that the reply
    which comes back short also proves the end of the file. Without one,
    the window starts at one request and doubles, so a small file costs
    few wasted requests.
    """
    pending: deque[_Read] = deque()
    next_offset = 0
    chunk = ch.read_size(READ_CHUNK)
    end_hint = None if size_hint is None else size_hint + 1
    window = READ_WINDOW if size_hint is not None else 1

    def issue() -> None:
        nonlocal next_offset
        length = chunk
        if end_hint is not None and next_offset < end_hint:
            length = min(length, end_hint - next_offset)
        request = _Read(next_offset, length)

        def on_reply(kind: int, reader: P.Reader) -> None:
            request.reply = (kind, reader)

        ch.send(P.READ, P.string(handle) + P.uint64(next_offset)
                + P.uint32(length), on_reply)
        pending.append(request)
        next_offset += length

    def fill() -> None:
        while len(pending) < window and (
                end_hint is None or next_offset < end_hint):
            issue()

    fill()
    while pending:
        request = pending[0]
        ch.wait_for(_replied(request))
        pending.popleft()
        assert request.reply is not None
        kind, reader = request.reply
        try:
            data = expect(kind, reader, P.DATA, path).string()
        except EOFError:
            data = b""
        if data:
            yield data
        end = request.offset + len(data)
        if len(data) == request.length:
            if end_hint is not None and end >= end_hint:
                end_hint = None  # the file grew: read on until EOF
            window = min(window * 2, READ_WINDOW)
            fill()
            continue
        # A short reply: at the end of the file for a regular file. Later
        # replies either confirm that (EOF) or show the server read less
        # than asked; then read on from where it stopped.
        more = False
        while pending:
            later = pending.popleft()
            ch.wait_for(_replied(later))
            assert later.reply is not None
            if later.reply[0] == P.DATA:
                more = True
        if not more and (not data or (
                size_hint is not None and end >= size_hint)):
            return  # EOF, or a short read at the size the listing gave
        next_offset = end
        end_hint = None
        window = 1
        fill()


def write_stream(ch: SftpChannel, handle: bytes, path: str,
                 data: Iterable[bytes]) -> int:
    """Write data behind an open handle, pipelined; return the byte count.

    Small pieces are gathered into requests of about WRITE_CHUNK; large ones are
    split. At most WRITE_WINDOW requests wait for acknowledgement, so
    memory stays bounded whatever the size.
    """
    errors: list[OSError] = []
    offset = 0

    def on_ack(kind: int, reader: P.Reader) -> None:
        try:
            check_status(kind, reader, path)
        except OSError as error:
            errors.append(error)

    def send(piece: bytes | memoryview) -> None:
        nonlocal offset
        ch.send_write(handle, offset, piece, on_ack)
        offset += len(piece)
        while ch.outstanding > WRITE_WINDOW:
            ch.pump()
        if errors:
            raise errors[0]

    size = ch.write_size(handle, WRITE_CHUNK)
    gathered = bytearray()
    for chunk in data:
        if not gathered and len(chunk) >= size:
            view = memoryview(chunk)
            for start in range(0, len(view), size):
                send(view[start:start + size])
            continue
        gathered += chunk
        while len(gathered) >= size:
            send(bytes(gathered[:size]))
            del gathered[:size]
    if gathered:
        send(bytes(gathered))
    ch.drain()
    if errors:
        raise errors[0]
    return offset


# --- Batches of small files -------------------------------------------------

class _Download:
    """One small file being read in a batch."""

    __slots__ = (
        "done",
        "error",
        "path",
        "pieces",
        "replies_left",
        "size",
        "suspect",
    )

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self.pieces: list[tuple[int, bytes]] = []
        self.replies_left = 0
        self.error: OSError | None = None
        self.done = False
        self.suspect = False


def read_files(ch: SftpChannel, files: Iterable[tuple[str, int]],
               stopping: Callable[[], bool]) -> Iterator[bytes]:
    """Yield the content of each (path, size) file, many in flight.

    Each file's READs cover size+1 bytes and are sent with its CLOSE as
    soon as its handle arrives. A file whose replies do not add up (it
    changed since it was listed) is read again as a stream.

    :param stopping: Returns True once the consumer has given up; files
        whose handle arrives after that are just closed.
    """
    source = iter(files)
    active: deque[_Download] = deque()
    read_size = ch.read_size(READ_CHUNK)

    def start(item: _Download) -> None:
        def on_handle(kind: int, reader: P.Reader) -> None:
            try:
                handle = expect(kind, reader, P.HANDLE, item.path).string()
            except OSError as error:
                item.error = error
                item.done = True
                return
            if not stopping():
                offset = 0
                while offset <= item.size:
                    length = min(read_size, item.size + 1 - offset)
                    ch.send(P.READ, P.string(handle) + P.uint64(offset)
                            + P.uint32(length), on_data(offset, length))
                    item.replies_left += 1
                    offset += length
            item.replies_left += 1
            ch.send(P.CLOSE, P.string(handle), on_close)

        def on_data(offset: int, length: int
                    ) -> Callable[[int, P.Reader], None]:
            def handler(kind: int, reader: P.Reader) -> None:
                try:
                    data = expect(kind, reader, P.DATA, item.path).string()
                except EOFError:
                    data = b""
                except OSError as error:
                    item.error = item.error or error
                    data = b""
                if 0 < len(data) < length and offset + len(data) != item.size:
                    item.suspect = True  # short, but not at the known end
                if offset + len(data) > item.size:
                    item.suspect = True  # the file grew
                if data:
                    item.pieces.append((offset, data))
                finish()
            return handler

        def on_close(kind: int, reader: P.Reader) -> None:
            finish()

        def finish() -> None:
            item.replies_left -= 1
            if item.replies_left == 0:
                item.done = True

        ch.send(P.OPEN, P.path_string(item.path) + P.uint32(P.FLAG_READ)
                + P.attrs(), on_handle)

    def refill() -> None:
        while len(active) < FILES_IN_FLIGHT:
            try:
                path, size = next(source)
            except StopIteration:
                return
            item = _Download(path, size)
            start(item)
            active.append(item)

    refill()
    while active:
        item = active[0]
        ch.wait_for(_done(item))
        active.popleft()
        if item.error is not None:
            raise item.error
        content = b"".join(data for _, data in sorted(item.pieces))
        if item.suspect or len(content) != _contiguous(item.pieces):
            handle = open_file(ch, item.path, P.FLAG_READ)
            try:
                content = b"".join(read_stream(ch, handle, item.path))
            finally:
                close_handle(ch, handle, wait=False)
        refill()
        yield content


def _contiguous(pieces: list[tuple[int, bytes]]) -> int:
    """How many bytes from offset 0 the pieces cover without a gap."""
    end = 0
    for offset, data in sorted(pieces):
        if offset != end:
            return -1
        end += len(data)
    return end


class Upload:
    """One small file being landed in a batch."""

    __slots__ = (
        "done",
        "error",
        "handle",
        "item",
        "landed",
        "replies_left",
        "temp",
    )

    def __init__(self, item: WriteItem, temp: str) -> None:
        self.item = item
        self.temp = temp
        self.handle = b""
        self.replies_left = 0
        self.error: OSError | None = None
        self.done = False
        self.landed = False


def write_files(ch: SftpChannel, items: Iterable[WriteItem],
                temp_name: Callable[[str], str],
                stopping: Callable[[], bool],
                started: list[Upload]) -> Iterator[Upload]:
    """Land small files atomically, many in flight; yield each when done.

    Per file: OPEN a temporary name exclusively (with the creation mode);
    when the handle arrives, WRITE everything, FSETSTAT the exact mode if
    asked, CLOSE; when all of that succeeded, posix-rename onto the target.
    The rename only follows success, so a failed write never lands.

    The caller must look at each yielded upload's ``error`` and, if it
    stops early, remove the temporary files of the uploads in ``started``
    that did not land; ``stopping`` tells handlers not to land files any
    more.
    """
    source = iter(items)
    active: deque[Upload] = deque()

    def start(upload: Upload) -> None:
        item = upload.item

        def on_handle(kind: int, reader: P.Reader) -> None:
            try:
                upload.handle = expect(kind, reader, P.HANDLE,
                                       upload.temp).string()
            except OSError as error:
                upload.error = error
                upload.done = True
                return
            view = memoryview(item.data)
            size = ch.write_size(upload.handle, WRITE_CHUNK)
            for offset in range(0, len(view), size):
                upload.replies_left += 1
                ch.send_write(upload.handle, offset,
                              view[offset:offset + size], on_status)
            if item.exact_mode is not None:
                upload.replies_left += 1
                ch.send(P.FSETSTAT, P.string(upload.handle)
                        + P.attrs(item.exact_mode), on_status)
            upload.replies_left += 1
            ch.send(P.CLOSE, P.string(upload.handle), on_status)

        def on_status(kind: int, reader: P.Reader) -> None:
            try:
                check_status(kind, reader, item.path)
            except OSError as error:
                upload.error = upload.error or error
            upload.replies_left -= 1
            if upload.replies_left:
                return
            if upload.error is not None or stopping():
                upload.done = True
                return
            ch.send(P.EXTENDED, rename_payload(upload.temp, item.path),
                    on_renamed)

        def on_renamed(kind: int, reader: P.Reader) -> None:
            try:
                check_status(kind, reader, item.path)
                upload.landed = True
            except OSError as error:
                upload.error = error
            upload.done = True

        ch.send(P.OPEN, P.path_string(upload.temp)
                + P.uint32(WRITE_FLAGS | P.FLAG_EXCL) + P.attrs(item.mode),
                on_handle)

    def refill() -> None:
        while len(active) < FILES_IN_FLIGHT:
            try:
                item = next(source)
            except StopIteration:
                return
            upload = Upload(item, temp_name(item.path))
            started.append(upload)
            active.append(upload)
            start(upload)
            ch.poll()

    refill()
    while active:
        upload = active[0]
        ch.wait_for(_done(upload))
        active.popleft()
        yield upload
        refill()


def stat_reply(kind: int, reader: P.Reader, path: str) -> FileStat:
    """The FileStat of an ATTRS reply (or its error)."""
    return expect(kind, reader, P.ATTRS, path).stat()
