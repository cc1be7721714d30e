"""neuro-hpc end to end: the real neuro command line (neuro-cli 22.7.1) run
as a user runs it, in a fresh HOME, on the embedded local default and on the
SSH + Slurm cluster of the test servers (named by NEUROMATION_CONFIG, with a
second, local cluster to switch to).

Needs neuro-cli in this interpreter (``make cli-deps``; under CI=true the
virtualenv has it); skipped otherwise. neuro-hpc is run as ``python -m
neuro_compat.cli``, the same ``main`` as the console script, so that an
editable install made before the script existed is tested too. One cluster
per kind serves the whole module, and each test runs many commands, to keep
the many short-lived CLI processes few."""
from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.neuro_compat.neuro_helpers import cluster_section, fetch
from tests.neuro_compat.neuro_jobs_helpers import (
    JobsCluster,
    free_port,
    remove_cluster,
    write_config,
)

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("neuro_cli") is None,
        reason="neuro-cli is not installed here (make cli-deps, or pip install "
               "'cerulean-hpc[cli]'; under CI=true `make venv` installs it)"),
    pytest.mark.timeout(300),
]

REPO = Path(__file__).resolve().parents[2]

# The CLI's exit codes (neuro_cli.const): EX_SOFTWARE for an unexpected error
# (NotSupportedError is one), EX_OSFILE for a missing file, EX_TIMEOUT when a
# --timeout runs out.
EX_SOFTWARE = 70
EX_OSFILE = 72
EX_TIMEOUT = 124

NOT_SUPPORTED = re.compile(r"ERROR: .*is not supported")


class NeuroHpc:
    """Runs ``neuro-hpc ARGS`` in a fresh HOME, from a working directory.

    :ivar cluster: the configured test cluster, None for the local default.
    """

    def __init__(self, tmp: Path, cluster: JobsCluster | None) -> None:
        self.cluster = cluster
        self.cwd = tmp / "work"
        self.cwd.mkdir()
        (tmp / "home").mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("NEURO", "XDG_"))}
        self.env.update(HOME=str(tmp / "home"), XDG_DATA_HOME=str(tmp / "xdg"),
                        PYTHONPATH=str(REPO), COLUMNS="200")
        if cluster is not None:
            self.env["NEUROMATION_CONFIG"] = str(cluster.config_dir)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The finished command."""
        return subprocess.run([sys.executable, "-m", "neuro_compat.cli", *args],
                              cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=120, check=False)

    def __call__(self, *args: str, code: int = 0) -> str:
        """The command's standard output, once it exited with ``code``."""
        done = self.run(*args)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done.stdout


@pytest.fixture(scope="module", params=["local", "slurm"])
def neuro(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[NeuroHpc]:
    tmp = tmp_path_factory.mktemp(f"neuro-cli-{request.param}")
    if request.param == "local":
        yield NeuroHpc(tmp, None)
        return
    cluster = write_config("slurm", tmp)
    laptop = tmp / "laptop"
    with (cluster.config_dir / "clusters.toml").open("a") as config:
        config.write(cluster_section(
            "laptop", storage={"type": "local", "root": f"{laptop}/storage"},
            presets={"cpu-small": {"cpu": 1, "memory_mb": 100}},
            job_dir=f"{laptop}/jobs"))
    try:
        yield NeuroHpc(tmp, cluster)
    finally:
        remove_cluster(cluster)


def names(listing: str) -> list[str]:
    """The last column of each line of a listing."""
    return [line.split()[-1] for line in listing.splitlines() if line.strip()]


def covers(lines: list[str], expected: list[str]) -> bool:
    """Whether ``lines`` is what an attached ``neuro run`` prints of a job
    that printed ``expected``: the log up to some point, then the attach's
    live output from some earlier or equal point (the CLI says the two may
    overlap), so that nothing is missing."""
    for k in range(len(lines) + 1):
        head, tail = lines[:k], lines[k:]
        if (head == expected[:len(head)] and tail == expected[len(expected) - len(tail):]
                and len(head) + len(tail) >= len(expected)):
            return True
    return False


def test_storage_commands(neuro: NeuroHpc) -> None:
    data = neuro.cwd / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.txt").write_text("hi\n")
    (data / "sub" / "b.log").write_text("log\n")
    (data / "sub" / "c.txt").write_text("see\n")
    neuro("mkdir", "-p", "storage:run1/x/y")
    neuro("cp", "-r", "--exclude", "*.log", "data", "storage:run1/data")
    listing = neuro("ls", "-l", "storage:run1/data").splitlines()
    assert names("\n".join(listing)) == ["a.txt", "sub"]
    assert listing[0].split()[:2] == ["-m", "3"]  # a file, its permission, its size
    assert listing[1].startswith("dm")
    assert neuro("ls", "storage:run1/data/sub").split() == ["c.txt"]  # b.log excluded
    neuro("mv", "storage:run1/data/a.txt", "storage:run1/data/sub/a2.txt")
    assert neuro("ls", "storage:run1/data/sub").split() == ["a2.txt", "c.txt"]
    globbed = neuro("storage", "glob", "storage:run1/data/sub/*.txt").split()
    assert [uri.rsplit("/", 1)[-1] for uri in globbed] == ["a2.txt", "c.txt"]
    assert all(uri.startswith("storage://") for uri in globbed)
    df = neuro("storage", "df")
    assert re.search(r"^Total: .+\nUsed: .+\nFree: .+$", df, re.MULTILINE), df
    neuro("cp", "-r", "--exclude", "a2*", "storage:run1/data", "down")
    assert sorted(str(p.relative_to(neuro.cwd / "down"))
                  for p in (neuro.cwd / "down").rglob("*")) == ["sub", "sub/c.txt"]
    assert (neuro.cwd / "down" / "sub" / "c.txt").read_text() == "see\n"
    neuro("rm", "-r", "storage:run1/data")
    assert neuro("ls", "storage:run1").split() == ["x"]
    # A missing path: the CLI's "not found" exit code.
    neuro("ls", "storage:run1/nothing", code=EX_OSFILE)
    neuro("rm", "storage:run1/x", code=EX_OSFILE)  # a directory, without -r
    assert neuro("ls", "storage:run1").split() == ["x"]


def test_job_commands(neuro: NeuroHpc) -> None:
    # An HTTP port is recorded on the job and reached with port-forward (the
    # CLI's default, --http-port 80, is taken by the attached runs below).
    port, local = free_port(), free_port()
    out = neuro("-q", "run", "--detach", "--http-port", str(port), "ubuntu", "--",
                f'sh -c "echo started; exec python3 -m http.server --bind 127.0.0.1 {port}"')
    job = out.split()[-1]
    assert job.startswith("job-")
    try:
        assert job in neuro("-q", "ps").split()
        status = neuro("status", job)
        assert re.search(r"Status\s+(pending|running)", status), status
        assert re.search(rf"Http port\s+{port}\b", status), status
        neuro("exec", "--no-tty", job, "--", "true", code=0)
        assert neuro("exec", "--no-tty", job, "--", "echo", "hello") == "hello\n"
        neuro("exec", "--no-tty", job, "--", "false", code=1)
        neuro("exec", "--no-tty", job, "--", "sh", "-c", "exit 3", code=3)
        status = neuro("status", job)
        assert re.search(r"Status\s+running", status), status
        assert re.search(rf"Http URL\s+http://\S+:{port}\b", status), status
        forward = subprocess.Popen(
            [sys.executable, "-m", "neuro_compat.cli", "port-forward", job, f"{local}:{port}"],
            cwd=neuro.cwd, env=neuro.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            assert "Directory listing" in fetch(f"http://127.0.0.1:{local}/")
        finally:
            forward.terminate()  # as ^C does
            forward.wait(30)
        # top samples until its --timeout, then exits with the CLI's timeout code
        top = neuro("top", job, "--timeout", "8", code=EX_TIMEOUT)
        assert re.search(rf"^\s*{job}\s.*\d", top, re.MULTILINE), top
    finally:
        neuro("kill", job)
    assert job not in neuro("-q", "ps").split()
    assert re.search(r"Status\s+cancelled", neuro("status", job))
    # (logs of a running job follow it to its end: asked once it has ended)
    assert neuro("logs", job).startswith("started\n")
    # Attached (no --detach): all of the output, then the job's exit code.
    # The first job may end before the command attaches, the second while.
    done = neuro.run("-q", "run", "ubuntu", "--", "seq 1 3000")
    assert done.returncode == 0, done
    assert done.stdout.splitlines()[1:] == [str(i) for i in range(1, 3001)]
    done = neuro.run("-q", "run", "ubuntu", "--", "sleep 1; echo one; sleep 1; echo two; exit 4")
    assert done.returncode == 4, done
    assert covers(done.stdout.splitlines()[1:], ["one", "two"]), done


def test_config_and_what_is_out_of_scope(neuro: NeuroHpc) -> None:
    clusters = neuro("config", "get-clusters")
    if neuro.cluster is None:
        assert "* Name: local" in clusters and "cpu-small" in clusters
    else:
        assert "* Name: test" in clusters and "Name: laptop" in clusters
        neuro("config", "switch-cluster", "laptop")
        assert "* Name: laptop" in neuro("config", "get-clusters")
        assert "laptop" in neuro("-q", "storage", "df")
        neuro("config", "switch-cluster", "test")
        neuro("config", "switch-cluster", "nowhere", code=1)  # an error the CLI expects
    # config show asks for the platform's API URL: a clear message, no trace.
    shown = neuro.run("config", "show")
    assert shown.returncode == EX_SOFTWARE, shown
    assert NOT_SUPPORTED.search(shown.stderr) and "api_url" in shown.stderr, shown
    assert "Traceback" not in shown.stderr
    for args in (["image", "ls"], ["secret", "ls"], ["disk", "ls"], ["blob", "lsbucket"],
                 ["service-account", "ls"], ["admin", "get-clusters"],
                 ["admin", "get-cluster-users"], ["config", "login-with-token", "t0ken"],
                 ["share", "storage:run1", "bob", "read"]):
        refused = neuro.run(*args)
        assert refused.returncode == EX_SOFTWARE, (args, refused)
        assert NOT_SUPPORTED.search(refused.stderr), (args, refused)
        assert "Traceback" not in refused.stderr, (args, refused)
