"""Schedulers against real servers: DirectGnu and Grid Engine locally and
over SSH, Slurm and the PBS wrappers (slurm-wlm-torque) over SSH.

Most tests run once per backend through the ``scheduler`` fixture. The
Slurm/PBS time-limit jobs need more than a minute (Slurm limits are whole
minutes, checked every 30 s), so they are submitted by the first test in
this file and checked by the last, while the others run; DirectGnu's and
Grid Engine's limits are seconds, checked in the matrix. Grid Engine's
own (parallel environments, h_rt in qacct, job names) are in
tests/cerulean/test_grid_engine_real.py.
"""
from __future__ import annotations

import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import cerulean
from cerulean import JobStatus, _script
from tests.cerulean.scheduler_helpers import (
    PREFIX,
    RecordingTerminal,
    exit_files,
    job,
    kind_of,
    read,
    sh,
    terminal_of,
    tools,
    wait_for_status,
    with_prefix,
)
from tests.conftest import require_servers, ssh_scratch
from tests.servers import settings as S

pytestmark = pytest.mark.timeout(240)

W, R, D = JobStatus.WAITING, JobStatus.RUNNING, JobStatus.DONE
MULTI_NODE_SLEEP = "311"  # seconds; also names the 3-node time-limited job's tasks
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Env:
    sched: Any
    term: cerulean.Terminal
    workdir: str
    kind: str


@pytest.fixture
def env(scheduler: tuple[Any, str]) -> Env:
    sched, workdir = scheduler
    return Env(with_prefix(sched), terminal_of(sched), workdir, kind_of(sched))


# --- time limits on Slurm and the PBS wrappers (submitted first) -------------

@pytest.fixture(scope="module")
def time_limited_jobs() -> Iterator[dict[str, tuple[Any, str, str]]]:
    """One job per batch scheduler that sleeps past its 60 s limit."""
    require_servers("ssh", "slurm", "torque")
    jobs = {}
    with ssh_scratch() as (term, scratch):
        try:
            for name in ("slurm", "torque"):
                sched = cerulean.make_scheduler(name, term, PREFIX)
                jd = job("sleep", "300", time_reserved=60, working_directory=scratch,
                         name=f"limit-{name}", system_err_file=f"{name}.err")
                jobs[name] = (sched, sched.submit(jd), f"{scratch}/{name}.err")
            # A job on all three nodes, with a task on each, which must be
            # ended on every node at the limit.
            sched = cerulean.make_scheduler("slurm", term, PREFIX)
            jd = job("srun", "sleep", MULTI_NODE_SLEEP, num_nodes=3, time_reserved=60,
                     working_directory=scratch, name="limit-3-nodes",
                     system_err_file="3-nodes.err")
            jobs["slurm-3-nodes"] = (sched, sched.submit(jd), f"{scratch}/3-nodes.err")
            yield jobs
        finally:
            for sched, job_id, _ in jobs.values():
                sched.cancel(job_id)


def test_time_limits_reach_the_scheduler(
        time_limited_jobs: dict[str, tuple[Any, str, str]]) -> None:
    for sched, job_id, _ in time_limited_jobs.values():
        term = terminal_of(sched)
        limit = sh(term, f"squeue --noheader --format=%l --jobs={job_id}")
        assert limit.strip() == "1:00"  # D-HH:MM:SS and walltime both arrived


# --- exit codes, files, states ------------------------------------------------

def test_exit_codes_0_and_5_and_nothing_left_in_the_working_directory(
        env: Env) -> None:
    ok = env.sched.submit(job("true", working_directory=env.workdir))
    five = env.sched.submit(job("exit", "5", working_directory=env.workdir))
    assert env.sched.wait_all([ok, five], time_out=120, interval=0.3) == {
        ok: 0, five: 5}
    assert env.sched.get_statuses([ok, five]) == {ok: D, five: D}
    # Read, the records stay, for the next reader.
    assert len(exit_files(env.term, env.kind, [ok, five])) == 2
    assert env.sched.get_exit_code(five) == 5
    assert with_prefix(env.sched).get_exit_codes([ok, five]) == {ok: 0, five: 5}
    if env.kind == "directgnu":
        assert sh(env.term, f"ls -A {shlex.quote(env.workdir)}") == ""


def test_stdout_stderr_and_system_files(env: Env) -> None:
    wd = env.workdir
    both = env.sched.submit(job(
        "echo", "out;", "echo", "err", ">&2", working_directory=wd,
        stdout_file="out.txt", stderr_file="err.txt",
        system_out_file="sys.out", system_err_file="sys.err"))
    # Without stdout_file/stderr_file, output goes to the system files.
    shared = env.sched.submit(job(
        "echo", "shared-out;", "echo", "shared-err", ">&2",
        working_directory=wd, system_out_file="shared.out",
        system_err_file="shared.err"))
    assert env.sched.wait_all([both, shared], time_out=120, interval=0.3) == {
        both: 0, shared: 0}
    assert read(env.term, f"{wd}/out.txt") == "out\n"
    assert read(env.term, f"{wd}/err.txt") == "err\n"
    assert read(env.term, f"{wd}/sys.out") is not None
    assert read(env.term, f"{wd}/sys.err") is not None
    assert "shared-out" in (read(env.term, f"{wd}/shared.out") or "")
    assert "shared-err" in (read(env.term, f"{wd}/shared.err") or "")


def test_running_then_done(env: Env) -> None:
    job_id = env.sched.submit(job("sleep", "3", working_directory=env.workdir))
    first = env.sched.get_status(job_id)
    assert first in ((R,) if env.kind == "directgnu" else (W, R))
    wait_for_status(env.sched, job_id, R)
    assert env.sched.get_exit_code(job_id) is None  # not finished yet
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    assert env.sched.get_status(job_id) == D


def test_cancel(env: Env) -> None:
    # Two sleeps in the background of the command: cancel must end them all.
    job_id = env.sched.submit(job("sleep 120 & sleep 120 & wait",
                                  working_directory=env.workdir))
    wait_for_status(env.sched, job_id, R)
    env.sched.cancel(job_id)
    assert env.sched.wait_all([job_id], time_out=30, interval=0.3) == {job_id: None}
    if env.kind == "directgnu":
        # Only zombies (never reaped on this machine) may be left.
        live = sh(env.term, f"ps -o stat= -s {job_id} | grep -v '^Z'; exit 0")
        assert live == ""
    env.sched.cancel(job_id)  # cancelling a finished job is fine


def sleeps_running(seconds: str) -> str:
    """Shell code listing the ``sleep <seconds>`` processes a job's shell
    started (by their command line), of whatever scheduler."""
    return f"pgrep -f '^sleep {seconds}$'; exit 0"


def test_a_time_limit_in_seconds_ends_the_job_and_its_processes(
        env: Env) -> None:
    if env.kind in ("slurm", "torque"):
        pytest.skip("Slurm's limits are whole minutes, enforced every 30 s:"
                    " see test_time_limit_kills_the_job (submitted first,"
                    " checked last)")
    seconds = str(1000 + uuid.uuid4().int % 9000)  # names this test's sleeps
    started = time.monotonic()
    job_id = env.sched.submit(job(f"sleep {seconds} & sleep {seconds}",
                                  time_reserved=2, working_directory=env.workdir))
    # DirectGnu's timeout says 124; Grid Engine kills the job at its h_rt,
    # so it has no exit code, as for Slurm's TIMEOUT.
    expected = 124 if env.kind == "directgnu" else None
    assert env.sched.wait(job_id, time_out=60, interval=0.3) == expected
    assert time.monotonic() - started < 20
    assert env.sched.get_status(job_id) == D
    deadline = time.monotonic() + 10
    while sh(env.term, sleeps_running(seconds)):
        assert time.monotonic() < deadline, "a process outlived its time limit"
        time.sleep(0.2)


def test_queue_batch(env: Env) -> None:
    # Slurm and the wrappers say the partition, Grid Engine the queue.
    job_id = env.sched.submit(job(
        "echo", '"${SLURM_JOB_PARTITION:-${QUEUE:-none}}"', queue_name="batch",
        working_directory=env.workdir, stdout_file="queue.txt"))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    expected = "none" if env.kind == "directgnu" else "batch"  # no queues there
    assert read(env.term, f"{env.workdir}/queue.txt") == expected + "\n"


def refused_by_directgnu(env: Env, jd: cerulean.JobDescription,
                         error: type[Exception], match: str) -> bool:
    """On DirectGnu, which runs a job on one machine as one process tree,
    check that ``jd`` is refused with ``error`` (and say so); elsewhere
    do nothing and say so."""
    if env.kind != "directgnu":
        return False
    with pytest.raises(error, match=match):
        env.sched.submit(jd)
    return True


def test_nodes_and_processes_per_node(env: Env) -> None:
    # Slurm's variables (the PBS wrappers call sbatch), or Grid Engine's
    # hosts and slots.
    jd = job("echo", '"${SLURM_JOB_NUM_NODES:-${NHOSTS:-none}}'
                     ' ${SLURM_NTASKS:-${NSLOTS:-none}}"',
             num_nodes=1, mpi_processes_per_node=2,
             working_directory=env.workdir, stdout_file="tasks.txt")
    if refused_by_directgnu(env, jd, RuntimeError, "mpi_processes_per_node"):
        return
    job_id = env.sched.submit(jd)
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    assert read(env.term, f"{env.workdir}/tasks.txt") == "1 2\n"


def test_environment_values_with_spaces_and_quotes(env: Env) -> None:
    values = {"A": "two words", "B": "it's \"quoted\" $HOME `id` $(id) ; \\ end",
              "C": ""}
    job_id = env.sched.submit(job(
        "printf", "'%s|%s|%s\\n'", '"$A"', '"$B"', '"$C"',
        environment=values, working_directory=env.workdir,
        stdout_file="env.txt"))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    assert read(env.term, f"{env.workdir}/env.txt") == "|".join(values.values()) + "\n"


def test_a_relative_working_directory_is_relative_to_the_home_directory(
        env: Env) -> None:
    if isinstance(env.term, cerulean.LocalTerminal):
        pytest.skip("a LocalTerminal runs commands in this process's current"
                    " directory, not the home directory, as Cerulean 1.0's")
    home = sh(env.term, 'printf %s "$HOME"')
    relative = env.workdir[len(home) + 1:]
    job_id = env.sched.submit(job("pwd", working_directory=relative,
                                  stdout_file="pwd.txt"))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    assert read(env.term, f"{env.workdir}/pwd.txt") == env.workdir + "\n"


def test_working_directory_with_a_space(env: Env) -> None:
    wd = f"{env.workdir}/a dir"
    sh(env.term, f"mkdir {shlex.quote(wd)}")
    job_id = env.sched.submit(job("pwd", working_directory=wd,
                                  stdout_file="pwd.txt"))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    assert read(env.term, f"{wd}/pwd.txt") == wd + "\n"


def test_a_missing_working_directory_is_refused_at_submission(env: Env) -> None:
    missing = f"{env.workdir}/missing"
    with pytest.raises(cerulean.scheduler.SchedulerError) as refused:
        env.sched.submit(job("true", working_directory=missing))
    # The reason first, with the directory as given, not our command line.
    assert str(refused.value) == (
        f"Working directory {missing!r} does not exist: could not submit the job")
    sh(env.term, f"touch {shlex.quote(env.workdir)}/file")
    with pytest.raises(cerulean.scheduler.SchedulerError,
                       match="^Working directory '[^']*/file' is not a directory:"):
        env.sched.submit(job("true", working_directory=f"{env.workdir}/file"))
    if sh(env.term, "id -u").strip() == "0":
        return  # root enters any directory
    closed = f"{env.workdir}/closed"
    sh(env.term, f"mkdir -m 0 {shlex.quote(closed)}")
    try:
        with pytest.raises(cerulean.scheduler.SchedulerError,
                           match="^Working directory '[^']*/closed' cannot be"
                                 r" entered \(permission denied\):"):
            env.sched.submit(job("true", working_directory=closed))
    finally:
        sh(env.term, f"chmod 700 {shlex.quote(closed)}")


def _tasks_by_node(env: Env, nodes: int, per_node: int | None) -> dict[str, int]:
    """Run ``srun`` in a job on ``nodes`` nodes; count its tasks per node."""
    job_id = env.sched.submit(job(
        "srun", "sh", "-c", shlex.quote('echo "$SLURMD_NODENAME"'),
        num_nodes=nodes, mpi_processes_per_node=per_node,
        working_directory=env.workdir, stdout_file="nodes.txt"))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    out = read(env.term, f"{env.workdir}/nodes.txt") or ""
    counts: dict[str, int] = {}
    for name in out.split():
        counts[name] = counts.get(name, 0) + 1
    return counts


@pytest.mark.parametrize("nodes", [2, 3])
def test_num_nodes_runs_on_that_many_distinct_nodes(env: Env, nodes: int) -> None:
    if refused_by_directgnu(env, job("true", num_nodes=nodes), ValueError,
                            f"num_nodes={nodes}"):
        return
    if env.kind == "sge":
        pytest.skip("srun and SLURMD_NODENAME are Slurm's; the test Grid"
                    " Engine has one exec host")
    assert _tasks_by_node(env, nodes, None) == {
        f"n{i}": 1 for i in range(1, nodes + 1)}


def test_processes_per_node_on_every_node(env: Env) -> None:
    if env.kind == "directgnu":
        pytest.skip("DirectGnu runs on one machine (see test_num_nodes_...)")
    if env.kind == "sge":
        pytest.skip("srun is Slurm's; the test Grid Engine has one exec host")
    assert _tasks_by_node(env, 3, 2) == {"n1": 2, "n2": 2, "n3": 2}


def test_a_pbs_job_gets_a_node_file_as_torque_writes_it(env: Env) -> None:
    if env.kind != "torque":
        pytest.skip("PBS_NODEFILE is Torque's")
    job_id = env.sched.submit(job(
        "cat", '"$PBS_NODEFILE";', "echo", '"$PBS_NODEFILE"', num_nodes=2, mpi_processes_per_node=2,
        working_directory=env.workdir, stdout_file="nodefile.txt"))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    *lines, path = (read(env.term, f"{env.workdir}/nodefile.txt") or "").split()
    # One line per node and process, as in Torque's own node file; the
    # file is gone when the job is.
    assert lines == ["n1", "n1", "n2", "n2"]
    assert read(env.term, path) is None


def test_a_gpu_asked_for_in_extra_options_is_visible_to_the_job(env: Env) -> None:
    # The test Slurm's n1 and n2 have two (fake) GPUs each: Slurm sets
    # CUDA_VISIBLE_DEVICES for a job given one, as on a real GPU node.
    ask = {"slurm": "--gres=gpu:1", "torque": "-l nodes=1:gpus=1"}.get(env.kind)
    if env.kind == "sge":
        pytest.skip("the test Grid Engine has no GPUs")
    if ask is None:
        pytest.skip("DirectGnu takes no scheduler options")
    job_id = env.sched.submit(job(
        "echo", '"${CUDA_VISIBLE_DEVICES:-none} $SLURMD_NODENAME"',
        extra_scheduler_options=ask, working_directory=env.workdir,
        stdout_file="gpu.txt"))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    devices, node = (read(env.term, f"{env.workdir}/gpu.txt") or "").split()
    assert devices == "0" and node in ("n1", "n2")


def tasks_running(seconds: str, count: bool = False) -> str:
    """Shell code listing (or counting) the `sleep <seconds>` tasks srun
    started: their command line is the program's full path and the number,
    unlike srun's own line or the shell that runs this."""
    return f"pgrep {'-c ' if count else ''}-f '^[^ ]*/sleep {seconds}$'; exit 0"


def test_cancel_a_job_on_three_nodes_ends_it_on_every_node(env: Env) -> None:
    if env.kind == "directgnu":
        pytest.skip("DirectGnu runs on one machine (see test_num_nodes_...)")
    if env.kind == "sge":
        pytest.skip("srun is Slurm's; the test Grid Engine has one exec host")
    seconds = str(1000 + uuid.uuid4().int % 9000)  # names this test's tasks
    job_id = env.sched.submit(job("srun", "sleep", seconds, num_nodes=3,
                                  working_directory=env.workdir))
    try:
        # Wait until a task runs on each node, then cancel.
        deadline = time.monotonic() + 60
        while sh(env.term, tasks_running(seconds, count=True)).strip() != "3":
            assert time.monotonic() < deadline, "the tasks never started on three nodes"
            time.sleep(0.2)
    finally:
        env.sched.cancel(job_id)
    assert env.sched.wait(job_id, time_out=60, interval=0.3) is None
    deadline = time.monotonic() + 30
    while sh(env.term, tasks_running(seconds)):
        assert time.monotonic() < deadline, "a task outlived the cancelled job"
        time.sleep(0.2)


def test_the_exit_code_of_a_job_whose_second_node_fails(env: Env) -> None:
    if env.kind == "directgnu":
        pytest.skip("DirectGnu runs on one machine (see test_num_nodes_...)")
    if env.kind == "sge":
        pytest.skip("srun is Slurm's; the test Grid Engine has one exec host")
    job_id = env.sched.submit(job(
        "srun", "sh", "-c", shlex.quote('[ "$SLURM_NODEID" != 1 ] || exit 3'),
        num_nodes=2, working_directory=env.workdir))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 3


def test_more_nodes_than_the_cluster_has(env: Env) -> None:
    # Grid Engine counts slots: more than its parallel environment has.
    nodes = S.SGE_PE_SLOTS + 1 if env.kind == "sge" else len(S.SLURM_NODES) + 1
    jd = job("true", num_nodes=nodes, working_directory=env.workdir)
    if refused_by_directgnu(env, jd, ValueError, f"num_nodes={nodes}"):
        return
    # The scheduler accepts the job but never starts it (Slurm: the
    # partition has three nodes, and EnforcePartLimits is off; qsub does
    # not verify by default): it stays WAITING, with the reason.
    job_id = env.sched.submit(jd)
    try:
        assert env.sched.wait(job_id, time_out=2, interval=0.5) is None
        assert env.sched.get_status(job_id) == W
        if env.kind == "sge":
            reason = sh(env.term, f"{tools(env.kind)}qstat -j {job_id}")
            assert f'cannot run in PE "{S.SGE_PE}"' in reason
        else:
            reason = sh(env.term, f"squeue --noheader --format=%r --jobs={job_id}")
            assert reason.strip() == "PartitionNodeLimit"
    finally:
        env.sched.cancel(job_id)
    assert env.sched.wait(job_id, time_out=30, interval=0.3) is None
    assert env.sched.get_status(job_id) == D


@pytest.mark.parametrize("attack", ["a;touch {f}", "$(touch {f})", "`touch {f}`",
                                    "x' ; touch {f} ; '"])
def test_injection_attempts_run_nothing(env: Env, attack: str) -> None:
    flag = f"pwned-{uuid.uuid4().hex[:8]}"
    value = attack.format(f=flag)
    wd = f"{env.workdir}/{value}"
    sh(env.term, f"mkdir -- {shlex.quote(wd)}")
    job_id = env.sched.submit(job(
        "printf", "'%s\\n'", '"$V"', name=value, working_directory=wd,
        environment={"V": value}, stdout_file="v.txt"))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    assert read(env.term, f"{wd}/v.txt") == value + "\n"
    found = sh(env.term, f"find {shlex.quote(env.workdir)} \"$HOME\" /tmp"
                         f" -maxdepth 2 -name '{flag}*' 2>/dev/null; exit 0")
    assert found == ""
    # Grid Engine's job names: test_grid_engine_real.py (qstat forgets
    # finished jobs).
    if env.kind in ("slurm", "torque"):
        name = sh(env.term, f"squeue --noheader --states=all --format=%j"
                          f" --jobs={job_id}")
        assert name.strip() == value


@pytest.mark.parametrize("field", ["name", "working_directory", "environment"])
def test_a_newline_injection_is_refused_before_anything_runs(env: Env,
                                                            field: str) -> None:
    recording = RecordingTerminal(env.term)
    sched = with_prefix(env.sched, terminal=recording)
    evil = "x\ntouch pwned"
    jd = job("true", working_directory=env.workdir)
    if field == "environment":
        jd.environment = {"V": evil}
    else:
        setattr(jd, field, evil)
    with pytest.raises(ValueError, match="line break"):
        sched.submit(jd)
    assert [line for line in recording.lines if "qsub" not in line] == []


def test_wait_with_time_out_and_interval(env: Env) -> None:
    recording = RecordingTerminal(env.term)
    sched = with_prefix(env.sched, terminal=recording)
    job_id = sched.submit(job("sleep", "60", working_directory=env.workdir))
    try:
        before = len(recording.lines)
        started = time.monotonic()
        assert sched.wait(job_id, time_out=2.0, interval=0.5) is None
        took = time.monotonic() - started
        assert 2.0 <= took < 4.0
        checks = len(recording.lines) - before
        assert 4 <= checks <= 6  # one status command per interval
    finally:
        sched.cancel(job_id)


def test_status_of_100_jobs_in_one_call(env: Env) -> None:
    # Batch jobs are held so they stay put; DirectGnu jobs just sleep.
    hold = {"slurm": "--hold", "torque": "-h", "sge": "-h"}.get(env.kind)
    jd = job("sleep", "60", working_directory=env.workdir,
             extra_scheduler_options=hold)
    recording = RecordingTerminal(env.term)
    sched = with_prefix(env.sched, terminal=recording)
    ids = [sched.submit(jd) for _ in range(100)]
    try:
        before = len(recording.lines)
        statuses = sched.get_statuses(ids)
        assert len(recording.lines) - before == 1
        assert set(statuses) == set(ids)
        assert set(statuses.values()) == {R if env.kind == "directgnu" else W}
    finally:
        if env.kind == "directgnu":
            for job_id in ids:
                sched.cancel(job_id)
        else:  # one command for all: 100 cancels through the wrapper are slow
            cancel = "scancel" if env.kind == "slurm" else "qdel"
            sh(env.term, f"{tools(env.kind)}{cancel} {' '.join(ids)}; exit 0",
               timeout=120)
    before = len(recording.lines)
    assert sched.wait_all(ids, time_out=120, interval=0.5) == dict.fromkeys(ids)
    assert sched.get_statuses(ids) == dict.fromkeys(ids, D)
    # a few status checks and one exit-code query, not one per job
    assert len(recording.lines) - before < 10


def forgetful_bin(env: Env, accounting: bool = True) -> str:
    """A directory of fake squeue, scontrol and qstat that know no job at
    all, as after Slurm's MinJobAge (300 s here, too long to wait for) or
    once Torque has purged a job (Grid Engine's qstat lists no finished
    job anyway: its fake lists none at all); with ``accounting=False`` also
    a sacct and a qacct that answer as on a cluster without accounting.
    Put it first on PATH (in a scheduler's prefix); everything else stays
    real."""
    fake = f"{env.workdir}/fakebin"
    forget = 'echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1'
    no_sacct = ('echo "sacct: error: Slurm accounting storage is disabled" >&2;'
                " exit 1")
    no_qacct = 'echo "error: job id $2 not found" >&2; exit 1'
    no_job = ("echo \"<?xml version='1.0'?><job_info><queue_info/><job_info/>"
              "</job_info>\"")
    qstat = no_job if env.kind == "sge" else "exit 153"
    sh(env.term, f"mkdir {fake} && cd {fake} && "
                 f"printf '#!/bin/sh\\n%s\\n' {shlex.quote(forget)} >squeue && "
                 f"cp squeue scontrol && printf '#!/bin/sh\\n%s\\n'"
                 f" {shlex.quote(qstat)} >qstat && chmod +x squeue scontrol qstat")
    if not accounting:
        sh(env.term, f"cd {fake} && printf '#!/bin/sh\\n%s\\n'"
                     f" {shlex.quote(no_sacct)} >sacct && printf '#!/bin/sh\\n%s\\n'"
                     f" {shlex.quote(no_qacct)} >qacct && chmod +x sacct qacct")
    return fake


def exit_code_in_another_process(env: Env, prefix: str, job_id: str) -> str:
    """What a new scheduler in a new Python process, with a connection of
    its own, says the job's exit code is (printed)."""
    local = isinstance(env.term, cerulean.LocalTerminal)
    code = (
        "import cerulean\n"
        "from tests.conftest import make_ssh_terminal\n"
        f"term = cerulean.LocalTerminal() if {local} else make_ssh_terminal()\n"
        "with term:\n"
        f"    sched = cerulean.make_scheduler({env.kind!r}, term,"
        f" {tools(env.kind) + prefix!r})\n"
        f"    print(sched.get_exit_code({job_id!r}))\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO,
                          capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_exit_code_after_the_job_left_the_queue(env: Env) -> None:
    """The scheduler's queries run with the fakes of :func:`forgetful_bin`
    first on PATH; the exit files, sacct and the jobs themselves are real."""
    if env.kind == "directgnu":
        pytest.skip("DirectGnu has no queue to leave")
    fake = forgetful_bin(env)
    finished = env.sched.submit(job("exit", "7", working_directory=env.workdir))
    # Kills the job script itself, so no exit file is written.
    killed = env.sched.submit(job("kill -9 $$", working_directory=env.workdir))
    assert env.sched.wait_all([finished, killed], time_out=120, interval=0.3) \
        == {finished: 7, killed: 137 if env.kind == "slurm" else None}

    # A new object remembers nothing, and the scheduler has forgotten too.
    forgetful = with_prefix(env.sched, f"PATH={fake}:$PATH ")
    assert forgetful.get_statuses([finished, killed]) == {finished: D, killed: D}
    assert forgetful.get_exit_code(finished) == 7
    if env.kind == "slurm":
        # No exit file: sacct, the accounting database, still knows.
        assert forgetful.get_exit_code(killed) == 137
    assert exit_files(env.term, env.kind, [finished, killed]) == [
        _script.exit_file_name(env.kind, finished)]


def test_every_reader_gets_the_exit_code_of_a_forgotten_job(env: Env) -> None:
    """Submit and wait in one place, collect in others (or after a
    restart): reading an exit record does not use it up. Here the
    scheduler has forgotten the job and there is no accounting (for Slurm,
    sacct fails as where accounting is disabled; the PBS wrappers' qstat
    has no exit codes anyway), so the records are all there is."""
    fake = forgetful_bin(env, accounting=False)
    job_id = env.sched.submit(job("exit", "7", working_directory=env.workdir))
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 7
    forgetting = f"PATH={fake}:$PATH "
    first = with_prefix(env.sched, forgetting)
    assert first.get_status(job_id) == D
    assert first.get_exit_code(job_id) == 7
    assert exit_code_in_another_process(env, forgetting, job_id) == "7"
    assert with_prefix(env.sched, forgetting).get_exit_codes([job_id]) == {
        job_id: 7}


def test_a_submission_removes_only_records_older_than_keep_days(env: Env) -> None:
    tag = uuid.uuid4().hex[:12]
    old, old_tmp, young = (f"{env.kind}-test{tag}-{n}" for n in (
        "old.exit", "old.exit.tmp", "young.exit"))
    keep = _script.KEEP_DAYS * 24 * 60
    sh(env.term, 'mkdir -p ~/.cerulean/jobs && cd ~/.cerulean/jobs && '
                 f"touch {old} {old_tmp} {young} && "
                 f"touch -d '{keep + 2} minutes ago' {old} {old_tmp} && "
                 f"touch -d '{keep - 60} minutes ago' {young}")
    try:
        job_id = env.sched.submit(job("true", working_directory=env.workdir))
        left = sh(env.term, f"ls ~/.cerulean/jobs | grep test{tag}; exit 0")
        assert left.split() == [young]
        assert env.sched.wait(job_id, time_out=120, interval=0.3) == 0
    finally:
        sh(env.term, f"rm -f ~/.cerulean/jobs/{young}")


def test_a_leftover_exit_file_is_not_taken_for_a_queued_job(env: Env) -> None:
    """Job ids come round again (after a reset, or at the wrap-around); an
    unread exit file of the old job must not answer for the new one."""
    if env.kind == "directgnu":
        pytest.skip("DirectGnu jobs cannot be held in a queue")
    hold, release = {"slurm": ("--hold", "scontrol release"),
                     "torque": ("-h", "qrls"), "sge": ("-h", "qrls")}[env.kind]
    job_id = env.sched.submit(job("exit", "4", working_directory=env.workdir,
                                  extra_scheduler_options=hold))
    leftover = f'"$HOME/.cerulean/jobs/{env.kind}-{job_id}.exit"'
    sh(env.term, f"printf '99\\n' >{leftover}")
    try:
        assert env.sched.get_status(job_id) == W
        assert env.sched.get_exit_code(job_id) is None
        assert sh(env.term, f"cat {leftover}") == "99\n"
    finally:
        sh(env.term, f"{tools(env.kind)}{release} {job_id}")
    assert env.sched.wait(job_id, time_out=120, interval=0.3) == 4


def test_a_leftover_from_before_the_submission_is_removed(env: Env) -> None:
    """A job cancelled while it waits never starts, so its script never
    removes an old job's exit file under the same id: submit must, or the
    old exit code would be taken for the cancelled job's."""
    if env.kind == "directgnu":
        pytest.skip("DirectGnu jobs start at once and remove leftovers themselves")
    hold = {"slurm": "--hold", "torque": "-h", "sge": "-h"}[env.kind]
    before: list[str] = []
    if env.kind == "sge":
        # Grid Engine spools its job counter late (and has no scontrol):
        # the next id is taken to be one more than the last submitted.
        before.append(env.sched.submit(job("true", working_directory=env.workdir,
                                           extra_scheduler_options=hold)))
        next_id = str(int(before[0]) + 1)
    else:
        config = sh(env.term, "scontrol show config")
        next_id = next(line.split("=")[1].strip() for line in config.splitlines()
                       if line.startswith("NEXT_JOB_ID"))
    leftover = f'"$HOME/.cerulean/jobs/{env.kind}-{next_id}.exit"'
    sh(env.term, f"mkdir -p ~/.cerulean/jobs && printf '0\\n' >{leftover}"
                 f" && touch -d '10 minutes ago' {leftover}")
    job_id = env.sched.submit(job("exit", "4", working_directory=env.workdir,
                                  extra_scheduler_options=hold))
    try:
        assert job_id == next_id, "another submission took the id; run again"
        assert sh(env.term, f"ls {leftover} 2>/dev/null; exit 0") == ""
        assert env.sched.get_exit_code(job_id) is None
    finally:
        for cancelled in (*before, job_id):
            env.sched.cancel(cancelled)
    assert env.sched.wait_all([*before, job_id], time_out=120, interval=0.3) == (
        dict.fromkeys([*before, job_id]))


def test_every_command_carries_the_prefix_on_the_real_machine(env: Env) -> None:
    log = f"{env.workdir}/prefix.log"
    recording = RecordingTerminal(env.term)
    sched = with_prefix(env.sched, f"{PREFIX}echo x >>{log}; ",
                        terminal=recording)
    job_id = sched.submit(job("true", working_directory=env.workdir))
    sched.wait(job_id, time_out=120, interval=0.3)
    sched.cancel(job_id)
    assert (read(env.term, log) or "").count("x") == len(recording.lines)


# --- time limits, checked last -----------------------------------------------

def test_time_limit_kills_the_job(
        time_limited_jobs: dict[str, tuple[Any, str, str]]) -> None:
    ids = {name: job_id for name, (_, job_id, _) in time_limited_jobs.items()}
    for name, (sched, job_id, err_file) in time_limited_jobs.items():
        assert sched.wait(job_id, time_out=150, interval=2) is None, name
        assert sched.get_status(job_id) == D
        term = terminal_of(sched)
        state = sh(term, f"squeue --noheader --states=all --format=%T --jobs={job_id}")
        assert state.strip() == "TIMEOUT"
        # The scheduler's own message lands in the system error file.
        assert "TIME LIMIT" in (read(term, err_file) or ""), ids
    # Every node's task is gone (the nodes all live on this host).
    term = terminal_of(time_limited_jobs["slurm-3-nodes"][0])
    assert sh(term, tasks_running(MULTI_NODE_SLEEP)) == ""
