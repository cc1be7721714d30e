"""Fast tests of the pure parts of neuro_compat Jobs: how a status is derived
from a job's facts, the registry's format and atomic files, the runtimes'
command lines, the scheduler options made from a preset, and the parsers of
capacity and telemetry. The behaviour on real schedulers is in
test_neuro_jobs.py."""
from __future__ import annotations

import dataclasses
import shlex
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

import cerulean
import neuro_compat
from neuro_compat import JobStatus, NotSupportedError, RemoteImage, Resources, Volume
from neuro_compat.jobs.capacity import (
    Need,
    directgnu_capacity,
    slurm_capacity,
    slurm_nodes,
    torque_capacity,
    torque_nodes,
    unfit,
)
from neuro_compat.jobs.cluster import names_partition
from neuro_compat.jobs.record import (
    Events,
    JobRecord,
    JobState,
    dump_record,
    load_record,
    parse_events,
)
from neuro_compat.jobs.registry import Progress, Registry, check_id
from neuro_compat.jobs.runtime import Bind, Launch, exec_line, launch
from neuro_compat.jobs.script import job_description, wrapper_script
from neuro_compat.jobs.state import derive, description
from neuro_compat.jobs.telemetry import Sample, load_between, parse_docker, parse_tree
from tests.neuro_compat.neuro_helpers import run
from tests.neuro_compat.neuro_jobs_helpers import jobs_cluster

JOB_ID = "job-0123abcd-0000-4000-8000-00000000beef"
DONE = cerulean.JobStatus.DONE
RUNNING = cerulean.JobStatus.RUNNING
WAITING = cerulean.JobStatus.WAITING


def _record(**changes: Any) -> JobRecord:
    fields: dict[str, Any] = {
        "id": JOB_ID, "owner": "alice", "cluster_name": "hpc", "created_at": 1000.0,
        "container": neuro_compat.Container(
            RemoteImage("ubuntu", "latest"), Resources(memory=2**30, cpu=1.5, gpu=1),
            command="python run.py", env={"A": "b c"},
            volumes=[Volume(URL("storage://hpc/alice/data"), "/data", True)]),
        "name": "train", "tags": ("x", "y"), "description": "d", "preset_name": "gpu",
        "life_span": 60.0, "scheduler_type": "slurm", "scheduler_id": "42",
        "runtime": "host", "workdir": "/home/alice"}
    return JobRecord(**{**fields, **changes})


NOTHING = Events()


def _derive(events: Events = NOTHING, cancel: float | None = None,
            scheduler: cerulean.JobStatus | None = DONE, **kwargs: Any) -> JobState:
    kwargs.setdefault("limit", 60.0)
    return derive(_record(), Progress(events, cancel), scheduler, now=2000.0, **kwargs)


STARTED: dict[str, Any] = {"started_at": 1010.0, "node": "n1", "host": "n1.x", "pid": 77}


# --- status from facts ----------------------------------------------------------

def test_exit_codes_decide_success_and_failure() -> None:
    ok = _derive(Events(**STARTED, exit_code=0, finished_at=1020.0))
    assert (ok.status, ok.reason, ok.exit_code, ok.finished_at) == (
        JobStatus.SUCCEEDED, "Completed", 0, 1020.0)
    bad = _derive(Events(**STARTED, exit_code=3, finished_at=1020.0), scheduler=RUNNING)
    assert (bad.status, bad.reason, bad.exit_code) == (JobStatus.FAILED, "Error", 3)
    assert "code 3" in bad.description


def test_kill_before_the_exit_cancels_but_not_after_it() -> None:
    events = Events(**STARTED, exit_code=143, finished_at=1020.0)
    assert _derive(events, cancel=1019.5).status == JobStatus.CANCELLED
    late = _derive(Events(**STARTED, exit_code=0, finished_at=1020.0), cancel=1030.0)
    assert late.status == JobStatus.SUCCEEDED  # it had already ended by itself
    gone = _derive(Events(**STARTED), cancel=1015.0)  # killed before it could record
    assert (gone.status, gone.finished_at) == (JobStatus.CANCELLED, 1015.0)
    queued = _derive(Events(), cancel=1005.0)
    assert queued.status == JobStatus.CANCELLED


def test_life_span_end_is_failed_with_its_reason() -> None:
    timed = _derive(Events(**STARTED, timed_out_at=1070.0, exit_code=143,
                           finished_at=1071.0), cancel=None)
    assert (timed.status, timed.reason) == (JobStatus.FAILED, "LifeSpanEnded")
    assert "life span of 60 s" in timed.description
    # Killed by the scheduler's own limit, the wrapper gone too: the run time says.
    backstop = _derive(Events(**STARTED), limit=60.0)
    assert (backstop.status, backstop.reason) == (JobStatus.FAILED, "LifeSpanEnded")


def test_jobs_ended_without_an_exit_code_say_why() -> None:
    killed = _derive(Events(**STARTED), limit=None, scheduler_exit_code=None,
                     scheduler_message="slurmstepd: error: Exceeded job memory limit")
    assert (killed.status, killed.reason) == (JobStatus.FAILED, "Killed")
    assert "Exceeded job memory limit" in killed.description
    never = _derive(Events(), limit=None, scheduler_exit_code=1)
    assert (never.status, never.reason, never.exit_code) == (JobStatus.FAILED,
                                                             "NotStarted", 1)


def test_queued_and_running() -> None:
    assert _derive(Events(), scheduler=WAITING).status == JobStatus.PENDING
    starting = _derive(Events(), scheduler=RUNNING)  # the command is not up yet
    assert (starting.status, starting.reason) == (JobStatus.PENDING, "Starting")
    running = _derive(Events(**STARTED), scheduler=WAITING)  # the scheduler lags
    assert (running.status, running.node, running.pid) == (JobStatus.RUNNING, "n1", 77)


def test_description_history() -> None:
    state = JobState(JobStatus.FAILED, "Error", "The command exited with code 2",
                     exit_code=2, started_at=1010.0, finished_at=1025.0, node="n1",
                     life_span=30.0)
    job = description(_record(), state, now=5000.0)
    h = job.history
    assert [t.status for t in h.transitions] == [JobStatus.PENDING, JobStatus.RUNNING,
                                                 JobStatus.FAILED]
    assert h.transitions[-1].exit_code == 2 and h.run_time_seconds == 15
    assert h.changed_at == h.finished_at and h.created_at is not None
    assert h.created_at.timestamp() == 1000.0
    assert str(job.uri) == f"job://hpc/alice/{JOB_ID}"
    assert (job.internal_hostname, job.life_span, job.preset_name) == ("n1", 30.0, "gpu")


# --- the registry -----------------------------------------------------------------

def test_events_lines_and_a_line_being_written() -> None:
    text = ("started 1.5 node1 host1 99\ntimeout 9.25\ngarbage line\nexited 143 10.0\n"
            "exited 0 1")  # the last line is not complete yet
    assert parse_events(text) == Events(1.5, "node1", "host1", 99, 9.25, 143, 10.0)
    assert parse_events("") == Events()


def test_record_round_trip() -> None:
    record = _record()
    state = JobState(JobStatus.SUCCEEDED, "Completed", "", 0, 1.0, 2.0, "n", "h", 5, 60.0)
    assert load_record(dump_record(record)) == (record, None)
    assert load_record(dump_record(record, state)) == (record, state)
    with pytest.raises(ValueError, match="not a job record"):
        load_record(b"{}")
    with pytest.raises(ValueError, match="version"):
        load_record(b'{"version": 99}')


def test_job_ids_never_become_other_paths() -> None:
    assert check_id(JOB_ID) == JOB_ID
    for bad in ("../x", "job-../../etc", JOB_ID + "/x", JOB_ID.upper(), ""):
        with pytest.raises(ValueError, match="not a job id"):
            check_id(bad)


@pytest.mark.parametrize("kind", ["local", "sftp"])
def test_concurrent_writers_never_leave_a_torn_file(kind: str, tmp_path: Path) -> None:
    if kind == "local":
        fs: Any = cerulean.LocalFileSystem()
        job_dir = str(tmp_path / "jobs")
        term = None
    else:
        from tests.conftest import make_ssh_terminal, remote_scratch_dir

        term = make_ssh_terminal()
        fs = cerulean.SftpFileSystem(term)
        job_dir = remote_scratch_dir(term) + "/jobs"
    try:
        registry = Registry(fs, job_dir, "hpc")
        registry.create_home(JOB_ID)
        big = _record(description="x" * 50_000)  # many packets per write
        states = [JobState(JobStatus.FAILED, "Error", f"writer {i}", i) for i in range(6)]
        failures: list[str] = []

        def write(i: int) -> None:
            for _ in range(8):
                registry.write_final(big, states[i])
                registry.write_limit(JOB_ID, 100 + i)

        def read() -> None:
            for _ in range(40):
                entry = registry.entry(JOB_ID)
                if entry is not None and entry.final not in states:
                    failures.append(repr(entry.final))
                if registry.read_limit(JOB_ID) not in (None, *range(100, 106)):
                    failures.append("limit")

        threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
        threads += [threading.Thread(target=read) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        names = [name for name, _ in fs._listdir(job_dir)]
        assert not [n for n in names if "tmp" in n], names  # no temporary leftovers
        registry.write_cancel(JOB_ID, 5.0)
        registry.write_cancel(JOB_ID, 9.0)  # the first request stays
        assert registry.progress([JOB_ID])[JOB_ID].cancel_at == 5.0
    finally:
        if term is not None:
            term.run(30.0, "rm", ["-rf", job_dir.rsplit("/", 1)[0]])
            term.close()


# --- runtimes and scheduler options ------------------------------------------------------

IMAGE = RemoteImage("ubuntu", "22.04")


def _launch(runtime: str, **kwargs: Any) -> Launch:
    args: dict[str, Any] = {"job_id": JOB_ID, "image": IMAGE, "entrypoint": None,
                            "command": "python -c 'print(1)'", "working_dir": None,
                            "env_names": ["A"], "binds": [], "cpu": 1.5, "memory": 2**30,
                            "shm": False}
    return launch(runtime, **{**args, **kwargs})


def test_host_runs_the_command_line_with_bash() -> None:
    line = _launch("host", entrypoint="env X=1").run
    assert shlex.split(line) == ["bash", "-c", "env X=1 python -c 'print(1)'"]
    with pytest.raises(NotSupportedError, match="command"):
        _launch("host", command=None)


def test_apptainer_and_docker_lines() -> None:
    binds = [Bind("/st/alice/data", "/data", True), Bind("/st/alice/out", "/out", False)]
    apptainer = shlex.split(_launch("apptainer", binds=binds, working_dir="/w").run)
    assert apptainer == ["apptainer", "run", "--bind", "/st/alice/data:/data:ro", "--bind",
                         "/st/alice/out:/out", "--pwd", "/w", "docker://ubuntu:22.04",
                         "python", "-c", "print(1)"]
    entry = shlex.split(_launch("singularity", entrypoint="/bin/sh -e").run)
    assert entry[:2] == ["singularity", "exec"] and entry[-5:] == [
        "/bin/sh", "-e", "python", "-c", "print(1)"]
    docker = _launch("docker", binds=binds[:1], entrypoint="/bin/sh -e", shm=True)
    words = docker.run.split()
    assert words[:2] == ["docker", "run"] and f"--name {JOB_ID}" in docker.run
    assert "--entrypoint /bin/sh" in docker.run and "-e A" in docker.run
    assert "-v /st/alice/data:/data:ro" in docker.run and "--shm-size=1073741824b" in docker.run
    assert docker.stop == f"docker rm -f {JOB_ID} >/dev/null 2>&1"
    assert exec_line("podman", job_id=JOB_ID, image=IMAGE, binds=[], cmd="ls -l") == \
        f"podman exec -i {JOB_ID} sh -c 'ls -l'"


def test_binds_that_cannot_be_mount_options_are_refused() -> None:
    for bind in (Bind("/a:b", "/c", False), Bind("/a", "relative", False),
                 Bind("/a", "/b,c", False)):
        with pytest.raises(ValueError, match="volume"):
            _launch("apptainer", binds=[bind])


def _jd(scheduler: str, **kwargs: Any) -> cerulean.JobDescription:
    args: dict[str, Any] = {
        "scheduler": scheduler, "name": "train", "script": "echo 'hi'", "workdir": "/w",
        "home": "/j/h", "output": "/j/h/output", "env": {"A": "b"},
        "resources": Resources(memory=1536 * 2**20, cpu=1.5, gpu=2, gpu_model="a100"),
        "partition": "gpu", "options": ("--account=p1",), "limit": 90.0}
    return job_description(**{**args, **kwargs})


def test_slurm_gets_the_preset_as_options() -> None:
    jd = _jd("slurm")
    assert (jd.queue_name, jd.time_reserved, jd.num_nodes) == ("gpu", 150, 1)
    assert jd.extra_scheduler_options == ("--ntasks=1 --cpus-per-task=2 --mem=1536M "
                                          "--gres=gpu:a100:2 --account=p1")
    assert jd.command == "bash" and shlex.split(" ".join(jd.arguments)) == ["-c", "echo 'hi'"]
    assert (jd.stdout_file, jd.system_err_file, jd.environment) == (
        "/j/h/output", "/j/h/scheduler.err", {"A": "b"})


def test_torque_gets_one_resource_list() -> None:
    jd = _jd("torque", limit=3600.0)
    assert jd.queue_name == "gpu" and jd.time_reserved is None
    assert jd.extra_scheduler_options == \
        "-l nodes=1:ppn=2:gpus=2,mem=1536mb,walltime=01:01:00 --account=p1"


def test_directgnu_leaves_the_life_span_to_the_wrapper() -> None:
    jd = _jd("directgnu", options=())
    assert jd.time_reserved is None and jd.extra_scheduler_options is None
    script = wrapper_script(events="/j/e v", limit="/j/lim", launch=Launch("true", "stop-it"))
    assert "ev='/j/e v'" in script and "stop-it;" in script
    assert wrapper_script(events="/e", limit=None, launch=Launch("true")).count("lim=''") == 1


# --- capacity and telemetry ----------------------------------------------------------------

SCONTROL = (
    "NodeName=n1 CPUAlloc=1 CPUTot=4 RealMemory=4000 AllocMem=500 State=MIXED "
    "Partitions=debug,batch CfgTRES=cpu=4,mem=4000M,gres/gpu=2 AllocTRES=cpu=1,gres/gpu=1\n"
    "NodeName=n2 CPUAlloc=0 CPUTot=8 RealMemory=1000 AllocMem=0 State=IDLE "
    "Partitions=batch CfgTRES=cpu=8 AllocTRES=\n"
    "NodeName=n3 CPUAlloc=0 CPUTot=64 RealMemory=9999 AllocMem=0 State=IDLE+DRAIN "
    "Partitions=debug CfgTRES=cpu=64 AllocTRES=\n"
    "--partitions--\ndebug*\nbatch\n")


def test_capacity_parsers() -> None:
    needs = {"small": Need(1, 100, 0, None), "big": Need(2, 1000, 0, "batch"),
             "gpu": Need(1, 100, 1, "debug")}
    assert slurm_capacity(SCONTROL, needs) == {"small": 3, "big": 1 + 1, "gpu": 1}
    pbs = ("n1\n    state = free\n    np = 4\n    jobs = 0/1.srv, 1/2.srv\n"
           "    status = rectime=1,availmem=2048mb,ncpus=4\n\n"
           "n2\n    state = down\n    np = 16\n")
    assert torque_capacity(pbs, needs) == {"small": 2, "big": 1, "gpu": 0}
    assert directgnu_capacity("4\n2097152\n", {"half": Need(0.5, 100, 0, None),
                                               "mem": Need(1, 1500, 0, None)}) == \
        {"half": 8, "mem": 1}


# What `scontrol -d -o show node` printed on the test Slurm (fields cut short)
# while a job held one CPU, 100 MB and one GPU of n1; and nodes of another
# site, with GPU models, GPU indices (commas inside parentheses), cores kept
# for the system (CPUEfctv) and a node of no partition of ours.
SCONTROL_GPUS = (
    "NodeName=n1 Arch=x86_64 CoresPerSocket=4  CPUAlloc=1 CPUEfctv=4 CPUTot=4 "
    "CPULoad=1.63 Gres=gpu:2 GresDrain=N/A GresUsed=gpu:1 NodeAddr=127.0.0.1 "
    "OS=Linux 6.18.44-fc-v1147 #1 SMP PREEMPT_DYNAMIC @0  RealMemory=4000 AllocMem=100 "
    "FreeMem=22673 State=MIXED Partitions=debug,batch  CfgTRES=cpu=4,mem=4000M,billing=4 "
    "AllocTRES=cpu=1,mem=100M\n"
    "NodeName=n2 CPUAlloc=0 CPUEfctv=4 CPUTot=4 Gres=gpu:2 GresDrain=N/A GresUsed=gpu:0 "
    "RealMemory=4000 AllocMem=0 State=IDLE Partitions=debug,batch AllocTRES=\n"
    "NodeName=n3 CPUAlloc=0 CPUEfctv=4 CPUTot=4 Gres=(null) GresDrain=N/A GresUsed=gpu:0 "
    "RealMemory=4000 AllocMem=0 State=IDLE Partitions=debug,batch AllocTRES=\n"
    "--partitions--\ndebug*\nbatch\n")
SCONTROL_MODELS = (
    "NodeName=g1 CPUAlloc=8 CPUEfctv=30 CPUTot=32 Gres=gpu:a100:4(S:0-1),gpu:v100:2(S:1),"
    "mps:400 GresUsed=gpu:a100:3(IDX:0,2-3),gpu:v100:0(IDX:N/A),mps:0 RealMemory=256000 "
    "AllocMem=64000 State=MIXED Partitions=gpu\n"
    "NodeName=g2 CPUAlloc=0 CPUTot=16 Gres=gpu:a100:1 RealMemory=512000 AllocMem=0 "
    "State=DOWN+NOT_RESPONDING Partitions=gpu\n"
    "NodeName=c1 CPUAlloc=0 CPUTot=128 Gres=(null) RealMemory=512000 AllocMem=0 "
    "State=IDLE Partitions=cpu\n"
    "--partitions--\ncpu*\ngpu\n")


def test_slurm_gpus_come_from_gres_and_gres_used() -> None:
    needs = {"cpu": Need(1, 100, 0, None), "gpu-one": Need(1, 100, 1, None),
             "gpu-two": Need(1, 100, 2, "batch"), "cpu-two": Need(2, 200, 0, None)}
    assert slurm_capacity(SCONTROL_GPUS, needs) == \
        {"cpu": 11, "gpu-one": 3, "gpu-two": 1, "cpu-two": 5}
    nodes = slurm_nodes(SCONTROL_MODELS)
    g1 = nodes.nodes[0]
    assert (g1.cpus, g1.free_cpus, g1.free_memory_mb) == (30, 22, 192000)
    assert g1.gpus == {"a100": 4, "v100": 2} and g1.free_gpus == {"a100": 1, "v100": 2}
    assert slurm_capacity(SCONTROL_MODELS, {
        "any": Need(1, 1000, 1, "gpu"), "a100": Need(1, 1000, 1, "gpu", "a100"),
        "v100-two": Need(4, 1000, 2, "gpu", "v100"), "default": Need(64, 1000, 0, None),
        "h100": Need(1, 1000, 1, "gpu", "h100")}) == \
        {"any": 3, "a100": 1, "v100-two": 1, "default": 2, "h100": 0}


def test_unfit_names_what_no_node_has() -> None:
    nodes = slurm_nodes(SCONTROL_GPUS)
    assert unfit(nodes, Need(1, 100, 2, None)) is None
    assert unfit(nodes, Need(3.5, 4000, 2, "batch")) is None  # n1 has it all, when idle
    assert unfit(nodes, Need(1, 100, 3, None)) == \
        "no node in partition 'debug' has 3 GPUs (the most a node has is 2)"
    assert unfit(nodes, Need(4.5, 4001, 0, "batch")) == (
        "no node in partition 'batch' has 5 CPUs (the most a node has is 4) or 4001 MiB "
        "of memory (the most a node has is 4000 MiB)")
    assert unfit(nodes, Need(1, 100, 1, None, "a100")) == \
        "no node in partition 'debug' has 1 a100 GPU (the most a node has is 0)"
    # A partition no node is in is the scheduler's to refuse.
    assert unfit(nodes, Need(64, 100, 0, "nowhere")) is None
    models = slurm_nodes(SCONTROL_MODELS)
    # A down node still counts: it may come back.
    assert unfit(models, Need(16, 1000, 1, "gpu")) is None
    # Enough CPUs and enough memory, but never on one node.
    assert unfit(models, Need(20, 300000, 1, "gpu")) == (
        "no node in partition 'gpu' has 20 CPUs, 300000 MiB of memory, 1 GPU at once")
    assert unfit(models, Need(1, 100, 1, None)) == \
        "no node in partition 'cpu' has 1 GPU (the most a node has is 0)"
    torque = torque_nodes("n1\n    state = job-exclusive\n    np = 4\n"
                          "    status = physmem=8gb,availmem=20gb,ncpus=4\n    gpus = 2\n")
    assert unfit(torque, Need(4, 8192, 2, "any")) is None
    assert unfit(torque, Need(4, 8193, 0, None)) == \
        "no node has 8193 MiB of memory (the most a node has is 8192 MiB)"
    assert unfit(torque_nodes(""), Need(999, 1, 0, None)) is None


def test_options_naming_a_partition_turn_the_node_check_off() -> None:
    assert names_partition("slurm", ("--partition=big",))
    assert names_partition("slurm", ("--account=p1", "-p big"))
    assert names_partition("slurm", ("-pbig",))
    assert not names_partition("slurm", ("--account=p1", "--gres=gpu:1"))
    assert names_partition("torque", ("-q big",))
    assert not names_partition("torque", ("-p 5",))  # a priority there
    assert not names_partition("directgnu", ("-p",))


def test_telemetry_parsers() -> None:
    first = parse_tree("100.0 250 2560 100 4096\n")
    second = parse_tree("102.0 400 2560 100 4096\n")
    assert first == Sample(100.0, 2.5, 2560 * 4096)
    assert second is not None and load_between(first, second) == pytest.approx(0.75)
    assert parse_tree("100.0 gone 100 4096\n") is None
    docker = parse_docker("55.5\n150.25% 12.5MiB / 1GiB\n")
    assert docker is not None and docker.load == pytest.approx(1.5025)
    assert docker.memory_bytes == int(12.5 * 2**20)
    assert parse_docker("55.5\ngone\n") is None


# --- parameters without an HPC meaning ------------------------------------------------------

def test_other_unsupported_parameters_are_refused(tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            async with cluster.client() as client:
                jobs = client.jobs
                container = neuro_compat.Container(IMAGE, Resources(2**30, 1),
                                                   command="true")
                for kwargs in ({"scheduler_enabled": True}, {"pass_config": True},
                               {"wait_for_jobs_quota": True}, {"schedule_timeout": 1.0},
                               {"restart_policy": neuro_compat.JobRestartPolicy.ALWAYS},
                               {"priority": neuro_compat.JobPriority.LOW},
                               {"org_name": "org"}):
                    with pytest.raises(NotSupportedError, match=rf"{next(iter(kwargs))}="):
                        await jobs.run(container, **kwargs)
                for name, change in (("tty", {"tty": True}),
                                     ("secret_env", {"secret_env": {"S": URL("secret:s")}}),
                                     ("tpu_type", {"resources": Resources(2**30, 1,
                                                                          tpu_type="v2")})):
                    with pytest.raises(NotSupportedError, match=rf"{name}="):
                        await jobs.run(dataclasses.replace(container, **change))
                cases: list[tuple[str, Any]] = [
                    ("since", lambda: jobs.monitor(JOB_ID, since=datetime.now())),
                    ("timestamps", lambda: jobs.monitor(JOB_ID, timestamps=True)),
                    ("debug", lambda: jobs.monitor(JOB_ID, debug=True)),
                ]
                for name, make in cases:
                    with pytest.raises(NotSupportedError, match=rf"{name}="):
                        async with make() as it:
                            async for _ in it:
                                pass
                for name, make in [
                        ("tty", lambda: jobs.attach(JOB_ID, tty=True)),
                        ("no_key_check", lambda: jobs.port_forward(JOB_ID, 1, 2,
                                                                   no_key_check=True))]:
                    with pytest.raises(NotSupportedError, match=rf"{name}="):
                        async with make():
                            pass
                # Nothing reached the cluster.
                async with jobs.list() as it:
                    assert [job async for job in it] == []
    run(main())


def test_a_relayed_session_starts_after_its_markers() -> None:
    from neuro_compat.jobs.streams import RELAY_READY, _await_ready

    # The markers may arrive split across reads; what comes around them is
    # the command's output, kept in order.
    chunks = [b"motd ", RELAY_READY[:5], RELAY_READY[5:] + b"x", RELAY_READY + b"hi", b"later"]
    assert _await_ready(iter(chunks).__next__, 2) == b"motd xhi"
    # The command ended before the relay was ready: all its output is kept.
    chunks = [b"srun: error: no such job", b""]
    assert _await_ready(iter(chunks).__next__, 1) == b"srun: error: no such job"
