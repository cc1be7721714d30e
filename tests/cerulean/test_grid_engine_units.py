"""Grid Engine's pure parts, no servers: the qsub command line, the job
script (run with the local bash), and the qstat/qacct parsers, fed with
output captured from the real test Son of Grid Engine 8.1.9 by
tests/fixtures/scheduler_output/capture_sge.sh. States the test server
cannot be made to show (error, suspended, restarted, being deleted) are
fed as ``qstat -xml`` entries in the same format.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

import cerulean
from cerulean import JobStatus
from cerulean import grid_engine_scheduler as sge
from cerulean._script import Raw, shell_words
from cerulean.scheduler import Command, Result, SchedulerError
from tests.cerulean.test_scheduler_parsers import fixture
from tests.cerulean.test_scheduler_scripts import job

W, R, D = JobStatus.WAITING, JobStatus.RUNNING, JobStatus.DONE
OK, FAIL, DELETED, TIMED_OUT, RUNNING, HELD, PE = fixture(
    "sge_job_ids.txt").split()


def words(jd: cerulean.JobDescription, pe: str | None = None) -> list[str]:
    """The qsub options as the remote shell passes them to qsub."""
    return shlex.split(shell_words(sge.qsub_args(jd, pe)))


# --- the qsub command line ---------------------------------------------------

def test_defaults_are_minimal_and_put_the_system_files_in_home() -> None:
    args = sge.qsub_args(job())
    assert args == ["-terse", "-C", "", "-S", "/bin/bash", "-N", "cerulean",
                    Raw('-o "$HOME"'), Raw('-e "$HOME"')]
    # $HOME is left for the remote shell to expand, quoted there.
    assert shell_words(args).endswith(' -o "$HOME" -e "$HOME"')


def test_options_are_honoured_and_quoted() -> None:
    jd = job(name="my job; $(x)", queue_name="batch queue", time_reserved=61.5,
             working_directory="/a dir", system_out_file="sys out",
             system_err_file="sys'err", extra_scheduler_options="-l h_vmem=1G -R y")
    assert words(jd) == [
        "-terse", "-C", "", "-S", "/bin/bash", "-N", "my_job;_$(x)",
        "-q", "batch queue", "-l", "h_rt=62", "-cwd", "-o", "sys out",
        "-e", "sys'err", "-l", "h_vmem=1G", "-R", "y"]


def test_an_output_path_with_a_colon_is_not_taken_for_a_host() -> None:
    jd = job(system_out_file="run:1.out", system_err_file="/logs/a:b")
    assert words(jd)[-4:] == ["-o", ":run:1.out", "-e", ":/logs/a:b"]


@pytest.mark.parametrize(("name", "taken"), [
    ("plain-name.1", "plain-name.1"), ("two words", "two_words"),
    ("a/b:c@d\\e*f?g", "a_b_c_d_e_f_g"), ("1st", "_1st"), ("", "_"),
    ("naïve\tjob", "na_ve_job"), ("it's $(x) `y`", "it's_$(x)_`y`")])
def test_job_names_are_made_ones_grid_engine_takes(name: str, taken: str) -> None:
    # Found on the real server: qmaster refuses white space, these
    # characters, non-ASCII and a leading digit.
    assert sge.job_name(name) == taken


# Line breaks in the job description's values: with the other schedulers'
# in tests/cerulean/test_scheduler_scripts.py.

def test_a_line_break_in_the_parallel_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        cerulean.GridEngineScheduler(cerulean.LocalTerminal(),
                                     parallel_environment="smp\n-pe x")


@pytest.mark.parametrize(("nodes", "per_node", "slots"), [
    (2, None, 2), (None, 3, 3), (2, 4, 8), (3.5, 1, 4)])
def test_nodes_times_processes_ask_for_slots_of_the_parallel_environment(
        nodes: Any, per_node: Any, slots: int) -> None:
    jd = job(num_nodes=nodes, mpi_processes_per_node=per_node)
    assert sge.slots(jd) == slots
    assert words(jd, "mpi env")[-7:] == [
        "-pe", "mpi env", str(slots), "-o", "$HOME", "-e", "$HOME"]


def test_one_slot_needs_no_parallel_environment() -> None:
    jd = job(num_nodes=1, mpi_processes_per_node=1)
    assert sge.slots(jd) == 1 and sge.slots(job()) is None
    assert "-pe" not in words(jd) and "-pe" not in words(jd, "smp")


def test_more_slots_without_a_parallel_environment_are_refused() -> None:
    with pytest.raises(ValueError, match=r"asks for 6 slots \(num_nodes=2,"
                       r" mpi_processes_per_node=3\).*parallel_environment="):
        sge.qsub_args(job(num_nodes=2, mpi_processes_per_node=3))


def test_a_pe_in_the_extra_options_is_the_users() -> None:
    jd = job(num_nodes=2, extra_scheduler_options="-pe orte 16")
    assert words(jd)[-3:] == ["-pe", "orte", "16"]
    assert words(jd, "smp").count("-pe") == 1
    # "-pe" must be an option of its own, not part of another word.
    with pytest.raises(ValueError, match="parallel environment"):
        sge.qsub_args(job(num_nodes=2, extra_scheduler_options="-N x-pe"))


@pytest.mark.parametrize("value", [0, -1, "10", float("nan")])
def test_numbers_must_be_positive_numbers(value: Any) -> None:
    for field in ("time_reserved", "num_nodes", "mpi_processes_per_node"):
        with pytest.raises((ValueError, TypeError)):
            sge.qsub_args(job(**{field: value}), "smp")


def test_the_scheduler_submits_in_the_working_directory_with_the_script() -> None:
    sched = cerulean.GridEngineScheduler(cerulean.LocalTerminal(), "p; ", "smp")
    jd = job(working_directory="/w", num_nodes=2)
    command = sched._submit_command(jd)
    assert isinstance(command, Command)
    assert (command.command, command.workdir) == ("qsub", "/w")
    assert command.stdin == sge.job_script(jd)
    assert sched._status_command(["1", "2"]) == Command("qstat", ["-xml"])
    assert sched._cancel_command("7") == Command("qdel", ["7"])
    assert sched.parallel_environment == "smp"


@pytest.mark.parametrize("job_id", ["12.1", "12.srv", "", "1;x", " 1", "-1"])
def test_malformed_job_ids_are_refused(job_id: str) -> None:
    sched = cerulean.GridEngineScheduler(cerulean.LocalTerminal())
    with pytest.raises(ValueError, match="not a Grid Engine job id"):
        sched.get_status(job_id)


# --- the job script --------------------------------------------------------------
# (run with the local bash, beside Slurm's and Torque's, in
# tests/cerulean/test_scheduler_scripts.py)

def test_the_script_has_no_directive_lines() -> None:
    # qsub -C '' reads none anyway; no line of ours could be taken for one.
    lines = sge.job_script(job(environment={"A": "#$ -l x"})).splitlines()
    assert not [line for line in lines if line.startswith("#$")]


# --- qsub -terse ---------------------------------------------------------------

def test_qsub_terse_gives_the_job_id() -> None:
    assert sge.parse_qsub(fixture("sge_qsub_terse.txt")).isdigit()
    array = fixture("sge_qsub_terse_array.txt")
    assert array.strip().endswith(".1-3:1")
    assert sge.parse_qsub(array) == array.split(".")[0].strip()


@pytest.mark.parametrize("stdout", ["", "Your job 5 has been submitted\n", "x.1\n"])
def test_qsub_without_a_job_id_is_an_error(stdout: str) -> None:
    with pytest.raises(SchedulerError, match="qsub printed no job id"):
        sge.parse_qsub(stdout)


# --- qstat -xml ------------------------------------------------------------------

def test_qstat_xml_running_held_and_gone_jobs() -> None:
    ids = [OK, FAIL, DELETED, TIMED_OUT, RUNNING, HELD, PE]
    statuses = sge.parse_qstat(Result(0, fixture("sge_qstat_xml.xml"), ""), ids)
    assert statuses == {OK: D, FAIL: D, DELETED: D, TIMED_OUT: D,
                        RUNNING: R, HELD: W, PE: R}


@pytest.mark.parametrize(("state", "status"), [
    ("qw", W), ("hqw", W), ("hRwq", W), ("Eqw", W), ("Ehqw", W), ("r", R),
    ("t", R), ("Rr", R), ("Rt", R), ("s", R), ("S", R), ("T", R), ("dr", R),
    ("dt", R), ("ds", R), ("z", D)])
def test_every_qstat_state(state: str, status: JobStatus) -> None:
    xml = ("<?xml version='1.0'?><job_info><queue_info><job_list state='x'>"
           f"<JB_job_number>3</JB_job_number><state>{state}</state>"
           "</job_list></queue_info><job_info/></job_info>")
    assert sge.parse_qstat(Result(0, xml, ""), ["3"]) == {"3": status}


@pytest.mark.parametrize("state", ["", "x", "running", "d"])
def test_an_unknown_state_is_an_error(state: str) -> None:
    with pytest.raises(SchedulerError, match="Unknown Grid Engine job state"):
        sge.parse_state(state)


def test_qstat_failing_or_garbled_is_an_error_not_done() -> None:
    with pytest.raises(SchedulerError, match="qstat failed: cannot reach"):
        sge.parse_qstat(Result(1, "", "cannot reach qmaster\n"), ["1"])
    with pytest.raises(SchedulerError, match="Cannot read qstat -xml"):
        sge.parse_qstat(Result(0, "<job_info>", ""), ["1"])


def test_qstat_xml_is_parsed_safely() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">'
            '<!ENTITY b "&a;&a;&a;">]><job_info>&b;</job_info>')
    with pytest.raises(SchedulerError, match="Cannot read qstat -xml"):
        sge.parse_qstat(Result(0, bomb, ""), ["1"])


# --- exit codes: exit records, then qacct --------------------------------------

def qacct_section(job_id: str) -> str:
    """The records of one job in the captured qacct output."""
    records = fixture("sge_qacct.txt").split("=" * 62 + "\n")
    mine = [r for r in records if re.search(rf"^jobnumber +{job_id} *$", r,
                                         re.MULTILINE)]
    assert len(mine) == 1, job_id
    return "=" * 62 + "\n" + mine[0]


def test_qacct_exit_status_and_jobs_grid_engine_ended() -> None:
    assert sge.parse_qacct(qacct_section(OK)) == (0, True)
    assert sge.parse_qacct(qacct_section(FAIL)) == (5, True)
    # Deleted, and killed at its h_rt: Grid Engine ended them, no exit code.
    assert sge.parse_qacct(qacct_section(DELETED)) == (None, True)
    assert sge.parse_qacct(qacct_section(TIMED_OUT)) == (None, True)
    # Not (yet) in the accounting file: not final, ask again later.
    assert sge.parse_qacct(fixture("sge_qacct_unknown.txt")) is None


def test_a_rescheduled_job_counts_its_last_run() -> None:
    runs = qacct_section(FAIL) + qacct_section(OK).replace(
        f"jobnumber    {OK}", f"jobnumber    {FAIL}")
    assert sge.parse_qacct(runs) == (0, True)


def test_unreadable_qacct_output_is_an_error() -> None:
    with pytest.raises(SchedulerError, match="Cannot read qacct"):
        sge.parse_qacct("qacct: something else went wrong\n")
    with pytest.raises(SchedulerError, match="Cannot read qacct record"):
        sge.parse_qacct("failed 0\nexit_status x\n")


def test_exit_codes_from_records_and_qacct() -> None:
    stdout = (f"cerulean-exit {OK} 0\ncerulean-active {RUNNING}\n"
              f"cerulean-qacct {DELETED}\n{qacct_section(DELETED)}"
              f"cerulean-qacct {FAIL}\n{qacct_section(FAIL)}"
              f"cerulean-qacct 999999\n{fixture('sge_qacct_unknown.txt')}")
    ids = [OK, RUNNING, DELETED, FAIL, "999999"]
    found = sge.parse_exit_codes(stdout, ids)
    assert found.codes == {OK: 0, RUNNING: None, DELETED: None, FAIL: 5,
                           "999999": None}
    # Running and unknown-to-accounting jobs may still get one.
    assert found.final == {OK: 0, DELETED: None, FAIL: 5}


def test_the_exit_code_query_reads_records_before_asking_qacct() -> None:
    script = sge.exit_code_script(["4", "5"])
    assert script.index(".cerulean/jobs") < script.index("qacct -j")
    assert "qstat -xml" in script and "for i in 4 5;" in script


def test_cancel_of_a_finished_job_is_not_an_error() -> None:
    sched = cerulean.GridEngineScheduler(cerulean.LocalTerminal())
    done, code = fixture("sge_qdel_done.txt").rsplit("exit ", 1)
    sched._check_cancel(Result(int(code), "", done), OK)
    with pytest.raises(SchedulerError, match="Could not cancel job 3"):
        sched._check_cancel(Result(1, "", "denied: not your job\n"), "3")



# --- the test server ---------------------------------------------------------------

def test_without_grid_engine_its_tests_say_why(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/servers/sge.sh leaves the reason it could not install Grid
    Engine where the skip (or, under CI=true, the failure) message finds it."""
    from tests import conftest
    from tests.servers import settings as S
    why = tmp_path / "unavailable"
    why.write_text("Grid Engine could not be installed: E: no network\n")
    monkeypatch.setattr(S, "SGE_UNAVAILABLE", why)
    monkeypatch.setitem(S.PROBES, "sge", (S.HOST, 1))  # nothing listens there
    reason = conftest._server_down_reason("sge") or ""
    assert reason.startswith("sge test server is not listening on 127.0.0.1:1")
    assert reason.endswith("(Grid Engine could not be installed: E: no network)")
