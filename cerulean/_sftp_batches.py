"""Batches of small files over SFTP: dozens of files in flight at once.

Each file moves from OPEN to READ or WRITE to CLOSE (and, for uploads, to
RENAME) as its replies arrive, so a batch costs about one round trip plus
the time to move the bytes, not a few round trips per file.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator

from cerulean import _sftp_protocol as P
from cerulean._sftp_channel import SftpChannel, check_status, expect
from cerulean._sftp_ops import WRITE_FLAGS, close_handle, open_file, rename_payload
from cerulean._sftp_streams import READ_CHUNK, WRITE_CHUNK, read_stream
from cerulean.file_system_impl import WriteItem

FILES_IN_FLIGHT = 64
"""Small files in flight at once in a batch."""


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
        ch.wait_done(item)
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
        ch.wait_done(upload)
        active.popleft()
        yield upload
        refill()
