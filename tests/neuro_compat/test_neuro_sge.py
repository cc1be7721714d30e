"""neuro_compat clusters whose jobs run on Grid Engine: the real Son of Grid
Engine 8.1.9 of the test servers (tests/servers/sge.sh), reached through
the scheduler prefix (``SGE_PREFIX``), over SSH to the test sshd and with a
local terminal.

The test cell has one exec host with the queues all.q (4 slots) and batch
(2), and the parallel environment smp (4 slots).
"""
from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import neuro_compat
from neuro_compat import (
    ConfigError,
    IllegalArgumentError,
    JobStatus,
    NotSupportedError,
    StdStreamError,
)
from neuro_compat.config import parse_clusters
from neuro_compat.jobs.capacity import sge_nodes
from neuro_compat.jobs.cluster import names_partition
from neuro_compat.jobs.script import job_description
from neuro_compat.jobs.types import Resources
from tests.conftest import require_servers
from tests.neuro_compat.neuro_helpers import (
    SSH_TERMINAL_TOML,
    cluster_section,
    remove_on_sshd,
    run,
)
from tests.neuro_compat.neuro_jobs_helpers import image, scheduler_id, wait_for, wait_output
from tests.servers import settings as S

pytestmark = pytest.mark.timeout(240)

TERMINALS = [pytest.param("ssh", marks=pytest.mark.real_server("ssh", "sge")),
             pytest.param("local", marks=pytest.mark.real_server("sge"))]
"""Where the client's terminal runs: over SSH as the test user, or here (as
the test process's user, whom the test cell lets run jobs)."""

PRESETS: Mapping[str, Mapping[str, Any]] = {
    "cpu-small": {"cpu": 1, "memory_mb": 100},
    "cpu-two": {"cpu": 2, "memory_mb": 200, "queue": "all.q", "time": "00:10:00"},
    "batch-one": {"cpu": 1, "memory_mb": 100, "queue": "batch"},
    "cpu-eight": {"cpu": 8, "memory_mb": 100},
    "mem-huge": {"cpu": 1, "memory_mb": 2**30},
}
"""Presets of the test clusters; the last two fit on no queue instance."""


@dataclass
class SgeCluster:
    """A cluster configuration on the test Grid Engine.

    :ivar config_dir: pass it to ``neuro_compat.get(path=...)``.
    :ivar base: the directory of storage root and job directory.
    """

    config_dir: Path
    base: str

    def client(self) -> neuro_compat._utils.AwaitableContextManager[neuro_compat.Client]:
        """A client of this cluster."""
        return neuro_compat.get(path=self.config_dir)


def cluster_toml(terminal: str, storage: str, base: str, scheduler_type: str = "sge",
                 presets: Mapping[str, Mapping[str, Any]] = PRESETS) -> str:
    """The configuration text of one cluster ``test`` on the test Grid Engine."""
    return cluster_section(
        "test", terminal=terminal, storage={"type": storage, "root": f"{base}/storage"},
        scheduler={"type": scheduler_type, "prefix": S.SGE_PREFIX,
                   "parallel_environment": S.SGE_PE},
        presets=presets, job_dir=f"{base}/jobs")


@contextmanager
def sge_cluster(where: str, tmp: Path, scheduler_type: str = "sge") -> Iterator[SgeCluster]:
    """A test cluster on Grid Engine, its directories removed afterwards."""
    require_servers("sge")
    if where == "ssh":
        require_servers("ssh")
        base = f"{S.HOME}/test-neurosge-{uuid.uuid4().hex[:12]}"
        text = cluster_toml(SSH_TERMINAL_TOML, "sftp", base, scheduler_type)
    else:
        base = str(tmp / "cluster")
        text = cluster_toml('type = "local"', "local", base, scheduler_type)
    config_dir = tmp / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "clusters.toml").write_text(text)
    try:
        yield SgeCluster(config_dir, base)
    finally:
        if where == "ssh":
            remove_on_sshd(base)
        else:
            shutil.rmtree(base, ignore_errors=True)


def run_on_sge(tmp: Path, body: Callable[[neuro_compat.Client], Awaitable[None]]) -> None:
    """Run ``body`` with a client of a fresh test cluster on Grid Engine,
    reached over SSH."""
    async def main() -> None:
        with sge_cluster("ssh", tmp) as cluster:
            async with cluster.client() as client:
                await body(client)
    run(main(), timeout=220)


async def on_cluster(client: neuro_compat.Client, line: str) -> str:
    """Run a shell line on the cluster's terminal (Grid Engine's commands
    reached through the prefix); its output."""
    jobs = client.jobs._on(None)
    return await jobs.session.bridge.run(jobs.run, S.SGE_PREFIX + line, "ask Grid Engine")


# --- jobs, for real ------------------------------------------------------------------

@pytest.mark.parametrize("where", TERMINALS)
def test_start_status_logs_and_exit_codes(where: str, tmp_path: Path) -> None:
    async def main() -> None:
        # "gridengine" is another name for it, as for cerulean.make_scheduler.
        with sge_cluster(where, tmp_path, "gridengine") as cluster:
            async with cluster.client() as client:
                failing = await client.jobs.start(
                    image=image(client), preset_name="cpu-small", name="sge-greeter",
                    command="echo hello $GREETING; echo to-stderr >&2; exit 3",
                    env={"GREETING": "it's a \"quoted\" $(value)"})
                fine = await client.jobs.start(image=image(client), preset_name="cpu-small",
                                               command="echo fine")
                assert failing.status == JobStatus.PENDING
                sge_id = await scheduler_id(client, failing.id)
                assert sge_id.isdigit()  # a Grid Engine job number
                shown = await on_cluster(client, f"qstat -j {sge_id} 2>&1 || "
                                         f"qacct -j {sge_id} 2>&1 || true")
                assert "sge-greeter" in shown  # the job's name reached Grid Engine
                output = b""
                async with client.jobs.monitor(failing.id) as it:
                    async for chunk in it:
                        output += chunk
                assert output == b"hello it's a \"quoted\" $(value)\nto-stderr\n"
                failed = await wait_for(client, failing.id, timeout=120)
                assert failed.status == JobStatus.FAILED, failed.history
                assert failed.history.exit_code == 3
                assert [t.status for t in failed.history.transitions] == [
                    JobStatus.PENDING, JobStatus.RUNNING, JobStatus.FAILED]
                done = await wait_for(client, fine.id, timeout=120)
                assert done.status == JobStatus.SUCCEEDED, done.history
                assert done.history.exit_code == 0
                assert await wait_output(client, fine.id, b"fine\n") == b"fine\n"
            # A new client, long after Grid Engine forgot the jobs, knows them.
            async with cluster.client() as client:
                again = await client.jobs.status(failing.id)
                assert (again.status, again.history.exit_code) == (JobStatus.FAILED, 3)
    run(main(), timeout=220)


@pytest.mark.real_server("ssh", "sge")
def test_a_preset_reaches_grid_engine_as_slots_memory_queue_and_h_rt(
        tmp_path: Path) -> None:
    async def body(client: neuro_compat.Client) -> None:
        job = await client.jobs.start(
            image=image(client), preset_name="cpu-two",
            command='echo "slots=$NSLOTS pe=$PE queue=$QUEUE."; sleep 120')
        seen = await wait_output(client, job.id, b".\n", timeout=120)
        assert seen == f"slots=2 pe={S.SGE_PE} queue=all.q.\n".encode()
        sge_id = await scheduler_id(client, job.id)
        shown = await on_cluster(client, f"qstat -j {sge_id}")
        fields = {k.strip(): v.strip() for k, _, v in
                  (line.partition(":") for line in shown.splitlines())}
        # The preset's 10 minutes and the one-minute backstop.
        assert sorted(fields["hard resource_list"].split(",")) == [
            "h_rt=660", "mem_free=200M"]
        assert fields["hard_queue_list"] == "all.q"
        assert fields["parallel environment"].split() == [S.SGE_PE, "range:", "2"]
        running = await client.jobs.status(job.id)
        assert running.status == JobStatus.RUNNING
        with pytest.raises(NotSupportedError, match="Grid Engine does not let"):
            await client.jobs.bump_life_span(job.id, 60)
        await client.jobs.kill(job.id)
        killed = await wait_for(client, job.id, timeout=60)
        assert killed.status == JobStatus.CANCELLED, killed.history
    run_on_sge(tmp_path, body)


@pytest.mark.real_server("ssh", "sge")
def test_exec_beside_a_job_on_the_terminal_s_host(tmp_path: Path) -> None:
    async def body(client: neuro_compat.Client) -> None:
        job = await client.jobs.start(image=image(client), preset_name="cpu-small",
                                      command="sleep 120", env={"FOO": "a 'b' c"})
        await wait_for(client, job.id, lambda s: s.is_running, timeout=120)
        out = b""
        with pytest.raises(StdStreamError) as ended:
            async with client.jobs.exec(job.id, 'echo "$FOO"; exit 5',
                                        stdout=True) as s:
                while (message := await s.read_out()) is not None:
                    out += message.data
        assert (out, ended.value.exit_code) == (b"a 'b' c\n", 5)
        await client.jobs.kill(job.id)
        assert (await wait_for(client, job.id)).status == JobStatus.CANCELLED
    run_on_sge(tmp_path, body)


@pytest.mark.real_server("ssh", "sge")
def test_capacity_and_presets_no_queue_instance_can_run(tmp_path: Path) -> None:
    async def body(client: neuro_compat.Client) -> None:
        jobs = client.jobs._on(None)
        nodes = await jobs.session.bridge.run(jobs.nodes, True)
        assert nodes is not None
        host = (await on_cluster(client, "qhost | awk 'NR > 3 {print $1}'")).split()
        assert len(host) == 1
        assert sorted((n.name, n.cpus) for n in nodes.nodes) == [
            (f"all.q@{host[0]}", 4), (f"batch@{host[0]}", 2)]
        assert all(n.memory_mb and n.memory_mb > 1000 for n in nodes.nodes)
        for preset, what in (("cpu-eight", "8 CPUs (the most a node has is 4)"),
                             ("mem-huge", f"{2**30} MiB of memory")):
            with pytest.raises(IllegalArgumentError) as refused:
                await client.jobs.start(image=image(client), preset_name=preset,
                                        command="true")
            assert f"Preset '{preset}' cannot run on cluster 'test'" in \
                str(refused.value)
            assert what in str(refused.value)
        # A job holding a slot of batch (2 slots) leaves at most one.
        job = await client.jobs.start(image=image(client), preset_name="batch-one",
                                      command="sleep 120")
        await wait_for(client, job.id, lambda s: s == JobStatus.RUNNING,
                       timeout=120)
        capacity = await client.jobs.get_capacity()
        assert set(capacity) == set(PRESETS)
        assert capacity["cpu-eight"] == capacity["mem-huge"] == 0
        assert capacity["batch-one"] <= 1
        assert capacity["cpu-two"] <= 2  # all.q's 4 slots, 2 a job
        assert capacity["cpu-small"] <= 5  # 4 + 2 slots, one of them ours
        await client.jobs.kill(job.id)
        await wait_for(client, job.id, timeout=60)
    run_on_sge(tmp_path, body)


# --- the configuration, and the pieces ----------------------------------------------

def _parse(scheduler: str, presets: str) -> neuro_compat.config.ClustersFile:
    return parse_clusters(f"""
[clusters.c]
[clusters.c.terminal]
type = "local"
[clusters.c.storage]
type = "local"
root = "/tmp/neuro-sge-config-test"
[clusters.c.scheduler]
{scheduler}
{presets}
""", Path("clusters.toml"))


def test_gridengine_is_read_as_sge_with_its_parallel_environment() -> None:
    parsed = _parse('type = "gridengine"\nparallel_environment = "mpi"', "")
    scheduler = parsed.clusters["c"].scheduler
    assert (scheduler.type, scheduler.parallel_environment) == ("sge", "mpi")


@pytest.mark.parametrize(("scheduler", "presets", "message"), [
    ('type = "sge"', "[clusters.c.presets.p]\ncpu = 2\nmemory_mb = 1",
     "clusters.c.presets.p.cpu: 2 CPUs on Grid Engine need a parallel environment"),
    ('type = "sge"\nparallel_environment = "smp"',
     '[clusters.c.presets.p]\ncpu = 1\nmemory_mb = 1\ngpu = 1\ngpu_model = "a100"',
     "clusters.c.presets.p.gpu_model: Grid Engine has no standard way"),
    ('type = "slurm"\nparallel_environment = "smp"', "",
     "clusters.c.scheduler.parallel_environment: only Grid Engine (type = \"sge\")"),
    ('type = "sge"\nparallel_environment = "a b"', "",
     "'a b' is not a parallel environment's name"),
    ('type = "pbspro"', "", "clusters.c.scheduler.type: must be one of"),
])
def test_bad_grid_engine_configurations(scheduler: str, presets: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        _parse(scheduler, presets)


def test_a_parallel_environment_in_the_options_is_enough() -> None:
    parsed = _parse('type = "sge"', '[clusters.c.presets.p]\ncpu = 3\nmemory_mb = 1\n'
                    'scheduler_options = ["-pe mpi 3"]')
    assert parsed.clusters["c"].presets["p"].cpu == 3


def test_the_job_description_of_a_grid_engine_job() -> None:
    jd = job_description(scheduler="sge", name="n", script="true", workdir="/w",
                         home="/h", output="/h/output", env={},
                         resources=Resources(memory=300 * 2**20, cpu=2.5, gpu=1),
                         partition="batch", options=("-P proj",), limit=30)
    assert (jd.queue_name, jd.num_nodes, jd.mpi_processes_per_node) == ("batch", 1, 3)
    assert jd.time_reserved == 90
    assert jd.extra_scheduler_options == "-l mem_free=300M -l gpu=1 -P proj"
    one = job_description(scheduler="sge", name="n", script="true", workdir="/w",
                          home="/h", output="/h/output", env={},
                          resources=Resources(memory=2**20, cpu=0.5), partition=None,
                          options=(), limit=None)
    assert (one.num_nodes, one.mpi_processes_per_node, one.time_reserved) == (
        None, None, None)


def test_qstat_and_qhost_output_with_a_disabled_queue_and_gpus() -> None:
    qstat = """<?xml version='1.0'?><job_info><queue_info>
      <Queue-List><name>gpu.q@node1</name><slots_used>1</slots_used>
        <slots_resv>1</slots_resv><slots_total>8</slots_total></Queue-List>
      <Queue-List><name>all.q@node2</name><slots_used>0</slots_used>
        <slots_resv>0</slots_resv><slots_total>4</slots_total><state>d</state></Queue-List>
    </queue_info><job_info/></job_info>"""
    qhost = """<?xml version='1.0'?><qhost>
      <host name='global'><hostvalue name='mem_total'>-</hostvalue></host>
      <host name='node1'><hostvalue name='mem_total'>2.0G</hostvalue>
        <resourcevalue name='mem_free' dominance='hl'>1536.0M</resourcevalue>
        <resourcevalue name='gpu' dominance='hc'>2.000000</resourcevalue></host>
      <host name='node2'><hostvalue name='mem_total'>512M</hostvalue></host>
    </qhost>"""
    nodes = sge_nodes(f"{qstat}\n--hosts--\n{qhost}")
    gpu_q, all_q = nodes.nodes
    assert (gpu_q.cpus, gpu_q.free_cpus, gpu_q.memory_mb, gpu_q.free_memory_mb) == (
        8, 6, 2048, 1536)
    assert (gpu_q.partitions, gpu_q.usable, gpu_q.free_gpus) == (("gpu.q",), True, {None: 2})
    assert (all_q.cpus, all_q.memory_mb, all_q.usable, all_q.gpus) == (4, 512, False, {})
    with pytest.raises(ValueError, match="cannot read the XML of qstat"):
        sge_nodes("<job_info>\n--hosts--\n" + qhost)


def test_a_queue_in_the_options_is_another_partition() -> None:
    # Then the preset's queue instances are not the job's: nothing refused.
    assert names_partition("sge", ("-P proj -q big.q",))
    assert names_partition("sge", ("-qbig.q",))
    assert not names_partition("sge", ("-pe smp 2", "-l h_vmem=1G"))
