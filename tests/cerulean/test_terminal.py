"""Terminal.run behaviour users rely on, for LocalTerminal and SshTerminal.

The ``terminal`` fixture runs each test locally and over SSH to the real
test sshd (skipped if that is down).
"""
from __future__ import annotations

import shlex
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cerulean.terminal_helpers import unique_sleep, wait_until_gone
from tests.conftest import remote_scratch


@pytest.fixture
def scratch(terminal: Any, tmp_path: Any) -> Iterator[str]:
    """A fresh directory on the machine where ``terminal`` runs commands."""
    import cerulean
    if isinstance(terminal, cerulean.LocalTerminal):
        yield str(tmp_path)
    else:
        with remote_scratch(terminal) as path:
            yield path


def test_returns_exit_code_stdout_and_stderr(terminal: Any) -> None:
    assert terminal.run(10.0, "echo", ["out;", "echo", "err", ">&2;", "exit", "3"]) \
        == (3, "out\n", "err\n")


def test_arguments_are_appended_unquoted(terminal: Any) -> None:
    # Documented: quoting is the caller's job, so shell syntax in args works.
    code, out, _ = terminal.run(10.0, "echo", ["$((6*7))", "|", "tr", "4", "X"])
    assert (code, out) == (0, "X2\n")


def test_args_as_a_string_is_rejected(terminal: Any) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        terminal.run(10.0, "echo", "hello")


def test_stdin_data_reaches_the_command(terminal: Any) -> None:
    text = "line one\nline two with ünïcode\n"
    assert terminal.run(10.0, "cat", [], text) == (0, text, "")


def test_large_stdin_and_output_do_not_deadlock(terminal: Any) -> None:
    # Bigger than paramiko's 2 MiB window in both directions at once.
    text = "0123456789abcdef" * (3 * 2**16)
    code, out, _ = terminal.run(30.0, "cat", [], text)
    assert code == 0
    assert out == text


def test_without_stdin_data_the_command_reads_eof(terminal: Any) -> None:
    assert terminal.run(10.0, "cat", []) == (0, "", "")


def test_workdir_with_a_space(terminal: Any, scratch: str) -> None:
    workdir = f"{scratch}/with space"
    assert terminal.run(10.0, "mkdir", ["-p", shlex.quote(workdir)])[0] == 0
    assert terminal.run(10.0, "pwd", [], None, workdir) == (0, workdir + "\n", "")


def test_unenterable_workdir_does_not_run_the_command(
        terminal: Any, scratch: str) -> None:
    marker = f"{scratch}/ran"
    code, _, err = terminal.run(
        10.0, "touch", [shlex.quote(marker)], None, f"{scratch}/missing dir")
    assert code != 0
    assert "missing dir" in err
    assert terminal.run(10.0, "test", ["-e", shlex.quote(marker)])[0] == 1


def test_workdir_is_quoted_by_the_terminal(terminal: Any, scratch: str) -> None:
    # A workdir is a value the library puts in the shell line: it must never
    # be interpreted, whatever characters it has.
    workdir = f"{scratch}/$(touch pwned); x"
    assert terminal.run(10.0, "mkdir", ["-p", shlex.quote(workdir)])[0] == 0
    code, out, _ = terminal.run(10.0, "pwd", [], None, workdir)
    assert (code, out) == (0, workdir + "\n")
    assert terminal.run(10.0, "ls", [shlex.quote(scratch)])[1] == "$(touch pwned); x\n"
    assert terminal.run(10.0, "test", ["-e", "pwned"])[0] == 1


def test_timeout_returns_none_with_partial_output_and_kills_the_group(
        terminal: Any) -> None:
    duration = unique_sleep()
    started = time.monotonic()
    # A child in the background as well: the whole process group must die.
    result = terminal.run(
        1.0, "echo", ["started;", "echo", "warn", ">&2;",
                      "sleep", duration, "&", "sleep", duration, ";", "wait"])
    elapsed = time.monotonic() - started
    assert result == (None, "started\n", "warn\n")
    assert elapsed < 2.0
    assert _survivors(terminal, f"sleep {duration}") == []


def test_process_that_exits_by_signal_reports_128_plus_signal(terminal: Any) -> None:
    code, _, _ = terminal.run(10.0, "sh", ["-c", "'kill -KILL $$'"])
    assert code == 128 + 9


def test_terminal_is_a_context_manager(terminal: Any) -> None:
    with terminal as term:
        assert term is terminal
        assert term.run(10.0, "true", [])[0] == 0
    terminal.close()  # closing twice is harmless


def test_non_utf8_output_does_not_raise(terminal: Any) -> None:
    code, out, _ = terminal.run(10.0, "printf", [r"'\377ok'"])
    assert code == 0
    assert out.endswith("ok")


def _survivors(terminal: Any, pattern: str) -> list[str]:
    """Processes matching ``pattern`` still alive after a short grace.

    The test sshd runs on this machine, so a local pgrep sees the remote
    processes as well.
    """
    return wait_until_gone(pattern)
