"""Pure parts of the schedulers: job scripts and command lines, no servers.

Scripts are checked by running them with the local bash where that says
more than reading them: a value that got through unquoted would run.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import cerulean
from cerulean import _script
from cerulean import direct_gnu_scheduler as dg
from cerulean import grid_engine_scheduler as sge
from cerulean import slurm_scheduler as slurm
from cerulean import torque_scheduler as torque
from cerulean._script import Raw, shell_words

INJECTIONS = ["a;touch {p}", "$(touch {p})", "`touch {p}`", "a' ; touch {p} ; '",
              'a" ; touch {p} ; "']


def job(**attrs: Any) -> cerulean.JobDescription:
    jd = cerulean.JobDescription()
    jd.command = "true"
    for name, value in attrs.items():
        setattr(jd, name, value)
    return jd


# --- values with line breaks are refused everywhere ------------------------

BUILDERS = {
    "slurm": lambda jd: (slurm.sbatch_args(jd), slurm.job_script(jd)),
    "torque": lambda jd: (torque.qsub_args(jd, torque.TORQUE),
                          torque.job_script(jd)),
    "pbs-wrapper": lambda jd: (torque.qsub_args(jd, torque.WRAPPER),
                               torque.job_script(jd)),
    "directgnu": lambda jd: dg.launch_script(jd),
    "sge": lambda jd: (sge.qsub_args(jd), sge.job_script(jd)),
}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("field", [
    "name", "working_directory", "stdout_file", "stderr_file", "queue_name",
    "system_out_file", "system_err_file", "extra_scheduler_options"])
def test_newline_in_a_value_is_refused(builder: str, field: str) -> None:
    if builder == "directgnu" and field in ("queue_name",
                                           "extra_scheduler_options"):
        pytest.skip("DirectGnu does not use this value")
    with pytest.raises(ValueError, match=field.replace("_", ".")):
        BUILDERS[builder](job(**{field: "ok\n#SBATCH --evil"}))


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_newline_in_an_environment_value_is_refused(builder: str) -> None:
    with pytest.raises(ValueError, match="environment variable X"):
        BUILDERS[builder](job(environment={"X": "a\ntouch /tmp/x"}))


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("name", ["", "1A", "A;B", "A B", "$(x)"])
def test_environment_names_must_be_identifiers(builder: str, name: str) -> None:
    with pytest.raises(ValueError, match="not a valid shell identifier"):
        BUILDERS[builder](job(environment={name: "v"}))


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_a_command_is_required(builder: str) -> None:
    with pytest.raises(ValueError, match="missing a command"):
        BUILDERS[builder](job(command=None))


@pytest.mark.parametrize("builder", sorted(BUILDERS))
@pytest.mark.parametrize("value", [0, -5, "10", float("nan"), True])
def test_time_reserved_must_be_a_positive_number(builder: str, value: Any) -> None:
    with pytest.raises((ValueError, TypeError), match="time_reserved"):
        BUILDERS[builder](job(time_reserved=value))


# --- time limits ----------------------------------------------------------

@pytest.mark.parametrize(("seconds", "slurm_time", "walltime"), [
    (59, "00-00:00:59", "00:00:59"),
    (3600, "00-01:00:00", "01:00:00"),
    (90061, "01-01:01:01", "25:01:01"),
    (1.2, "00-00:00:02", "00:00:02"),  # never shorter than asked
])
def test_time_formats(seconds: float, slurm_time: str, walltime: str) -> None:
    assert f"--time={slurm_time}" in slurm.sbatch_args(job(time_reserved=seconds))
    args = torque.qsub_args(job(time_reserved=seconds), torque.TORQUE)
    assert args[args.index("-l") + 1] == f"walltime={walltime}"


# --- sbatch options -------------------------------------------------------

def test_sbatch_options_are_honoured_and_quoted() -> None:
    jd = job(name="my job; $(x)", queue_name="batch queue", num_nodes=2,
             mpi_processes_per_node=4, time_reserved=61,
             system_out_file="sys out", system_err_file="sys'err",
             extra_scheduler_options="--mem=10M --exclusive")
    words = shlex.split(shell_words(slurm.sbatch_args(jd)))
    assert words == [
        "--parsable", "--job-name=my job; $(x)", "--partition=batch queue",
        "--time=00-00:01:01", "--nodes=2", "--ntasks-per-node=4",
        "--overcommit", "--output=sys out", "--error=sys'err",
        "--mem=10M", "--exclusive"]


def test_scheduler_command_arguments_are_quoted_once_by_the_runner() -> None:
    """Values are plain strings until the command runs: quoted there once,
    so no builder can forget to (or quote twice); Raw is the user's own
    shell words, passed as given, as in Cerulean 1.0."""
    args = ["--job-name=a b", "it's", "$(x)", Raw("--mem=1G --exclusive")]
    assert shlex.split(shell_words(args)) == [
        "--job-name=a b", "it's", "$(x)", "--mem=1G", "--exclusive"]
    assert slurm.squeue_args(["1", "2"])[-2:] == ["--format=%i|%T", "--jobs=1,2"]


def test_sbatch_defaults_are_minimal() -> None:
    assert slurm.sbatch_args(job()) == ["--parsable", "--job-name=cerulean"]


# --- qsub options: real Torque and the Slurm wrappers ---------------------

def test_qsub_options_for_real_torque() -> None:
    jd = job(name="n m", queue_name="batch", num_nodes=2,
             mpi_processes_per_node=4, time_reserved=90061,
             system_out_file="o f", system_err_file="e",
             extra_scheduler_options="-l mem=1gb")
    words = shlex.split(" ".join(torque.qsub_args(jd, torque.TORQUE)))
    assert words == ["-N", "n m", "-q", "batch",
                     "-l", "walltime=25:01:01,nodes=2:ppn=4",
                     "-o", "o f", "-e", "e", "-S", "/bin/bash",
                     "-l", "mem=1gb"]


def test_processes_per_node_alone_asks_for_one_node() -> None:
    args = torque.qsub_args(job(mpi_processes_per_node=3), torque.TORQUE)
    assert args[args.index("-l") + 1] == "nodes=1:ppn=3"


@pytest.mark.parametrize("name", ["plain", "with space", "a;b", "$(id)",
                                  "`id`", "it's", 'say "x"', "a/b"])
def test_wrapper_values_survive_the_wrappers_own_shell(name: str) -> None:
    """The wrapper pastes option values into `sh -c`: quoted twice, they
    arrive at sbatch unchanged."""
    jd = job(name=name, system_out_file=f"out {name}")
    ours = shlex.split(" ".join(torque.qsub_args(jd, torque.WRAPPER)))
    # What slurm-wlm-torque's qsub does: " -J $job_name", " -o $out_path".
    wrapper_line = f"sbatch -J {ours[ours.index('-N') + 1]}" \
                   f" -o {ours[ours.index('-o') + 1]}"
    assert shlex.split(wrapper_line) == ["sbatch", "-J", name, "-o", f"out {name}"]


def test_wrapper_default_output_names_are_safe_paths() -> None:
    words = shlex.split(" ".join(torque.qsub_args(
        job(name="x/y $(z)"), torque.WRAPPER)))
    # In the home directory (see test_compat_schedulers for the real path).
    assert words[words.index("-o") + 1] == "$cerulean_homex_y___z_.o%A"
    assert words[words.index("-e") + 1] == "$cerulean_homex_y___z_.e%A"
    assert "-o" not in torque.qsub_args(job(name="x/y"), torque.TORQUE)


def test_the_wrapper_gets_no_shell_option() -> None:
    assert "-S" not in torque.qsub_args(job(), torque.WRAPPER)


# --- job scripts, run for real with the local bash -------------------------

def run_batch_script(script: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    path = tmp_path / "job.sh"
    path.write_text(script)
    return subprocess.run(
        ["bash", str(path)], cwd=tmp_path, capture_output=True, text=True,
        env={"PATH": os.environ["PATH"], "HOME": str(home), **env},
        check=False,
        timeout=30)


# kind -> (its job script, the job id variable its scheduler sets, an id)
BATCH_SCRIPTS: dict[str, tuple[Any, str, str]] = {
    "slurm": (slurm.job_script, "SLURM_JOB_ID", "77"),
    "torque": (torque.job_script, "PBS_JOBID", "77.srv"),
    "sge": (sge.job_script, "JOB_ID", "77"),
}


def run_job_script(kind: str, jd: cerulean.JobDescription, tmp_path: Path
                   ) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``kind``'s job script for ``jd`` as its scheduler would start
    it; return what ran and the job id it was given."""
    script, variable, job_id = BATCH_SCRIPTS[kind]
    return run_batch_script(script(jd), tmp_path, **{variable: job_id}), job_id


@pytest.mark.parametrize("kind", sorted(BATCH_SCRIPTS))
def test_batch_script_records_the_exit_status(kind: str, tmp_path: Path) -> None:
    jd = job(command="echo", arguments=["out;", "echo err >&2;", "exit", "5"],
             stdout_file="o.txt", stderr_file="e.txt",
             working_directory=str(tmp_path / "work dir"))
    (tmp_path / "work dir").mkdir()
    done, job_id = run_job_script(kind, jd, tmp_path)
    assert done.returncode == 5
    exit_file = tmp_path / "home" / ".cerulean" / "jobs" / f"{kind}-{job_id}.exit"
    assert exit_file.read_text() == "5\n"
    assert (tmp_path / "work dir" / "o.txt").read_text() == "out\n"
    assert (tmp_path / "work dir" / "e.txt").read_text() == "err\n"
    assert sorted(os.listdir(exit_file.parent)) == [exit_file.name]


def test_wrapper_job_script_falls_back_to_the_slurm_job_id(tmp_path: Path) -> None:
    # slurm-wlm-torque sets PBS_JOBID only with its spank plugin enabled.
    run_batch_script(torque.job_script(job()), tmp_path, SLURM_JOB_ID="88")
    assert (tmp_path / "home/.cerulean/jobs/torque-88.exit").read_text() == "0\n"


def test_batch_script_replaces_a_stale_exit_file(tmp_path: Path) -> None:
    jobs = tmp_path / "home" / ".cerulean" / "jobs"
    jobs.mkdir(parents=True)
    (jobs / "slurm-5.exit").write_text("99\n")
    jd = job(command="sleep 0.2; test -e", arguments=[str(jobs / "slurm-5.exit")])
    done = run_batch_script(slurm.job_script(jd), tmp_path, SLURM_JOB_ID="5")
    assert done.returncode == 1  # the old file was gone while the command ran
    assert (jobs / "slurm-5.exit").read_text() == "1\n"


@pytest.mark.parametrize("kind", sorted(BATCH_SCRIPTS))
@pytest.mark.parametrize("template", INJECTIONS)
def test_values_we_insert_run_nothing(kind: str, template: str,
                                      tmp_path: Path) -> None:
    value = template.format(p="pwned")
    workdir = tmp_path / value
    workdir.mkdir()
    jd = job(name=value, working_directory=str(workdir),
             environment={"V": value}, command="printf", arguments=[
                 "'%s\\n'", '"$V"'], stdout_file=value)
    run_job_script(kind, jd, tmp_path)
    assert list(tmp_path.rglob("pwned")) == []
    assert (workdir / value).read_text() == value + "\n"


def test_arguments_are_appended_unquoted_as_documented(tmp_path: Path) -> None:
    jd = job(command="echo", arguments=["$((6*7))", ">", "answer.txt"],
             working_directory=str(tmp_path))
    run_batch_script(slurm.job_script(jd), tmp_path, SLURM_JOB_ID="2")
    assert (tmp_path / "answer.txt").read_text() == "42\n"


def test_exit_in_the_command_line_still_records(tmp_path: Path) -> None:
    jd = job(command="exit", arguments=["3"])
    done = run_batch_script(slurm.job_script(jd), tmp_path, SLURM_JOB_ID="3")
    assert done.returncode == 3
    assert (tmp_path / "home/.cerulean/jobs/slurm-3.exit").read_text() == "3\n"


def test_the_script_carries_no_scheduler_directives() -> None:
    # Options go on the command line, where they are quoted word by word;
    # PBS wrappers would ignore #PBS lines anyway.
    jd = job(name="x", queue_name="q", time_reserved=5)
    for script in (slurm.job_script(jd), torque.job_script(jd)):
        assert "#SBATCH" not in script and "#PBS" not in script


# --- DirectGnu -----------------------------------------------------------

def test_directgnu_refuses_what_it_cannot_honour() -> None:
    with pytest.raises(RuntimeError, match="mpi_processes_per_node"):
        dg.launch_script(job(mpi_processes_per_node=2))
    with pytest.raises(ValueError, match="num_nodes=2"):
        dg.launch_script(job(num_nodes=2))
    dg.launch_script(job(num_nodes=1, queue_name="batch",
                         extra_scheduler_options="--ignored"))


def test_directgnu_time_limit_uses_timeout() -> None:
    script = dg.job_shell_script(job(command="sleep", arguments=["9"],
                                     time_reserved=3))
    assert "timeout --foreground -k 5 3 bash -c '{ sleep 9\n}'" in script
    assert "timeout" not in dg.job_shell_script(job())


def test_directgnu_job_shell_carries_the_marker() -> None:
    assert dg.job_shell_script(job()).startswith(f"# {_script.MARKER}")
    assert dg.launch_script(job()).rstrip().endswith("& echo $!")


# --- helpers -----------------------------------------------------------------

def test_quote_names_the_value_in_errors() -> None:
    with pytest.raises(ValueError, match="stdout_file 'a\\\\nb' contains a line"):
        _script.quote("a\nb", "stdout_file")
    with pytest.raises(ValueError, match="line break"):
        _script.check_line("a\rb", "name")
    assert _script.quote("it's", "x") == "'it'\"'\"'s'"


def test_make_scheduler_names() -> None:
    term = cerulean.LocalTerminal()
    assert isinstance(cerulean.make_scheduler("directgnu", term),
                      cerulean.DirectGnuScheduler)
    assert isinstance(cerulean.make_scheduler("slurm", term, "x;"),
                      cerulean.SlurmScheduler)
    assert isinstance(cerulean.make_scheduler("torque", term),
                      cerulean.TorqueScheduler)
    with pytest.raises(ValueError, match="directgnu.*slurm.*torque"):
        cerulean.make_scheduler("pbspro", term)


def test_old_records_are_removed_and_the_rest_kept(tmp_path: Path) -> None:
    jobs = tmp_path / ".cerulean" / "jobs"
    jobs.mkdir(parents=True)
    keep = _script.KEEP_DAYS * 86400
    ages = {"slurm-1.exit": keep + 120, "torque-2.exit.tmp": keep + 120,
            "directgnu-h-3.exit": keep - 3600, "slurm-4.exit": 0,
            "notes.txt": keep + 120}
    for name, age in ages.items():
        (jobs / name).write_text("0\n")
        os.utime(jobs / name, (time.time() - age, time.time() - age))
    subprocess.run(["sh", "-c", _script.remove_old_records()], check=True,
                   env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert sorted(p.name for p in jobs.iterdir()) == [
        "directgnu-h-3.exit", "notes.txt", "slurm-4.exit"]


def test_job_scripts_leave_other_records_alone(tmp_path: Path) -> None:
    # Cleaning up is the submission's job, not every finishing job's.
    jobs = tmp_path / "home" / ".cerulean" / "jobs"
    jobs.mkdir(parents=True)
    old = jobs / "slurm-1.exit"
    old.write_text("0\n")
    weeks_ago = time.time() - (_script.KEEP_DAYS + 1) * 86400
    os.utime(old, (weeks_ago, weeks_ago))
    run_batch_script(slurm.job_script(job()), tmp_path, SLURM_JOB_ID="3")
    assert sorted(p.name for p in jobs.iterdir()) == [old.name, "slurm-3.exit"]


@pytest.mark.parametrize("cls", [cerulean.DirectGnuScheduler,
                                 cerulean.SlurmScheduler,
                                 cerulean.TorqueScheduler])
def test_the_documented_age_of_records_is_the_real_one(cls: type) -> None:
    doc = " ".join((cls.__doc__ or "").split())
    assert f"kept in ``~/.cerulean/jobs/`` for {_script.KEEP_DAYS} days" in doc \
        or f"The record stays for {_script.KEEP_DAYS} days" in doc
