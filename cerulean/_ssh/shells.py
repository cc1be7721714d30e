"""Run commands on long-lived remote shells, not on a new SSH session each.

Why: on an open connection, most of the time ``ssh host true`` takes is
sshd making a session: it forks, sets up the environment and starts the
login shell (about 3 ms here). A shell that is already running only forks
a subshell per command (about 1 ms).

How a shell works: sshd starts the login shell, as for any command, with a
small read-eval loop (:data:`_LOOP`). For each command we send a random job
id, the number of lines and the text. The shell reports on stderr
``<id><`` before it starts the command and ``<id>:<pgid>`` after; it runs
the text with ``eval`` in a subshell, as a background job so that, with job
control on, the job leads its own process group; it waits, and then
reports ``<id>=<status>`` on stdout and ``<id>>`` on stderr. The job id is
random, so nothing a command prints can fake a report.

What could differ from a session per command, and how we prevent it:

- A command must not change the shell: it runs in a subshell, so ``cd``,
  ``exit``, ``exec`` and variables stay with it, and it reads /dev/null,
  never the shell's own input.
- On timeout we kill the job's process group; the shell lives on.
- Background processes that a command leaves behind could write into the
  next command's output. The shell reports leftovers in the job's process
  group, and we close that shell instead of reusing it. A session per
  command would wait for such processes while they hold its stdout, so
  commands with a visible ``&`` never go to a shell (:func:`suits`).
- Job control (``set -m``) must work in a non-interactive shell: bash, zsh
  and ksh have it, dash does not. Without it, no shells are used.
"""
from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paramiko

from cerulean._ssh.wait import ChannelWaiter, drain

logger = logging.getLogger(__name__)

# How long to wait for a report after killing a timed-out job.
_GRACE = 0.5
# How long a new shell may take to say it is ready.
_START_TIMEOUT = 10.0
# Idle shells older than this are closed rather than reused, so that we do
# not write to a shell just as the server ends an idle channel
# (OpenSSH's ChannelTimeout), which would drop the whole connection.
_MAX_IDLE = 60.0

# The read-eval loop; {ready} is replaced by a random token. Variables start
# with __cerulean_ so they do not collide with what commands use. It is one
# line, so that bash numbers the lines of a command from 1, as it does for
# a command in a session of its own.
_LOOP = (
    "set -m 2>/dev/null; "
    "case $- in *m*) ;; *) echo '{ready}:nojobs'; exit 0;; esac; "
    "exec 3>&2 2>/dev/null; "
    "__cerulean_nl=$(printf '\\nx'); __cerulean_nl=${__cerulean_nl%x}; "
    'echo "{ready}:$$"; echo "{ready}." >&3; '
    "while IFS= read -r __cerulean_id && IFS= read -r __cerulean_n; do "
    "__cerulean_c=; "
    'while [ "$__cerulean_n" -gt 0 ] && IFS= read -r __cerulean_l; do '
    '__cerulean_c="$__cerulean_c$__cerulean_l$__cerulean_nl"; '
    "__cerulean_n=$((__cerulean_n - 1)); "
    "done; "
    """printf '%s<\\n' "$__cerulean_id" >&3; """
    '(eval "$__cerulean_c") </dev/null 2>&3 3>&- & '
    "__cerulean_p=$!; "
    """printf '%s:%s\\n' "$__cerulean_id" "$__cerulean_p" >&3; """
    'wait "$__cerulean_p"; '
    "__cerulean_s=$?; "
    'if kill -0 -- "-$__cerulean_p" 2>/dev/null; then __cerulean_s="$__cerulean_s+"; fi; '
    """printf '%s=%s\\n' "$__cerulean_id" "$__cerulean_s"; """
    """printf '%s>\\n' "$__cerulean_id" >&3; """
    "done"
)

# A single & (not &&, >&, &> or |&) starts a background job.
_BACKGROUND = re.compile(r"(?<![&>|<])&(?![&>])")
# The shell reads commands a byte at a time (so as never to read past one);
# beyond this length a session of its own takes a command faster.
_LONGEST = 4096


def suits(line: str) -> bool:
    """Whether ``line`` may run on a shared shell.

    Not if it starts a background job where we can see it: a session per
    command waits for those while they hold its output, and a shared shell
    cannot. Not with NUL characters, which a shell cannot read, and not if
    it is long.
    """
    return (len(line) <= _LONGEST and "\0" not in line
            and not _BACKGROUND.search(line))


@dataclass
class Outcome:
    """What became of a command sent to a shell.

    ``started`` is False only if the shell ended before it began the
    command: then it certainly did not run.
    """

    started: bool
    exit_code: int | None
    stdout: bytes
    stderr: bytes


class _Reports:
    """Take our reports out of one output stream of a shell.

    A report is ``<job id><kind>...\\n``, written in one piece by the shell,
    but possibly in the middle of a line the command wrote.
    """

    def __init__(self, job: str) -> None:
        self._token = job.encode()
        self._pending = bytearray()  # may end with part of a report
        self.output = bytearray()
        self.reports: list[str] = []

    def feed(self, data: bytes) -> None:
        """Take the next chunk of the stream."""
        if self._pending:
            data = bytes(self._pending) + data
            self._pending.clear()
        view = memoryview(data)
        token = self._token
        start = 0
        while True:
            at = data.find(token, start)
            if at < 0:
                # Keep what could be the start of a token for the next chunk.
                cut = max(start, len(data) - len(token) + 1)
                self.output += view[start:cut]
                self._pending += view[cut:]
                return
            end = data.find(b"\n", at)
            self.output += view[start:at]
            if end < 0:  # the rest of the report is still on its way
                self._pending += view[at:]
                return
            report = data[at + len(token):end]
            self.reports.append(report.decode("ascii", errors="replace"))
            start = end + 1

    def find(self, kind: str) -> str | None:
        """The rest of the first report of ``kind`` (``<``, ``:``, ``=``, ``>``)."""
        for report in self.reports:
            if report.startswith(kind):
                return report[len(kind):]
        return None

    def value(self) -> bytes:
        """Everything the command wrote, without our reports."""
        self.output += self._pending
        self._pending.clear()
        return bytes(self.output)


class RemoteShell:
    """One login shell on the server, running our commands one at a time."""

    def __init__(self, channel: paramiko.Channel, waiter: ChannelWaiter,
                 pid: int) -> None:
        self.channel = channel
        self._waiter = waiter
        self.transport = channel.get_transport()
        self.pid = pid
        self.idle_since = time.monotonic()
        # Set when the shell must not be reused (leftovers, or unsure state).
        self.spoiled = False

    @classmethod
    def start(cls, channel: paramiko.Channel) -> RemoteShell | None:
        """Start the loop on a fresh session channel.

        :returns: The shell, or None if this login shell has no job control
            (or does not answer as a POSIX shell would); the channel is
            closed then.
        """
        ready = secrets.token_hex(8)
        waiter = ChannelWaiter(channel)
        channel.exec_command(_LOOP.replace("{ready}", ready))
        pid = _wait_until_ready(channel, waiter, ready)
        if pid is not None:
            return cls(channel, waiter, pid)
        channel.close()
        return None

    def usable(self, transport: paramiko.Transport | None) -> bool:
        """Whether the shell can take a command on ``transport`` now."""
        return (not self.spoiled and self.transport is transport
                and transport is not None and transport.is_active()
                and not self.channel.closed and not self.channel.eof_received
                and time.monotonic() - self.idle_since < _MAX_IDLE)

    def run(self, line: str, timeout: float,
            kill_group: Callable[[int], None]) -> Outcome:
        """Run ``line`` and collect its exit code and output.

        :param kill_group: Called with the job's pgid when it times out.
        :returns: The outcome; its exit code is None on timeout and -1 if
            the shell ended while running the command.
        :raises OSError, EOFError, paramiko.SSHException: the connection
            failed, possibly after the command started.
        """
        job = secrets.token_hex(8)
        lines = line.split("\n")
        request = f"{job}\n{len(lines)}\n" + "\n".join(lines) + "\n"
        out, err = _Reports(job), _Reports(job)
        try:
            self.channel.sendall(request.encode())
        except OSError:
            if self.channel.closed and self.transport.is_active():
                self.spoiled = True  # ended before we wrote: nothing ran
                return Outcome(False, -1, b"", b"")
            raise
        deadline = time.monotonic() + timeout
        ended = self._collect(out, err, deadline)
        if ended is None:
            return self._time_out(out, err, kill_group)
        if not ended:  # the channel closed before the shell reported the end
            self.spoiled = True
            if not self.transport.is_active():
                raise EOFError("the SSH connection closed")
            # Output ends as the shell starts to exit; sshd reports the exit
            # (or closes) only once it has reaped the shell. Wait for that,
            # so that the shell is gone when we say it ended.
            self.channel.status_event.wait(_GRACE)
            started = err.find("<") is not None
            return Outcome(started, -1, out.value(), err.value())
        status = out.find("=") or ""
        if status.endswith("+"):  # leftovers may still write to our streams
            self.spoiled = True
            status = status[:-1]
        self.idle_since = time.monotonic()
        return Outcome(True, int(status), out.value(), err.value())

    def close(self) -> None:
        """Close the channel; the shell reads EOF and exits."""
        self.spoiled = True
        try:
            self.channel.close()
        except (OSError, EOFError, paramiko.SSHException):
            pass

    def _collect(self, out: _Reports, err: _Reports,
                 deadline: float) -> bool | None:
        """Read until the shell reports the end of the command.

        :returns: True when it did, False if the channel closed first, None
            at the deadline.
        """
        return _read_until(
            self.channel, self._waiter, out, err, deadline,
            lambda: out.find("=") is not None and err.find(">") is not None)

    def _time_out(self, out: _Reports, err: _Reports,
                  kill_group: Callable[[int], None]) -> Outcome:
        pgid = err.find(":")
        if pgid is None:  # the shell may not have started the job yet
            self._collect(out, err, time.monotonic() + _GRACE)
            pgid = err.find(":")
        if pgid is not None and pgid.isdigit():
            kill_group(int(pgid))
            # The shell reports the killed job's end: then it is reusable.
            if self._collect(out, err, time.monotonic() + _GRACE) is not True:
                self.spoiled = True
        else:
            self.spoiled = True
            kill_group(self.pid)  # the shell is stuck: end it
        return Outcome(True, None, out.value(), err.value())


def _wait_until_ready(channel: paramiko.Channel, waiter: ChannelWaiter,
                     ready: str) -> int | None:
    """The pid the loop reports when it is ready, or None if it cannot run.

    Whatever start-up files print before that is dropped, on both streams,
    so that it is not taken for the first command's output.
    """
    out, err = _Reports(ready), _Reports(ready)

    def answered() -> bool:
        pid = out.find(":")
        # Either ready on both streams, or "nojobs" (or not a shell we know).
        return pid is not None and (not pid.isdigit() or err.find(".") is not None)

    _read_until(channel, waiter, out, err, time.monotonic() + _START_TIMEOUT, answered)
    pid = out.find(":")
    if pid is not None and pid.isdigit() and err.find(".") is not None:
        return int(pid)
    logger.info("No shared shells on this host (the login shell answered %r);"
                " every command gets a session of its own", pid)
    return None


def _read_until(channel: paramiko.Channel, waiter: ChannelWaiter,
                out: _Reports, err: _Reports, deadline: float,
                done: Callable[[], bool]) -> bool | None:
    """Feed both streams to ``out`` and ``err`` until ``done()``.

    :returns: True once ``done()``, False if the channel ended first, None
        at the deadline.
    """
    while True:
        drain(channel, out.feed, err.feed)
        if done():
            return True
        if channel.closed or channel.eof_received:
            # All output comes before the end; take what came since.
            drain(channel, out.feed, err.feed)
            return done()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        waiter.wait(remaining)


class ShellPool:
    """Up to ``size`` shells on one terminal's connection, lent one at a time.

    Threads that find every shell busy and the pool full get None and run
    their command in a session of its own.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._idle: list[RemoteShell] = []
        self._count = 0  # idle, lent out, and starting
        # Set when the login shell cannot run the loop; then never retried.
        self._unsupported = False

    def take(self, transport: paramiko.Transport,
             open_channel: Callable[[paramiko.Transport], paramiko.Channel],
             ) -> RemoteShell | None:
        """An idle shell on ``transport``, a new one, or None."""
        stale: list[RemoteShell] = []
        shell = None
        with self._lock:
            while self._idle and shell is None:
                candidate = self._idle.pop()
                if candidate.usable(transport):
                    shell = candidate
                else:
                    stale.append(candidate)
                    self._count -= 1
            start = (shell is None and not self._unsupported
                     and self._count < self._size)
            if start:
                self._count += 1
        for old in stale:
            old.close()
        if shell is not None or not start:
            return shell
        refused = unsupported = False
        try:
            channel = open_channel(transport)
        except paramiko.ChannelException as e:
            refused = True  # the server's session limit
            logger.debug("Could not open a channel for a shared shell: %s", e)
        except (OSError, EOFError, paramiko.SSHException) as e:
            # The connection failed; the command's own session will find out.
            logger.debug("Could not open a channel for a shared shell: %s", e)
        else:
            try:
                shell = RemoteShell.start(channel)
                unsupported = shell is None
            except (OSError, EOFError, paramiko.SSHException) as e:
                # The server would not run the loop (a forced command, say),
                # unless the connection failed just now.
                unsupported = transport.is_active()
                channel.close()
                logger.debug("Could not start a shared shell: %s", e)
        if shell is None:
            with self._lock:
                self._count -= 1
                self._unsupported = self._unsupported or unsupported
                if refused:  # do not try to grow past what the server allows
                    self._size = max(1, self._count)
        return shell

    def give_back(self, shell: RemoteShell) -> None:
        """Return a shell after use; a spoiled one is closed."""
        if shell.spoiled or shell.channel.closed:
            shell.close()
            with self._lock:
                self._count -= 1
            return
        with self._lock:
            self._idle.append(shell)

    def close_idle_one(self) -> None:
        """Close one idle shell, and keep the pool from growing back.

        For when the server refuses new sessions and a command needs one.
        """
        with self._lock:
            if not self._idle:
                return
            shell = self._idle.pop(0)
            self._count -= 1
            self._size = max(1, self._count)
        shell.close()

    def close(self) -> None:
        """Close the idle shells; lent ones are closed when given back."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for shell in idle:
            shell.close()
