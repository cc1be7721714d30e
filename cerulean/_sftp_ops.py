"""Single SFTP requests and the small pieces the pipelines share."""
from __future__ import annotations

from collections.abc import Callable

from cerulean import _sftp_protocol as P
from cerulean._sftp_channel import SftpChannel, check_status, expect
from cerulean.path import FileStat

WRITE_FLAGS = P.FLAG_WRITE | P.FLAG_CREAT | P.FLAG_TRUNC
"""OPEN flags for writing a file from the start."""
POSIX_RENAME = b"posix-rename@openssh.com"
"""The OpenSSH extension that renames atomically, replacing the target."""


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


def stat_reply(kind: int, reader: P.Reader, path: str) -> FileStat:
    """The FileStat of an ATTRS reply (or its error)."""
    return expect(kind, reader, P.ATTRS, path).stat()


REMOVES_IN_FLIGHT = 256
"""REMOVE requests sent before waiting for replies."""


def remove_many(ch: SftpChannel, paths: list[str]) -> list[OSError | None]:
    """REMOVE each path, many in flight; return each one's error or None."""
    errors: list[OSError | None] = [None] * len(paths)
    left = [0]

    def on_status(index: int) -> Callable[[int, P.Reader], None]:
        def handler(kind: int, reader: P.Reader) -> None:
            left[0] -= 1
            try:
                check_status(kind, reader, paths[index])
            except OSError as error:
                errors[index] = error
        return handler

    for index, path in enumerate(paths):
        ch.send(P.REMOVE, P.path_string(path), on_status(index))
        left[0] += 1
        while left[0] >= REMOVES_IN_FLIGHT:
            ch.pump()
    while left[0]:
        ch.pump()
    return errors
