"""Schedulers: the interface, and the one base that runs their commands.

:class:`Scheduler` is the interface of the Cerulean document, plus a way to
ask about many jobs at once (:meth:`Scheduler.get_statuses`,
:meth:`Scheduler.get_exit_codes`, :meth:`Scheduler.wait_all`).

:class:`CommandScheduler` implements it once for every scheduler that is
driven by shell commands through a :class:`Terminal`: it puts the prefix in
front of each command, runs it, and checks the result. The concrete
schedulers only supply pure parts: which command to run for an operation,
and how to read its output.
"""
from __future__ import annotations

import logging
import re
import shlex
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cerulean import _script
from cerulean.job_description import JobDescription
from cerulean.job_status import JobStatus
from cerulean.terminal import Terminal

logger = logging.getLogger(__name__)

_MAX_AUTO_INTERVAL = 30.0


class SchedulerError(RuntimeError):
    """A scheduler command failed, or answered something we cannot read.

    It is a RuntimeError, which is what Cerulean 1.0 raised in these cases.
    """


class Scheduler(ABC):
    """Interface for job schedulers.

    To run jobs using a scheduler, you will want to use
    :class:`SlurmScheduler` or :class:`TorqueScheduler`, or
    :class:`DirectGnuScheduler` to run them directly.

    Beyond the Cerulean 1.0 interface, schedulers can report on many jobs
    at once: :meth:`get_statuses` and :meth:`get_exit_codes` take a list of
    job ids and use one scheduler command for all of them, and
    :meth:`wait_all` waits for a list of jobs with one command per check.
    """

    @abstractmethod
    def submit(self, job_description: JobDescription) -> str:
        """Submit a job for execution.

        :param job_description: A description of the job to run.
        :returns: A job id that can be used to keep track of it.
        """

    @abstractmethod
    def get_status(self, job_id: str) -> JobStatus:
        """Look up the status of a job.

        This method is used to check if a job is still in the queue,
        running, or done.

        :param job_id: A job id string obtained from :meth:`submit`.
        :returns: The status of the job as a :class:`JobStatus`.
        """

    @abstractmethod
    def get_exit_code(self, job_id: str) -> int | None:
        """Get the exit code of a finished job.

        Once a job is done, its exit code may be requested using this
        method. If the job is still running or failed to start, then there
        is no exit code, and None will be returned.

        :param job_id: A job id string obtained from :meth:`submit`.
        :returns: The exit code, or None if there is none.
        """

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """Cancel a running job.

        Submits a cancellation request for a job to the scheduler.

        :param job_id: Id of the job to be cancelled.
        """

    def get_statuses(self, job_ids: Iterable[str]) -> dict[str, JobStatus]:
        """Look up the status of many jobs.

        Schedulers in this package answer with a single scheduler command
        for all jobs together; this default asks one job at a time.

        :param job_ids: Job id strings obtained from :meth:`submit`.
        :returns: The status of each job, by job id.
        """
        return {job_id: self.get_status(job_id) for job_id in job_ids}

    def get_exit_codes(self, job_ids: Iterable[str]
                       ) -> dict[str, int | None]:
        """Get the exit codes of many jobs.

        Schedulers in this package answer with a single command for all
        jobs together; this default asks one job at a time.

        :param job_ids: Job id strings obtained from :meth:`submit`.
        :returns: The exit code of each job (None if there is none), by job
            id.
        """
        return {job_id: self.get_exit_code(job_id) for job_id in job_ids}

    def wait(self, job_id: str, time_out: float = -1.0,
             interval: float | None = None) -> int | None:
        """Wait until the job is done.

        Will wait approximately time_out seconds for the job to finish.
        Returns the exit code if the job finished, otherwise None.

        The state of the job will be checked every ``interval`` seconds. If
        ``interval`` is None, or not specified, then the interval will be
        1s, or time_out / 50, whichever is larger. If time_out is not given,
        the interval will start at 1s, then increase gradually to about 30s.

        :param job_id: The job to wait for.
        :param time_out: Time to wait in seconds. If negative, wait forever.
        :param interval: Time to wait between checks. See above.
        :returns: The exit code of the job.
        :raises ValueError: If interval is not positive.
        """
        finished = self.wait_all([job_id], time_out, interval)
        return finished.get(job_id)

    def wait_all(self, job_ids: Iterable[str], time_out: float = -1.0,
                 interval: float | None = None
                 ) -> dict[str, int | None]:
        """Wait until all the given jobs are done.

        Like :meth:`wait`, with the same time_out and interval rules, but
        for many jobs: each check is one :meth:`get_statuses` call for the
        jobs not yet done, and the exit codes are fetched with one
        :meth:`get_exit_codes` call at the end.

        :param job_ids: The jobs to wait for.
        :param time_out: Time to wait in seconds. If negative, wait forever.
        :param interval: Time to wait between checks. See :meth:`wait`.
        :returns: The exit code (or None if there is none) of each job that
            finished, by job id. Jobs still queued or running when the time
            ran out are left out.
        :raises ValueError: If interval is not positive.
        """
        pending = list(dict.fromkeys(job_ids))
        if interval is not None and not interval > 0:
            raise ValueError(f"interval must be positive, not {interval!r}")
        growing = interval is None and time_out < 0.0
        step = interval if interval is not None else max(1.0, time_out / 50.0)
        deadline = None if time_out < 0.0 else time.monotonic() + time_out
        done: list[str] = []
        while pending:
            checked_at = time.monotonic()
            statuses = self.get_statuses(pending)
            done += [j for j in pending if statuses[j] == JobStatus.DONE]
            pending = [j for j in pending if statuses[j] != JobStatus.DONE]
            if not pending:
                break
            # A check starts every `step` seconds, however long one takes.
            wake = checked_at + step
            if deadline is not None:
                if time.monotonic() >= deadline:
                    break
                wake = min(wake, deadline)
            time.sleep(max(0.0, wake - time.monotonic()))
            if growing:
                step = min(step + 2.0, _MAX_AUTO_INTERVAL)
        if not done:
            return {}
        return self.get_exit_codes(done)


@dataclass(frozen=True)
class Command:
    """A shell command for the terminal to run, before the prefix.

    :param command: The command, put after the scheduler's prefix.
    :param args: Arguments, each quoted for the shell when the command is
        run (:func:`cerulean._script.shell_words`), except
        :class:`~cerulean._script.Raw` ones.
    :param stdin: Data for standard input, if any.
    :param workdir: Directory to run in, if any.
    """

    command: str
    args: Sequence[_script.Word] = ()
    stdin: str | None = None
    workdir: str | None = None


@dataclass(frozen=True)
class Result:
    """What a command returned.

    :param exit_code: The exit code.
    :param stdout: Standard output.
    :param stderr: Standard error.
    """

    exit_code: int
    stdout: str
    stderr: str


class CommandScheduler(Scheduler):
    """A scheduler driven by shell commands run through a Terminal.

    This is the one place where scheduler commands are run: subclasses
    only build commands and parse their output. Every command is run as
    ``prefix + command``, so that something like ``'module load slurm;'``
    can make the scheduler's commands available. This is a plain string
    concatenation, so the prefix needs its own semicolon (or ``&&``) to
    separate it from the command.

    Exit codes, once read, are kept in this object, so asking again gives
    the same answer even where the scheduler has forgotten the job. The
    job scripts' own records in ``~/.cerulean/jobs/`` are not removed when
    read: other scheduler objects and processes (one started after a
    restart) get the same answer for
    :data:`~cerulean._script.KEEP_DAYS` (14) days, after which the next
    submission removes them.

    :param terminal: The terminal to run commands on.
    :param prefix: A string to prefix every command with.
    """

    command_timeout = 60.0
    """Seconds to wait for one scheduler command before giving up."""

    _queue_kind: str | None = None
    """Name in the exit files of a scheduler whose jobs may wait in a queue."""

    def __init__(self, terminal: Terminal, prefix: str = "") -> None:
        """Create a scheduler that runs its commands through ``terminal``."""
        self._terminal = terminal
        self._prefix = prefix
        self._exit_codes: dict[str, int | None] = {}
        self._lock = threading.Lock()

    @property
    def _prefix(self) -> str:
        """The prefix, kept where Cerulean 1.0 kept it.

        1.0 stored it in a private attribute, ``_SlurmScheduler__prefix``
        and so on, and code (its own test suite among it) sets that to
        change the prefix of an existing scheduler. So it lives under that
        name here too: ``_<class name>__prefix``, read for the object's own
        class first, then its base classes, and read afresh for every
        command.
        """
        for cls in type(self).__mro__:
            value = self.__dict__.get(f"_{cls.__name__}__prefix")
            if value is not None:
                return str(value)
        return ""

    @_prefix.setter
    def _prefix(self, prefix: str) -> None:
        self.__dict__[f"_{type(self).__name__}__prefix"] = prefix

    # --- the Scheduler interface, written once ---------------------------

    def submit(self, job_description: JobDescription) -> str:
        """Submit a job for execution.

        The submission command is run exactly once: if the connection drops
        or the command times out, the error is raised rather than the
        command repeated, since the job may already be in the queue.

        :param job_description: A description of the job to run.
        :returns: A job id that can be used to keep track of it.
        :raises ValueError: If the description cannot be turned into a safe
            job (for example a value with a line break).
        :raises SchedulerError: If the scheduler refused the job.
        """
        command = self._submit_command(job_description)
        result = self._run(command, "submit the job", submission=True)
        job_id = self._parse_submit(result.stdout)
        if self._queue_kind is not None:
            self._forget_stale_exit_files(self._queue_kind, job_id)
        return job_id

    def _forget_stale_exit_files(self, kind: str, job_id: str) -> None:
        """Remove an exit file an older job with this id left, and old ones.

        Job ids come round again (a scheduler whose state was reset starts
        counting anew). A job script removes such a leftover when it starts,
        but a job cancelled while it waits never starts, and the leftover
        would then answer for it. A file older than a minute, right after
        submission, cannot be this job's; a younger one is left alone, so a
        quick job's own record is never lost. The same command removes the
        records of all jobs that are older than
        :data:`~cerulean._script.KEEP_DAYS` days, since reading them does
        not (schedulers without a queue do so when they launch a job).
        """
        name = shlex.quote(_script.exit_file_name(kind, job_id))
        result = self._run(
            Command("sh", ["-c", (
                f"find {_script.JOBS_DIR} -maxdepth 1 -type f"
                f" \\( -name {name} -mmin +1 -o {_script.old_records()} \\)"
                " -delete")]),
            "remove stale exit files", check=False)
        if result.exit_code != 0 and "No such file" not in result.stderr:
            logger.warning("Could not check for stale exit files after job %s:"
                           " %s", job_id, _output(result))

    def get_status(self, job_id: str) -> JobStatus:
        """Look up the status of a job.

        This method is used to check if a job is still in the queue,
        running, or done.

        :param job_id: A job id string obtained from :meth:`submit`.
        :returns: The status of the job as a :class:`JobStatus`.
        :raises SchedulerError: If the scheduler's answer cannot be read.
        """
        return self.get_statuses([job_id])[job_id]

    def get_statuses(self, job_ids: Iterable[str]) -> dict[str, JobStatus]:
        """Look up the status of many jobs with one scheduler command.

        :param job_ids: Job id strings obtained from :meth:`submit`.
        :returns: The status of each job, by job id.
        :raises ValueError: If a job id is malformed.
        :raises SchedulerError: If the scheduler's answer cannot be read.
        """
        ids = self._checked_ids(job_ids)
        if not ids:
            return {}
        result = self._run(self._status_command(ids), "get job statuses",
                           check=False)
        return self._parse_statuses(result, ids)

    def get_exit_code(self, job_id: str) -> int | None:
        """Get the exit code of a finished job.

        Once a job is done, its exit code may be requested using this
        method. If the job is still running or failed to start, then there
        is no exit code, and None will be returned. A job that the
        scheduler ended before its command finished (cancelled, out of
        time, lost with its node) has no exit code either.

        :param job_id: A job id string obtained from :meth:`submit`.
        :returns: The exit code, or None if there is none.
        :raises SchedulerError: If the scheduler's answer cannot be read.
        """
        return self.get_exit_codes([job_id])[job_id]

    def get_exit_codes(self, job_ids: Iterable[str]
                       ) -> dict[str, int | None]:
        """Get the exit codes of many jobs with one command.

        :param job_ids: Job id strings obtained from :meth:`submit`.
        :returns: The exit code of each job (None if it has none, or is not
            done yet), by job id.
        :raises ValueError: If a job id is malformed.
        :raises SchedulerError: If the scheduler's answer cannot be read.
        """
        ids = self._checked_ids(job_ids)
        with self._lock:
            known = {j: self._exit_codes[j] for j in ids if j in self._exit_codes}
        unknown = [j for j in ids if j not in known]
        if unknown:
            result = self._run(self._exit_code_command(unknown),
                               "get exit codes", check=False)
            found = self._parse_exit_codes(result, unknown)
            with self._lock:
                self._exit_codes.update(found.final)
            known.update(found.codes)
        return {j: known.get(j) for j in ids}

    def cancel(self, job_id: str) -> None:
        """Cancel a running job.

        Submits a cancellation request for a job to the scheduler.
        Cancelling a job that has already finished is not an error.

        :param job_id: Id of the job to be cancelled.
        :raises ValueError: If the job id is malformed.
        :raises SchedulerError: If the scheduler refused.
        """
        ids = self._checked_ids([job_id])
        result = self._run(self._cancel_command(ids[0]), "cancel the job",
                           check=False)
        self._check_cancel(result, ids[0])

    # --- running commands ---------------------------------------------------

    def _run(self, command: Command, purpose: str, *, check: bool = True,
             submission: bool = False) -> Result:
        """Run a command with the prefix; raise if it timed out (or failed).

        :param command: What to run.
        :param purpose: What for, for error messages.
        :param check: Raise SchedulerError on a non-zero exit code.
        :param submission: Whether this command submits a job, which must
            never be repeated blindly.
        """
        line = command.command
        if command.args:
            line += " " + _script.shell_words(command.args)
        if command.workdir is not None:
            # Change directory inside the prefixed command rather than
            # before it: with a prefix like 'module load slurm;', a `cd ... &&`
            # in front would guard only the prefix, and the command would
            # run in the wrong directory if the cd failed.
            line = "sh -c " + shlex.quote(_script.enter_workdir(command.workdir) + line)
        line = self._prefix + line
        logger.debug("Running %s", line)
        exit_code, stdout, stderr = self._terminal.run(
            self.command_timeout, line, [], command.stdin)
        if exit_code is None:
            hint = (" The job may or may not have been submitted; check the"
                    " queue before submitting it again." if submission else "")
            raise SchedulerError(
                f"Could not {purpose}: `{_brief(line)}` did not finish within"
                f" {self.command_timeout} s.{hint}")
        result = Result(exit_code, stdout, stderr)
        if command.workdir is not None and exit_code != 0:
            reason = _script.workdir_failure(stderr)
            if reason is not None:
                # The command never ran; the long command line would only
                # hide the reason, so the message starts with it.
                raise SchedulerError(
                    f"Working directory {command.workdir!r} {reason}:"
                    f" could not {purpose}")
        if check and exit_code != 0:
            raise SchedulerError(
                f"Could not {purpose}: `{_brief(line)}` exited with {exit_code}:"
                f" {_output(result)}")
        return result

    def _checked_ids(self, job_ids: Iterable[str]) -> list[str]:
        ids = list(dict.fromkeys(job_ids))
        for job_id in ids:
            self._check_job_id(job_id)
        return ids

    # --- pure parts, supplied by each scheduler ------------------------------

    _job_id_pattern: re.Pattern[str]
    """What this scheduler's job ids look like (matched from the start)."""

    _job_id_what = "a job id"
    """What a job id is, for the error message: ``'a Slurm job id'``."""

    def _check_job_id(self, job_id: str) -> None:
        """Raise ValueError unless ``job_id`` looks like one of ours.

        Job ids go into shell commands, so only those matching
        :attr:`_job_id_pattern` are let through.
        """
        if not isinstance(job_id, str) or not self._job_id_pattern.match(job_id):
            raise ValueError(f"{job_id!r} is not {self._job_id_what}")

    @abstractmethod
    def _submit_command(self, job_description: JobDescription) -> Command:
        """The command that submits the described job."""

    @abstractmethod
    def _parse_submit(self, stdout: str) -> str:
        """The job id from what the submission command printed.

        Only its output counts: a failed submission has been refused by
        :meth:`_run` already.
        """

    @abstractmethod
    def _status_command(self, job_ids: Sequence[str]) -> Command:
        """One command reporting on all the given jobs."""

    @abstractmethod
    def _parse_statuses(self, result: Result, job_ids: Sequence[str]
                        ) -> dict[str, JobStatus]:
        """The status of every job in ``job_ids`` from the command's output."""

    def _exit_code_command(self, job_ids: Sequence[str]) -> Command:
        """One command reading the exit codes of all the given jobs.

        Every scheduler's job scripts leave exit files, which only shell
        code can read (:func:`cerulean._script.read_exit_files`), so the
        command is always ``sh -c`` with :meth:`_exit_code_script`.
        """
        return Command("sh", ["-c", self._exit_code_script(job_ids)])

    def _exit_code_script(self, job_ids: Sequence[str]) -> str:
        """Shell code printing the exit codes of all the given jobs.

        Not abstract: a subclass written before this hook existed overrides
        :meth:`_exit_code_command` instead, and stays instantiable.
        """
        raise NotImplementedError(
            f"{type(self).__name__} gives no exit code script")

    @abstractmethod
    def _parse_exit_codes(self, result: Result, job_ids: Sequence[str]
                          ) -> ExitCodes:
        """The exit codes from the command's output."""

    @abstractmethod
    def _cancel_command(self, job_id: str) -> Command:
        """The command that cancels the job."""

    _ended_job_messages: tuple[str, ...] = ()
    """What the cancel command says, failing, about a job that has already
    ended or been forgotten: not an error for :meth:`cancel`, since the job
    is not running either way."""

    def _check_cancel(self, result: Result, job_id: str) -> None:
        """Raise SchedulerError if the cancel command failed for a live job."""
        text = result.stdout + result.stderr
        if result.exit_code != 0 and not any(
                message in text for message in self._ended_job_messages):
            raise SchedulerError(
                f"Could not cancel job {job_id}: {_output(result)}")


@dataclass
class ExitCodes:
    """Exit codes read for some jobs.

    :param codes: Exit code (or None) of every job asked about.
    :param final: The subset that will not change any more (the job is
        done), which the scheduler object remembers.
    """

    codes: dict[str, int | None]
    final: dict[str, int | None]


def recorded_exits(stdout: str) -> tuple[dict[str, int | None], set[str]]:
    """What the exit-file part of an exit code query printed.

    The shell code of :func:`cerulean._script.read_exit_files` prints the
    recorded exit codes of finished jobs and the ids of jobs still active.

    :param stdout: Output of the query.
    :returns: Job id to recorded exit code (None where the job recorded
        none), and the ids of jobs that are still queued or running.
    :raises SchedulerError: If an exit file holds something else.
    """
    try:
        recorded = _script.parse_exit_files(stdout)
    except ValueError as e:
        raise SchedulerError(str(e)) from None
    return recorded, _script.parse_active(stdout)


def last_line_job_id(stdout: str, separator: str, pattern: re.Pattern[str],
                     command: str) -> str:
    """The job id on the last line a submission command printed.

    For ``sbatch --parsable`` (``id;cluster``) and ``qsub -terse``
    (``id.tasks``): the id is what comes before ``separator``.

    :param stdout: The command's standard output.
    :param separator: What ends the id on that line.
    :param pattern: What a job id looks like.
    :param command: The command's name, for the error message.
    :returns: The job id.
    :raises SchedulerError: If there is no job id in it.
    """
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    job_id = lines[-1].split(separator)[0] if lines else ""
    if not pattern.match(job_id):
        raise SchedulerError(f"{command} printed no job id: {stdout!r}")
    return job_id


def _brief(line: str) -> str:
    return line if len(line) <= 200 else line[:200] + "..."


def _output(result: Result) -> str:
    text = (result.stderr.strip() + "\n" + result.stdout.strip()).strip()
    return text or "(no output)"
