"""Helpers for the neuro_compat Jobs tests: cluster configurations for each
scheduler (DirectGnu here, DirectGnu, Slurm and the PBS wrappers over SSH on
the test sshd), and small waits."""
from __future__ import annotations

import asyncio
import shutil
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import neuro_compat
from tests.conftest import require_servers
from tests.neuro_compat.neuro_helpers import (
    LOCAL_TERMINAL,
    SSH_TERMINAL_TOML,
    cluster_section,
    remove_on_sshd,
    run,
)
from tests.servers import settings as S

KINDS = ["local", "directgnu-ssh", "slurm", "torque"]
"""Every kind of test cluster: DirectGnu on this machine, and over SSH:
DirectGnu, Slurm, and the PBS wrappers (qsub/qstat/qdel) on Slurm."""


@dataclass
class JobsCluster:
    """A cluster configuration written for a test.

    :ivar kind: one of :data:`KINDS`.
    :ivar config_dir: pass it to ``neuro_compat.get(path=...)``.
    :ivar base: the directory holding storage root and job directory (on
        this machine for ``local``, else on the test server).
    """

    kind: str
    config_dir: Path
    base: str

    def client(self) -> neuro_compat._utils.AwaitableContextManager[neuro_compat.Client]:
        """A client of this cluster."""
        return neuro_compat.get(path=self.config_dir)

    @property
    def job_dir(self) -> str:
        """The job directory."""
        return f"{self.base}/jobs"

    @property
    def storage_root(self) -> str:
        """The storage root."""
        return f"{self.base}/storage"


GPU_PRESETS: Mapping[str, Mapping[str, int]] = {
    "gpu-one": {"cpu": 1, "memory_mb": 100, "gpu": 1},
    "gpu-two": {"cpu": 1, "memory_mb": 100, "gpu": 2},
}
"""Presets with GPUs, which the test Slurm's nodes n1 and n2 have (two each)."""

TOO_LARGE_PRESETS: Mapping[str, Mapping[str, int]] = {
    "gpu-three": {"cpu": 1, "memory_mb": 100, "gpu": 3},
    "cpu-eight": {"cpu": 8, "memory_mb": 100},
    "mem-big": {"cpu": 1, "memory_mb": 4001},
}
"""Presets that no node of the test Slurm has enough for (4 CPUs, 4000 MB and
at most 2 GPUs each)."""


def write_config(kind: str, tmp: Path, runtime: str = "host",
                 presets: Mapping[str, Mapping[str, int]] | None = None) -> JobsCluster:
    """Write the configuration of a test cluster of ``kind`` (no cleanup).

    :param presets: more presets beside ``cpu-small`` and ``cpu-two``, as
        name -> keys and values, with the same partition as those.
    """
    if kind == "local":
        base = str(tmp / "cluster")
        terminal: Mapping[str, Any] | str = LOCAL_TERMINAL
        storage, scheduler = "local", "directgnu"
        partition: dict[str, str] = {}
    else:
        require_servers("ssh")
        if kind in ("slurm", "torque"):
            require_servers(kind)
        base = f"{S.HOME}/test-neurojobs-{uuid.uuid4().hex[:12]}"
        terminal, storage = SSH_TERMINAL_TOML, "sftp"
        scheduler = "directgnu" if kind == "directgnu-ssh" else kind
        partition = {"partition": "debug"} if kind != "directgnu-ssh" else {}
    config_dir = tmp / f"config-{kind}"
    config_dir.mkdir(parents=True, exist_ok=True)
    every = {"cpu-small": {"cpu": 1, "memory_mb": 100}, "cpu-two": {"cpu": 2, "memory_mb": 200},
             **(presets or {})}
    (config_dir / "clusters.toml").write_text(cluster_section(
        "test", job_dir=f"{base}/jobs", runtime=runtime, terminal=terminal,
        storage={"type": storage, "root": f"{base}/storage"}, scheduler=scheduler,
        presets={name: {**keys, **partition} for name, keys in every.items()}))
    return JobsCluster(kind, config_dir, base)


def remove_cluster(cluster: JobsCluster) -> None:
    """Remove the cluster's directories (and stop jobs left running there)."""
    if cluster.kind == "local":
        shutil.rmtree(cluster.base, ignore_errors=True)
        return
    assert cluster.base.startswith(f"{S.HOME}/test-neurojobs-")
    remove_on_sshd(cluster.base)


@contextmanager
def jobs_cluster(kind: str, tmp: Path, runtime: str = "host",
                 presets: Mapping[str, Mapping[str, int]] | None = None
                 ) -> Iterator[JobsCluster]:
    """A test cluster of ``kind``, removed afterwards (``presets``: see
    :func:`write_config`)."""
    cluster = write_config(kind, tmp, runtime, presets)
    try:
        yield cluster
    finally:
        remove_cluster(cluster)


def run_jobs(body: Callable[[neuro_compat.Client], Awaitable[None]], kind: str, tmp: Path,
             runtime: str = "host", presets: Mapping[str, Mapping[str, int]] | None = None,
             timeout: float = 120.0) -> None:
    """Run ``body(client)`` with a client of a test cluster of ``kind`` (see
    :func:`jobs_cluster`), on a fresh event loop (see
    :func:`~tests.neuro_compat.neuro_helpers.run`)."""
    async def main() -> None:
        with jobs_cluster(kind, tmp, runtime, presets) as cluster:
            async with cluster.client() as client:
                await body(client)
    run(main(), timeout)


def image(client: neuro_compat.Client) -> neuro_compat.RemoteImage:
    """The image of the neuro_sdk examples (only recorded under ``host``)."""
    return client.parse.remote_image("ubuntu:latest")


async def start(client: neuro_compat.Client, command: str, **kwargs: Any
                ) -> neuro_compat.JobDescription:
    """Start ``command`` with the small preset."""
    return await client.jobs.start(image=image(client), preset_name="cpu-small",
                                   command=command, **kwargs)


async def wait_for(client: neuro_compat.Client, job_id: str,
                   done: Any = None, timeout: float = 60.0) -> neuro_compat.JobDescription:
    """Poll the job's status until ``done(status)`` (default: finished)."""
    check = done or (lambda s: s.is_finished)
    deadline = time.monotonic() + timeout
    while True:
        job = await client.jobs.status(job_id)
        if check(job.status):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job.status} after {timeout} s: "
                                 f"{job.history}")
        await asyncio.sleep(0.2)


async def wait_output(client: neuro_compat.Client, job_id: str, text: bytes,
                      timeout: float = 60.0) -> bytes:
    """Follow the job's output until it contains ``text``."""
    seen = b""

    async def follow() -> bytes:
        nonlocal seen
        async with client.jobs.monitor(job_id) as it:
            async for chunk in it:
                seen += chunk
                if text in seen:
                    return seen
        raise AssertionError(f"job {job_id} ended without printing {text!r}: {seen!r}")

    return await asyncio.wait_for(follow(), timeout)


# squeue's short states of jobs that hold no node's resources: waiting, or over.
_HOLDING_NOTHING = {"PD", "CD", "F", "CA", "TO", "NF", "OOM", "PR", "BF", "DL", "RD", "SE"}


async def scheduler_id(client: neuro_compat.Client, job_id: str) -> str:
    """The scheduler's id of a job (for what the scheduler says of it)."""
    jobs = client.jobs._on(None)
    entry = await jobs.session.bridge.run(jobs.find, job_id)
    assert entry is not None, job_id
    return entry.record.scheduler_id


async def quiet_capacity(client: neuro_compat.Client, ours: Collection[str] = (),
                         timeout: float = 600.0) -> Mapping[str, int]:
    """``get_capacity()`` of the test Slurm at a moment when no job holds
    resources there but ``ours`` (scheduler ids).

    Other tests share the test Slurm. It keeps every job, also an ended one,
    in ``squeue --states=all`` for MinJobAge (300 s), so the same jobs in the
    same states before and after the call mean that nothing started or ended
    while it ran. Until such a moment comes, it waits (at most ``timeout``).
    """
    jobs = client.jobs._on(None)
    bridge = jobs.session.bridge
    line = "squeue -h --states=all -o '%i %t'"

    async def queue() -> set[tuple[str, str]]:
        out = await bridge.run(jobs.run, line, "list the jobs")
        return {(words[0], words[1]) for words in map(str.split, out.splitlines())
                if len(words) == 2}

    deadline = time.monotonic() + timeout
    while True:
        before = await queue()
        capacity = await client.jobs.get_capacity()
        after = await queue()
        busy = sorted(f"{i} ({state})" for i, state in after
                      if i not in ours and state not in _HOLDING_NOTHING)
        if before == after and not busy:
            return capacity
        if time.monotonic() > deadline:
            raise AssertionError(f"other jobs held the test Slurm's nodes for {timeout} s: "
                                 f"{', '.join(busy) or 'jobs kept starting and ending'}")
        await asyncio.sleep(0.5)


def free_port() -> int:
    """A TCP port free on this machine now (and, on loopback, on the server)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


ECHO_SERVER = """python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {port}))
s.listen(5)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    while True:
        data = c.recv(65536)
        if not data:
            break
        c.sendall(data)
    c.close()
'"""
"""A job command: a TCP echo server on 127.0.0.1:{port}, printing "ready"."""
