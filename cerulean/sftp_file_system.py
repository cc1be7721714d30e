"""A file system reached over SFTP, on the connection of an SshTerminal."""
from __future__ import annotations

import errno
import logging
import posixpath
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

from cerulean._sftp import batches, protocol, streams
from cerulean._sftp.channel import (
    COPY_DATA,
    HARDLINK,
    POSIX_RENAME,
    WRITE_FLAGS,
    SftpChannel,
    check_extension_status,
    check_status,
    close_handle,
    disk_usage_reply,
    expect,
    ignore_reply,
    open_file,
    remove_many,
    rename_payload,
    stat_reply,
    statvfs_payload,
)
from cerulean._sftp.pool import SessionPool
from cerulean.file_system import UnsupportedOperationError
from cerulean.file_system_impl import (
    Capability,
    DirEntry,
    DiskUsage,
    FileSystemImpl,
    WriteItem,
    check_range,
    name_target,
)
from cerulean.path import FileStat
from cerulean.ssh_terminal import SshTerminal

logger = logging.getLogger(__name__)

_R = TypeVar("_R")



class SftpFileSystem(FileSystemImpl):
    """A FileSystem implementation that connects to an SFTP server.

    SftpFileSystem supports the / operation:

    .. code-block:: python

      fs / 'path'

    which produces a Path, through which you can do things with the remote
    files.

    It is also a context manager, so that you can (and should!) use it with
    a with statement, which will ensure that the connection is closed when
    you are done with the it. Alternatively, you can call close() to close
    the connection.

    If own_term is True, this class assumes that it owns the terminal you
    gave it, and that it is responsible for closing it when it's done with
    it. If you share an SshTerminal between an SftpFileSystem and a
    scheduler, or use the terminal directly yourself, then you want to use
    False here, and close the terminal yourself when you don't need it any
    more.

    SFTP sessions run over the terminal's SSH connection. If that
    connection drops, the call that was using it raises ConnectionError
    (a copy in progress leaves no partial file), and the next call
    reconnects through the terminal. Several threads may use one
    SftpFileSystem at once; each gets its own SFTP session.

    :param terminal: The terminal to connect through.
    :param own_term: Whether to close the terminal when the file system is
        closed.
    """

    def __init__(self, terminal: SshTerminal, own_term: bool = False) -> None:
        if not callable(getattr(terminal, "open_sftp", None)):
            raise TypeError("SftpFileSystem needs an SshTerminal, not"
                            f" {type(terminal).__name__}")
        self._terminal = terminal
        self._own_term = own_term
        self._statvfs: bool | None = None  # see _has_statvfs
        self._lacks: set[bytes] = set()  # see SftpChannel.has
        self._sessions = SessionPool(terminal, self._lacks)
        # Open the first session now, so that a connection problem shows up
        # here rather than at the first use.
        self._sessions.release(self._sessions.acquire())

    # --- FileSystem --------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SftpFileSystem):
            return NotImplemented
        return self._terminal is other._terminal or bool(
            self._terminal == other._terminal)

    def __hash__(self) -> int:
        return hash(SftpFileSystem)

    def __repr__(self) -> str:
        return f"SftpFileSystem({self._terminal!r})"

    def close(self) -> None:
        """Close connections and free resources, if any.

        FileSystem objects may hold resources that need to be freed when you
        are done with the object. You can free them by calling this
        function, or you can use the FileSystem as a context manager using a
        with statement. The terminal is closed too if this file system owns
        it.
        """
        self._sessions.close()
        if self._own_term:
            self._terminal.close()

    def _can(self, capability: Capability) -> bool:
        if capability == Capability.DISK_USAGE:
            return self._has_statvfs()
        if capability == Capability.HARD_LINKS:
            return self._has_hardlink()
        return True

    def _has_hardlink(self) -> bool:
        """Whether the server has OpenSSH's hardlink extension: asked once,
        with a link from a name that does not exist (which makes nothing)."""
        if HARDLINK not in self._lacks:
            missing = f"/nonexistent-{self._temp_name('probe').lstrip('./')}"
            try:
                self._hard_link(missing + ".link", missing)
            except UnsupportedOperationError:
                pass
            except OSError:
                pass  # it answered: it has the extension
        return HARDLINK not in self._lacks

    def _has_statvfs(self) -> bool:
        """Whether the server has OpenSSH's statvfs extension: asked once.

        paramiko does not keep the extensions the server announced, so one
        request on the root tells; any answer but "unsupported" means yes.
        """
        if self._statvfs is None:
            try:
                self._disk_usage("/")
                self._statvfs = True
            except UnsupportedOperationError:
                self._statvfs = False
            except OSError:
                self._statvfs = True  # it answered, about the root
        return self._statvfs

    # --- Sessions (see cerulean._sftp.pool) -----------------------------------

    def _query(self, operation: Callable[[SftpChannel], _R]) -> _R:
        """Run a read-only operation (see SessionPool.attempt)."""
        return self._sessions.attempt(operation, read_only=True)

    def _call(self, kind: int, payload: bytes) -> tuple[int, protocol.Reader]:
        """One request and its reply (see SessionPool.attempt)."""
        return self._sessions.attempt(lambda channel: channel.call(kind, payload))

    def _lstat_or_none(self, path: str) -> FileStat | None:
        try:
            return self._lstat(path)
        except FileNotFoundError:
            return None

    def _lstat_on_failure(self, error: OSError, path: str) -> FileStat | None:
        """What is at path, if error is SFTP's generic FAILURE; else None.

        OpenSSH reports "exists", "is a directory" and the like all as
        FAILURE; an lstat tells them apart. Other statuses say enough.
        """
        if protocol.sftp_status(error) != protocol.FAILURE:
            return None
        return self._lstat_or_none(path)

    # --- Metadata ----------------------------------------------------------

    def _stat(self, path: str) -> FileStat:
        return self._query(lambda ch: stat_reply(
            *ch.call(protocol.STAT, protocol.path_string(path)), path))

    def _lstat(self, path: str) -> FileStat:
        return self._query(lambda ch: stat_reply(
            *ch.call(protocol.LSTAT, protocol.path_string(path)), path))

    def _listdir(self, path: str) -> list[DirEntry]:
        try:
            return self._query(lambda ch: batches.list_dir(ch, path))
        except FileNotFoundError:
            info = self._lstat_or_none(path)
            if info is not None and not info.is_dir():
                raise NotADirectoryError(
                    errno.ENOTDIR, "Not a directory", path) from None
            raise

    def _listdirs(self, paths: list[str]
                  ) -> list[list[DirEntry] | OSError]:
        return self._query(lambda ch: [result for _, result in
                                       batches.list_dirs(ch, paths)])

    def _read_link(self, path: str) -> str:
        return self._query(lambda ch: _one_name(ch, protocol.READLINK, path))

    def _real_path(self, path: str) -> str:
        # One REALPATH: the server resolves the links (OpenSSH accepts a
        # missing last component, and answers "no such file" for a missing
        # directory on the way, whose part is then resolved on its own).
        try:
            return self._query(lambda ch: _one_name(ch, protocol.REALPATH, path))
        except FileNotFoundError:
            head, name = posixpath.split(path.rstrip("/"))
            if not name:
                return posixpath.normpath("/" + path.lstrip("/"))
            return posixpath.normpath(
                posixpath.join(self._real_path(head or "/"), name))

    # --- Name space --------------------------------------------------------

    def _make_dir(self, path: str, mode: int | None = None) -> None:
        self._create(protocol.MKDIR, protocol.path_string(path) + protocol.attrs(mode), path)

    def _create(self, kind: int, payload: bytes, path: str) -> None:
        """Send a request that makes a new entry at path (MKDIR, SYMLINK):
        a generic failure with something already there is FileExistsError.
        """
        try:
            check_status(*self._call(kind, payload), path)
        except OSError as error:
            if self._lstat_on_failure(error, path) is not None:
                raise FileExistsError(errno.EEXIST, "File exists",
                                      path) from None
            raise

    def _remove_entry(self, path: str) -> None:
        try:
            check_status(*self._call(protocol.REMOVE, protocol.path_string(path)), path)
        except OSError as error:
            info = self._lstat_on_failure(error, path)
            if info is not None and info.is_dir():
                raise IsADirectoryError(errno.EISDIR, "Is a directory",
                                        path) from None
            raise

    def _unlink_many(self, paths: list[str]) -> list[OSError | None]:
        if not paths:
            return []
        with self._sessions.session() as ch:
            errors = remove_many(ch, paths)
        # Diagnose the generic failures one by one, as _remove_entry does.
        return [error if error is None or protocol.sftp_status(error) != protocol.FAILURE
                else self._unlink_error(path, error)
                for path, error in zip(paths, errors)]

    def _unlink_error(self, path: str, error: OSError) -> OSError:
        try:
            self._remove_entry(path)
        except OSError as again:
            return again
        return error

    def _remove_dir(self, path: str) -> None:
        try:
            check_status(*self._call(protocol.RMDIR, protocol.path_string(path)), path)
        except OSError as error:
            # OpenSSH reports ENOTDIR as "no such file", ENOTEMPTY as failure.
            info = self._lstat_or_none(path)
            if info is not None and not info.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, "Not a directory",
                                         path) from None
            if info is not None and protocol.sftp_status(error) == protocol.FAILURE:
                raise OSError(errno.ENOTEMPTY, "Directory not empty",
                              path) from None
            raise

    def _rename_entry(self, source: str, target: str) -> None:
        try:
            check_status(*self._call(
                protocol.EXTENDED, rename_payload(source, target)), source)
        except OSError as error:
            if protocol.sftp_status(error) != protocol.OP_UNSUPPORTED:
                raise
            self._plain_rename(source, target)

    def _plain_rename(self, source: str, target: str) -> None:
        """Rename on servers without posix-rename: not atomic."""
        if self._lstat_or_none(target) is not None:
            self._remove_entry(target)
        check_status(*self._call(
            protocol.RENAME, protocol.path_string(source) + protocol.path_string(target)), source)

    def _symlink(self, path: str, target: str) -> None:
        # OpenSSH takes (target, link path), the reverse of the draft.
        self._create(protocol.SYMLINK, protocol.path_string(target) + protocol.path_string(path),
                     path)

    def _hard_link(self, path: str, target: str) -> None:
        payload = (protocol.string(HARDLINK) + protocol.path_string(target)
                   + protocol.path_string(path))
        if HARDLINK in self._lacks:
            self._no_hardlink()
        try:
            check_status(*self._call(protocol.EXTENDED, payload), path)
        except OSError as error:
            if protocol.sftp_status(error) == protocol.OP_UNSUPPORTED:
                self._lacks.add(HARDLINK)  # see SftpChannel.has
                self._no_hardlink()
            # OpenSSH reports EEXIST as the generic failure.
            if self._lstat_on_failure(error, path) is not None:
                raise FileExistsError(errno.EEXIST, "File exists",
                                      path) from None
            raise

    @staticmethod
    def _no_hardlink() -> NoReturn:
        raise UnsupportedOperationError(
            "this SFTP server cannot make hard links (it lacks OpenSSH's"
            " hardlink@openssh.com)")

    def _set_mode(self, path: str, mode: int) -> None:
        check_status(*self._call(
            protocol.SETSTAT, protocol.path_string(path) + protocol.attrs(mode)), path)

    def _touch_entry(self, path: str) -> None:
        now = int(time.time())
        try:
            check_status(*self._call(
                protocol.SETSTAT, protocol.path_string(path) + protocol.attrs(times=(now, now))),
                path)
        except FileNotFoundError:
            def create(ch: SftpChannel) -> None:
                handle = open_file(ch, path, protocol.FLAG_WRITE | protocol.FLAG_CREAT)
                close_handle(ch, handle, path)
            self._sessions.attempt(create)

    # --- Contents ----------------------------------------------------------

    def _opened(self, path: str, flags: int, mode: int | None = None
                ) -> tuple[SftpChannel, bytes]:
        """A session of our own with path open; the caller releases it.

        Reconnects (as SessionPool.attempt) if the connection turns out to be gone.
        """
        def open_on(channel: SftpChannel) -> bytes:
            if flags == protocol.FLAG_READ:
                return open_file(channel, path, flags)
            return self._open_for_write(channel, path, flags, mode)

        channel = self._sessions.acquire()
        sent_before = channel.flushes
        try:
            return channel, open_on(channel)
        except ConnectionError:
            self._sessions.release(channel)
            if flags != protocol.FLAG_READ and channel.flushes != sent_before:
                raise
        except BaseException:
            self._sessions.release(channel)
            raise
        channel = self._sessions.acquire()
        try:
            return channel, open_on(channel)
        except BaseException:
            self._sessions.release(channel)
            raise

    def _read_stream(self, path: str,
                     size_hint: int | None = None) -> Iterator[bytes]:
        return self._reading(path, lambda channel, handle: streams.read_stream(
            channel, handle, path, size_hint))

    def _reading(self, path: str,
                 read: Callable[[SftpChannel, bytes], Iterator[bytes]]
                 ) -> Iterator[bytes]:
        """What ``read`` yields from ``path``, opened for reading, on a
        session of the pool; the handle is closed and the session given back
        however the reading ends. A generator: nothing is opened before the
        first chunk is asked for."""
        channel, handle = self._opened(path, protocol.FLAG_READ)
        try:
            yield from read(channel, handle)
        except EOFError:
            pass
        except OSError as error:
            raise self._diagnose_read(error, path) from None
        finally:
            if channel.healthy:
                close_handle(channel, handle, wait=False)
            self._sessions.release(channel)

    def _diagnose_read(self, error: OSError, path: str) -> OSError:
        # OpenSSH opens a directory for reading, then fails the READ.
        info = self._lstat_on_failure(error, path)
        if info is not None and info.is_dir():
            return IsADirectoryError(errno.EISDIR, "Is a directory", path)
        return error

    def _open_for_write(self, ch: SftpChannel, path: str, flags: int,
                        mode: int | None) -> bytes:
        try:
            return open_file(ch, path, flags, mode)
        except OSError as error:
            info = self._lstat_on_failure(error, path)
            if info is not None and info.is_dir():
                raise IsADirectoryError(errno.EISDIR, "Is a directory",
                                        path) from None
            if info is not None and flags & protocol.FLAG_EXCL:
                raise FileExistsError(errno.EEXIST, "File exists",
                                      path) from None
            raise

    def _write_stream(self, path: str, data: Iterable[bytes],
                      mode: int | None = None,
                      exclusive: bool = False) -> int:
        flags = WRITE_FLAGS | (protocol.FLAG_EXCL if exclusive else 0)
        return self._write_opened(path, flags, mode, data)

    def _write_opened(self, path: str, flags: int, mode: int | None,
                      data: Iterable[bytes], file_offset: int = 0) -> int:
        """Open ``path`` with ``flags``, write ``data`` from ``file_offset``
        and close it (:meth:`_write_and_close`); the bytes written."""
        ch, handle = self._opened(path, flags, mode)
        try:
            return self._write_and_close(ch, handle, path, data,
                                         file_offset=file_offset)
        finally:
            self._sessions.release(ch)

    def _write_and_close(self, ch: SftpChannel, handle: bytes, path: str,
                         data: Iterable[bytes],
                         exact_mode: int | None = None,
                         file_offset: int = 0, sync: bool = False) -> int:
        """Write data to the open handle from file_offset, and finish it
        (:func:`cerulean._sftp.streams.finish_handle`); return the byte count."""
        return streams.finish_handle(
            ch, handle, path,
            lambda: streams.write_stream(ch, handle, path, data, file_offset),
            exact_mode, sync)

    def _write_atomic(self, path: str, data: Iterable[bytes],
                      mode: int | None = None,
                      exact_mode: int | None = None) -> int:
        # As the generic version, but on one session, and the mode is set
        # on the open handle before it is closed. The data is fsynced
        # before the rename, so that the renamed file is never one the
        # server's disk has not got yet.
        temp = self._temp_name(path)
        with self._discarding(temp, path):
            ch, handle = self._opened(temp, WRITE_FLAGS | protocol.FLAG_EXCL, mode)
            try:
                count = self._write_and_close(ch, handle, temp, data,
                                              exact_mode, sync=True)
                landed = self._land(ch, temp, path)
            finally:
                self._sessions.release(ch)
            if not landed:
                self._plain_rename(temp, path)
        return count

    @contextmanager
    def _discarding(self, temp: str, path: str) -> Iterator[None]:
        """If the block fails, remove the temporary file temp (meant for
        path), and name both in the error."""
        try:
            yield
        except BaseException as error:
            self._discard_all([temp])
            name_target(error, temp, path)
            raise

    @staticmethod
    def _land(ch: SftpChannel, temp: str, path: str) -> bool:
        """posix-rename temp onto path; False if the server lacks it (the
        caller then renames the plain way, after releasing ch)."""
        return check_extension_status(ch, POSIX_RENAME, *ch.call(
            protocol.EXTENDED, rename_payload(temp, path)), path)

    def _copy_within(self, source: str, target: str, size: int,
                     mode: int | None = None, exact_mode: int | None = None,
                     progress: Callable[[int], None] | None = None
                     ) -> int | None:
        # copy-data between two handles of one session: the bytes move on
        # the server. The new file lands as in _write_atomic: temporary
        # name, mode on the handle, fsync, rename.
        temp = self._temp_name(target)
        ch = self._sessions.acquire()
        landed = True
        try:
            with self._discarding(temp, target):
                if not ch.has(COPY_DATA):
                    return None
                count = self._copy_data(ch, source, temp, size, mode,
                                        exact_mode, progress)
                if count is None:
                    self._discard_all([temp])
                    return None
                landed = self._land(ch, temp, target)
        finally:
            self._sessions.release(ch)
        if not landed:
            with self._discarding(temp, target):
                self._plain_rename(temp, target)
        return count

    def _copy_data(self, ch: SftpChannel, source: str, temp: str, size: int,
                   mode: int | None, exact_mode: int | None,
                   progress: Callable[[int], None] | None) -> int | None:
        """Copy source to a new file temp on the server, closed and
        fsynced; None (temp left to remove) if the server lacks copy-data."""
        try:
            src = open_file(ch, source, protocol.FLAG_READ)
        except OSError as error:
            raise self._diagnose_read(error, source) from None
        try:
            dst = self._open_for_write(ch, temp, WRITE_FLAGS | protocol.FLAG_EXCL, mode)
            return streams.finish_handle(
                ch, dst, temp,
                lambda: streams.copy_pieces(ch, src, dst, source, size, progress),
                exact_mode, sync=True)
        finally:
            if ch.healthy:
                close_handle(ch, src, wait=False)

    def _discard_all(self, temps: list[str]) -> None:
        """Remove temporary files, reconnecting if needed; never raises."""
        if not temps:
            return
        try:
            with self._sessions.session() as ch:
                for temp in temps:
                    ch.send(protocol.REMOVE, protocol.path_string(temp), ignore_reply)
                ch.drain()
        except Exception as error:  # noqa: BLE001 - must not mask the cause
            logger.warning("could not remove temporary files %s: %s",
                           temps, error)

    # --- Optional primitives (additions to Cerulean 1.0) ---------------------

    def _read_range(self, path: str, offset: int,
                    size: int | None = None) -> Iterator[bytes]:
        check_range(offset, size)
        if size == 0:
            return self._nothing_of(path)
        return self._read_part(path, offset, size)

    def _read_part(self, path: str, offset: int,
                   size: int | None) -> Iterator[bytes]:
        # READs at the offset, as _read_stream reads from the start.
        return self._reading(path, lambda channel, handle: streams.read_range(
            channel, handle, path, offset, size))

    def _write_at(self, path: str, offset: int, data: Iterable[bytes]) -> int:
        if offset < 0:
            raise ValueError(f"invalid offset {offset}")
        # Without CREAT or TRUNC: into the file as it is.
        return self._write_opened(path, protocol.FLAG_WRITE, None, data,
                                  file_offset=offset)

    def _disk_usage(self, path: str) -> DiskUsage:
        def statvfs(ch: SftpChannel) -> DiskUsage:
            kind, reader = ch.call(protocol.EXTENDED, statvfs_payload(path))
            try:
                reply = expect(kind, reader, protocol.EXTENDED_REPLY, path)
            except OSError as error:
                if protocol.sftp_status(error) == protocol.OP_UNSUPPORTED:
                    raise UnsupportedOperationError(
                        "this SFTP server cannot tell disk usage (it lacks"
                        " OpenSSH's statvfs@openssh.com)") from None
                raise
            return disk_usage_reply(reply)
        return self._query(statvfs)

    # --- Batches -----------------------------------------------------------

    def _read_files(self, files: Iterable[tuple[str, int]]
                    ) -> Iterator[bytes]:
        stopped = False
        channel = self._sessions.acquire()
        try:
            yield from batches.read_files(channel, files, lambda: stopped)
        finally:
            stopped = True
            self._sessions.drain_and_release(channel)

    def _write_files(self, items: Iterable[WriteItem]) -> Iterator[int]:
        stopped = False
        channel = self._sessions.acquire()
        uploads: list[batches.Upload] = []
        try:
            for upload in batches.write_files(channel, items, self._temp_name,
                                        lambda: stopped, uploads):
                if upload.error is not None:
                    name_target(upload.error, upload.temp, upload.item.path)
                    raise upload.error
                yield len(upload.item.data)
        finally:
            stopped = True
            self._sessions.drain_and_release(channel)
            self._discard_all([u.temp for u in uploads if not u.landed])


def _one_name(ch: SftpChannel, request: int, path: str) -> str:
    """The name in the one-name reply to a READLINK or REALPATH of path."""
    kind, reader = ch.call(request, protocol.path_string(path))
    names = expect(kind, reader, protocol.NAME, path)
    names.uint32()  # the count, always 1 here
    return names.text()
