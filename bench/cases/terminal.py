"""Terminal benchmarks: command latency, connection set-up, concurrency.

Each case runs under our cerulean and under PyPI cerulean 1.0.0, so it only
uses the Cerulean 1.0 API (``SshTerminal(host, port, credential)``, ``run``,
``close``), branching on ``ctx.ours`` where ours needs the known_hosts file
(1.0.0 checks no host key).
"""
from __future__ import annotations

import threading
import time
from typing import Any

from bench.framework import Context, OpenSSH, case

_WARM_UP = 10
_COMMANDS = 100
_CONNECTS = 10
_THREADS = 16
_PER_THREAD = 20

_MASTER_UP = "{ssh} -fNM -S {control} {target}"
_MASTER_DOWN = "{ssh} -S {control} -O exit {target}"


def _new_terminal(ctx: Context) -> Any:
    import cerulean
    s = ctx.settings
    credential = cerulean.PubKeyCredential(s.USER, str(s.RSA_KEY))
    if ctx.ours:
        return cerulean.SshTerminal(s.HOST, s.SSH_PORT, credential,
                                    known_hosts=str(s.KNOWN_HOSTS))
    return cerulean.SshTerminal(s.HOST, s.SSH_PORT, credential)


@case("ssh run('true') on an open connection", unit="ms", better="lower",
      openssh=OpenSSH(
          setup=_MASTER_UP,
          command=(f"for i in $(seq {_COMMANDS}); do"
                   " {ssh} -S {control} {target} true; done"),
          teardown=_MASTER_DOWN,
          value=lambda seconds: seconds / _COMMANDS * 1000))
def ssh_run_true(ctx: Context) -> float:
    """Mean time of one ``run(10, 'true', [])`` over an open connection.

    This is what every scheduler call and neuro_compat request pays; the
    OpenSSH counterpart reuses a ControlMaster connection.
    """
    term = ctx.ssh_terminal()
    for _ in range(_WARM_UP):
        term.run(10.0, "true", [])
    started = time.perf_counter()
    for _ in range(_COMMANDS):
        term.run(10.0, "true", [])
    return (time.perf_counter() - started) / _COMMANDS * 1000


@case("ssh connect, run('true'), close", unit="ms", better="lower",
      openssh=OpenSSH(
          command=f"for i in $(seq {_CONNECTS}); do {{ssh}} {{target}} true; done",
          value=lambda seconds: seconds / _CONNECTS * 1000))
def ssh_connect_run_close(ctx: Context) -> float:
    """Mean time to open an SshTerminal (key login), run one command and
    close it; OpenSSH does the same with a fresh ``ssh host true``."""
    started = time.perf_counter()
    for _ in range(_CONNECTS):
        term = _new_terminal(ctx)
        term.run(10.0, "true", [])
        term.close()
    return (time.perf_counter() - started) / _CONNECTS * 1000


@case(f"ssh {_THREADS} threads x {_PER_THREAD} run('true'), one terminal",
      unit="ms", better="lower",
      openssh=OpenSSH(
          setup=_MASTER_UP,
          command=(f"for t in $(seq {_THREADS}); do"
                   f" (for i in $(seq {_PER_THREAD}); do"
                   " {ssh} -S {control} {target} true; done) & done; wait"),
          teardown=_MASTER_DOWN,
          value=lambda seconds: seconds * 1000))
def ssh_threads_run_true(ctx: Context) -> float:
    """Wall time for 16 threads sharing one terminal to run 20 commands each
    (how neuro_compat uses a terminal). Fails if any command fails."""
    term = ctx.ssh_terminal()
    term.run(10.0, "true", [])
    failures: list[str] = []

    def work() -> None:
        for _ in range(_PER_THREAD):
            try:
                code, _, err = term.run(30.0, "true", [])
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(f"{type(e).__name__}: {e}")
                return
            if code != 0:
                failures.append(f"exit code {code}: {err}")

    threads = [threading.Thread(target=work) for _ in range(_THREADS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} failures, first: {failures[0]}")
    return elapsed * 1000
