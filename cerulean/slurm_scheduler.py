"""Slurm: the sbatch command line, the job script, and squeue/scontrol/sacct parsers.

Only pure parts live here; :class:`CommandScheduler` runs the commands.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from cerulean import _script
from cerulean._script import Raw, Word
from cerulean.job_description import JobDescription
from cerulean.job_status import JobStatus
from cerulean.scheduler import (
    Command,
    CommandScheduler,
    ExitCodes,
    Result,
    SchedulerError,
    last_line_job_id,
    recorded_exits,
)

# Every state squeue, scontrol and sacct can show (Slurm 22.05 and later,
# see `man squeue`, JOB STATE CODES).
STATES: dict[str, JobStatus] = {
    "PENDING": JobStatus.WAITING,
    # Resources allocated, nodes still booting: the command has not started.
    "CONFIGURING": JobStatus.WAITING,
    "REQUEUED": JobStatus.WAITING,
    "REQUEUE_FED": JobStatus.WAITING,
    "REQUEUE_HOLD": JobStatus.WAITING,
    "RESV_DEL_HOLD": JobStatus.WAITING,
    # Requeued in a held state by an epilog: it is back in the queue.
    "SPECIAL_EXIT": JobStatus.WAITING,
    "RUNNING": JobStatus.RUNNING,
    "SUSPENDED": JobStatus.RUNNING,
    "STOPPED": JobStatus.RUNNING,
    "SIGNALING": JobStatus.RUNNING,
    "RESIZING": JobStatus.RUNNING,
    # Still finishing (epilog, stage-out): not DONE until the exit code is
    # final.
    "COMPLETING": JobStatus.RUNNING,
    "STAGE_OUT": JobStatus.RUNNING,
    "UPDATE_DB": JobStatus.RUNNING,
    "COMPLETED": JobStatus.DONE,
    "FAILED": JobStatus.DONE,
    "CANCELLED": JobStatus.DONE,
    "TIMEOUT": JobStatus.DONE,
    "OUT_OF_MEMORY": JobStatus.DONE,
    "NODE_FAIL": JobStatus.DONE,
    "PREEMPTED": JobStatus.DONE,
    "BOOT_FAIL": JobStatus.DONE,
    "DEADLINE": JobStatus.DONE,
    "REVOKED": JobStatus.DONE,
}

# Ended by the command itself: the exit code Slurm reports is the command's.
_OWN_END = {"COMPLETED", "FAILED"}

_JOB_ID = re.compile(r"\d+(_\d+)?(\+\d+)?\Z")
_JOB_ID_VAR = "${SLURM_JOB_ID}"
_KIND = "slurm"  # in the names of exit files


def parse_state(text: str) -> JobStatus:
    """Map a Slurm state (``CANCELLED by 1001``, ``COMPLETED``) to a JobStatus.

    :param text: The state as squeue, scontrol or sacct print it.
    :returns: The status.
    :raises SchedulerError: For a state we do not know, quoting it.
    """
    words = text.split()
    name = words[0].rstrip("+") if words else ""
    if name not in STATES:
        raise SchedulerError(f"Unknown Slurm job state {text!r}")
    return STATES[name]


def exit_code_for(state: str, exit_code: str) -> int | None:
    """The exit code of a job from its Slurm state and ``ExitCode``.

    Slurm's ``ExitCode`` is ``status:signal``. A command that ended by
    itself (COMPLETED, FAILED) has its status, or 128 + the signal that
    killed it, as a shell would say. A job the scheduler ended (CANCELLED,
    TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, ...) or that is not done has no exit
    code: None.

    :param state: The job state text.
    :param exit_code: The ``status:signal`` text.
    :returns: The exit code or None.
    :raises SchedulerError: If the state or exit code cannot be read.
    """
    if parse_state(state) != JobStatus.DONE:
        return None
    name = state.split()[0].rstrip("+")
    if name not in _OWN_END:
        return None
    match = re.fullmatch(r"(\d+):(\d+)", exit_code.strip())
    if match is None:
        raise SchedulerError(f"Cannot read Slurm exit code {exit_code!r}")
    status, signal = int(match.group(1)), int(match.group(2))
    return 128 + signal if signal else status


def sbatch_args(jd: JobDescription) -> list[Word]:
    """The sbatch options for a job description.

    :param jd: The job description.
    :returns: Arguments for ``sbatch`` (quoted when run).
    :raises ValueError: For values that cannot be passed safely.
    """
    args: list[Word] = ["--parsable", "--job-name=" + _script.check_line(jd.name, "name")]
    if jd.queue_name is not None:
        args.append("--partition=" + _script.check_line(jd.queue_name, "queue_name"))
    if jd.time_reserved is not None:
        seconds = _script.positive_int(jd.time_reserved, "time_reserved")
        args.append("--time=" + _script.dhms(seconds))
    if jd.num_nodes is not None:
        args.append(f"--nodes={_script.positive_int(jd.num_nodes, 'num_nodes')}")
    if jd.mpi_processes_per_node is not None:
        per_node = _script.positive_int(
            jd.mpi_processes_per_node, "mpi_processes_per_node")
        # As in Cerulean 1.0: allow more MPI processes than cores.
        args += [f"--ntasks-per-node={per_node}", "--overcommit"]
    if jd.system_out_file is not None:
        args.append("--output=" + _script.check_line(jd.system_out_file,
                                                     "system_out_file"))
    if jd.system_err_file is not None:
        args.append("--error=" + _script.check_line(jd.system_err_file,
                                                    "system_err_file"))
    if jd.extra_scheduler_options is not None:
        # Scheduler-specific options, passed as given (the caller quotes).
        args.append(Raw(_script.check_line(jd.extra_scheduler_options,
                                           "extra_scheduler_options")))
    return args


DEFAULT_OUTPUT = Raw('--output="$HOME"/slurm-%j.out')
"""Where the scheduler's own output goes without a ``system_out_file``.

sbatch runs in the working directory, and Slurm's default output file
would land there: in a directory the job cannot write (``/home``), the job
then fails before it starts, even when ``stdout_file`` points elsewhere.
The home directory is where Cerulean 1.0's jobs put that file (1.0 ran
sbatch there). ``$HOME`` is expanded by the remote shell.
"""


def submit_args(jd: JobDescription) -> list[Word]:
    """The sbatch options we submit with: :func:`sbatch_args` plus a default
    output file (:data:`DEFAULT_OUTPUT`) where the job sets none.

    :param jd: The job description.
    :returns: Arguments for ``sbatch`` (quoted when run).
    :raises ValueError: For values that cannot be passed safely.
    """
    args = sbatch_args(jd)
    if jd.system_out_file is None:
        # --error follows --output unless it is given.
        args.append(DEFAULT_OUTPUT)
    return args


def job_script(jd: JobDescription) -> str:
    """The job script given to sbatch on standard input.

    :param jd: The job description.
    :returns: The script.
    """
    return _script.batch_script(jd, _KIND, _JOB_ID_VAR)


def parse_sbatch(stdout: str) -> str:
    """The job id from ``sbatch --parsable`` output (``id`` or ``id;cluster``).

    :param stdout: sbatch's standard output.
    :returns: The job id.
    :raises SchedulerError: If there is no job id in it.
    """
    return last_line_job_id(stdout, ";", _JOB_ID, "sbatch")


def squeue_args(job_ids: Sequence[str]) -> list[str]:
    """squeue options listing the given jobs in every state, one per line.

    :param job_ids: The jobs.
    :returns: Arguments for ``squeue`` (quoted when run).
    """
    return ["--noheader", "--states=all", "--format=%i|%T",
            "--jobs=" + ",".join(job_ids)]


def parse_squeue(result: Result, job_ids: Sequence[str]
                 ) -> dict[str, JobStatus]:
    """Job statuses from :func:`squeue_args` output.

    Jobs squeue does not list have left the controller's memory, so they
    are done. squeue fails outright when it knows none of the ids; that is
    the same answer.

    :param result: What squeue returned.
    :param job_ids: The jobs asked about.
    :returns: The status of every job asked about.
    :raises SchedulerError: If squeue failed otherwise, or printed a state
        we do not know.
    """
    if result.exit_code != 0:
        if "Invalid job id" not in result.stderr:
            raise SchedulerError(
                f"squeue failed: {result.stderr.strip() or result.stdout.strip()}")
        return {job_id: JobStatus.DONE for job_id in job_ids}
    seen: dict[str, JobStatus] = {}
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        job_id, sep, state = line.strip().partition("|")
        if not sep:
            raise SchedulerError(f"Cannot read squeue line {line!r}")
        seen[job_id] = parse_state(state)
    return {job_id: seen.get(job_id, JobStatus.DONE) for job_id in job_ids}


def exit_code_script(job_ids: Sequence[str]) -> str:
    """Shell code reporting the exit codes of the given jobs.

    Jobs squeue still lists as queued or running have no exit code yet.
    For the others, exit files left by our job scripts come first (they
    stay for whoever asks next); then scontrol, which knows the jobs still in the
    controller's memory, and sacct for those that have left it, if the
    cluster keeps accounting.

    :param job_ids: The jobs.
    :returns: POSIX shell code.
    """
    active = ("squeue --noheader --format=%i --jobs="
              + shlex.quote(",".join(job_ids)) + " 2>/dev/null")
    return (
        _script.read_exit_files(_KIND, job_ids, active) + "; "
        'gone=""; for i in $rest; do '
        'scontrol -o show job "$i" 2>/dev/null || gone="$gone,$i"; done; '
        'if [ -n "$gone" ]; then sacct --allocations --noheader --parsable2'
        ' --format=JobIDRaw,State,ExitCode --jobs="${gone#,}" 2>/dev/null;'
        " fi; exit 0")


_SCONTROL_FIELD = re.compile(r"(?:^|\s)(JobId|JobState|ExitCode)=(\S*)")


def parse_scontrol_line(line: str) -> tuple[str, str, str] | None:
    """(job id, state, exit code) from one ``scontrol -o show job`` line.

    :param line: One line of output.
    :returns: The three fields, or None if the line is not a job record.
    """
    fields = dict(_SCONTROL_FIELD.findall(line))
    if "JobId" not in fields or "JobState" not in fields:
        return None
    return fields["JobId"], fields["JobState"], fields.get("ExitCode", "0:0")


def parse_exit_codes(stdout: str, job_ids: Sequence[str]) -> ExitCodes:
    """Exit codes from the output of :func:`exit_code_script`.

    :param stdout: The output.
    :param job_ids: The jobs asked about.
    :returns: Every job's exit code, and those that are final.
    :raises SchedulerError: For output we cannot read.
    """
    final, active = recorded_exits(stdout)
    codes: dict[str, int | None] = dict(final)
    for line in stdout.splitlines():
        if line.startswith(("cerulean-exit ", "cerulean-active ")) \
                or not line.strip():
            continue
        if line.startswith("JobId="):
            record = parse_scontrol_line(line)
            if record is None:
                raise SchedulerError(f"Cannot read scontrol line {line!r}")
        else:
            parts = line.strip().split("|")
            if len(parts) != 3:
                raise SchedulerError(f"Cannot read sacct line {line!r}")
            record = (parts[0], parts[1], parts[2])
        job_id, state, exit_code = record
        if job_id not in job_ids or job_id in final or job_id in active:
            continue
        codes[job_id] = exit_code_for(state, exit_code)
        if parse_state(state) == JobStatus.DONE:
            final[job_id] = codes[job_id]
    return ExitCodes({j: codes.get(j) for j in job_ids}, final)


# --- Cerulean 1.0's module functions -----------------------------------------


def _job_desc_to_job_script(job_description: JobDescription) -> str:
    """A job script with ``#SBATCH`` directives, as Cerulean 1.0 made one.

    For code written against Cerulean 1.0: the same options as we pass on
    the sbatch command line (:func:`sbatch_args`, values quoted, line
    breaks refused), written as directives above our job script.
    :class:`SlurmScheduler` itself passes them on the command line.

    :param job_description: The job description.
    :returns: The job script.
    :raises ValueError: For values that cannot be passed safely.
    """
    jd = _script.with_command(job_description)
    directives = ["#SBATCH " + _directive_word(arg) for arg in sbatch_args(jd)
                  if arg != "--parsable"]
    shebang, _, body = job_script(jd).partition("\n")
    return "\n".join([shebang, *directives, body])


def _directive_word(arg: Word) -> str:
    """An sbatch option as an ``#SBATCH`` line has it: ``--name='value'``."""
    if isinstance(arg, Raw):
        return arg.text
    name, equals, value = arg.partition("=")
    return name + equals + shlex.quote(value) if equals else shlex.quote(arg)


def _seconds_to_time(seconds: int) -> str:
    """Seconds as a Slurm duration, ``DD-HH:MM:SS`` (as Cerulean 1.0).

    :param seconds: The number of seconds to reserve.
    :returns: The duration.
    """
    return _script.dhms(seconds)


class SlurmScheduler(CommandScheduler):
    """Represents a Slurm scheduler.

    Its commands are run through a :class:`Terminal`, each after the
    prefix (``'module load slurm;'`` where that is needed first, see
    :class:`~cerulean.scheduler.CommandScheduler`).

    Jobs are submitted with all options on the sbatch command line, each
    value quoted. The job script records the command's exit status in
    ``~/.cerulean/jobs/``, so :meth:`get_exit_code` works after the job has
    left the queue and without accounting. The record stays for 14 days,
    however often it is read, so another scheduler object or process gets
    the exit code too; a submission removes older ones.
    Statuses of many jobs come from one ``squeue`` call
    (:meth:`get_statuses`).

    :param terminal: The terminal to use to talk to the scheduler.
    :param prefix: A string to prefix the Slurm commands with.
    """

    _queue_kind = _KIND
    _job_id_pattern = _JOB_ID
    _job_id_what = "a Slurm job id"

    def _submit_command(self, job_description: JobDescription) -> Command:
        script = job_script(job_description)
        return Command("sbatch", submit_args(job_description), stdin=script,
                       workdir=job_description.working_directory)

    _parse_submit = staticmethod(parse_sbatch)

    def _status_command(self, job_ids: Sequence[str]) -> Command:
        return Command("squeue", squeue_args(job_ids))

    _parse_statuses = staticmethod(parse_squeue)
    _exit_code_script = staticmethod(exit_code_script)

    def _parse_exit_codes(self, result: Result, job_ids: Sequence[str]
                          ) -> ExitCodes:
        return parse_exit_codes(result.stdout, job_ids)

    def _cancel_command(self, job_id: str) -> Command:
        return Command("scancel", [job_id])

    # scancel on a job that has just finished, or has been forgotten.
    _ended_job_messages = ("already completing or completed", "Invalid job id")
