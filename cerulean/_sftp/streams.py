"""Streaming one file over SFTP: reads kept ahead, writes not waited for.

Memory stays bounded by the windows below whatever the file size: a
window of READ requests runs ahead of the consumer, and WRITE requests are
acknowledged in bulk, at most WRITE_WINDOW waiting at any time.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from cerulean._sftp import protocol
from cerulean._sftp.channel import SftpChannel, check_status, expect

READ_CHUNK = 128 * 1024
"""Bytes per READ request; OpenSSH serves up to 255 KiB per request."""
READ_WINDOW = 16
"""READ requests in flight per stream: 2 MiB, paramiko's receive window."""
WRITE_CHUNK = 128 * 1024
"""Bytes per WRITE request (OpenSSH accepts up to 255 KiB)."""
WRITE_WINDOW = 16
"""WRITE requests in flight before waiting for acknowledgements."""


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

        def on_reply(kind: int, reader: protocol.Reader) -> None:
            request.reply = (kind, reader)

        ch.send(protocol.READ, protocol.string(handle) + protocol.uint64(next_offset)
                + protocol.uint32(length), on_reply)
        pending.append(request)
        next_offset += length

    def fill() -> None:
        while len(pending) < window and (
                end_hint is None or next_offset < end_hint):
            issue()

    fill()
    while pending:
        request = pending[0]
        ch.wait_done(request)
        pending.popleft()
        assert request.reply is not None
        kind, reader = request.reply
        try:
            data = expect(kind, reader, protocol.DATA, path).string()
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
            ch.wait_done(later)
            assert later.reply is not None
            if later.reply[0] == protocol.DATA:
                more = True
        if not more and (not data or (
                size_hint is not None and end >= size_hint)):
            return  # EOF, or a short read at the size the listing gave
        next_offset = end
        end_hint = None
        window = 1
        fill()


def read_range(ch: SftpChannel, handle: bytes, path: str, offset: int,
               size: int | None) -> Iterator[bytes]:
    """Yield up to size bytes (to the end if None) from offset, reading ahead.

    The READs cover exactly the range when its size is known; otherwise the
    window starts at one request and doubles, as in :func:`read_stream`. A
    short reply ends the range at the end of the file; should the server
    have read less than asked elsewhere, the rest is asked for again.
    """
    pending: deque[_Read] = deque()
    next_offset = offset
    stop = None if size is None else offset + size
    chunk = ch.read_size(READ_CHUNK)
    window = READ_WINDOW if size is not None else 1

    def issue() -> None:
        nonlocal next_offset
        length = chunk if stop is None else min(chunk, stop - next_offset)
        request = _Read(next_offset, length)

        def on_reply(kind: int, reader: protocol.Reader) -> None:
            request.reply = (kind, reader)

        ch.send(protocol.READ, protocol.string(handle)
                + protocol.uint64(next_offset) + protocol.uint32(length),
                on_reply)
        pending.append(request)
        next_offset += length

    def fill() -> None:
        while len(pending) < window and (stop is None or next_offset < stop):
            issue()

    fill()
    while pending:
        request = pending.popleft()
        ch.wait_done(request)
        assert request.reply is not None
        kind, reader = request.reply
        try:
            data = expect(kind, reader, protocol.DATA, path).string()
        except EOFError:
            data = b""
        if data:
            yield data
        if len(data) == request.length:
            window = min(window * 2, READ_WINDOW)
            fill()
            continue
        # Short: the requests after this one are answered (their replies
        # must be taken off the channel) but not used.
        for later in pending:
            ch.wait_done(later)
        pending.clear()
        if not data:
            return  # the end of the file
        next_offset = request.offset + len(data)
        window = 1
        fill()


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
