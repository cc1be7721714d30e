"""TorqueScheduler in real-Torque mode, end to end on stand-in commands.

Real Torque cannot be installed on the test machine (see the test-server
notes, section 3), and the PBS wrappers there cover only the wrapper mode.
So this drives the whole TorqueScheduler through a LocalTerminal against
small ``qsub``/``qstat``/``qdel`` scripts that answer with the Torque 6
formats in tests/fixtures/scheduler_output: it checks the commands we run
in Torque mode and that their answers are read, not Torque itself.
"""
from __future__ import annotations

import shlex
from pathlib import Path

import pytest

import cerulean
from cerulean import JobStatus

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scheduler_output"


@pytest.fixture
def shim(tmp_path: Path) -> Path:
    """A bin directory with stand-in qsub, qstat and qdel; they log their
    arguments (and qsub the script it was given) to tmp_path/log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "log"
    xml = FIXTURES / "qstat_x_torque6.xml"
    text = FIXTURES / "qstat_f_torque6.txt"
    scripts = {
        "qsub": (f'echo "qsub $*" >>{log}; for last; do :; done;'
                 f' cat "$last" >{tmp_path}/submitted.sh;'
                 " echo 1234.head.example.org"),
        "qstat": (f'echo "qstat $*" >>{log};'
                  f' case "$1" in -x) grep -v "^<!--\\|^ \\|^<?" {xml};;'
                  f" -f) grep -v '^#' {text};; esac"),
        "qdel": f'echo "qdel $*" >>{log}',
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    return bin_dir


@pytest.fixture
def sched(shim: Path, tmp_path: Path) -> cerulean.TorqueScheduler:
    home = tmp_path / "home"
    home.mkdir()
    prefix = f"HOME={shlex.quote(str(home))} PATH={shlex.quote(str(shim))}:$PATH "
    return cerulean.TorqueScheduler(cerulean.LocalTerminal(), prefix)


def test_real_torque_is_detected(sched: cerulean.TorqueScheduler) -> None:
    assert sched.flavor == "torque"


def test_submit_passes_options_on_the_command_line_and_the_script_as_a_file(
        sched: cerulean.TorqueScheduler, tmp_path: Path) -> None:
    jd = cerulean.JobDescription()
    jd.name = "my job"
    jd.command = "echo"
    jd.arguments = ["hi"]
    jd.queue_name = "batch"
    jd.time_reserved = 3600
    jd.working_directory = str(tmp_path)
    assert sched.submit(jd) == "1234.head.example.org"
    qsub = (tmp_path / "log").read_text().splitlines()[0]
    words = shlex.split(qsub)
    assert words[:9] == ["qsub", "-N", "my", "job", "-q", "batch", "-l",
                         "walltime=01:00:00", "-S"]  # echo $* splits the name
    script = (tmp_path / "submitted.sh").read_text()
    assert script.startswith("#!/bin/bash\n") and "echo hi" in script
    assert not Path(words[-1]).exists()  # the script file is removed


def test_statuses_and_exit_codes_from_qstat_x(
        sched: cerulean.TorqueScheduler, tmp_path: Path) -> None:
    ids = [f"{n}.head.example.org" for n in range(1234, 1239)]
    assert list(sched.get_statuses(ids).values()) == [
        JobStatus.DONE, JobStatus.RUNNING, JobStatus.WAITING, JobStatus.DONE,
        JobStatus.DONE]
    assert sched.get_exit_codes(ids) == dict(zip(ids, [5, None, None, None, None]))
    log = (tmp_path / "log").read_text()
    assert f"qstat -x {' '.join(ids)}" in log  # one status query for all


def test_an_exit_file_wins_over_exit_status(
        sched: cerulean.TorqueScheduler, tmp_path: Path) -> None:
    jobs = tmp_path / "home" / ".cerulean" / "jobs"
    jobs.mkdir(parents=True)
    (jobs / "torque-1234.head.example.org.exit").write_text("3\n")
    # 1235 is running: a file for it is a leftover and stays.
    (jobs / "torque-1235.head.example.org.exit").write_text("9\n")
    assert sched.get_exit_codes(["1234.head.example.org",
                                 "1235.head.example.org"]) == {
        "1234.head.example.org": 3, "1235.head.example.org": None}
    # Both stay: 1234's for whoever asks next, 1235's until its job
    # overwrites it.
    assert sorted(p.name for p in jobs.iterdir()) == [
        "torque-1234.head.example.org.exit", "torque-1235.head.example.org.exit"]
    fresh = cerulean.TorqueScheduler(sched._terminal, sched._prefix)
    assert fresh.get_exit_code("1234.head.example.org") == 3


def test_cancel_runs_qdel(sched: cerulean.TorqueScheduler, tmp_path: Path) -> None:
    sched.cancel("1235.head.example.org")
    assert "qdel 1235.head.example.org" in (tmp_path / "log").read_text()
