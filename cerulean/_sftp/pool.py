"""A pool of SFTP sessions over one SSH connection, one per thread at a time.

:class:`cerulean.SftpFileSystem` takes a session for each operation and
gives it back after: sessions are cheap to keep and costly to open (a
channel and a version handshake), and a session serves one thread at a
time, so several threads each get their own. When the connection drops,
the sessions of the old connection are dropped too, and the next one
taken reconnects through the terminal; :meth:`SessionPool.attempt` runs an
operation once more on the new connection where that is safe.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from cerulean._sftp.channel import Limits, SftpChannel, ask_limits
from cerulean.ssh_terminal import SshTerminal

logger = logging.getLogger(__name__)

_R = TypeVar("_R")


class SessionPool:
    """Idle SFTP sessions over ``terminal``'s connection, lent out one at
    a time.

    :param terminal: The terminal whose connection the sessions run on.
    :param lacks: The extensions the server turned out to lack, shared by
        all sessions (see :meth:`SftpChannel.has`).
    """

    def __init__(self, terminal: SshTerminal, lacks: set[bytes]) -> None:
        """Make an empty pool; no session is opened yet."""
        self._terminal = terminal
        self._lacks = lacks
        self._lock = threading.Lock()
        self._idle: list[SftpChannel] = []
        self._closed = False
        self._limits: Limits | None = None
        self._limits_asked = False

    def close(self) -> None:
        """Close the idle sessions; later acquires raise ValueError, and
        sessions given back are closed."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for channel in idle:
            channel.close()

    def acquire(self) -> SftpChannel:
        """An SFTP session for this thread's exclusive use (reconnecting)."""
        generation = self._terminal.connection_generation
        with self._lock:
            if self._closed:
                raise ValueError("this SftpFileSystem is closed")
            while self._idle:
                channel = self._idle.pop()
                if channel.generation == generation and channel.healthy:
                    return channel
                channel.close()
        # open_sftp() reconnects first if the connection is down.
        client = self._terminal.open_sftp()
        channel = SftpChannel(client, self._terminal.connection_generation,
                              self._lacks)
        if not self._limits_asked:
            self._limits = self._ask_limits(channel)
            self._limits_asked = True
        channel.limits = self._limits
        return channel

    @staticmethod
    def _ask_limits(channel: SftpChannel) -> Limits | None:
        """The server's request limits, asked once per pool (the server
        does not change), so that no request is larger than it takes.
        Our sizes stay as they are where it allows more: larger requests
        measured no faster here."""
        try:
            return ask_limits(channel)
        except ConnectionError:
            channel.close()
            raise
        except OSError as error:  # an odd answer: keep our sizes
            logger.info("SFTP limits@openssh.com failed: %s", error)
            return None

    def release(self, channel: SftpChannel) -> None:
        """Give a session back; broken ones are closed instead."""
        try:
            channel.flush()  # requests nobody waits for, such as a CLOSE
        except ConnectionError:
            pass
        with self._lock:
            if channel.healthy and not self._closed:
                self._idle.append(channel)
                return
        channel.close()

    def drain_and_release(self, channel: SftpChannel) -> None:
        """Give back a batch's session once the replies to the requests
        still in flight (files stopped early) are in."""
        if channel.healthy:
            try:
                channel.drain()
            except ConnectionError:
                pass
        self.release(channel)

    @contextmanager
    def session(self) -> Iterator[SftpChannel]:
        """A session for the with block, given back after it."""
        channel = self.acquire()
        try:
            yield channel
        finally:
            self.release(channel)

    def attempt(self, operation: Callable[[SftpChannel], _R],
                read_only: bool = False) -> _R:
        """Run operation on a session; if the connection turns out to be
        gone, run it once more on a new one (reconnecting) when that is
        safe: it only reads, or the server never received any of it."""
        channel = self.acquire()
        sent_before = channel.flushes
        try:
            return operation(channel)
        except ConnectionError:
            if not read_only and channel.flushes != sent_before:
                raise  # it may have taken effect: never do it twice
            logger.info("SFTP connection lost; retrying on a new one")
        finally:
            self.release(channel)
        with self.session() as channel:
            return operation(channel)
