"""Wait until an SSH channel has output to read, without a race; read it.

paramiko's ``Channel.fileno()`` joins stdout and stderr into one OS pipe
through an "or-pipe" whose set and clear are not atomic across threads:
stdout arriving while we empty stderr can leave it clear with data
waiting, and a select() on it then sleeps until its timeout (we saw a
``run('true')`` take its whole 10 s that way). Instead, each stream's
buffer reports to one condition variable here, under the buffer's own
lock, so a wake-up cannot be lost.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

import paramiko

CHUNK = 1 << 16
"""How much to read from a channel at a time."""


class _StreamFlag(threading.Event):
    """The event a paramiko buffer sets while it holds data or has ended."""

    def __init__(self, waiter: ChannelWaiter, stream: int) -> None:
        super().__init__()
        self._waiter = waiter
        self._stream = stream

    def set(self) -> None:
        self._waiter._mark(self._stream, True)

    def clear(self) -> None:
        self._waiter._mark(self._stream, False)


class ChannelWaiter:
    """Waits for stdout or stderr data (or their end) on one channel.

    Do not call ``channel.fileno()`` afterwards: it would take the buffers'
    events over.
    """

    def __init__(self, channel: paramiko.Channel) -> None:
        self._ready = threading.Condition()
        self._flags = [False, False]
        # in_buffer and in_stderr_buffer are paramiko's BufferedPipes; their
        # set_event() is the hook Channel.fileno() uses as well.
        channel.in_buffer.set_event(_StreamFlag(self, 0))
        channel.in_stderr_buffer.set_event(_StreamFlag(self, 1))

    def wait(self, timeout: float) -> None:
        """Return once a stream has something to read, or after ``timeout``."""
        with self._ready:
            self._ready.wait_for(lambda: any(self._flags), timeout)

    def _mark(self, stream: int, ready: bool) -> None:
        with self._ready:
            self._flags[stream] = ready
            if ready:
                self._ready.notify_all()


def drain(channel: paramiko.Channel, on_stdout: Callable[[bytes], object],
          on_stderr: Callable[[bytes], object]) -> None:
    """Hand everything that has arrived on ``channel`` to the two callbacks."""
    while channel.recv_ready():
        on_stdout(channel.recv(CHUNK))
    while channel.recv_stderr_ready():
        on_stderr(channel.recv_stderr(CHUNK))
