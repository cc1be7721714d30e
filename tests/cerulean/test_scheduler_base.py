"""The scheduler base: wait's interval rules, the prefix, one command for
many jobs, and submissions that are never repeated.

No servers: a scripted terminal stands in for the machine, which is enough
for logic that only decides *which* commands to run and when. The same
behaviour is checked against the real servers in test_schedulers_real.py.
"""
from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cerulean
from cerulean import scheduler as base
from cerulean.job_status import JobStatus

W, R, D = JobStatus.WAITING, JobStatus.RUNNING, JobStatus.DONE


class ScriptedTerminal(cerulean.Terminal):
    """Answers each command with ``answer(line)``; records every call."""

    def __init__(self, answer: Callable[[str], tuple[int | None, str, str]]
                 ) -> None:
        self.answer = answer
        self.calls: list[tuple[str, str | None, str | None]] = []

    def run(self, timeout: float, command: str | Path, args: list[str],
            stdin_data: str | None = None,
            workdir: str | Path | None = None
            ) -> tuple[int | None, str, str]:
        line = " ".join([str(command), *args])
        self.calls.append((line, stdin_data, None if workdir is None else str(workdir)))
        return self.answer(line)


class FakeClock:
    """time.monotonic and time.sleep that only move when slept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


class Countdown(base.Scheduler):
    """A job j that is done after ``polls`` status checks."""

    def __init__(self, polls: dict[str, float]) -> None:
        self.polls = dict(polls)
        self.status_calls: list[list[str]] = []
        self.exit_calls: list[list[str]] = []

    def submit(self, job_description: cerulean.JobDescription) -> str:
        raise NotImplementedError

    def get_status(self, job_id: str) -> JobStatus:
        return self.get_statuses([job_id])[job_id]

    def get_statuses(self, job_ids: Any) -> dict[str, JobStatus]:
        ids = list(job_ids)
        self.status_calls.append(ids)
        out = {}
        for j in ids:
            self.polls[j] -= 1
            out[j] = D if self.polls[j] < 0 else R
        return out

    def get_exit_code(self, job_id: str) -> int | None:
        return self.get_exit_codes([job_id])[job_id]

    def get_exit_codes(self, job_ids: Any) -> dict[str, int | None]:
        ids = list(job_ids)
        self.exit_calls.append(ids)
        return {j: int(j[1:]) for j in ids}

    def cancel(self, job_id: str) -> None:
        raise NotImplementedError


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(base.time, "monotonic", fake.monotonic)
    monkeypatch.setattr(base.time, "sleep", fake.sleep)
    return fake


# --- wait's interval rules (from the Cerulean document) ---------------------

def test_without_time_out_the_interval_grows_from_1_to_about_30(
        clock: FakeClock) -> None:
    sched = Countdown({"j3": 20})
    assert sched.wait("j3") == 3
    assert clock.sleeps[:4] == [1.0, 3.0, 5.0, 7.0]
    assert max(clock.sleeps) == 30.0 and clock.sleeps[-1] == 30.0


@pytest.mark.parametrize(("time_out", "interval"), [(10.0, 1.0), (100.0, 2.0),
                                                    (500.0, 10.0)])
def test_with_time_out_the_interval_is_1s_or_a_fiftieth(
        clock: FakeClock, time_out: float, interval: float) -> None:
    Countdown({"j0": 3}).wait("j0", time_out)
    assert clock.sleeps == [interval] * 3


def test_a_given_interval_is_used(clock: FakeClock) -> None:
    Countdown({"j0": 3}).wait("j0", interval=0.25)
    assert clock.sleeps == [0.25] * 3


def test_checks_start_every_interval_however_long_one_takes(
        clock: FakeClock) -> None:
    class SlowCountdown(Countdown):
        def get_statuses(self, job_ids: Any) -> dict[str, JobStatus]:
            clock.now += 0.3  # a slow qstat
            return super().get_statuses(job_ids)

    sched = SlowCountdown({"j0": 1000})
    assert sched.wait("j0", time_out=2.0, interval=0.5) is None
    assert clock.sleeps == [0.2] * 4
    assert len(sched.status_calls) == 5  # at 0, 0.5, 1.0, 1.5 and 2.0


def test_time_out_returns_none_on_time(clock: FakeClock) -> None:
    sched = Countdown({"j0": 1000})
    assert sched.wait("j0", time_out=2.5, interval=1.0) is None
    assert clock.now == 2.5 and clock.sleeps == [1.0, 1.0, 0.5]
    assert sched.exit_calls == []  # nothing finished, nothing to ask


def test_a_finished_job_costs_one_check(clock: FakeClock) -> None:
    sched = Countdown({"j7": 0})
    assert sched.wait("j7", 10) == 7
    assert clock.sleeps == [] and len(sched.status_calls) == 1


@pytest.mark.parametrize("interval", [0, -1.0])
def test_interval_must_be_positive(interval: float) -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        Countdown({"j0": 0}).wait("j0", interval=interval)


def test_wait_all_asks_about_pending_jobs_only_and_once_per_check(
        clock: FakeClock) -> None:
    sched = Countdown({"j1": 0, "j2": 1, "j3": 2})
    assert sched.wait_all(["j1", "j2", "j3"], interval=1.0) == {
        "j1": 1, "j2": 2, "j3": 3}
    assert sched.status_calls == [["j1", "j2", "j3"], ["j2", "j3"], ["j3"]]
    assert sched.exit_calls == [["j1", "j2", "j3"]]


def test_wait_all_leaves_out_unfinished_jobs(clock: FakeClock) -> None:
    sched = Countdown({"j1": 0, "j2": 100})
    assert sched.wait_all(["j1", "j2"], time_out=3) == {"j1": 1}


# --- the prefix, and one command for many jobs ------------------------------

def slurm_answers(line: str) -> tuple[int | None, str, str]:
    if "scontrol" in line:  # the exit-code query
        return 0, "cerulean-exit 43 0\ncerulean-exit 44 9\n", ""
    if "sbatch" in line:
        return 0, "42\n", ""
    if "squeue" in line:
        return 0, "42|RUNNING\n43|COMPLETED\n", ""
    if "scancel" in line:
        return 0, "", ""
    return 0, "cerulean-exit 43 0\ncerulean-exit 44 9\n", ""


def torque_answers(line: str) -> tuple[int | None, str, str]:
    if "command -v qsub" in line:
        return 0, "slurm-wrapper\n", ""
    if "qsub" in line:
        return 0, "42\n", ""
    if "qstat" in line and "cerulean-exit" not in line:
        return 0, "Job Id:\t42\n\tjob_state = R\n", ""
    if "qdel" in line:
        return 0, "", ""
    return 0, ("cerulean-exit 43 0\ncerulean-exit 44 9\ncerulean-qstat\n"
               "cerulean-qstat-rc 153\n"), ""


def directgnu_answers(line: str) -> tuple[int | None, str, str]:
    if "setsid" in line:
        return 0, "42\n", ""
    return 0, "cerulean-exit 43 0\ncerulean-exit 44 9\n", ""


ANSWERS = {"slurm": slurm_answers, "torque": torque_answers,
           "directgnu": directgnu_answers}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_every_command_starts_with_the_prefix(name: str) -> None:
    term = ScriptedTerminal(ANSWERS[name])
    sched = cerulean.make_scheduler(name, term, "module load x; ")
    jd = cerulean.JobDescription()
    jd.command = "true"
    job_id = sched.submit(jd)
    sched.get_status(job_id)
    sched.get_statuses(["43", "44"])
    sched.get_exit_codes(["43", "44"])
    sched.cancel(job_id)
    assert len(term.calls) >= 5
    for line, _, _ in term.calls:
        assert line.startswith("module load x; "), line


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_many_jobs_take_one_command(name: str) -> None:
    term = ScriptedTerminal(ANSWERS[name])
    sched = cerulean.make_scheduler(name, term)
    if isinstance(sched, cerulean.TorqueScheduler):
        assert sched.flavor == "slurm-wrapper"
    ids = [str(n) for n in range(1000, 1100)]
    before = len(term.calls)
    assert len(sched.get_statuses(ids)) == 100
    assert len(sched.get_exit_codes(ids)) == 100
    assert len(term.calls) - before == 2
    assert all(job_id in term.calls[-1][0] for job_id in ids)


def test_exit_codes_read_once_are_remembered() -> None:
    term = ScriptedTerminal(slurm_answers)
    sched = cerulean.SlurmScheduler(term)
    assert sched.get_exit_codes(["43", "44"]) == {"43": 0, "44": 9}
    calls = len(term.calls)
    # The files are gone now; the answer must not change.
    assert sched.get_exit_code("44") == 9 and len(term.calls) == calls


@pytest.mark.parametrize("name", sorted(ANSWERS))
@pytest.mark.parametrize("bad", ["1; rm -rf ~", "$(id)", "", "12 13", "-1"])
def test_malformed_job_ids_are_refused(name: str, bad: str) -> None:
    term = ScriptedTerminal(ANSWERS[name])
    sched = cerulean.make_scheduler(name, term)
    with pytest.raises(ValueError, match="job id"):
        sched.get_status(bad)
    with pytest.raises(ValueError, match="job id"):
        sched.cancel(bad)
    assert [c for c in term.calls if "qsub" not in c[0]] == []


# --- submissions are never repeated -----------------------------------------

@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_a_dropped_connection_during_submit_is_raised_not_retried(
        name: str) -> None:
    def drop(line: str) -> tuple[int | None, str, str]:
        if "command -v qsub" in line:
            return 0, "slurm-wrapper\n", ""
        raise ConnectionError(f"connection lost while running {line!r}")

    term = ScriptedTerminal(drop)
    sched = cerulean.make_scheduler(name, term)
    jd = cerulean.JobDescription()
    jd.command = "true"
    with pytest.raises(ConnectionError):
        sched.submit(jd)
    assert len([c for c in term.calls if "command -v" not in c[0]]) == 1


def test_a_submission_that_timed_out_says_it_may_have_happened() -> None:
    sched = cerulean.SlurmScheduler(ScriptedTerminal(lambda line: (None, "", "")))
    jd = cerulean.JobDescription()
    jd.command = "true"
    with pytest.raises(base.SchedulerError, match="may or may not have been"):
        sched.submit(jd)


def test_a_refused_submission_quotes_the_scheduler() -> None:
    err = "sbatch: error: Batch job submission failed: Invalid partition name specified\n"
    sched = cerulean.SlurmScheduler(ScriptedTerminal(lambda line: (1, "", err)))
    jd = cerulean.JobDescription()
    jd.command = "true"
    with pytest.raises(base.SchedulerError, match="Invalid partition name"):
        sched.submit(jd)


def test_the_job_script_goes_to_sbatch_on_stdin_in_the_working_directory() -> None:
    term = ScriptedTerminal(slurm_answers)
    jd = cerulean.JobDescription()
    jd.command = "true"
    jd.working_directory = "/scratch/a dir"
    cerulean.SlurmScheduler(term, "module load slurm; ").submit(jd)
    line, stdin, workdir = term.calls[0]
    assert stdin is not None and stdin.startswith("#!/bin/bash\n")
    # The prefix comes first; the cd guards sbatch itself.
    assert line.startswith("module load slurm; sh -c ")
    inner = shlex.split(line[len("module load slurm; "):])[2]
    assert inner.startswith("cd -- '/scratch/a dir' 2>/dev/null || {")
    assert "; exec sbatch --parsable" in inner
    assert workdir is None


def test_scheduler_error_is_a_runtime_error() -> None:
    # Cerulean 1.0 raised RuntimeError; code catching that keeps working.
    assert issubclass(base.SchedulerError, RuntimeError)
