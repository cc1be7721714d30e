"""neuro-hpc end to end: the real neuro command line (neuro-cli 22.7.1) run
as a user runs it, in a fresh HOME, on the embedded local default.

Needs neuro-cli in this interpreter (``make cli-deps``; under CI=true the
virtualenv has it); skipped otherwise. neuro-hpc is run as ``python -m
neuro_compat.cli``, the same ``main`` as the console script, so that an
editable install made before the script existed is tested too."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("neuro_cli") is None,
    reason="neuro-cli is not installed here (make cli-deps, or pip install "
           "'cerulean-hpc[cli]'; under CI=true `make venv` installs it)")

REPO = Path(__file__).resolve().parents[2]


class NeuroHpc:
    """Runs ``neuro-hpc ARGS`` in a fresh HOME, from a working directory."""

    def __init__(self, tmp: Path) -> None:
        self.cwd = tmp / "work"
        self.cwd.mkdir()
        (tmp / "home").mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("NEURO", "XDG_"))}
        self.env.update(HOME=str(tmp / "home"), XDG_DATA_HOME=str(tmp / "xdg"),
                        PYTHONPATH=str(REPO), COLUMNS="200")

    def __call__(self, *args: str, code: int = 0) -> str:
        done = subprocess.run([sys.executable, "-m", "neuro_compat.cli", *args],
                              cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done.stdout


@pytest.fixture
def neuro(tmp_path: Path) -> NeuroHpc:
    return NeuroHpc(tmp_path)


def test_storage_commands(neuro: NeuroHpc) -> None:
    data = neuro.cwd / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("hi\n")
    (data / "sub" / "b.log").write_text("log\n")
    neuro("mkdir", "-p", "storage:run1/x")
    neuro("cp", "-r", "data", "storage:run1/data")
    listing = neuro("ls", "-l", "storage:run1/data").splitlines()
    assert [line.split()[-1] for line in listing] == ["a.txt", "sub"]
    assert listing[0].split()[:2] == ["-m", "3"]
    assert neuro("ls", "storage:run1/data/sub").split() == ["b.log"]
    neuro("cp", "-r", "--exclude", "*.log", "storage:run1/data", "down")
    assert sorted(str(p.relative_to(neuro.cwd / "down"))
                  for p in (neuro.cwd / "down").rglob("*")) == ["a.txt", "sub"]
    assert (neuro.cwd / "down" / "a.txt").read_text() == "hi\n"
    neuro("rm", "-r", "storage:run1/data")
    assert neuro("ls", "storage:run1").split() == ["x"]
    # A missing path: the CLI's "not found" exit code, 72 (EX_OSFILE).
    neuro("ls", "storage:run1/nothing", code=72)


def test_job_commands(neuro: NeuroHpc) -> None:
    # --http-port 0: the CLI's default, port 80 behind the platform's ingress,
    # has no counterpart here (see the neuro guide).
    out = neuro("-q", "run", "--detach", "--http-port", "0", "ubuntu", "--",
                'sh -c "echo started; sleep 60"')
    job = out.split()[-1]
    assert job.startswith("job-")
    try:
        assert job in neuro("-q", "ps").split()
        assert neuro("exec", "--no-tty", job, "--", "echo", "hello") == "hello\n"
        neuro("exec", "--no-tty", job, "--", "true", code=0)
        neuro("exec", "--no-tty", job, "--", "false", code=1)
        neuro("exec", "--no-tty", job, "--", "sh", "-c", "exit 3", code=3)
        assert neuro("logs", job).startswith("started\n")
    finally:
        neuro("kill", job)
    assert job not in neuro("-q", "ps").split()
