"""Helpers for the real-server scheduler tests (not a conftest: no fixtures
are shared from here, only plain functions and a recording terminal)."""
from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Any

import cerulean
from tests.servers import settings as S

# The test cluster tracks memory (CR_Core_Memory) with no default per job,
# so a job that asks for none takes the node's whole 4000 MB and every other
# job waits. sbatch (and the PBS wrappers, which call sbatch) read this
# variable, so the prefix makes the test jobs small enough to run side by
# side. It also puts a real prefix in front of every command we run.
PREFIX = "export SBATCH_MEM_PER_NODE=10M; "


def kind_of(sched: cerulean.Scheduler) -> str:
    """``directgnu``, ``slurm``, ``torque`` or ``sge``."""
    if isinstance(sched, cerulean.DirectGnuScheduler):
        return "directgnu"
    if isinstance(sched, cerulean.SlurmScheduler):
        return "slurm"
    if isinstance(sched, cerulean.GridEngineScheduler):
        return "sge"
    return "torque"


def tools(kind: str) -> str:
    """What puts this scheduler's commands on PATH in a shell line: the
    test Grid Engine's are reached only through its prefix."""
    return S.SGE_PREFIX if kind == "sge" else ""


def terminal_of(sched: cerulean.Scheduler) -> cerulean.Terminal:
    term: cerulean.Terminal = sched._terminal  # type: ignore[attr-defined]
    return term


def with_prefix(sched: cerulean.Scheduler, prefix: str = PREFIX,
                terminal: cerulean.Terminal | None = None) -> Any:
    """The same kind of scheduler, on the same terminal, with ``prefix``
    (after the one that reaches the test Grid Engine, for that one, which
    keeps its parallel environment too)."""
    term = terminal or terminal_of(sched)
    if isinstance(sched, cerulean.GridEngineScheduler):
        return cerulean.GridEngineScheduler(
            term, S.SGE_PREFIX + prefix,
            parallel_environment=sched.parallel_environment)
    return type(sched)(term, prefix)


def job(command: str, *arguments: str, **attrs: Any) -> cerulean.JobDescription:
    jd = cerulean.JobDescription()
    jd.command = command
    jd.arguments = list(arguments)
    for name, value in attrs.items():
        setattr(jd, name, value)
    return jd


def sh(term: cerulean.Terminal, script: str, timeout: float = 30.0) -> str:
    """Run a shell script on the scheduler's machine; return stdout."""
    exit_code, out, err = term.run(timeout, "sh", ["-c", shlex.quote(script)])
    assert exit_code == 0, (script, out, err)
    return out


def read(term: cerulean.Terminal, path: str) -> str | None:
    """A file's text on the scheduler's machine, or None if it is missing."""
    q = shlex.quote(path)
    exit_code, out, _ = term.run(30.0, "sh", ["-c", shlex.quote(
        f"test -f {q} && cat -- {q}")])
    return out if exit_code == 0 else None


def exit_files(term: cerulean.Terminal, kind: str, job_ids: list[str]) -> list[str]:
    """Exit files of these jobs still present in ~/.cerulean/jobs."""
    out = sh(term, 'ls "$HOME/.cerulean/jobs" 2>/dev/null; exit 0')
    # directgnu-<host>-<pid>.exit, or <kind>-<job id>.exit
    return [name for name in out.split() for j in job_ids
            if name == f"{kind}-{j}.exit"
            or (name.startswith(f"{kind}-") and name.endswith(f"-{j}.exit"))]


def wait_for_status(sched: cerulean.Scheduler, job_id: str,
                    wanted: cerulean.JobStatus, time_out: float = 30.0
                    ) -> None:
    deadline = time.monotonic() + time_out
    while sched.get_status(job_id) != wanted:
        assert time.monotonic() < deadline, f"job {job_id} never became {wanted}"
        time.sleep(0.2)


class RecordingTerminal(cerulean.Terminal):
    """Runs commands on another terminal and remembers each command line."""

    def __init__(self, inner: cerulean.Terminal) -> None:
        self.inner = inner
        self.lines: list[str] = []

    def run(self, timeout: float, command: str | Path, args: list[str],
            stdin_data: str | None = None,
            workdir: str | Path | None = None
            ) -> tuple[int | None, str, str]:
        self.lines.append(" ".join([str(command), *args]))
        return self.inner.run(timeout, command, args, stdin_data, workdir)
