"""Batches over SFTP: dozens of small files, or of directory listings, in flight.

Each file moves from OPEN to READ or WRITE to CLOSE (and, for uploads, to
RENAME) as its replies arrive, so a batch costs about one round trip plus
the time to move the bytes, not a few round trips per file. Directory
listings (for walk, copy() and tree removal) are pipelined the same way.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

from cerulean._sftp import protocol
from cerulean._sftp.channel import (
    FSYNC,
    WRITE_FLAGS,
    SftpChannel,
    check_extension_status,
    check_status,
    close_handle,
    expect,
    fsync_payload,
    open_file,
    rename_payload,
)
from cerulean._sftp.streams import READ_CHUNK, WRITE_CHUNK, read_stream
from cerulean.file_system_impl import DirEntry, WriteItem

FILES_IN_FLIGHT = 64
"""Small files in flight at once in a batch."""


def files_in_flight(ch: SftpChannel) -> int:
    """FILES_IN_FLIGHT, or fewer where the server told (limits@openssh.com)
    that it keeps fewer handles open (half of them: the session's other
    handles need room too)."""
    limits = ch.limits
    if limits is None or not limits.max_open_handles:
        return FILES_IN_FLIGHT
    return max(1, min(FILES_IN_FLIGHT, limits.max_open_handles // 2))


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
        def on_handle(kind: int, reader: protocol.Reader) -> None:
            try:
                handle = expect(kind, reader, protocol.HANDLE, item.path).string()
            except OSError as error:
                item.error = error
                item.done = True
                return
            if not stopping():
                offset = 0
                while offset <= item.size:
                    length = min(read_size, item.size + 1 - offset)
                    ch.send(protocol.READ, protocol.string(handle) + protocol.uint64(offset)
                            + protocol.uint32(length), on_data(offset, length))
                    item.replies_left += 1
                    offset += length
            item.replies_left += 1
            ch.send(protocol.CLOSE, protocol.string(handle), on_close)

        def on_data(offset: int, length: int
                    ) -> Callable[[int, protocol.Reader], None]:
            def handler(kind: int, reader: protocol.Reader) -> None:
                try:
                    data = expect(kind, reader, protocol.DATA, item.path).string()
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

        def on_close(kind: int, reader: protocol.Reader) -> None:
            finish()

        def finish() -> None:
            item.replies_left -= 1
            if item.replies_left == 0:
                item.done = True

        ch.send(protocol.OPEN, protocol.path_string(item.path) + protocol.uint32(protocol.FLAG_READ)
                + protocol.attrs(), on_handle)

    most = files_in_flight(ch)

    def refill() -> None:
        while len(active) < most:
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
        ch.wait_done(item)
        active.popleft()
        if item.error is not None:
            raise item.error
        content = b"".join(data for _, data in sorted(item.pieces))
        if item.suspect or len(content) != _contiguous(item.pieces):
            handle = open_file(ch, item.path, protocol.FLAG_READ)
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
    asked, fsync (where the server offers fsync@openssh.com, so that no
    file lands before its data is on the server's disk), CLOSE; when all of that succeeded, posix-rename onto the target.
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

        def on_handle(kind: int, reader: protocol.Reader) -> None:
            try:
                upload.handle = expect(kind, reader, protocol.HANDLE,
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
                ch.send(protocol.FSETSTAT, protocol.string(upload.handle)
                        + protocol.attrs(item.exact_mode), on_status)
            if ch.has(FSYNC):
                upload.replies_left += 1
                ch.send(protocol.EXTENDED, fsync_payload(upload.handle),
                        on_synced)
            upload.replies_left += 1
            ch.send(protocol.CLOSE, protocol.string(upload.handle), on_status)

        def on_synced(kind: int, reader: protocol.Reader) -> None:
            # A server without fsync answers "unsupported": no error.
            try:
                check_extension_status(ch, FSYNC, kind, reader, item.path)
            except OSError as error:
                upload.error = upload.error or error
            replied()

        def on_status(kind: int, reader: protocol.Reader) -> None:
            try:
                check_status(kind, reader, item.path)
            except OSError as error:
                upload.error = upload.error or error
            replied()

        def replied() -> None:
            upload.replies_left -= 1
            if upload.replies_left:
                return
            if upload.error is not None or stopping():
                upload.done = True
                return
            ch.send(protocol.EXTENDED, rename_payload(upload.temp, item.path),
                    on_renamed)

        def on_renamed(kind: int, reader: protocol.Reader) -> None:
            try:
                check_status(kind, reader, item.path)
                upload.landed = True
            except OSError as error:
                upload.error = error
            upload.done = True

        ch.send(protocol.OPEN, protocol.path_string(upload.temp)
                + protocol.uint32(WRITE_FLAGS | protocol.FLAG_EXCL) + protocol.attrs(item.mode),
                on_handle)

    most = files_in_flight(ch)

    def refill() -> None:
        while len(active) < most:
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
        ch.wait_done(upload)
        active.popleft()
        yield upload
        refill()


# --- Directory listings, many directories in flight at once -----------------
#
# Each directory costs one OPENDIR, READDIRs until EOF (the next one always
# already sent, so the EOF costs no extra round trip) and a CLOSE nobody
# waits for; the attributes come with the names and are used as they are.

DIRS_IN_FLIGHT = 32
"""Directories being listed at once."""
READDIR_AHEAD = 2
"""READDIR requests in flight per directory, so EOF costs no extra trip."""


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
        def on_handle(kind: int, reader: protocol.Reader) -> None:
            try:
                listing.handle = expect(kind, reader, protocol.HANDLE,
                                        listing.path).string()
            except OSError as error:
                listing.error = error
                listing.done = True
                return
            for _ in range(READDIR_AHEAD):
                readdir()

        def readdir() -> None:
            ch.send(protocol.READDIR, protocol.string(listing.handle), on_names)

        def on_names(kind: int, reader: protocol.Reader) -> None:
            if listing.done:
                return  # a READDIR sent ahead, answered after EOF
            try:
                names = expect(kind, reader, protocol.NAME, listing.path)
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

        ch.send(protocol.OPENDIR, protocol.path_string(listing.path), on_handle)

    while queue or active:
        while queue and len(active) < DIRS_IN_FLIGHT:
            listing = _Listing(queue.popleft())
            start(listing)
            active.append(listing)
        first = active[0]
        ch.wait_done(first)
        active.popleft()
        yield first.path, first.error if first.error else first.entries


def list_dir(ch: SftpChannel, path: str) -> list[DirEntry]:
    """List one directory (see list_dirs)."""
    for _, result in list_dirs(ch, [path]):
        if isinstance(result, OSError):
            raise result
        return result
    raise AssertionError("list_dirs yields one result per path")
