"""What Cerulean 1.0's own scheduler tests rely on, checked here too.

* The module functions its tests import (``_job_desc_to_job_script``,
  ``_seconds_to_time``, ``_get_field_from_qstat_xml``), built on our script
  builders, so our quoting and newline refusal hold there as well.
* The prefix lives in 1.0's private attribute (``_SlurmScheduler__prefix``
  ...), and setting it changes every later command.
* Slurm and the PBS wrappers never put the scheduler's default output file
  in the working directory: in one the job cannot write, the job still runs.
* DirectGnu: the job shell's own errors (a syntax error in an unquoted
  argument, the time-limit kill) go to the system_err_file.

The first part needs no server; the last part runs against the real ones.
"""
from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest

import cerulean
from cerulean import direct_gnu_scheduler as dg
from cerulean import slurm_scheduler as slurm
from cerulean import torque_scheduler as torque
from tests.cerulean.scheduler_helpers import job, kind_of, read, sh, with_prefix
from tests.cerulean.test_scheduler_base import ANSWERS, ScriptedTerminal

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scheduler_output"


def describe(**attrs: Any) -> cerulean.JobDescription:
    jd = cerulean.JobDescription()
    for name, value in attrs.items():
        setattr(jd, name, value)
    return jd


# --- 1.0's module functions ---------------------------------------------------

def test_slurm_script_face_writes_directives() -> None:
    script = slurm._job_desc_to_job_script(describe(
        name="n", queue_name="q", time_reserved=70, num_nodes=2,
        mpi_processes_per_node=4, extra_scheduler_options="--gres=gpu:1",
        command="echo", arguments=["-n", "Hello world"],
        working_directory="/w", stdout_file="/o", stderr_file="/e"))
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    for directive in ("--job-name=n", "--partition=q", "--time=00-00:01:10",
                      "--nodes=2", "--ntasks-per-node=4", "--overcommit",
                      "--gres=gpu:1"):
        assert f"#SBATCH {directive}" in lines
    assert "--parsable" not in script
    assert "echo -n Hello world" in script
    assert "cd -- /w" in script and ">/o" in script and "2>/e" in script


def test_torque_script_face_writes_directives() -> None:
    script = torque._job_desc_to_job_script(describe(
        name="n", queue_name="q", time_reserved=70, num_nodes=42,
        mpi_processes_per_node=4, extra_scheduler_options="-p 10",
        command="true"))
    lines = script.splitlines()
    assert {"#PBS -N n", "#PBS -q q", "#PBS -l walltime=00:00:01:10,nodes=42:ppn=4",
            "#PBS -S /bin/bash", "#PBS -p 10"} <= set(lines)


@pytest.mark.parametrize("face", [slurm._job_desc_to_job_script,
                                  torque._job_desc_to_job_script])
def test_script_faces_keep_our_quoting_and_refuse_newlines(face: Any) -> None:
    script = face(describe(name="a b", stdout_file="o $(x)", command="true"))
    assert "'a b'" in script and ">'o $(x)'" in script
    with pytest.raises(ValueError, match="line break"):
        face(describe(name="a\n#SBATCH --x", command="true"))


@pytest.mark.parametrize("face", [slurm._job_desc_to_job_script,
                                  torque._job_desc_to_job_script])
def test_script_faces_accept_a_description_without_command(
        face: Any, tmp_path: Path) -> None:
    # As in 1.0, a script is made; ours does nothing instead of running
    # `None`, and leaves the description alone.
    jd = describe(name="x")
    script = face(jd)
    assert jd.command is None
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], "HOME": str(home)},
                          check=False, timeout=30)
    assert done.returncode == 0, done.stderr
    with pytest.raises(ValueError, match="missing a command"):
        cerulean.SlurmScheduler(ScriptedTerminal(ANSWERS["slurm"])).submit(jd)


def test_seconds_to_time_as_in_cerulean_1_0() -> None:
    two_days = 2 * 86400 + 13 * 3600 + 7 * 60 + 48
    assert slurm._seconds_to_time(two_days) == "02-13:07:48"
    assert slurm._seconds_to_time(2) == "00-00:00:02"
    assert torque._seconds_to_time(two_days) == "02:13:07:48"
    assert torque._seconds_to_time(2) == "00:00:00:02"


def test_get_field_from_qstat_xml() -> None:
    text = (FIXTURES / "qstat_x_torque6.xml").read_text()
    data = SafeET.fromstring(text.split("-->", 1)[1].strip())
    assert torque._get_field_from_qstat_xml(data, "job_state") == "C"
    assert torque._get_field_from_qstat_xml(data, "exit_status") == "5"
    with pytest.raises(RuntimeError, match="no_such_field"):
        torque._get_field_from_qstat_xml(data, "no_such_field")


# --- the prefix lives where 1.0 kept it ------------------------------------

CLASSES: dict[str, Any] = {"slurm": cerulean.SlurmScheduler, "torque": cerulean.TorqueScheduler,
           "directgnu": cerulean.DirectGnuScheduler}


def run_everything(sched: Any) -> None:
    jd = describe(command="true")
    job_id = sched.submit(jd)
    sched.get_status(job_id)
    sched.get_exit_code("43")
    sched.cancel(job_id)


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_prefix_is_kept_in_the_1_0_attribute(name: str) -> None:
    cls = CLASSES[name]
    sched = cls(ScriptedTerminal(ANSWERS[name]), "module load x; ")
    assert getattr(sched, f"_{cls.__name__}__prefix") == "module load x; "


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_setting_the_1_0_attribute_changes_every_command(name: str) -> None:
    cls = CLASSES[name]
    term = ScriptedTerminal(ANSWERS[name])
    sched = cls(term, "old; ")
    setattr(sched, f"_{cls.__name__}__prefix", "echo prefixtest >>/tmp/p ;")
    run_everything(sched)
    assert len(term.calls) >= 4
    for line, _, _ in term.calls:
        assert line.startswith("echo prefixtest >>/tmp/p ;"), line
    setattr(sched, f"_{cls.__name__}__prefix", "")
    before = len(term.calls)
    run_everything(sched)
    assert not any("prefixtest" in line for line, _, _ in term.calls[before:])


def test_a_subclass_prefix_goes_by_the_subclass_name() -> None:
    # 1.0's suite sets `_<type(sched).__name__>__prefix`.
    class MySlurm(cerulean.SlurmScheduler):
        pass

    term = ScriptedTerminal(ANSWERS["slurm"])
    sched = MySlurm(term)
    sched._MySlurm__prefix = "new; "  # type: ignore[attr-defined]
    run_everything(sched)
    assert all(line.startswith("new; ") for line, _, _ in term.calls)


# --- no default output file in the working directory ------------------------

def test_sbatch_gets_an_output_file_in_home_unless_one_is_given() -> None:
    term = ScriptedTerminal(ANSWERS["slurm"])
    sched = cerulean.SlurmScheduler(term)
    sched.submit(describe(command="true", working_directory="/home"))
    assert slurm.DEFAULT_OUTPUT.text in term.calls[0][0]
    sched.submit(describe(command="true", system_out_file="/x/sys.out"))
    assert "--output=/x/sys.out" in term.calls[-2][0]
    assert slurm.DEFAULT_OUTPUT.text not in term.calls[-2][0]


def fake_qsub(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    qsub = bin_dir / "qsub"
    qsub.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    qsub.chmod(0o755)
    return bin_dir


@pytest.mark.parametrize(("home_name", "in_home"), [
    ("home", True), ("a home", False)])
def test_wrapper_default_output_goes_to_a_plain_home(
        tmp_path: Path, home_name: str, in_home: bool) -> None:
    home = tmp_path / home_name
    home.mkdir()
    code = torque.submit_script(describe(name="x/y", command="true"),
                                torque.WRAPPER)
    done = subprocess.run(
        ["sh", "-c", code], input="true\n", capture_output=True, text=True,
        env={"PATH": f"{fake_qsub(tmp_path)}:{os.environ['PATH']}",
             "HOME": str(home)}, check=False, timeout=30)
    assert done.returncode == 0, done.stderr
    words = done.stdout.splitlines()
    # A home the wrapper's shell would misread is not pasted in.
    where = f"{home}/" if in_home else ""
    assert words[words.index("-o") + 1] == f"{where}x_y.o%A"
    assert words[words.index("-e") + 1] == f"{where}x_y.e%A"


def test_real_torque_keeps_its_own_default_output() -> None:
    # Torque copies the file back after the job and does not fail the job
    # if it cannot; only the wrapper needs the default moved.
    assert "-o" not in torque.qsub_args(describe(name="x"), torque.TORQUE)


# --- DirectGnu: the job shell's own errors go to system_err_file --------------

def run_job_shell(jd: cerulean.JobDescription, tmp_path: Path
                  ) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return subprocess.run(
        # setsid: the job shell leads its process group, as when launched.
        ["setsid", "bash", "-c", dg.job_shell_script(jd)], cwd=tmp_path,
        capture_output=True, text=True, check=False, timeout=30,
        env={"PATH": os.environ["PATH"], "HOME": str(home)})


def recorded(tmp_path: Path) -> str:
    files = list((tmp_path / "home/.cerulean/jobs").glob("directgnu-*.exit"))
    assert len(files) == 1
    return files[0].read_text().strip()


@pytest.mark.parametrize("time_reserved", [None, 5])
def test_a_syntax_error_in_the_arguments_goes_to_the_job_shells_stderr(
        tmp_path: Path, time_reserved: int | None) -> None:
    # Cerulean 1.0's test_system_err_redirect: arguments are shell words.
    done = run_job_shell(describe(
        command="bash", arguments=["-c", "for i in x ; do something invalid"],
        stderr_file=str(tmp_path / "err"), time_reserved=time_reserved),
        tmp_path)
    assert "syntax error" in done.stderr
    assert not (tmp_path / "err").exists() or (tmp_path / "err").read_text() == ""
    assert recorded(tmp_path) == "2"


def test_the_time_limit_kill_is_reported_on_the_job_shells_stderr(
        tmp_path: Path) -> None:
    done = run_job_shell(describe(command="sleep", arguments=["30"],
                                  time_reserved=1,
                                  stderr_file=str(tmp_path / "err")), tmp_path)
    assert "killed" in done.stderr and "time limit" in done.stderr
    assert recorded(tmp_path) == "124"  # as timeout reports, as in 1.0


def test_the_commands_own_stderr_still_goes_to_stderr_file(tmp_path: Path) -> None:
    done = run_job_shell(describe(command="ls", arguments=["--no-such-option"],
                                  stderr_file=str(tmp_path / "err"),
                                  time_reserved=5), tmp_path)
    assert "unrecognized option" in (tmp_path / "err").read_text()
    assert "unrecognized" not in done.stderr
    assert recorded(tmp_path) == "2"


# --- on the real servers ---------------------------------------------------

def test_unwritable_working_directory_with_stdout_elsewhere(
        scheduler: tuple[Any, str]) -> None:
    """Cerulean 1.0's test_scheduler: working_directory /home, which the job
    cannot write, and stdout_file in a directory it can."""
    sched, workdir = scheduler
    sched = with_prefix(sched)
    locked = f"{workdir}/locked"
    term = sched._terminal
    sh(term, f"mkdir -p {shlex.quote(locked)} && touch {shlex.quote(locked)}/marker"
             f" && chmod 555 {shlex.quote(locked)}")
    try:
        job_id = sched.submit(job("ls", "-l", working_directory=locked,
                                  stdout_file=f"{workdir}/ls.out"))
        assert sched.wait(job_id, time_out=120, interval=0.3) == 0
        assert "marker" in (read(term, f"{workdir}/ls.out") or "")
        assert sched.get_exit_code(job_id) == 0
        # The scheduler's own output went to the home directory, as in 1.0.
        defaults = {"slurm": [f"slurm-{job_id}.out"],
                    "torque": [f"cerulean.o{job_id}", f"cerulean.e{job_id}"],
                    "sge": [f"cerulean.o{job_id}", f"cerulean.e{job_id}"],
                    "directgnu": []}[kind_of(sched)]
        for name in defaults:
            sh(term, f'test -f "$HOME"/{name} && rm -f "$HOME"/{name}')
    finally:
        sh(term, f"chmod 755 {shlex.quote(locked)}")


def test_directgnu_system_err_file_gets_the_job_shells_errors(
        scheduler: tuple[Any, str]) -> None:
    sched, workdir = scheduler
    if kind_of(sched) != "directgnu":
        pytest.skip("the batch schedulers' system_err_file is theirs")
    term = sched._terminal
    syntax = sched.submit(job("bash", "-c", "for i in x ; do something invalid",
                              working_directory=workdir, time_reserved=5,
                              stderr_file="/dev/null",
                              system_err_file=f"{workdir}/syntax.err"))
    killed = sched.submit(job("sleep", "60", working_directory=workdir,
                              time_reserved=1, stderr_file="/dev/null",
                              system_err_file=f"{workdir}/killed.err"))
    codes = sched.wait_all([syntax, killed], time_out=30, interval=0.2)
    assert codes == {syntax: 2, killed: 124}
    assert "syntax error" in (read(term, f"{workdir}/syntax.err") or "")
    assert "killed" in (read(term, f"{workdir}/killed.err") or "")


def test_setting_the_prefix_attribute_on_a_real_scheduler(
        scheduler: tuple[Any, str]) -> None:
    """Cerulean 1.0's test_prefix: every command runs the prefix."""
    sched, workdir = scheduler
    sched = with_prefix(sched)
    term = sched._terminal
    log = f"{workdir}/prefix.log"
    attr = f"_{type(sched).__name__}__prefix"
    setattr(sched, attr, f"{getattr(sched, attr)}echo prefixtest >>{log} ;")

    def lines() -> int:
        return len((read(term, log) or "").splitlines())

    job_id = sched.submit(job("true", working_directory=workdir))
    after_submit = lines()
    assert after_submit >= 1
    assert sched.wait(job_id, time_out=120, interval=0.3) == 0
    after_wait = lines()
    assert after_wait > after_submit
    sched.cancel(job_id)
    assert lines() > after_wait
