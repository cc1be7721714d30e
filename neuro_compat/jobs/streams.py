"""The streams behind :class:`~neuro_compat.StdStream`.

``Jobs.exec`` runs a command beside a job as an interactive process: over
SSH a session channel of the terminal's connection (``exec_command``),
locally a subprocess. Its stdout and stderr are read by two small threads
of their own (a :class:`~neuro_compat._bridge.ThreadFeed`) and handed to the
event loop as they arrive, so a session that waits for output holds none of
the bounded worker threads (which other calls need); writes and closing go
through the worker threads.

With ``tty=True``, some commands relay the session's terminal to one of
their own on the job's node (``srun --pty``, ``docker exec -it``), and make
ours raw only once they are running: bytes written before that would be
taken by our terminal's line discipline, echoed twice, and a ``^D`` would
end the relay's input (srun then hands the job's terminal a NUL, echoed as
``^@``) instead of reaching the command. :func:`relayed` puts our terminal
in raw mode first and says so, and the process waits for that before
anything is written, so the command's terminal alone behaves as a terminal
does (as it does for a local ``tty=True`` session).

``Jobs.attach`` has no process: it follows the job's output file (see
:class:`LogSource`).
"""
from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import pty
import shutil
import signal
import struct
import subprocess
import termios
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import NamedTuple, Protocol

import cerulean

from .._bridge import Bridge, ThreadFeed
from ..errors import StdStreamError
from .types import Message

log = logging.getLogger(__name__)

_CHUNK = 32 * 1024

RELAY_READY = b"<neuro-compat: terminal raw>"
"""What a :func:`relayed` line prints once the session's terminal is raw."""

_RELAY_PREFIX = f"stty raw -echo 2>/dev/null; printf '%s' '{RELAY_READY.decode()}'; "


def relayed(line: str) -> str:
    """``line``, a command relaying the session's terminal to one of its own,
    run once that terminal is raw (see the module documentation). Open it
    with one more ``relays`` in :func:`open_process`."""
    return _RELAY_PREFIX + line


class ExecCommand(NamedTuple):
    """A line for :func:`open_process`, and how many :func:`relayed`
    terminals it goes through (one per relaying program: srun, docker)."""

    line: str
    relays: int = 0


def _await_ready(read: Callable[[], bytes], relays: int) -> bytes:
    """Read a relayed session's output up to its last :data:`RELAY_READY`;
    returns what came around the markers (all of it if the command ended
    first)."""
    seen = b""
    while seen.count(RELAY_READY) < relays:
        data = read()
        if not data:
            break
        seen += data
    return seen.replace(RELAY_READY, b"", relays)


class Process(Protocol):
    """A running command with binary stdin, stdout and stderr (blocking)."""

    def read(self, fileno: int) -> bytes:
        """Next chunk of stdout (1) or stderr (2); ``b""`` at its end."""

    def write(self, data: bytes) -> None:
        """Send data to stdin."""

    def close_stdin(self) -> None:
        """Signal end of file on stdin."""

    def wait(self) -> int:
        """Wait for the exit code (-1 if there is none)."""

    def kill(self) -> None:
        """Stop the command and release what it holds."""

    def resize(self, h: int, w: int) -> None:
        """Resize the terminal (tty sessions only)."""


class LocalProcess:
    """A command on this machine, through ``/bin/sh -c``."""

    def __init__(self, line: str) -> None:
        self._proc = subprocess.Popen(["/bin/sh", "-c", line], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      start_new_session=True)

    def read(self, fileno: int) -> bytes:
        """See :class:`Process`."""
        stream = self._proc.stdout if fileno == 1 else self._proc.stderr
        assert stream is not None
        # read1: what is there now (at least one byte), not a full chunk.
        data: bytes = stream.read1(_CHUNK)  # type: ignore[attr-defined]
        return data

    def write(self, data: bytes) -> None:
        """See :class:`Process`."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(data)
        self._proc.stdin.flush()

    def close_stdin(self) -> None:
        """See :class:`Process`."""
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.close()

    def wait(self) -> int:
        """See :class:`Process`."""
        return self._proc.wait()

    def kill(self) -> None:
        """See :class:`Process`."""
        _kill_group(self._proc)
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def resize(self, h: int, w: int) -> None:
        """See :class:`Process`."""
        raise ValueError("the session has no terminal (it was opened with tty=False)")


class LocalPtyProcess:
    """A command on this machine with a pseudo-terminal as its controlling
    terminal (``tty=True``); stdout and stderr are both the terminal."""

    def __init__(self, line: str, relays: int = 0) -> None:
        self._pending = b""
        master, slave = pty.openpty()
        # setsid -c makes the terminal the command's controlling terminal, so
        # shells get job control and ^C reaches the foreground process.
        argv = ["/bin/sh", "-c", line]
        if shutil.which("setsid"):
            argv = ["setsid", "-c", *argv]
        try:
            self._proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                          start_new_session=len(argv) == 3)
        finally:
            os.close(slave)
        self._master = master
        if relays:
            self._pending = _await_ready(lambda: self.read(1), relays)

    def read(self, fileno: int) -> bytes:
        """See :class:`Process`; everything arrives as stdout."""
        if fileno != 1:
            return b""
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        try:
            return os.read(self._master, _CHUNK)
        except OSError:  # EIO: the terminal's last user has gone
            return b""

    def write(self, data: bytes) -> None:
        """See :class:`Process`."""
        view = memoryview(data)
        while view:
            view = view[os.write(self._master, view):]

    def close_stdin(self) -> None:
        """See :class:`Process`: the terminal's end-of-file character."""
        with contextlib.suppress(OSError):
            os.write(self._master, b"\x04")

    def wait(self) -> int:
        """See :class:`Process`."""
        return self._proc.wait()

    def kill(self) -> None:
        """See :class:`Process`."""
        _kill_group(self._proc)
        with contextlib.suppress(OSError):
            os.close(self._master)

    def resize(self, h: int, w: int) -> None:
        """See :class:`Process`."""
        fcntl.ioctl(self._master, termios.TIOCSWINSZ, struct.pack("HHHH", h, w, 0, 0))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a local command's process group (it leads a session of its
    own) unless it has ended, and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class SshProcess:
    """A command on the cluster, on a session channel of the terminal's
    SSH connection."""

    def __init__(self, terminal: cerulean.SshTerminal, line: str, tty: bool,
                 relays: int = 0) -> None:
        channel = terminal.transport().open_session()
        if tty:
            channel.get_pty(term=os.environ.get("TERM", "xterm"))
        channel.exec_command(line)
        self._channel = channel
        self._tty = tty
        self._pending = b""
        if tty and relays:
            self._pending = _await_ready(lambda: self.read(1), relays)

    def read(self, fileno: int) -> bytes:
        """See :class:`Process`."""
        if fileno == 1:
            if self._pending:
                data, self._pending = self._pending, b""
                return data
            return self._channel.recv(_CHUNK)
        return self._channel.recv_stderr(_CHUNK)

    def write(self, data: bytes) -> None:
        """See :class:`Process`."""
        self._channel.sendall(data)

    def close_stdin(self) -> None:
        """See :class:`Process` (with a terminal: its end-of-file character)."""
        with contextlib.suppress(OSError, EOFError):
            if self._tty:
                self._channel.sendall(b"\x04")
            else:
                self._channel.shutdown_write()

    def wait(self) -> int:
        """See :class:`Process`."""
        return self._channel.recv_exit_status()

    def kill(self) -> None:
        """See :class:`Process` (closing the channel ends the remote command's
        session; sshd sends it SIGHUP)."""
        self._channel.close()

    def resize(self, h: int, w: int) -> None:
        """See :class:`Process`."""
        if not self._tty:
            raise ValueError("the session has no terminal (it was opened with tty=False)")
        self._channel.resize_pty(width=w, height=h)


def open_process(terminal: cerulean.Terminal, line: str, tty: bool = False,
                 relays: int = 0) -> Process:
    """Start ``line`` on the terminal's machine as an interactive process,
    with a pseudo-terminal if ``tty``; with ``relays`` (see
    :class:`ExecCommand`), once the relaying terminals are raw."""
    if isinstance(terminal, cerulean.SshTerminal):
        return SshProcess(terminal, line, tty, relays)
    return LocalPtyProcess(line, relays) if tty else LocalProcess(line)


class _Source:
    """What both sources' reads share: the output's chunks, then the end
    reported once (:meth:`_end` may raise StdStreamError with the exit
    code), then None for every read after the end or :meth:`close`."""

    _closed: bool

    async def _next(self) -> Message | None:
        """The next chunk to deliver; None once the output has ended."""
        raise NotImplementedError

    async def _end(self) -> None:
        """Report the end: raise StdStreamError, or return for a quiet end."""
        raise NotImplementedError

    async def read(self) -> Message | None:
        """The next chunk; at the end, what :meth:`_end` reports, then None."""
        if self._closed:
            return None
        message = await self._next()
        if self._closed:  # closed while reading
            return None
        if message is not None:
            return message
        self._closed = True
        await self._end()
        return None


class ProcessSource(_Source):
    """Feeds a :class:`~neuro_compat.StdStream` from a process; at the end,
    StdStreamError with its exit code (0 included, as neuro_sdk's server
    reports every exit).

    :param process: the running process.
    :param bridge: the worker threads for writes and closing.
    :param stdin: whether stdin is attached (the caller closes it if not).
    :param stdout: whether stdout is delivered (else read and dropped).
    :param stderr: whether stderr is delivered.
    """

    def __init__(self, process: Process, bridge: Bridge, *, stdin: bool, stdout: bool,
                 stderr: bool) -> None:
        self._process = process
        self._bridge = bridge
        self._stdin = stdin
        self._wanted = {1: stdout, 2: stderr}
        self._closed = False
        self._open_streams = 2
        # stdout and stderr are read on threads of their own (threads
        # neuro-compat-exec-1 and -2), so a quiet session holds no worker.
        self._feed: ThreadFeed[Message] = ThreadFeed(
            [functools.partial(self._pump, fileno) for fileno in (1, 2)],
            "neuro-compat-exec")

    def _pump(self, fileno: int, put: Callable[[Message], None]) -> None:
        try:
            while True:
                data = self._process.read(fileno)
                if not data:
                    break
                if self._wanted[fileno]:
                    put(Message(fileno, data))
        except Exception as e:  # noqa: BLE001 - a closed stream ends the pump
            log.debug("exec stream %d ended: %s", fileno, e)

    async def _next(self) -> Message | None:
        while self._open_streams:
            item = await self._feed.get()
            if item is not None:
                return item
            self._open_streams -= 1  # one of stdout and stderr has ended
        return None

    async def _end(self) -> None:
        # Every exit code is reported, 0 included, as neuro_sdk's server does.
        raise StdStreamError(await self._bridge.run(self._process.wait))

    async def write(self, data: bytes) -> None:
        """Send data to stdin; ``b""`` closes it."""
        if not self._stdin:
            raise ValueError("the session's stdin is not attached (pass stdin=True)")
        if not data:
            await self._bridge.run(self._process.close_stdin)
        else:
            await self._bridge.run(self._process.write, data)

    async def resize(self, h: int, w: int) -> None:
        """Resize the session's terminal (``tty=True`` sessions only)."""
        await self._bridge.run(self._process.resize, h, w)

    async def close(self) -> None:
        """Stop the process (if still running) and its reader threads."""
        self._closed = True
        await self._bridge.run(self._process.kill)
        await self._bridge.run(self._feed.join, 10)


class LogSource(_Source):
    """Feeds a :class:`~neuro_compat.StdStream` from a job's output file (as
    stdout); at the end, StdStreamError if the job's exit code is not 0.

    :param chunks: an async iterator of the job's output chunks, ending
        when the job ends (``Jobs.monitor``).
    :param exit_code: returns the job's exit code once it has ended.
    :param deliver: whether to deliver the output (else it is only followed
        to the job's end).
    """

    def __init__(self, chunks: AsyncGenerator[bytes, None],
                 exit_code: Callable[[], Awaitable[int | None]], *, deliver: bool) -> None:
        self._chunks = chunks
        self._exit_code = exit_code
        self._deliver = deliver
        self._closed = False

    async def _next(self) -> Message | None:
        async for data in self._chunks:
            if self._deliver:
                return Message(1, data)
        return None

    async def _end(self) -> None:
        # A job that succeeded ends its stream quietly, a failed one with its code.
        code = await self._exit_code()
        if code:
            raise StdStreamError(code)

    async def write(self, data: bytes) -> None:
        """Jobs have no stdin (they run in batch)."""
        raise ValueError("a batch job has no stdin to write to")

    async def resize(self, h: int, w: int) -> None:
        """There is no terminal to resize."""
        raise ValueError("a batch job has no terminal")

    async def close(self) -> None:
        """Stop following the output."""
        self._closed = True
        await self._chunks.aclose()
