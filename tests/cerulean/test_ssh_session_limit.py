"""A server that allows few sessions per connection (OpenSSH MaxSessions).

OpenSSH allows 10 sessions on one connection by default, and refuses more;
many threads sharing one SshTerminal, each with a command running, exceed
that. Commands then wait for a session instead of failing. Tested against
a second, real sshd with ``MaxSessions 3``.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cerulean
from tests.conftest import require_servers, unavailable
from tests.servers import settings as S

LIMITED_PORT = S.SSH_PORT + 9  # 10031: clear of the one-time-code sshd (10023)
MAX_SESSIONS = 3


@pytest.fixture(scope="module")
def limited_sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Run a copy of the test sshd with MaxSessions 3; yield its known_hosts."""
    require_servers("ssh")
    if os.geteuid() != 0:
        unavailable("a second sshd needs root")
    tmp = tmp_path_factory.mktemp("limited-sshd")
    config = (S.STATE / "conf" / "sshd_config").read_text()
    config = re.sub(r"(?m)^Port .*$", f"Port {LIMITED_PORT}", config)
    config = re.sub(r"(?m)^MaxSessions .*$", f"MaxSessions {MAX_SESSIONS}", config)
    config = re.sub(r"(?m)^PidFile .*$", f"PidFile {tmp}/sshd.pid", config)
    (tmp / "sshd_config").write_text(config)
    known_hosts = tmp / "known_hosts"
    known_hosts.write_text(S.KNOWN_HOSTS.read_text().replace(
        f"]:{S.SSH_PORT} ", f"]:{LIMITED_PORT} "))
    sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", str(tmp / "sshd_config"),
                             "-E", str(tmp / "sshd.log")])
    try:
        _wait_for_port(LIMITED_PORT)
        yield known_hosts
    finally:
        sshd.terminate()
        sshd.wait(10)


def _wait_for_port(port: int) -> None:
    give_up = time.monotonic() + 10.0
    while True:
        try:
            socket.create_connection((S.HOST, port), 0.5).close()
            return
        except OSError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.05)


def connect(known_hosts: Path, **kwargs: Any) -> Any:
    return cerulean.SshTerminal(
        S.HOST, LIMITED_PORT, cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY)),
        known_hosts=str(known_hosts), **kwargs)


@pytest.mark.parametrize("shells", [0, 2, 8])
def test_more_commands_than_sessions_wait_for_one(limited_sshd: Path,
                                                  shells: int) -> None:
    results: dict[int, Any] = {}
    with connect(limited_sshd, command_shells=shells) as term:
        def work(n: int) -> None:
            results[n] = term.run(20.0, f"sleep 0.2; echo {n}", [])

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == {n: (0, f"{n}\n", "") for n in range(8)}


def test_refused_sessions_end_in_a_clear_error(limited_sshd: Path) -> None:
    with connect(limited_sshd, command_shells=0, connect_timeout=1.0) as term:
        holders = [term.transport().open_session() for _ in range(MAX_SESSIONS)]
        started = time.monotonic()
        with pytest.raises(ConnectionError, match="MaxSessions.*'echo hi' did not run"):
            term.run(10.0, "echo", ["hi"])
        assert time.monotonic() - started < 3.0
        for channel in holders:
            channel.close()
        assert term.run(10.0, "echo", ["hi"]) == (0, "hi\n", "")
