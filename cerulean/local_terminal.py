"""Run commands on the local machine."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
from pathlib import Path

from cerulean._shell import command_line
from cerulean.terminal import Terminal

logger = logging.getLogger(__name__)

# After killing a timed-out command, how long to wait for its last output.
# Only a process that left the group (setsid) and kept our pipes open makes
# us wait this long.
_GRACE = 0.5


class LocalTerminal(Terminal):
    """A Terminal for running commands on the local machine.

    To create one, just do ``term = LocalTerminal()``. It holds no
    resources, so closing it is optional.
    """

    def __eq__(self, other: object) -> bool:
        """All local terminals run commands in the same place."""
        if not isinstance(other, Terminal):
            return NotImplemented
        return isinstance(other, LocalTerminal)

    def __hash__(self) -> int:
        """Hash consistent with :meth:`__eq__`."""
        return hash(LocalTerminal)

    def __repr__(self) -> str:
        """``LocalTerminal()``."""
        return "LocalTerminal()"

    def run(self, timeout: float, command: str | Path, args: list[str],
            stdin_data: str | None = None,
            workdir: str | Path | None = None
            ) -> tuple[int | None, str, str]:
        """Run a shell command locally.

        The command will be run by ``/bin/sh``, and arguments are not quoted
        automatically. If you have untrusted or unknown input, be sure to
        quote it using quote() from the shlex module of the Python standard
        library. ``workdir`` is quoted for you; if it cannot be entered the
        command does not run, and the exit code and stderr say why.

        Unlike Cerulean 1.0, stderr is captured.

        The parameters are those of :meth:`Terminal.run
        <cerulean.terminal.Terminal.run>`.

        :returns: A tuple containing the exit code (None on timeout; 128+N
            if killed by signal N, as a shell reports it), standard output,
            and standard error output.
        """
        line = command_line(command, args, workdir)
        logger.debug("Running locally: %s", line)
        # A new session makes the shell the leader of a new process group,
        # so a timeout can kill it together with everything it started.
        proc = subprocess.Popen(
            ["/bin/sh", "-c", line],
            stdin=subprocess.DEVNULL if stdin_data is None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        stdin = None if stdin_data is None else stdin_data.encode()
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            return (None, *_kill_and_collect(proc))
        code = proc.returncode
        if code < 0:
            code = 128 - code  # killed by signal -code
        return code, _text(out), _text(err)


def _kill_and_collect(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    """Kill the command's process group; return its output so far."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the whole group ended just now
    try:
        # communicate() keeps what it read before the timeout.
        out, err = proc.communicate(timeout=_GRACE)
    except subprocess.TimeoutExpired as e:
        # Someone outside the group holds our pipes; stop waiting for them.
        out, err = e.output or b"", e.stderr or b""
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()
    return _text(out), _text(err)


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
