"""Scheduler output parsers, fed with real captured output (no servers).

The Slurm and PBS-wrapper outputs in tests/fixtures/scheduler_output were
captured from the test servers by capture.sh there. Torque 6's `qstat -x`
XML and `qstat -f` text cannot be captured here (no Torque on the test
machine), so those fixtures are written in the documented format and say so.
States the test cluster cannot produce (NODE_FAIL, PREEMPTED, BOOT_FAIL,
OUT_OF_MEMORY, ...) are fed as single lines in the same format.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cerulean import JobStatus
from cerulean import direct_gnu_scheduler as dg
from cerulean import slurm_scheduler as slurm
from cerulean import torque_scheduler as torque
from cerulean.scheduler import Result, SchedulerError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scheduler_output"
W, R, D = JobStatus.WAITING, JobStatus.RUNNING, JobStatus.DONE


def fixture(name: str) -> str:
    """A captured output, without the header comment lines."""
    lines = (FIXTURES / name).read_text().splitlines(keepends=True)
    return "".join(line for line in lines if not line.startswith("# "))


def output_and_exit(name: str) -> tuple[str, int]:
    """A captured output and the exit code capture.sh appended to it."""
    text = fixture(name)
    body, _, last = text.rstrip("\n").rpartition("\n")
    assert last.startswith("exit "), name
    return body + "\n", int(last.split()[1])


def captured_ids() -> list[str]:
    return fixture("job_ids.txt").strip().split(",")


# --- Slurm --------------------------------------------------------------

def test_sbatch_parsable() -> None:
    assert slurm.parse_sbatch(fixture("sbatch_parsable.txt")) == captured_ids()[0]
    assert slurm.parse_sbatch("123;othercluster\n") == "123"
    text, rc = output_and_exit("sbatch_bad_partition.txt")
    assert rc == 1
    with pytest.raises(SchedulerError, match="no job id"):
        slurm.parse_sbatch(text)


def test_squeue_states_from_real_output() -> None:
    ids = captured_ids()
    statuses = slurm.parse_squeue(Result(0, fixture("squeue.txt"), ""), ids)
    listed = dict(line.split("|") for line in fixture("squeue.txt").split())
    assert set(listed) == set(ids)
    for job_id, state in listed.items():
        assert statuses[job_id] == slurm.STATES[state], state
    assert {s for s in statuses.values()} >= {W, D}


def test_jobs_squeue_does_not_list_are_done() -> None:
    out = Result(0, fixture("squeue.txt"), "")
    assert slurm.parse_squeue(out, ["999999"]) == {"999999": D}
    unknown = Result(1, fixture("squeue_unknown.txt"),
                     fixture("squeue_unknown.err"))
    assert slurm.parse_squeue(unknown, ["999999", "5"]) == {"999999": D, "5": D}


def test_squeue_failing_otherwise_is_an_error() -> None:
    down = Result(1, "", "slurm_load_jobs error: Unable to contact slurm"
                         " controller (connect failure)\n")
    with pytest.raises(SchedulerError, match="Unable to contact"):
        slurm.parse_squeue(down, ["1"])


@pytest.mark.parametrize("state", ["WEIRD", "", "done"])
def test_an_unknown_slurm_state_is_an_error_quoting_it(state: str) -> None:
    with pytest.raises(SchedulerError, match=repr(state).replace("[", "\\[")):
        slurm.parse_squeue(Result(0, f"7|{state}\n", ""), ["7"])


@pytest.mark.parametrize(("state", "exit_code", "code"), [
    ("COMPLETED", "0:0", 0),
    ("FAILED", "5:0", 5),
    ("FAILED", "0:9", 137),  # the job script itself was killed
])
def test_a_slurm_job_that_ended_by_itself_has_its_exit_code(
        state: str, exit_code: str, code: int) -> None:
    assert slurm.parse_state(state) == D
    assert slurm.exit_code_for(state, exit_code) == code


@pytest.mark.parametrize("state", [
    "CANCELLED by 1001", "CANCELLED+", "TIMEOUT", "OUT_OF_MEMORY",
    "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"])
def test_a_slurm_job_the_scheduler_ended_is_done_without_an_exit_code(
        state: str) -> None:
    assert slurm.parse_state(state) == D
    # Whatever ExitCode Slurm shows for it: none, or the signal it sent.
    for exit_code in ("0:0", "0:15", "0:125"):
        assert slurm.exit_code_for(state, exit_code) is None


@pytest.mark.parametrize(("state", "status"), [
    ("PENDING", W), ("REQUEUE_HOLD", W),
    ("RUNNING", R), ("COMPLETING", R), ("SUSPENDED", R)])
def test_a_slurm_job_not_done_has_no_exit_code_yet(
        state: str, status: JobStatus) -> None:
    assert slurm.parse_state(state) == status
    assert slurm.exit_code_for(state, "0:0") is None


def test_exit_codes_from_real_scontrol_and_sacct_output() -> None:
    ids = captured_ids()
    ok, fail, run, held, cancelled_pending, big, timeout, cancelled_running = ids
    from_scontrol = slurm.parse_exit_codes(fixture("scontrol.txt"), ids)
    from_sacct = slurm.parse_exit_codes(fixture("sacct.txt"), ids)
    for found in (from_scontrol, from_sacct):
        assert found.codes[ok] == 0 and found.codes[fail] == 5
        for job_id in (cancelled_pending, timeout, cancelled_running):
            assert found.codes[job_id] is None
            assert job_id in found.final  # done: no exit code, ever
        for job_id in (held, big, run):
            assert found.codes[job_id] is None
            assert job_id not in found.final  # may still get one


def test_exit_files_come_first() -> None:
    text = f"cerulean-exit 19 7\ncerulean-exit 23 none\n{fixture('scontrol.txt')}"
    found = slurm.parse_exit_codes(text, ["19", "23"])
    assert found.codes == {"19": 7, "23": None}
    assert found.final == {"19": 7, "23": None}


def test_unreadable_exit_code_output_is_an_error() -> None:
    with pytest.raises(SchedulerError, match="not an exit code"):
        slurm.parse_exit_codes("cerulean-exit 1 oops\n", ["1"])
    with pytest.raises(SchedulerError, match="sacct line"):
        slurm.parse_exit_codes("garbage\n", ["1"])
    with pytest.raises(SchedulerError, match="Unknown Slurm job state 'ODD'"):
        slurm.parse_exit_codes("1|ODD|0:0\n", ["1"])


def test_scontrol_line_fields() -> None:
    line = fixture("scontrol.txt").splitlines()[1]
    assert slurm.parse_scontrol_line(line) == (captured_ids()[1], "FAILED", "5:0")
    assert slurm.parse_scontrol_line(fixture("scontrol_unknown.txt")) is None


# --- PBS wrappers (slurm-wlm-torque), captured ----------------------------

def test_wrapper_qsub_output() -> None:
    assert torque.parse_qsub(fixture("qsub.txt")) == fixture("qsub.txt").strip()
    # A failed qsub never gets this far (its exit code is checked first),
    # but its output holds no job id either.
    text, rc = output_and_exit("qsub_wrapper_bad_queue.txt")
    assert rc != 0 and "Invalid partition name" in text
    with pytest.raises(SchedulerError, match="no job id"):
        torque.parse_qsub(text)


def test_wrapper_qstat_f_records() -> None:
    records = torque.parse_qstat_full(fixture("qstat_f_wrapper.txt"))
    states = {job_id: r["job_state"] for job_id, r in records.items()}
    assert sorted(states.values()) == ["C", "Q", "R"]
    assert all("exit_status" not in r for r in records.values())
    assert {r["Job_Name"] for r in records.values()} == {"done", "running", "held"}


def test_wrapper_statuses() -> None:
    text = fixture("qstat_f_wrapper.txt")
    records = torque.parse_qstat_full(text)
    ids = [*records, "999999"]
    statuses = torque.parse_statuses(Result(0, text, ""), ids, torque.WRAPPER)
    expected = {"C": D, "R": R, "Q": W}
    for job_id, record in records.items():
        assert statuses[job_id] == expected[record["job_state"]]
    assert statuses["999999"] == D  # purged


def test_wrapper_unknown_ids_exit_153_without_output() -> None:
    _, rc = output_and_exit("qstat_f_wrapper_unknown.txt")
    assert torque.parse_statuses(Result(rc, "", ""), ["5"], torque.WRAPPER) \
        == {"5": D}
    with pytest.raises(SchedulerError, match="qstat failed"):
        torque.parse_statuses(Result(2, "", "Unknown option: x\n"), ["5"],
                              torque.WRAPPER)


def test_wrapper_exit_codes_come_from_exit_files_only() -> None:
    text = fixture("qstat_f_wrapper.txt")
    records = torque.parse_qstat_full(text)
    done = next(j for j, r in records.items() if r["job_state"] == "C")
    running = next(j for j, r in records.items() if r["job_state"] == "R")
    out = (f"cerulean-exit 7 3\ncerulean-qstat\n{text}cerulean-qstat-rc 0\n")
    found = torque.parse_exit_codes(Result(0, out, ""), ["7", done, running],
                                    torque.WRAPPER)
    assert found.codes == {"7": 3, done: None, running: None}
    assert set(found.final) == {"7", done}


def test_wrapper_u_state_is_done_but_not_for_torque() -> None:
    # The wrapper prints U for Slurm's DEADLINE and OUT_OF_MEMORY.
    assert torque.parse_state("U", torque.WRAPPER) == D
    with pytest.raises(SchedulerError, match="Unknown Torque job state 'U'"):
        torque.parse_state("U", torque.TORQUE)


def test_qdel_on_a_finished_job_is_not_an_error() -> None:
    sched = torque.TorqueScheduler.__new__(torque.TorqueScheduler)
    _, rc = output_and_exit("qdel_wrapper_done.txt")
    sched._check_cancel(Result(rc, "", ""), "27")
    with pytest.raises(SchedulerError, match="Could not cancel"):
        sched._check_cancel(Result(1, "qdel: Unauthorized Request\n", ""), "27")


def test_wrapper_has_no_qstat_x() -> None:
    assert "Unknown option: x" in fixture("qstat_x_wrapper.txt")
    assert torque.qstat_command(torque.WRAPPER) == "qstat -f"
    assert torque.qstat_command(torque.TORQUE) == "qstat -x"


# --- real Torque 6 (documented format) -------------------------------------

def test_torque_qstat_x_xml() -> None:
    xml = (FIXTURES / "qstat_x_torque6.xml").read_text()
    ids = [f"{n}.head.example.org" for n in range(1234, 1239)]
    statuses = torque.parse_statuses(Result(0, xml, ""), ids, torque.TORQUE)
    assert list(statuses.values()) == [D, R, W, D, D]
    records = torque.parse_qstat_xml(xml)
    assert [torque.exit_code_for(records[j].get("exit_status")) for j in ids] \
        == [5, None, None, None, None]  # 271: killed at walltime; -1: no start


def test_torque_short_ids_match_full_server_names() -> None:
    xml = (FIXTURES / "qstat_x_torque6.xml").read_text()
    assert torque.parse_statuses(Result(0, xml, ""), ["1235.head"],
                                 torque.TORQUE) == {"1235.head": R}


def test_torque_unknown_ids_are_done() -> None:
    xml = (FIXTURES / "qstat_x_torque6.xml").read_text()
    err = "qstat: Unknown Job Id Error 99.head.example.org\n"
    found = torque.parse_statuses(
        Result(153, xml, err), ["1234.head.example.org", "99.head.example.org"],
        torque.TORQUE)
    assert found == {"1234.head.example.org": D, "99.head.example.org": D}
    assert torque.parse_statuses(Result(153, "", err), ["99.head"],
                                 torque.TORQUE) == {"99.head": D}


def test_torque_exit_codes_from_xml() -> None:
    xml = (FIXTURES / "qstat_x_torque6.xml").read_text()
    out = f"cerulean-qstat\n{xml}\ncerulean-qstat-rc 0\n"
    ids = ["1234.head.example.org", "1235.head.example.org"]
    found = torque.parse_exit_codes(Result(0, out, ""), ids, torque.TORQUE)
    assert found.codes == {ids[0]: 5, ids[1]: None}
    assert found.final == {ids[0]: 5}


def test_torque_qstat_f_text() -> None:
    records = torque.parse_qstat_full(fixture("qstat_f_torque6.txt"))
    first = records["1234.head.example.org"]
    assert first["job_state"] == "C" and first["exit_status"] == "5"
    assert first["Variable_List"].endswith("PBS_O_WORKDIR=/home/alice")
    assert "PBS_O_LOGNAME=alice" in first["Variable_List"]
    assert records["1235.head.example.org"]["Job_Name"] == "running job"


def test_hostile_xml_is_refused() -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">'
            '<!ENTITY b "&a;&a;&a;&a;">]><Data>&b;</Data>')
    with pytest.raises(SchedulerError, match="Cannot parse qstat XML"):
        torque.parse_qstat_xml(bomb)


@pytest.mark.parametrize(("value", "code"), [
    ("0", 0), ("5", 5), ("255", 255), ("271", None), ("-11", None), (None, None)])
def test_torque_exit_status_mapping(value: str | None, code: int | None) -> None:
    assert torque.exit_code_for(value) == code


def test_torque_flavor_detection_output() -> None:
    assert torque.parse_flavor("slurm-wrapper\n") == torque.WRAPPER
    assert torque.parse_flavor("torque\n") == torque.TORQUE
    with pytest.raises(SchedulerError):
        torque.parse_flavor("")


# --- DirectGnu ps output -----------------------------------------------------

PS = (
    "  101 Ss   bash -c # cerulean-job: job shell written by cerulean ... cerulean-job\n"
    "  102 Zs   [bash] <defunct>\n"
    "  103 S    /usr/sbin/sshd -D\n"
)


def test_directgnu_statuses_from_ps() -> None:
    assert dg.parse_statuses(PS, ["101", "102", "103", "105"]) == {
        "101": R,  # our live job shell
        "102": D,  # a zombie: finished, not yet reaped
        "103": D,  # someone else's process has the pid now
        "105": D,  # gone
    }


def test_directgnu_exit_codes() -> None:
    out = "cerulean-active 101\ncerulean-exit 104 0\ncerulean-exit 106 none\n"
    found = dg.parse_exit_codes(out, ["101", "104", "105", "106"])
    assert found.codes == {"101": None, "104": 0, "105": None, "106": None}
    assert set(found.final) == {"104", "105", "106"}


def test_exit_files_are_read_but_not_removed(tmp_path: Path) -> None:
    """Run the generated shell for real: a file beside a job that is still
    queued or running is a leftover of an older job with the same id, and
    is not read; the others are read, and stay for the next reader."""
    jobs = tmp_path / ".cerulean" / "jobs"
    jobs.mkdir(parents=True)
    for job_id, code in (("1", "3"), ("2", "99"), ("3", "4")):
        (jobs / f"slurm-{job_id}.exit").write_text(code + "\n")
    from cerulean import _script
    code = _script.read_exit_files("slurm", ["1", "2", "3", "4"], "echo 2")
    out = subprocess.run(["sh", "-c", code + '; echo "rest=$rest"'],
                         env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["cerulean-exit 1 3", "cerulean-active 2",
                                "cerulean-exit 3 4", "rest= 4"]
    # Reading removes nothing: the next reader gets the same answer.
    assert {p.name: p.read_text() for p in jobs.iterdir()} == {
        "slurm-1.exit": "3\n", "slurm-2.exit": "99\n", "slurm-3.exit": "4\n"}
    again = subprocess.run(["sh", "-c", code], env={"HOME": str(tmp_path),
                                                    "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True, check=True).stdout
    assert again == out.replace("rest= 4\n", "")
    found = slurm.parse_exit_codes(out.replace("rest= 4\n", ""), ["1", "2", "3"])
    assert found.codes == {"1": 3, "2": None, "3": 4}
    assert "2" not in found.final
