"""Directory listings over SFTP, many directories in flight at once.

Each directory costs one OPENDIR, READDIRs until EOF (the next one always
already sent, so the EOF costs no extra round trip) and a CLOSE nobody
waits for; the attributes come with the names and are used as they are.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from cerulean import _sftp_protocol as P
from cerulean._sftp_channel import SftpChannel, expect
from cerulean._sftp_ops import close_handle
from cerulean.file_system_impl import DirEntry

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
