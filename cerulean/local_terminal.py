"""Run commands on the local machine."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from cerulean._shell import command_line
from cerulean.terminal import Terminal


class LocalTerminal(Terminal):
    """A Terminal for running commands on the local machine.

    To create one, just do ``term = LocalTerminal()``.
    """

    def __eq__(self, other: object) -> bool:
        """All local terminals run commands in the same place."""
        return isinstance(other, LocalTerminal)

    def __hash__(self) -> int:
        return hash(LocalTerminal)

    def run(self, timeout: float, command: str | Path, args: list[str],
            stdin_data: str | None = None,
            workdir: str | Path | None = None
            ) -> tuple[int | None, str, str]:
        """Run a shell command locally; see :meth:`Terminal.run`."""
        line = command_line(command, args, workdir)
        # A new session makes the command the leader of its own process
        # group, so a timeout can kill it together with everything it forked.
        proc = subprocess.Popen(
            ["/bin/sh", "-c", line], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        try:
            out, err = proc.communicate(
                (stdin_data or "").encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            out, err = proc.communicate()
            return None, _text(out), _text(err)
        return proc.returncode, _text(out), _text(err)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
