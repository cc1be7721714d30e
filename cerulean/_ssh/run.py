"""Run one command on an SSH session channel: output, exit code, timeout.

How a timeout kills the command: sshd starts every non-pty session with
``setsid()``, so the login shell leads its own process group and its PID is
that group's ID. We have the shell print ``<nonce>:$$`` on stderr before it
runs the command; we strip that line from stderr and, on timeout, send
``kill -KILL -- -<pgid>`` over a second channel (OpenSSH ignores signal
requests on a channel without a pty). This assumes a POSIX login shell
(sh, bash, dash, ksh, zsh), as HPC systems have.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import paramiko

from cerulean._ssh.wait import CHUNK, ChannelWaiter, drain

# How long to wait for the pgid line or trailing output after a timeout.
_GRACE = 0.5


class _StderrFilter:
    """Collect stderr, taking out the ``<nonce>:<pgid>`` line."""

    def __init__(self, nonce: str) -> None:
        self._tag = f"{nonce}:".encode()
        self._head = bytearray()  # stderr before the marker line is complete
        self._body = bytearray()
        self.pgid: int | None = None

    def feed(self, data: bytes) -> None:
        """Take the next chunk of stderr."""
        if self.pgid is not None:
            self._body += data
            return
        self._head += data
        start = self._head.find(self._tag)
        end = self._head.find(b"\n", start) if start >= 0 else -1
        if end < 0:
            return
        try:
            self.pgid = int(self._head[start + len(self._tag):end])
        except ValueError:
            self.pgid = 0  # unusable; found, so stop looking
        # Anything before the marker came from shell start-up files.
        self._body += self._head[:start] + self._head[end + 1:]
        self._head.clear()

    def value(self) -> bytes:
        """All of stderr except the marker line."""
        return bytes(self._body + self._head)


def wrap(line: str, stdin_length: int) -> tuple[str, str]:
    """The remote command for ``line`` and the nonce of its pgid marker.

    We never send EOF or stdin data that the remote shell might not wait
    for: paramiko sends those outside its channel lock, so when the command
    ends at that moment, paramiko's reply to the server's CLOSE can overtake
    them, and OpenSSH then drops the *whole connection* ("packet referred to
    nonexistent channel"). Instead, without stdin the command reads
    /dev/null, and with stdin ``head -c`` takes exactly the bytes we send,
    while a trap drains what the command leaves unread before the shell
    ends.

    ``exit $?`` on its own line keeps the shell as the command's parent, so
    a command killed by a signal reports 128+N as a shell would, instead of
    ending the session without an exit status.
    """
    nonce = secrets.token_hex(8)
    # The command starts on line 1, so bash's messages number its lines
    # as the user wrote them.
    if stdin_length:
        body = (f"head -c {int(stdin_length)} | (trap 'cat >/dev/null' EXIT; "
                f"{line}\n)")
    else:
        body = f"exec </dev/null; {line}"
    return f"echo {nonce}:$$ >&2; {body}\nexit $?", nonce


def collect(chan: paramiko.Channel, nonce: str, stdin_data: bytes,
            timeout: float, kill_group: Callable[[int], None],
            ) -> tuple[int | None, bytes, bytes]:
    """Feed stdin, gather stdout/stderr and the exit code of a started command.

    :param stdin_data: Exactly the ``stdin_length`` bytes given to :func:`wrap`.
    :param kill_group: Called with the pgid when the command times out.
    :returns: ``(exit code or None on timeout, stdout, stderr)``. The exit
        code is -1 if the channel closed without one: the connection
        dropped, or the login shell itself was killed.
    """
    deadline = time.monotonic() + timeout
    out = bytearray()
    err = _StderrFilter(nonce)
    pending = memoryview(stdin_data)
    waiter = ChannelWaiter(chan)

    def drain_both() -> None:
        drain(chan, out.extend, err.feed)

    while True:
        # Interleave stdin with reading: a command that writes a lot before
        # reading its input would otherwise deadlock on full windows.
        while pending and chan.send_ready():
            try:
                pending = pending[chan.send(bytes(pending[:CHUNK])):]
            except OSError:
                if not chan.closed:
                    raise
                pending = pending[:0]  # the command ended without reading it all
        drain_both()
        if chan.eof_received or chan.closed:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _time_out(chan, out, err, kill_group, drain_both)
        waiter.wait(min(remaining, 0.01) if pending else remaining)

    # All output is in; the exit status may still be on its way.
    if not chan.status_event.wait(max(0.0, deadline - time.monotonic())):
        return _time_out(chan, out, err, kill_group, drain_both)
    drain_both()
    chan.close()
    return chan.exit_status, bytes(out), err.value()


def _time_out(chan: paramiko.Channel, out: bytearray, err: _StderrFilter,
              kill_group: Callable[[int], None],
              drain_both: Callable[[], None]) -> tuple[None, bytes, bytes]:
    give_up = time.monotonic() + _GRACE
    while err.pgid is None and not chan.closed and time.monotonic() < give_up:
        chan.status_event.wait(0.01)  # the shell may not have started yet
        drain_both()
    if err.pgid is not None and err.pgid > 1:
        kill_group(err.pgid)
        # Take what the command printed up to its death.
        give_up = time.monotonic() + _GRACE
        while not (chan.eof_received or chan.closed) and time.monotonic() < give_up:
            chan.status_event.wait(0.01)
            drain_both()
    drain_both()
    chan.close()
    return None, bytes(out), err.value()
