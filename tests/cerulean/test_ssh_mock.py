"""Fast SshTerminal unit tests on the in-process mockssh server.

They run beside the real-sshd tests (test_ssh_terminal.py), not instead of
them: mockssh runs commands as the test process's user, without a login
shell or setsid(), so timeouts and reconnects are only tested for real.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import paramiko
import pytest

import cerulean
from cerulean.ssh_terminal import (
    AuthenticationError,
    HostKeyChangedError,
    UnknownHostKeyError,
)

pytestmark = [
    pytest.mark.timeout(30),
    # mockssh's server thread raises EOFError when a client hangs up right
    # after logging in; that is the mock's noise, not ours.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
]


def connect(mock_ssh: Any, known_hosts: str | None = None, **kwargs: Any) -> Any:
    server, credential, default_known_hosts = mock_ssh
    return cerulean.SshTerminal(server.host, server.port, credential,
                                known_hosts=known_hosts or default_known_hosts,
                                **kwargs)


def test_run_returns_exit_code_and_both_streams(mock_ssh: Any) -> None:
    with connect(mock_ssh) as term:
        assert term.run(10.0, "echo", ["out;", "echo", "err", ">&2;", "exit", "4"]) \
            == (4, "out\n", "err\n")


def test_stdin_and_workdir(mock_ssh: Any, tmp_path: Path) -> None:
    (tmp_path / "a dir").mkdir()
    with connect(mock_ssh) as term:
        assert term.run(10.0, "cat", [], "data\n") == (0, "data\n", "")
        assert term.run(10.0, "pwd", [], None, tmp_path / "a dir") == (
            0, f"{tmp_path}/a dir\n", "")


def test_unknown_host_key_is_refused(mock_ssh: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.touch()
    with pytest.raises(UnknownHostKeyError, match=r"SHA256:"):
        connect(mock_ssh, str(empty))


def test_changed_host_key_is_refused(mock_ssh: Any, tmp_path: Path) -> None:
    server = mock_ssh[0]
    other = paramiko.ECDSAKey.generate()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(
        f"[{server.host}]:{server.port} ssh-rsa {other.get_base64()}\n")
    with pytest.raises(HostKeyChangedError):
        connect(mock_ssh, str(known_hosts))


def test_close_twice_and_no_thread_left(mock_ssh: Any) -> None:
    term = connect(mock_ssh)
    transport = term.transport()
    term.close()
    term.close()
    assert transport not in threading.enumerate()


def test_transport_and_generation_are_stable_while_connected(mock_ssh: Any) -> None:
    with connect(mock_ssh) as term:
        transport = term.transport()
        term.run(10.0, "true", [])
        assert term.transport() is transport
        assert term.connection_generation == 1


def test_password_is_refused_by_a_key_only_server(mock_ssh: Any) -> None:
    server, _, known_hosts = mock_ssh
    with pytest.raises(AuthenticationError,
                       match="not allowed.*publickey"):
        cerulean.SshTerminal(server.host, server.port,
                             cerulean.PasswordCredential("mockuser", "pw"),
                             known_hosts=known_hosts)


def test_login_shell_without_job_control_runs_commands_in_sessions(
        mock_ssh: Any) -> None:
    # mockssh runs commands with /bin/sh, which is dash here: no job control
    # without a terminal, so no shared shells; every command still works.
    with connect(mock_ssh) as term:
        first = term.run(10.0, "echo", ["$$;", "exit", "5"])
        second = term.run(10.0, "echo", ["$$;", "exit", "5"])
    assert first[0] == second[0] == 5
    assert first[1] != second[1]
