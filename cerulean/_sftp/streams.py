"""Streaming one file over SFTP: reads kept ahead, writes not waited for.

Also how a written file is finished (mode, fsync, a checked CLOSE) and
how one is copied on the server, in pieces (OpenSSH's copy-data).

Memory stays bounded by the windows below whatever the file size: a
window of READ requests runs ahead of the consumer, and WRITE requests are
acknowledged in bulk, at most WRITE_WINDOW waiting at any time.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from cerulean._sftp import protocol
from cerulean._sftp.channel import (
    COPY_DATA,
    SftpChannel,
    check_extension_status,
    check_status,
    close_handle,
    copy_data_payload,
    expect,
    sync_file,
)

READ_CHUNK = 128 * 1024
"""Bytes per READ request; OpenSSH serves up to 255 KiB per request."""
READ_WINDOW = 16
"""READ requests in flight per stream: 2 MiB, paramiko's receive window."""
WRITE_CHUNK = 128 * 1024
"""Bytes per WRITE request (OpenSSH accepts up to 255 KiB)."""
WRITE_WINDOW = 16
"""WRITE requests in flight before waiting for acknowledgements."""
COPY_PIECE = 8 * 1024 * 1024
"""Bytes per copy-data request: the server answers each when it is done,
so this is how often a copy on the server reports progress."""
COPY_WINDOW = 2
"""copy-data requests in flight, so the server never waits for the next."""


class _Read:
    """A READ request in flight."""

    __slots__ = ("length", "offset", "reply")

    def __init__(self, offset: int, length: int) -> None:
        self.offset = offset
        self.length = length
        self.reply: tuple[int, protocol.Reader] | None = None

    @property
    def done(self) -> bool:
        """Whether the reply has arrived."""
        return self.reply is not None


def _send_read(ch: SftpChannel, handle: bytes, offset: int,
               length: int) -> _Read:
    """Send one READ of ``length`` bytes at ``offset``, not waiting: the
    reply lands in the returned request."""
    request = _Read(offset, length)

    def on_reply(kind: int, reader: protocol.Reader) -> None:
        request.reply = (kind, reader)

    ch.send(protocol.READ, protocol.string(handle) + protocol.uint64(offset)
            + protocol.uint32(length), on_reply)
    return request


def _data(ch: SftpChannel, request: _Read, path: str) -> bytes:
    """The bytes a READ brought, once its reply is in (none at the end of
    the file)."""
    ch.wait_done(request)
    assert request.reply is not None
    kind, reader = request.reply
    try:
        return expect(kind, reader, protocol.DATA, path).string()
    except EOFError:
        return b""


class _ReadAhead:
    """READ requests of one open handle, kept ahead of the consumer.

    Up to ``window`` requests are in flight, each of a chunk, none past
    ``stop`` (None: on to the end of the file); :meth:`widen` doubles the
    window up to READ_WINDOW after a full reply, :meth:`restart` goes back
    to one request from a new offset after a short one.
    """

    def __init__(self, ch: SftpChannel, handle: bytes, path: str,
                 offset: int, stop: int | None, window: int) -> None:
        self.ch = ch
        self.handle = handle
        self.path = path
        self.pending: deque[_Read] = deque()
        self.next_offset = offset
        self.stop = stop
        self.window = window
        self.chunk = ch.read_size(READ_CHUNK)
        self.fill()

    def fill(self) -> None:
        """Send READs until the window is full or ``stop`` is reached."""
        while len(self.pending) < self.window and (
                self.stop is None or self.next_offset < self.stop):
            length = self.chunk if self.stop is None else min(
                self.chunk, self.stop - self.next_offset)
            self.pending.append(
                _send_read(self.ch, self.handle, self.next_offset, length))
            self.next_offset += length

    def take(self) -> tuple[_Read, bytes]:
        """The oldest request in flight and the bytes it brought."""
        request = self.pending.popleft()
        return request, _data(self.ch, request, self.path)

    def widen(self) -> None:
        """After a full reply: a wider window, filled."""
        self.window = min(self.window * 2, READ_WINDOW)
        self.fill()

    def restart(self, offset: int, stop: int | None) -> None:
        """After a short reply: one request from ``offset`` on."""
        self.next_offset = offset
        self.stop = stop
        self.window = 1
        self.fill()


def read_stream(ch: SftpChannel, handle: bytes, path: str,
                size_hint: int | None = None) -> Iterator[bytes]:
    """Yield the content behind an open handle, reading ahead.

    With a size hint, READs cover exactly size+1 bytes, so that the reply
    which comes back short also proves the end of the file. Without one,
    the window starts at one request and doubles, so a small file costs
    few wasted requests.
    """
    reads = _ReadAhead(ch, handle, path, 0,
                       None if size_hint is None else size_hint + 1,
                       READ_WINDOW if size_hint is not None else 1)
    while reads.pending:
        request, data = reads.take()
        if data:
            yield data
        end = request.offset + len(data)
        if len(data) == request.length:
            if reads.stop is not None and end >= reads.stop:
                reads.stop = None  # the file grew: read on until EOF
            reads.widen()
            continue
        # A short reply: at the end of the file for a regular file. Later
        # replies either confirm that (EOF) or show the server read less
        # than asked; then read on from where it stopped.
        more = False
        while reads.pending:
            later = reads.pending.popleft()
            ch.wait_done(later)
            assert later.reply is not None
            if later.reply[0] == protocol.DATA:
                more = True
        if not more and (not data or (
                size_hint is not None and end >= size_hint)):
            return  # EOF, or a short read at the size the listing gave
        reads.restart(end, None)


def read_range(ch: SftpChannel, handle: bytes, path: str, offset: int,
               size: int | None) -> Iterator[bytes]:
    """Yield up to size bytes (to the end if None) from offset, reading ahead.

    The READs cover exactly the range when its size is known; otherwise the
    window starts at one request and doubles, as in :func:`read_stream`. A
    short reply ends the range at the end of the file; should the server
    have read less than asked elsewhere, the rest is asked for again.
    """
    reads = _ReadAhead(ch, handle, path, offset,
                       None if size is None else offset + size,
                       READ_WINDOW if size is not None else 1)
    while reads.pending:
        request, data = reads.take()
        if data:
            yield data
        if len(data) == request.length:
            reads.widen()
            continue
        # Short: the requests after this one are answered (their replies
        # must be taken off the channel) but not used.
        for later in reads.pending:
            ch.wait_done(later)
        reads.pending.clear()
        if not data:
            return  # the end of the file
        reads.restart(request.offset + len(data), reads.stop)


def write_stream(ch: SftpChannel, handle: bytes, path: str,
                 data: Iterable[bytes], file_offset: int = 0) -> int:
    """Write data behind an open handle, pipelined; return the byte count.

    Small pieces are gathered into requests of about WRITE_CHUNK; large ones are
    split. At most WRITE_WINDOW requests wait for acknowledgement, so
    memory stays bounded whatever the size.

    :param file_offset: Where in the file the first byte goes (0: a whole
        file).
    """
    errors: list[OSError] = []
    offset = file_offset

    def on_ack(kind: int, reader: protocol.Reader) -> None:
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
    return offset - file_offset


_Count = TypeVar("_Count", bound="int | None")


def finish_handle(ch: SftpChannel, handle: bytes, path: str,
                  fill: Callable[[], _Count], exact_mode: int | None = None,
                  sync: bool = False) -> _Count:
    """Fill a file open for writing, then finish and close it.

    ``fill`` writes the data and returns the byte count (None: it wrote
    nothing worth finishing, the caller falls back). Then the handle gets
    exact_mode if given, is fsynced on the server if sync (and the server
    can), and is closed, checked: a failed CLOSE can mean lost data, so
    callers land the file only after it. If anything fails, the handle is
    closed without waiting (the file is left as far as it got).
    """
    try:
        count = fill()
        if count is not None:
            if exact_mode is not None:
                check_status(*ch.call(
                    protocol.FSETSTAT, protocol.string(handle) + protocol.attrs(exact_mode)), path)
            if sync:
                sync_file(ch, handle, path)
    except BaseException:
        if ch.healthy:
            close_handle(ch, handle, wait=False)
        raise
    close_handle(ch, handle, path)
    return count


def _collect(box: list[tuple[int, protocol.Reader]]
             ) -> Callable[[int, protocol.Reader], None]:
    """A reply handler that puts the reply into box."""
    return lambda kind, reader: box.append((kind, reader))


def copy_pieces(ch: SftpChannel, src: bytes, dst: bytes, path: str,
                size: int, progress: Callable[[int], None] | None
                ) -> int | None:
    """copy-data in pieces of COPY_PIECE, COPY_WINDOW in flight, the
    last one to the end of the file (should it have grown); None if
    the server lacks copy-data."""
    pending: deque[tuple[int, list[tuple[int, protocol.Reader]]]] = deque()
    offset: int | None = 0
    copied = 0
    try:
        while offset is not None or pending:
            while offset is not None and len(pending) < COPY_WINDOW:
                last = size - offset <= COPY_PIECE
                box: list[tuple[int, protocol.Reader]] = []
                ch.send(protocol.EXTENDED, copy_data_payload(
                    src, offset, 0 if last else COPY_PIECE, dst), _collect(box))
                pending.append((min(COPY_PIECE, max(size - offset, 0)), box))
                offset = None if last else offset + COPY_PIECE
            counted, reply = pending[0]
            while not reply:
                ch.pump()
            pending.popleft()
            if not check_extension_status(ch, COPY_DATA, *reply[0], path):
                ch.drain()
                return None
            copied += counted
            if progress is not None:
                progress(counted)
    except BaseException:
        if pending and ch.healthy:
            ch.drain()  # the replies still to come, before reuse
        raise
    return copied
