"""SshTerminal's shared login shells (``command_shells``), on the real sshd.

A command run on a shared shell must give what a session of its own gives,
leave nothing behind for the next command, and fall back to a session of
its own whenever a shell cannot take it. The generic run() tests in
test_terminal.py run with and without shells as well.
"""
from __future__ import annotations

import os
import shlex
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cerulean.terminal_helpers import unique_sleep, wait_until_gone
from tests.conftest import make_ssh_terminal, remote_scratch
from tests.servers import settings as S

pytestmark = pytest.mark.real_server


@pytest.fixture(scope="module")
def sessions() -> Iterator[Any]:
    """A terminal that runs every command in a session of its own."""
    term = make_ssh_terminal(command_shells=0)
    try:
        yield term
    finally:
        term.close()


@pytest.fixture
def shells(ssh_terminal: Any) -> Any:
    """A terminal with shared shells (the default)."""
    return ssh_terminal


@pytest.fixture
def scratch(shells: Any) -> Iterator[str]:
    with remote_scratch(shells) as path:
        yield path


def shell_pid(term: Any) -> int:
    """The pid of the shell that ran the command (``$$``)."""
    code, out, _ = term.run(10.0, "echo", ["$$"])
    assert code == 0
    return int(out)


def alive(pid: int) -> bool:
    """Whether a local process (the test sshd is local) still runs."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def all_ended(pids: set[int], within: float = 5.0) -> bool:
    """Wait for local processes to end; whether they all did in time.

    A killed process closes its files (so sshd sees EOF and we return)
    a moment before the kernel marks it ended; on a loaded machine that
    moment is long enough to see.
    """
    give_up = time.monotonic() + within
    while any(alive(pid) for pid in pids):
        if time.monotonic() > give_up:
            return False
        time.sleep(0.01)
    return True


SAME_RESULTS = [
    "echo out; echo err >&2; exit 3",
    "printf 'no newline'",
    "printf 'a\\nb'; printf 'c' >&2",
    "echo one\necho two\n\necho four",
    "echo $# \"$1\" $0",
    "cat",
    "exec echo replaced",
    "sh -c 'kill -TERM $$'",
    "exit 255",
    "printf '%s\\n' \"$-\" | grep -c i",
    "seq 1 200000 | tail -n 1",
    "head -c 3000000 /dev/zero | tr '\\0' x | wc -c",
    "cd /nonexistent-dir",
    "echo 'quote''s' \"dou\\\"ble\" back\\\\slash",
    "echo 'héllo wörld ✓' | tr h H",
    "echo " + "x" * 4000 + " | wc -c",
]


@pytest.mark.parametrize("line", SAME_RESULTS)
def test_shell_gives_what_a_session_gives(shells: Any, sessions: Any,
                                          line: str) -> None:
    assert shells.run(20.0, line, []) == sessions.run(20.0, line, [])


def test_large_output_is_complete(shells: Any) -> None:
    code, out, err = shells.run(30.0, "seq", ["1", "300000"])
    assert code == 0 and err == ""
    assert out == "".join(f"{i}\n" for i in range(1, 300001))


def test_commands_reuse_one_shell(shells: Any, sessions: Any) -> None:
    assert shell_pid(shells) == shell_pid(shells)
    assert shell_pid(sessions) != shell_pid(sessions)


def test_nothing_a_command_changes_reaches_the_next(shells: Any) -> None:
    first = shells.run(10.0, "cd /tmp; export LEAK=1; umask 077; alias ll=ls;"
                       " f() { :; }; set -e; trap 'echo trapped' EXIT", [])
    assert first == (0, "trapped\n", "")
    assert shells.run(10.0, "pwd; echo \"[$LEAK]\"; umask; type f ll 2>&1 | wc -l",
                      []) == (0, f"{S.HOME}\n[]\n0022\n2\n", "")


def test_syntax_error_does_not_break_the_shell(shells: Any) -> None:
    pid = shell_pid(shells)
    code, _, err = shells.run(10.0, "echo 'unterminated", [])
    assert code == 2
    assert "unexpected EOF" in err
    code, _, _ = shells.run(10.0, "if then fi )", [])
    assert code == 2
    assert shell_pid(shells) == pid


def test_timeout_kills_the_command_and_keeps_the_shell(shells: Any) -> None:
    pid = shell_pid(shells)
    duration = unique_sleep()
    started = time.monotonic()
    result = shells.run(1.0, f"echo started; echo warn >&2; sleep {duration}", [])
    assert result == (None, "started\n", "warn\n")
    assert time.monotonic() - started < 2.0
    assert wait_until_gone(f"sleep {duration}") == []
    assert shell_pid(shells) == pid


def test_command_that_kills_its_shell_reports_minus_one(shells: Any) -> None:
    pid = shell_pid(shells)
    assert shells.run(10.0, "kill", ["-KILL", "$$"]) == (-1, "", "")
    assert all_ended({pid})
    assert shells.run(10.0, "echo", ["next"]) == (0, "next\n", "")


def test_shell_killed_while_idle_is_replaced_unnoticed(shells: Any) -> None:
    pid = shell_pid(shells)
    os.kill(pid, signal.SIGKILL)
    assert all_ended({pid})
    assert shells.run(10.0, "echo", ["still", "works"]) == (0, "still works\n", "")
    assert shell_pid(shells) != pid


def test_leftover_output_never_reaches_the_next_command(
        shells: Any, scratch: str) -> None:
    # The & is inside a script, where the terminal cannot see it.
    script = f"{scratch}/leaves-a-child.sh"
    body = "(sleep 0.3; echo late; echo late >&2) &\necho early\n"
    assert shells.run(10.0, f"printf %s {shlex.quote(body)} > {script}", [])[0] == 0
    pid = shell_pid(shells)
    assert shells.run(10.0, "sh", [script]) == (0, "early\n", "")
    for _ in range(5):  # across the moment the leftover writes
        assert shells.run(10.0, "sleep 0.1; echo next", []) == (0, "next\n", "")
    assert shell_pid(shells) != pid  # that shell was not reused


def test_visible_background_job_is_waited_for_as_in_a_session(shells: Any) -> None:
    result = shells.run(10.0, "(sleep 0.3; echo late) & echo early", [])
    assert result == (0, "early\nlate\n", "")


def test_close_ends_the_shells(shells: Any) -> None:
    results = []
    # Three commands at once: three shells.
    threads = [threading.Thread(target=lambda: results.append(
        shells.run(10.0, "sleep 0.2; echo $$", []))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [code for code, _, _ in results] == [0, 0, 0]
    pids = {int(out) for _, out, _ in results}
    shells.close()
    assert all_ended(pids)


def test_more_threads_than_shells_all_get_their_results() -> None:
    term = make_ssh_terminal(command_shells=2)
    results: dict[int, Any] = {}

    def work(n: int) -> None:
        results[n] = [term.run(10.0, "echo", [f"{n}-{i}"]) for i in range(10)]

    try:
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        term.close()
    assert results == {n: [(0, f"{n}-{i}\n", "") for i in range(10)] for n in range(8)}


def test_command_shells_must_be_a_count() -> None:
    import cerulean
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="command_shells"):
            cerulean.SshTerminal(S.HOST, S.SSH_PORT,
                                 cerulean.PasswordCredential(S.USER, S.PASSWORD),
                                 command_shells=bad)



def test_start_up_file_chatter_is_not_taken_for_output(sessions: Any) -> None:
    # Some ~/.bashrc files print even in non-interactive shells.
    bashrc = Path(S.HOME) / ".bashrc"
    original = bashrc.read_bytes()
    bashrc.write_bytes(b"echo 'welcome to the cluster'; echo 'module: note' >&2\n"
                       + original)
    try:
        noisy = sessions.run(10.0, "echo", ["hi"])
        assert "welcome to the cluster" in noisy[1]  # bash does read it
        term = make_ssh_terminal()
        try:
            assert [term.run(10.0, "echo", ["hi"]) for _ in range(3)] \
                == [(0, "hi\n", "")] * 3
            assert shell_pid(term) == shell_pid(term)  # shells were used
        finally:
            term.close()
    finally:
        bashrc.write_bytes(original)
