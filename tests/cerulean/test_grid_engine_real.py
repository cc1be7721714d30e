"""Grid Engine's own behaviour on the real test Son of Grid Engine 8.1.9.

What every scheduler does (submit, status, wait, exit codes also after the
job left the queue, cancel, time limits, files, environment values,
working directories, injections, 100 jobs in one query, the prefix) runs
on it over SSH and locally in tests/cerulean/test_schedulers_real.py,
through the ``scheduler`` fixture (``sge-ssh``, ``sge-local``). Here, over
SSH: parallel environments and their slots, how h_rt reaches qstat and
qacct, job names, exit codes from qacct alone, an unreachable qmaster. The
test server is reached through its prefix (``SGE_PREFIX``), as
tests/servers/sge.sh says.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import pytest

import cerulean
from cerulean import JobStatus, SchedulerError
from cerulean import grid_engine_scheduler as sge
from tests.cerulean.scheduler_helpers import (
    RecordingTerminal,
    job,
    read,
    sh,
    terminal_of,
)
from tests.conftest import require_servers, ssh_scratch
from tests.servers import settings as S

pytestmark = [pytest.mark.timeout(240), pytest.mark.real_server("ssh", "sge")]

D = JobStatus.DONE


@pytest.fixture
def remote() -> Iterator[tuple[cerulean.Terminal, str]]:
    """An SSH terminal to the test sshd, as the test user, and a fresh
    directory there."""
    with ssh_scratch() as (term, scratch):
        yield term, scratch


def grid_engine(term: cerulean.Terminal, pe: str | None = S.SGE_PE,
                prefix: str = "") -> cerulean.GridEngineScheduler:
    return cerulean.GridEngineScheduler(term, S.SGE_PREFIX + prefix,
                                        parallel_environment=pe)


def qsh(term: cerulean.Terminal, script: str) -> str:
    """Run shell code with the test Grid Engine's commands on PATH."""
    return sh(term, S.SGE_PREFIX + script)


def test_the_prefix_reaches_grid_engine_and_the_pbs_wrappers_stay_on_path(
        remote: tuple[cerulean.Terminal, str]) -> None:
    term, _ = remote
    require_servers("torque")
    assert sh(term, "command -v qsub").strip() == "/usr/bin/qsub"  # slurm-wlm-torque
    assert qsh(term, "command -v qsub").strip() == f"{S.SGE_ROOT}/bin/lx-amd64/qsub"
    assert qsh(term, "qstat -help | head -1").strip() == "SGE 8.1.9"


# --- parallel environments --------------------------------------------------

def pe_and_slots(sched: cerulean.GridEngineScheduler, wd: str,
                 **attrs: object) -> str | None:
    """The parallel environment and number of slots a job with these
    attributes is given, as it prints them."""
    job_id = sched.submit(job("echo", '"${PE:-none} $NSLOTS"', working_directory=wd,
                              stdout_file="slots.txt", **attrs))
    try:
        assert sched.wait(job_id, time_out=120, interval=0.3) == 0
    finally:
        sched.cancel(job_id)  # a job still waiting would hold up the next ones
    return read(terminal_of(sched), f"{wd}/slots.txt")


@pytest.mark.parametrize(("nodes", "per_node", "slots"), [
    (1, 2, 2), (2, None, 2), (2, 2, 4)])
def test_nodes_and_processes_get_that_many_slots_of_the_parallel_environment(
        remote: tuple[cerulean.Terminal, str], nodes: int, per_node: int | None,
        slots: int) -> None:
    term, wd = remote
    assert pe_and_slots(grid_engine(term), wd, num_nodes=nodes,
                        mpi_processes_per_node=per_node) == f"{S.SGE_PE} {slots}\n"


def test_a_parallel_environment_in_the_extra_options(
        remote: tuple[cerulean.Terminal, str]) -> None:
    term, wd = remote
    assert pe_and_slots(grid_engine(term, pe=None), wd, num_nodes=3,
                        extra_scheduler_options=f"-pe {S.SGE_PE} 3") == (
        f"{S.SGE_PE} 3\n")


def test_more_than_one_slot_without_a_parallel_environment_runs_nothing(
        remote: tuple[cerulean.Terminal, str]) -> None:
    term, wd = remote
    recording = RecordingTerminal(term)
    sched = grid_engine(recording, pe=None)
    with pytest.raises(ValueError, match="parallel environment"):
        sched.submit(job("true", num_nodes=2, working_directory=wd))
    assert recording.lines == []


def test_a_single_slot_job_runs_without_a_parallel_environment(
        remote: tuple[cerulean.Terminal, str]) -> None:
    term, wd = remote
    assert pe_and_slots(grid_engine(term, pe=None), wd, num_nodes=1) == "none 1\n"


# --- time limit, names, exit codes -----------------------------------------------

def test_h_rt_kills_the_job(remote: tuple[cerulean.Terminal, str]) -> None:
    term, wd = remote
    sched = grid_engine(term)
    job_id = sched.submit(job("sleep", "300", time_reserved=3,
                              working_directory=wd))
    assert qsh(term, f"qstat -j {job_id} | grep '^hard resource_list'").split() \
        == ["hard", "resource_list:", "h_rt=3"]
    # Killed by Grid Engine, so no exit code, as for Slurm's TIMEOUT.
    assert sched.wait(job_id, time_out=120, interval=0.5) is None
    assert sched.get_status(job_id) == D
    accounting = qsh(term, f"qacct -j {job_id}")
    assert re.search(r"^failed +37 +: qmaster enforced h_rt", accounting, re.MULTILINE)


@pytest.mark.parametrize("name", ["a;touch pwned", "$(touch pwned)",
                                  "x' ; touch pwned ; '", "1 two/three"])
def test_job_names_reach_qstat_as_grid_engine_takes_them(
        remote: tuple[cerulean.Terminal, str], name: str) -> None:
    term, wd = remote
    sched = grid_engine(term)
    job_id = sched.submit(job("true", name=name, working_directory=wd,
                              extra_scheduler_options="-h"))
    try:
        listed = sge.parse_qstat_xml(qsh(term, "qstat -xml"))
        assert listed[job_id] == "hqw"
        names = qsh(term, f"qstat -j {job_id} | grep '^job_name:'")
        assert names.split(None, 1)[1].strip() == sge.job_name(name)
    finally:
        sched.cancel(job_id)
    found = sh(term, f"find {shlex.quote(wd)} \"$HOME\" /tmp -maxdepth 2"
                     " -name 'pwned*' 2>/dev/null; exit 0")
    assert found == ""


def test_system_files_with_a_colon_in_their_path(
        remote: tuple[cerulean.Terminal, str]) -> None:
    term, wd = remote
    sched = grid_engine(term)
    job_id = sched.submit(job("echo", "out;", "echo", "err", ">&2",
                              working_directory=wd, system_out_file="a:1.out",
                              system_err_file=f"{wd}/b:2.err"))
    assert sched.wait(job_id, time_out=120, interval=0.3) == 0
    assert read(term, f"{wd}/a:1.out") == "out\n"
    assert read(term, f"{wd}/b:2.err") == "err\n"


def test_the_exit_code_comes_from_qacct_without_an_exit_record(
        remote: tuple[cerulean.Terminal, str]) -> None:
    term, wd = remote
    job_id = grid_engine(term).submit(job("exit", "3", working_directory=wd))
    assert grid_engine(term).wait(job_id, time_out=120, interval=0.3) == 3
    sh(term, f'rm "$HOME/.cerulean/jobs/sge-{job_id}.exit"')
    # A new object, which remembers nothing: only accounting knows.
    assert grid_engine(term).get_exit_codes([job_id]) == {job_id: 3}


def test_an_unreachable_qmaster_is_an_error_not_done(
        remote: tuple[cerulean.Terminal, str]) -> None:
    term, wd = remote
    job_id = grid_engine(term).submit(job("exit", "0", working_directory=wd))
    lost = grid_engine(term, prefix="export SGE_QMASTER_PORT=1; ")
    with pytest.raises(SchedulerError, match="qstat failed"):
        lost.get_status(job_id)
    assert grid_engine(term).wait(job_id, time_out=120, interval=0.3) == 0
