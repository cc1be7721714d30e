"""Helpers for the terminal tests: find and kill processes, server facts."""
from __future__ import annotations

import contextlib
import fcntl
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import paramiko

from tests.servers import settings as S


def unique_sleep(seconds: int = 10) -> str:
    """A ``sleep`` argument that no other process on the machine uses.

    ``sleep 10.<random>`` sleeps about as long, and lets us find exactly
    this process with pgrep afterwards.
    """
    return f"{seconds}.{uuid.uuid4().int % 10**9:09d}"


def processes_matching(pattern: str) -> list[str]:
    """Command lines of local processes (any user) matching ``pattern``."""
    proc = subprocess.run(["pgrep", "-af", pattern], check=False,
                          capture_output=True, text=True)
    return proc.stdout.splitlines()


def wait_until_gone(pattern: str, within: float = 2.0) -> list[str]:
    """Wait for processes matching ``pattern`` to end; return survivors."""
    give_up = time.monotonic() + within
    while True:
        left = processes_matching(pattern)
        if not left or time.monotonic() > give_up:
            return left
        time.sleep(0.05)


def host_key_fingerprints() -> set[str]:
    """SHA256 fingerprints of all host keys of the test sshd."""
    found = set()
    for pub in sorted(S.HOST_KEYS.glob("ssh_host_*_key.pub")):
        out = subprocess.run(["ssh-keygen", "-lf", str(pub)], check=True,
                             capture_output=True, text=True).stdout
        found.add(out.split()[1])
    return found


def sshd_session_pids(term: Any) -> list[int]:
    """PIDs of the sshd processes serving ``term``'s connection.

    Found by the connection's local TCP port, as ``ss`` reports the server
    end of it (on whichever test sshd's port it is connected to).
    """
    transport: paramiko.Transport = term.transport()
    local_port = transport.sock.getsockname()[1]
    server_port = transport.sock.getpeername()[1]
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established",
         f"( sport = :{server_port} and dport = :{local_port} )"],
        check=True, capture_output=True, text=True).stdout
    return sorted({int(pid) for pid in re.findall(r"pid=(\d+)", out)})


def failed_logins() -> int:
    """How many failed password logins the test sshd has logged so far."""
    log = S.LOGS / "sshd.log"
    if not log.exists():
        return 0
    return sum("Failed password for" in line
               for line in log.read_text(errors="replace").splitlines())


OTP_USERS_FILE = S.STATE / "otp" / "users.oath"  # pam_oath's record of the last code used
OTP_LOCK_FILE = S.STATE / "otp" / "tests.lock"


@contextlib.contextmanager
def otp_login_turn() -> Iterator[None]:
    """Log in to the one-time-code sshd while no other test process does,
    with a code that no login has used yet.

    Every test process on this machine (another file's run, the docs
    tests) uses the same secret, and a code is good for one login only:
    without taking turns, two processes logging in within one 30 s period
    would both send its code, and the second would be refused.
    """
    try:
        lock = open(OTP_LOCK_FILE, "a")  # noqa: SIM115 - held across the yield
    except OSError:
        wait_for_an_unused_period()
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        wait_for_an_unused_period()
        yield


def wait_for_an_unused_period() -> None:
    """Wait until the 30 s period after the last code the server took.

    TotpResponder knows the codes this process used, not those of another
    (an earlier test run a few seconds ago); pam_oath records the time of
    the last one, as local time with an "L".
    """
    try:
        fields = OTP_USERS_FILE.read_text().split()
    except OSError:
        return  # not readable (pam_oath keeps it 0600): the responder must do
    if len(fields) < 7:
        return  # no code used yet
    last = datetime.strptime(fields[6].rstrip("L"), "%Y-%m-%dT%H:%M:%S").timestamp()
    next_period = (int(last) // 30 + 1) * 30
    if time.time() < next_period:
        time.sleep(next_period - time.time())
