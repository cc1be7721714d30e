"""SFTP version 3 messages: constants, packing and parsing.

Cerulean speaks SFTP itself on the channel paramiko opened, instead of going
through ``paramiko.SFTPClient``'s request methods, because the speed targets
need many requests in flight at once (pipelining across files, prefetched
reads, pipelined writes) and cheap parsing. The protocol is that of
draft-ietf-secsh-filexfer-02, as OpenSSH implements it.
"""
from __future__ import annotations

import errno
import struct

from cerulean.file_system_impl import stat_from_mode
from cerulean.path import FileStat

# Request types
OPEN = 3
CLOSE = 4
READ = 5
WRITE = 6
LSTAT = 7
FSTAT = 8
SETSTAT = 9
FSETSTAT = 10
OPENDIR = 11
READDIR = 12
REMOVE = 13
MKDIR = 14
RMDIR = 15
REALPATH = 16
STAT = 17
RENAME = 18
READLINK = 19
SYMLINK = 20
EXTENDED = 200

# Reply types
STATUS = 101
HANDLE = 102
DATA = 103
NAME = 104
ATTRS = 105
EXTENDED_REPLY = 201

# Open flags
FLAG_READ = 0x01
FLAG_WRITE = 0x02
FLAG_CREAT = 0x08
FLAG_TRUNC = 0x10
FLAG_EXCL = 0x20

# Attribute flags
ATTR_SIZE = 0x01
ATTR_UIDGID = 0x02
ATTR_PERMISSIONS = 0x04
ATTR_ACMODTIME = 0x08
ATTR_EXTENDED = 0x80000000

# Status codes
OK = 0
EOF = 1
NO_SUCH_FILE = 2
PERMISSION_DENIED = 3
FAILURE = 4
BAD_MESSAGE = 5
OP_UNSUPPORTED = 8

WRITE_OVERHEAD = 4 + 1 + 4 + 4 + 8 + 4
"""Bytes of a WRITE packet besides the handle and the data."""
DATA_OVERHEAD = 4 + 1 + 4 + 4
"""Bytes of a DATA reply besides the data."""

_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_HEADER = struct.Struct(">IBI")  # length, type, request id
# The attributes OpenSSH sends with every name: size, uid, gid,
# permissions, atime, mtime (flags 0x0F).
_COMMON_FLAGS = ATTR_SIZE | ATTR_UIDGID | ATTR_PERMISSIONS | ATTR_ACMODTIME
_COMMON_ATTRS = struct.Struct(">QIIIII")


_ERRNO_OF_STATUS = {
    NO_SUCH_FILE: errno.ENOENT,
    PERMISSION_DENIED: errno.EACCES,
    BAD_MESSAGE: errno.EINVAL,
    OP_UNSUPPORTED: errno.EOPNOTSUPP,
}


def status_error(code: int, message: str, path: str | None) -> OSError:
    """The OSError (subclass) for a failed SFTP status."""
    number = _ERRNO_OF_STATUS.get(code, errno.EIO)
    text = message or f"SFTP status {code}"
    # OSError(errno, ...) picks the subclass, e.g. FileNotFoundError.
    error = OSError(number, text, path) if path is not None else OSError(
        number, text)
    error.sftp_status = code  # type: ignore[attr-defined]
    return error


def sftp_status(error: BaseException) -> int | None:
    """The SFTP status code behind an error made by status_error()."""
    code = getattr(error, "sftp_status", None)
    return code if isinstance(code, int) else None


# --- Packing -------------------------------------------------------------

def string(data: bytes) -> bytes:
    """An SFTP string: uint32 length, then the bytes."""
    return _U32.pack(len(data)) + data


def path_string(path: str) -> bytes:
    """A path as an SFTP string (UTF-8, as OpenSSH expects)."""
    return string(path.encode("utf-8", "surrogateescape"))


def uint32(value: int) -> bytes:
    """A big-endian uint32."""
    return _U32.pack(value)


def uint64(value: int) -> bytes:
    """A big-endian uint64."""
    return _U64.pack(value)


def attrs(mode: int | None = None,
          times: tuple[int, int] | None = None) -> bytes:
    """An ATTRS block with permissions and/or (atime, mtime)."""
    flags = 0
    body = b""
    if mode is not None:
        flags |= ATTR_PERMISSIONS
        body += _U32.pack(mode)
    if times is not None:
        flags |= ATTR_ACMODTIME
        body += _U32.pack(times[0]) + _U32.pack(times[1])
    return _U32.pack(flags) + body


def packet(kind: int, request_id: int, payload: bytes) -> bytes:
    """A whole request packet, ready to send."""
    return _HEADER.pack(len(payload) + 5, kind, request_id) + payload


def write_header(request_id: int, handle: bytes, offset: int,
                 size: int) -> bytes:
    """Everything of a WRITE packet before its ``size`` data bytes.

    Kept separate so that large data is not copied into a payload first.
    """
    body_len = 4 + len(handle) + 8 + 4 + size
    return (_HEADER.pack(body_len + 5, WRITE, request_id) + string(handle)
            + _U64.pack(offset) + _U32.pack(size))


# --- Parsing -------------------------------------------------------------

class Reader:
    """Reads SFTP fields from one reply body, front to back."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def uint32(self) -> int:
        """The next uint32."""
        value: int = _U32.unpack_from(self.data, self.pos)[0]
        self.pos += 4
        return value

    def uint64(self) -> int:
        """The next uint64."""
        value: int = _U64.unpack_from(self.data, self.pos)[0]
        self.pos += 8
        return value

    def string(self) -> bytes:
        """The next string, as bytes."""
        start = self.pos + 4
        self.pos = start + _U32.unpack_from(self.data, self.pos)[0]
        return self.data[start:self.pos]

    def text(self) -> str:
        """The next string, decoded as UTF-8."""
        return self.string().decode("utf-8", "surrogateescape")

    def stat(self) -> FileStat:
        """The next ATTRS block, as a FileStat."""
        flags = self.uint32()
        if flags == _COMMON_FLAGS:  # the fast, usual case
            size, uid, gid, mode, _, mtime = _COMMON_ATTRS.unpack_from(
                self.data, self.pos)
            self.pos += 28
            return stat_from_mode(mode, size, float(mtime), uid, gid)
        size = mode = mtime = 0
        uid = gid = None
        if flags & ATTR_SIZE:
            size = self.uint64()
        if flags & ATTR_UIDGID:
            uid = self.uint32()
            gid = self.uint32()
        if flags & ATTR_PERMISSIONS:
            mode = self.uint32()
        if flags & ATTR_ACMODTIME:
            self.pos += 4  # atime
            mtime = self.uint32()
        if flags & ATTR_EXTENDED:
            for _ in range(self.uint32()):
                self.string()
                self.string()
        return stat_from_mode(mode, size, float(mtime), uid, gid)


class DataReader(Reader):
    """The reader of a DATA reply: its one string, already unwrapped.

    Saves copying file data a second time.
    """

    __slots__ = ()

    def string(self) -> bytes:
        """The data."""
        return self.data
