"""One SFTP session with many requests in flight.

:class:`SftpChannel` sends requests without waiting and calls a handler for
each reply as it arrives, so a caller can keep a pipeline full: a handler
may send the next requests (write after open, read after read...). Replies
are read from the channel in large pieces, which also keeps paramiko's
receive buffer small (it moves the whole buffer on every read).

The single requests the file system and the pipelines share (OPEN, CLOSE,
posix-rename, many REMOVEs) follow the channel.
"""
from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NamedTuple, Protocol

import paramiko

from cerulean._sftp import protocol
from cerulean.file_system_impl import DiskUsage
from cerulean.path import FileStat

Handler = Callable[[int, protocol.Reader], None]
"""Called with the reply type and a reader positioned after the id."""

RECV_SIZE = 4 * 1024 * 1024
"""Bytes asked of the channel per read: take all that has arrived."""

REPLY_TIMEOUT = 300.0
"""Seconds without any reply, while waiting for one, before the connection
is considered dead. Long, because a server may legitimately take a while
(closing a large file on a slow disk); a dropped connection is noticed
much sooner by the transport itself."""

FLUSH_SIZE = 64 * 1024
"""Queued request bytes that are sent without waiting for a flush."""

_U32 = struct.Struct(">I")


class Limits(NamedTuple):
    """What a server's limits@openssh.com reply says (0: no limit told)."""

    max_packet: int
    max_read: int
    max_write: int
    max_open_handles: int


class Task(Protocol):
    """Anything a handler marks done when its replies are in."""

    @property
    def done(self) -> bool:
        """Whether the replies it waits for have arrived."""

# What paramiko raises when the connection under a channel goes away.
_CONNECTION_ERRORS = (OSError, EOFError, paramiko.SSHException)


class SftpChannel:
    """An SFTP session (a channel of an SSH connection) we speak to directly.

    Not thread-safe: one thread uses a channel at a time (the file system
    keeps a pool of them).

    :param client: A paramiko SFTPClient whose version exchange is done;
        only its channel is used from then on.
    :param generation: The terminal's connection generation it belongs to.
    :param lacks: The names of the optional extensions the server has
        answered "unsupported" to, shared by the sessions of one file
        system so that each is asked about once.
    """

    def __init__(self, client: paramiko.SFTPClient, generation: int,
                 lacks: set[bytes] | None = None) -> None:
        channel = client.get_channel()
        if channel is None:
            raise ConnectionError("SFTP client has no channel")
        channel.settimeout(REPLY_TIMEOUT)
        self._client = client
        self._chan = channel
        self.generation = generation
        self._next_id = 1
        self._handlers: dict[int, Handler] = {}
        self._buffer = bytearray()
        self._out = bytearray()
        self._broken = False
        self.lacks: set[bytes] = set() if lacks is None else lacks
        """Optional extensions the server turned down (see has())."""
        self.limits: Limits | None = None
        """The largest requests the server takes (limits@openssh.com), if
        it told them: read_size and write_size never ask for more."""
        self.flushes = 0
        """Successful sends so far: if a failed operation sent nothing, the
        server never saw it, and it is safe to run it again elsewhere."""

    # --- State -------------------------------------------------------------

    @property
    def healthy(self) -> bool:
        """Whether the channel can still carry requests."""
        if self._broken or self._chan.closed:
            return False
        transport = self._chan.get_transport()
        return transport is not None and transport.is_active()

    def has(self, extension: bytes) -> bool:
        """Whether to use an optional extension: yes until the server has
        answered "unsupported" to it once.

        paramiko does the version exchange and drops the extension list
        the server announced, so asking is how we find out; a server
        without the extension answers OP_UNSUPPORTED and nothing happens.
        """
        return extension not in self.lacks

    @property
    def idle(self) -> bool:
        """Whether no replies are outstanding (safe to hand to another user)."""
        return not self._handlers

    @property
    def outstanding(self) -> int:
        """How many replies are still to come."""
        return len(self._handlers)

    def close(self) -> None:
        """Close the session (the server then closes its open handles)."""
        self._broken = True
        try:
            self._client.close()
        except _CONNECTION_ERRORS:
            pass

    def _fail(self, error: BaseException) -> ConnectionError:
        self._broken = True
        return ConnectionError(f"SFTP connection lost: {error or type(error).__name__}")

    # --- Sizing ------------------------------------------------------------

    def write_size(self, handle: bytes, target: int) -> int:
        """Data bytes per WRITE, near target, filling whole SSH packets.

        paramiko cuts what we send into packets of a fixed payload; a WRITE
        whose header and data end exactly on a packet boundary saves the
        tiny extra packet that would otherwise carry its last bytes.
        """
        payload = self._chan.out_max_packet_size - 64  # as paramiko sends
        overhead = protocol.WRITE_OVERHEAD + len(handle)
        size = _aligned(target, overhead, payload)
        limits = self.limits
        if limits is not None:
            if limits.max_write:
                size = min(size, limits.max_write)
            if limits.max_packet:
                size = min(size, limits.max_packet - overhead)
        return max(size, 1)

    def read_size(self, target: int) -> int:
        """Data bytes per READ, near target, so the reply fills whole SSH
        packets (the server sends at most our maximum packet each)."""
        size = _aligned(target, protocol.DATA_OVERHEAD, self._chan.in_max_packet_size)
        if self.limits is not None and self.limits.max_read:
            size = min(size, self.limits.max_read)
        return size

    # --- Sending -------------------------------------------------------------

    def _take_id(self, handler: Handler) -> int:
        request_id = self._next_id
        self._next_id = (request_id + 1) & 0xFFFFFFFF
        self._handlers[request_id] = handler
        return request_id

    def _queue(self, *parts: bytes | memoryview) -> None:
        if self._broken:
            raise ConnectionError("SFTP connection lost earlier")
        for part in parts:
            self._out += part
        if len(self._out) >= FLUSH_SIZE:
            self.flush()

    def flush(self) -> None:
        """Send the requests queued so far.

        Requests are gathered and sent together: fewer, fuller packets,
        and far fewer hand-overs between this thread and paramiko's. Every
        wait for a reply flushes first.
        """
        if not self._out:
            return
        # Hand the buffer over and start a new one instead of emptying it
        # after the send: when the connection drops mid-send, paramiko's
        # frames in the error's traceback still hold slices of the view,
        # and a bytearray with live views cannot be resized (BufferError,
        # which replaced the ConnectionError). The old buffer is freed
        # with its last view. A memoryview, since sendall slices what it
        # is given after every packet, and slicing bytes would copy.
        out, self._out = self._out, bytearray()
        try:
            self._chan.sendall(memoryview(out))  # type: ignore[arg-type]
        except _CONNECTION_ERRORS as error:
            raise self._fail(error) from error
        self.flushes += 1

    def send(self, kind: int, payload: bytes, handler: Handler) -> int:
        """Queue a request; handler gets its reply. Returns the request id."""
        request_id = self._take_id(handler)
        self._queue(protocol.packet(kind, request_id, payload))
        return request_id

    def send_write(self, handle: bytes, offset: int,
                   data: bytes | memoryview, handler: Handler) -> int:
        """Queue a WRITE of data at offset to handle."""
        request_id = self._take_id(handler)
        self._queue(protocol.write_header(request_id, handle, offset, len(data)), data)
        return request_id

    # --- Receiving -----------------------------------------------------------

    def pump(self) -> None:
        """Wait for replies and dispatch every complete one to its handler."""
        self.flush()
        try:
            data = self._chan.recv(RECV_SIZE)
        except _CONNECTION_ERRORS as error:
            raise self._fail(error) from error
        if not data:
            raise self._fail(EOFError("channel closed"))
        self._buffer += data
        self._dispatch()

    def poll(self) -> None:
        """Dispatch the replies that have already arrived; never blocks."""
        while self._chan.recv_ready():
            self.pump()

    def _dispatch(self) -> None:
        buffer = self._buffer
        pos = 0
        end_of_data = len(buffer)
        try:
            while end_of_data - pos >= 9:
                length = _U32.unpack_from(buffer, pos)[0]
                end = pos + 4 + length
                if end > end_of_data:
                    break
                kind = buffer[pos + 4]
                request_id = _U32.unpack_from(buffer, pos + 5)[0]
                if kind == protocol.DATA:
                    # Copy file data once, straight out of the buffer.
                    reader: protocol.Reader = protocol.DataReader(bytes(buffer[pos + 13:end]))
                else:
                    reader = protocol.Reader(bytes(buffer[pos + 9:end]))
                pos = end
                handler = self._handlers.pop(request_id, None)
                if handler is not None:
                    handler(kind, reader)
        finally:
            del buffer[:pos]

    def wait_done(self, task: Task) -> None:
        """Pump replies until task.done is true."""
        while not task.done:
            self.pump()

    def drain(self) -> None:
        """Wait until no replies are outstanding."""
        while self._handlers:
            self.pump()

    def call(self, kind: int, payload: bytes) -> tuple[int, protocol.Reader]:
        """Send one request and wait for its reply: one round trip."""
        box: list[tuple[int, protocol.Reader]] = []
        self.send(kind, payload, lambda k, r: box.append((k, r)))
        while not box:
            self.pump()
        return box[0]


def _aligned(target: int, overhead: int, packet: int) -> int:
    if packet <= overhead:
        return target
    count = max(1, (target + overhead) // packet)
    return count * packet - overhead


# --- Interpreting replies -------------------------------------------------

def check_status(kind: int, reader: protocol.Reader, path: str | None) -> None:
    """Raise the matching OSError unless the reply is STATUS OK."""
    if kind != protocol.STATUS:
        raise OSError(f"SFTP: expected a status reply, got type {kind}")
    code = reader.uint32()
    if code != protocol.OK:
        raise protocol.status_error(code, _message(reader), path)


def _message(reader: protocol.Reader) -> str:
    try:
        return reader.text()
    except struct.error:
        return ""  # SFTP v3 servers may leave out the message


def expect(kind: int, reader: protocol.Reader, wanted: int,
           path: str | None) -> protocol.Reader:
    """Return reader if the reply is of type wanted, else raise its error.

    :raises EOFError: For a STATUS EOF reply.
    """
    if kind == wanted:
        return reader
    if kind == protocol.STATUS:
        code = reader.uint32()
        if code == protocol.EOF:
            raise EOFError(path)
        if code == protocol.OK:
            raise OSError(f"SFTP: expected reply type {wanted}, got OK")
        raise protocol.status_error(code, _message(reader), path)
    raise OSError(f"SFTP: expected reply type {wanted}, got {kind}")


# --- Single requests, and the small pieces the pipelines share ---------------

WRITE_FLAGS = protocol.FLAG_WRITE | protocol.FLAG_CREAT | protocol.FLAG_TRUNC
"""OPEN flags for writing a file from the start."""
POSIX_RENAME = b"posix-rename@openssh.com"
"""The OpenSSH extension that renames atomically, replacing the target."""
STATVFS = b"statvfs@openssh.com"
"""The OpenSSH extension that answers statvfs(3) for a path."""
FSYNC = b"fsync@openssh.com"
"""The OpenSSH extension that fsync(2)s an open file on the server."""
HARDLINK = b"hardlink@openssh.com"
"""The OpenSSH extension that makes a hard link (link(2))."""
COPY_DATA = b"copy-data"
"""The extension (draft-ietf-secsh-filexfer-extensions, in OpenSSH since
9.0) that copies bytes from one open handle to another on the server."""


def open_file(ch: SftpChannel, path: str, flags: int,
              mode: int | None = None) -> bytes:
    """OPEN path with flags (and creation mode); return the handle."""
    payload = protocol.path_string(path) + protocol.uint32(flags) + protocol.attrs(mode)
    kind, reader = ch.call(protocol.OPEN, payload)
    return expect(kind, reader, protocol.HANDLE, path).string()


def close_handle(ch: SftpChannel, handle: bytes,
                 path: str | None = None, wait: bool = True) -> None:
    """CLOSE handle; with wait False the reply is not waited for."""
    if not wait:
        ch.send(protocol.CLOSE, protocol.string(handle), ignore_reply)
        return
    kind, reader = ch.call(protocol.CLOSE, protocol.string(handle))
    check_status(kind, reader, path)


def ignore_reply(kind: int, reader: protocol.Reader) -> None:
    """Handler for replies nobody needs (a CLOSE after an error...)."""


def rename_payload(source: str, target: str) -> bytes:
    """The EXTENDED posix-rename request body: atomic, replaces target."""
    return protocol.string(POSIX_RENAME) + protocol.path_string(source) + protocol.path_string(
        target)


LIMITS = b"limits@openssh.com"
"""The OpenSSH extension that tells the largest requests the server takes."""


def ask_limits(ch: SftpChannel) -> Limits | None:
    """The server's limits@openssh.com reply; None if it lacks it."""
    if not ch.has(LIMITS):
        return None
    kind, reader = ch.call(protocol.EXTENDED, protocol.string(LIMITS))
    if kind == protocol.STATUS:
        check_extension_status(ch, LIMITS, kind, reader, None)
        return None
    reply = expect(kind, reader, protocol.EXTENDED_REPLY, None)
    return Limits(*(reply.uint64() for _ in range(4)))


def fsync_payload(handle: bytes) -> bytes:
    """The EXTENDED fsync request body for an open handle."""
    return protocol.string(FSYNC) + protocol.string(handle)


def copy_data_payload(source: bytes, offset: int, length: int,
                      target: bytes) -> bytes:
    """The EXTENDED copy-data request body: length bytes (0: to the end of
    the file) from offset of source to the same offset of target."""
    return (protocol.string(COPY_DATA) + protocol.string(source)
            + protocol.uint64(offset) + protocol.uint64(length)
            + protocol.string(target) + protocol.uint64(offset))


def check_extension_status(ch: SftpChannel, extension: bytes, kind: int,
                           reader: protocol.Reader, path: str | None) -> bool:
    """check_status for an optional extension; False if the server lacks it.

    "Unsupported" is remembered on the channel (see SftpChannel.has), so
    it is not asked again, and is no error: the caller goes without.
    """
    try:
        check_status(kind, reader, path)
    except OSError as error:
        if protocol.sftp_status(error) != protocol.OP_UNSUPPORTED:
            raise
        ch.lacks.add(extension)
        return False
    return True


def sync_file(ch: SftpChannel, handle: bytes, path: str) -> None:
    """fsync the open file on the server, if it offers fsync@openssh.com.

    Before a rename lands a file: a crash of the server host after the
    rename then cannot leave the new name on an empty file.
    """
    if ch.has(FSYNC):
        check_extension_status(ch, FSYNC, *ch.call(
            protocol.EXTENDED, fsync_payload(handle)), path)


def statvfs_payload(path: str) -> bytes:
    """The EXTENDED statvfs request body for path."""
    return protocol.string(STATVFS) + protocol.path_string(path)


def disk_usage_reply(reader: protocol.Reader) -> DiskUsage:
    """Total, used and free bytes from a statvfs EXTENDED_REPLY, as
    shutil.disk_usage computes them from statvfs(3)."""
    reader.uint64()  # f_bsize; sizes count in f_frsize units
    frsize, blocks, bfree, bavail = (reader.uint64() for _ in range(4))
    return DiskUsage(blocks * frsize, (blocks - bfree) * frsize,
                     bavail * frsize)


def stat_reply(kind: int, reader: protocol.Reader, path: str) -> FileStat:
    """The FileStat of an ATTRS reply (or its error)."""
    return expect(kind, reader, protocol.ATTRS, path).stat()


REMOVES_IN_FLIGHT = 256
"""REMOVE requests sent before waiting for replies."""


def remove_many(ch: SftpChannel, paths: list[str]) -> list[OSError | None]:
    """REMOVE each path, many in flight; return each one's error or None."""
    errors: list[OSError | None] = [None] * len(paths)
    left = [0]

    def on_status(index: int) -> Callable[[int, protocol.Reader], None]:
        def handler(kind: int, reader: protocol.Reader) -> None:
            left[0] -= 1
            try:
                check_status(kind, reader, paths[index])
            except OSError as error:
                errors[index] = error
        return handler

    for index, path in enumerate(paths):
        ch.send(protocol.REMOVE, protocol.path_string(path), on_status(index))
        left[0] += 1
        while left[0] >= REMOVES_IN_FLIGHT:
            ch.pump()
    while left[0]:
        ch.pump()
    return errors
