"""DirectGnu: run jobs as background processes; launcher, ps and kill scripts.

Only pure parts live here; :class:`CommandScheduler` runs the commands.

A job is a bash process (the *job shell*) started with ``setsid``, so it
leads its own session and process group, and the job id is its pid. The
job shell runs the command, then writes the exit status to
``~/.cerulean/jobs/directgnu-<host>-<pid>.exit``. Status checks look for
that file first, then ask ps whether the job shell is still alive, and only
count a live, non-zombie process whose command line carries our marker, so
a recycled pid is not taken for the job.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from cerulean import _script
from cerulean.job_description import JobDescription
from cerulean.job_status import JobStatus
from cerulean.scheduler import (
    Command,
    CommandScheduler,
    ExitCodes,
    Result,
    SchedulerError,
    recorded_exits,
)

_PID = re.compile(r"[1-9]\d*\Z")
_HOST = "$(uname -n)-"
_KIND = "directgnu"  # in the names of exit files
_KILL_GRACE_STEPS = 100  # of 0.02 s: wait up to 2 s, then SIGKILL
_TIMEOUT_KILL_AFTER = 5  # seconds between SIGTERM and SIGKILL at the limit


def job_shell_script(jd: JobDescription) -> str:
    """The bash script the job shell runs.

    With ``time_reserved`` the command runs under ``timeout``; when the time
    is up, the rest of the process group is ended too, the job shell says
    so on its stderr (the system_err_file), and the job's exit code is 124,
    as ``timeout`` reports it (and as Cerulean 1.0 gave it).

    :param jd: The job description.
    :returns: The script.
    :raises ValueError: For values that cannot be passed safely.
    """
    user_line = _script.command_line(jd)
    if jd.mpi_processes_per_node is not None:
        # As in Cerulean 1.0: there is no MPI set-up to pass this on to.
        raise RuntimeError(
            "mpi_processes_per_node is not supported by DirectGnuScheduler,"
            " because we cannot inject this into the MPI configuration in an"
            " environment without a scheduler. You should call mpirun with an"
            " appropriate parameter instead.")
    if jd.num_nodes is not None and _script.positive_int(
            jd.num_nodes, "num_nodes") > 1:
        raise ValueError(
            f"DirectGnuScheduler runs jobs on this one machine; it cannot"
            f" give a job num_nodes={jd.num_nodes}")
    exit_file = f"{_script.JOBS_DIR}/{_script.exit_file_name(_KIND, _HOST + '$$')}"
    lines = [
        f"# {_script.MARKER}: job shell written by cerulean",
        f"cerulean_exit={exit_file}",
        'rm -f "$cerulean_exit"',
    ]
    lines += _script.environment_lines(jd.environment)
    # The command line is parsed by a shell of its own, whose errors (a
    # syntax error in an unquoted argument, say) go to the job shell's
    # stderr, the system_err_file, as in Cerulean 1.0, and not to the
    # command's stderr_file; the status is then 2, as bash says. Braces
    # inside, so the redirections cover the whole command line (an `exit`
    # in it ends only that shell, and the status is still recorded).
    inner = f"{{ {user_line}\n}}{_script.redirections(jd)}"
    if jd.time_reserved is None:
        lines.append(f"bash -c {shlex.quote(inner)}")
        lines.append("cerulean_rc=$?")
    else:
        seconds = _script.positive_int(jd.time_reserved, "time_reserved")
        # --foreground keeps timeout in our process group, so cancel (which
        # signals the group) reaches it and the command alike.
        lines.append(
            f"timeout --foreground -k {_TIMEOUT_KILL_AFTER} {seconds}"
            f" bash -c {shlex.quote(inner)}")
        lines.append("cerulean_rc=$?")
        lines.append(
            'if [ "$cerulean_rc" -eq 124 ]; then'
            # Say so where a scheduler would: in the system_err_file.
            f" echo 'cerulean: job killed: time limit of {seconds} s reached'"
            " >&2;"
            # End what the command left running; survive the signal ourselves.
            " trap : TERM; kill -TERM -- -$$ 2>/dev/null; fi")
    lines += _script.record_exit_lines('"$cerulean_exit"', '"$cerulean_rc"')
    return "\n".join(lines) + "\n"


def launch_script(jd: JobDescription) -> str:
    """Shell code that starts the job shell in the background, prints its pid.

    The job shell's own output (the system out and err files) is set up
    here, relative to the working directory the launcher runs in. The
    launcher also removes exit records older than
    :data:`~cerulean._script.KEEP_DAYS` days, as batch schedulers do after
    each submission, since reading a record leaves it in place.

    :param jd: The job description.
    :returns: POSIX shell code.
    """
    script = job_shell_script(jd)
    # Not part of the script, but refused alike on every scheduler.
    _script.check_line(jd.name, "name")
    if jd.working_directory is not None:
        _script.check_line(jd.working_directory, "working_directory")
    out = ("/dev/null" if jd.system_out_file is None
           else _script.quote(jd.system_out_file, "system_out_file"))
    err = ("/dev/null" if jd.system_err_file is None
           else _script.quote(jd.system_err_file, "system_err_file"))
    # setsid: a new session and process group, with no terminal to hang up;
    # it does not fork here, because a background job of a non-interactive
    # shell is no group leader, so $! is the job shell's pid.
    return (f"mkdir -p {_script.JOBS_DIR} || exit 1; "
            f"{_script.remove_old_records()}; "
            f"setsid bash -c {shlex.quote(script)} {_script.MARKER}"
            f" </dev/null >{out} 2>{err} & echo $!")


def parse_launch(stdout: str) -> str:
    """The job id (pid) printed by :func:`launch_script`.

    :param stdout: The launcher's output.
    :returns: The job id.
    :raises SchedulerError: If no pid was printed.
    """
    pid = stdout.strip()
    if not _PID.match(pid):
        raise SchedulerError(f"The job launcher printed no process id: {stdout!r}")
    return pid


def _ps(job_ids: Sequence[str]) -> str:
    # -ww: never cut the command line, the marker must be visible.
    return ("ps -ww -o pid=,stat=,args= -p "
            + shlex.quote(",".join(job_ids)) + " 2>/dev/null")


def status_script(job_ids: Sequence[str]) -> str:
    """Shell code listing the job shells (with ps) of the given jobs.

    :param job_ids: The jobs (pids).
    :returns: POSIX shell code.
    """
    return f"{_ps(job_ids)}; exit 0"


def live_jobs(stdout: str) -> list[str]:
    """Pids of our job shells that are alive, from ``ps`` lines.

    :param stdout: Output containing ``pid stat args`` lines.
    :returns: The pids.
    """
    alive = []
    for line in stdout.splitlines():
        parts = line.split(None, 2)
        if (len(parts) == 3 and parts[0].isdigit()
                and not parts[1].startswith("Z")
                and _script.MARKER in parts[2]):
            alive.append(parts[0])
    return alive


def parse_statuses(stdout: str, job_ids: Sequence[str]
                   ) -> dict[str, JobStatus]:
    """Job statuses from :func:`status_script` output.

    A job whose job shell is alive runs (an exit file beside it is either
    being written this moment or a leftover of an older job with the same
    pid); one that is gone is done, with or without an exit file.

    :param stdout: The output.
    :param job_ids: The jobs asked about.
    :returns: The status of every job asked about.
    """
    alive = set(live_jobs(stdout))
    return {job_id: JobStatus.RUNNING if job_id in alive else JobStatus.DONE
            for job_id in job_ids}


def exit_code_script(job_ids: Sequence[str]) -> str:
    """Shell code printing the exit files of finished jobs.

    A job whose job shell is alive has no exit code yet; a file for it can
    only be left over from an older job with the same (recycled) pid.

    :param job_ids: The jobs (pids).
    :returns: POSIX shell code.
    """
    alive = (f"{_ps(job_ids)} | awk '$2 !~ /^Z/ && /{_script.MARKER}/"
             " {print $1}'")
    return (_script.read_exit_files(_KIND, job_ids, alive, _HOST)
            + "; exit 0")


def parse_exit_codes(stdout: str, job_ids: Sequence[str]) -> ExitCodes:
    """Exit codes from :func:`exit_code_script` output.

    :param stdout: The output.
    :param job_ids: The jobs asked about.
    :returns: Every job's exit code, and those that are final (the job
        shell is gone).
    :raises SchedulerError: For an exit file we cannot read.
    """
    final, alive = recorded_exits(stdout)
    for job_id in job_ids:
        if job_id not in final and job_id not in alive:
            final[job_id] = None  # killed before it could record anything
    return ExitCodes({j: final.get(j) for j in job_ids}, final)


def cancel_script(job_id: str) -> str:
    """Shell code ending a job's whole process group.

    SIGTERM first; whatever is still alive after a grace period gets
    SIGKILL. Only a live job shell of ours is signalled, never a process
    that merely reuses the pid.

    :param job_id: The job (pid).
    :returns: POSIX shell code.
    """
    pid = shlex.quote(job_id)
    return (
        f"if {_ps([job_id])} | grep -v '^ *[0-9]* *Z' | grep -q"
        f" {_script.MARKER}; then "
        # `kill -SIG -pgid` without `--`: dash's kill does not take `--`.
        f"kill -TERM -{pid} 2>/dev/null; n=0; "
        f"while [ $n -lt {_KILL_GRACE_STEPS} ] && ps -o stat= -s {pid}"
        " 2>/dev/null | grep -qv '^Z'; do sleep 0.02; n=$((n+1)); done; "
        f"kill -KILL -{pid} 2>/dev/null; fi; exit 0")


class DirectGnuScheduler(CommandScheduler):
    """A scheduler that runs processes directly on a GNU system.

    This scheduler does not have a queue, instead it launches each job
    immediately as a process, and uses ps and kill to manage it. This
    should work fine on any normal GNU/Linux system, but in some cases you
    may need an extra command to make bash, ps and/or kill available (e.g.
    setting a PATH). If so, you can specify prefix, and it will be
    prepended onto these commands. Note that this is a simple string
    concatenation, so you may need a semicolon at the end depending your
    exact prefix command.

    Jobs go from RUNNING to DONE (there is no queue). ``time_reserved`` is
    enforced with ``timeout``: a job stopped at its limit has exit code
    124, as ``timeout`` reports it; a cancelled job has none.
    :meth:`cancel` ends the job's whole process group. ``queue_name`` and
    ``extra_scheduler_options`` do not apply and are ignored; ``num_nodes``
    above 1 and ``mpi_processes_per_node`` are refused. Exit codes are
    kept in ``~/.cerulean/jobs/`` for 14 days, however often they are
    read, so another scheduler object or process gets them too; a
    submission removes older ones.

    :param terminal: The terminal to execute on.
    :param prefix: A string to prefix the shell commands with.
    """

    _job_id_pattern = _PID
    _job_id_what = "a DirectGnu job id (a pid)"

    def _submit_command(self, job_description: JobDescription) -> Command:
        return Command("sh", ["-c", launch_script(job_description)],
                       workdir=job_description.working_directory)

    _parse_submit = staticmethod(parse_launch)

    def _status_command(self, job_ids: Sequence[str]) -> Command:
        return Command("sh", ["-c", status_script(job_ids)])

    def _parse_statuses(self, result: Result, job_ids: Sequence[str]
                        ) -> dict[str, JobStatus]:
        if result.exit_code != 0:
            raise SchedulerError(f"Could not check on jobs: {result.stderr}")
        return parse_statuses(result.stdout, job_ids)

    _exit_code_script = staticmethod(exit_code_script)

    def _parse_exit_codes(self, result: Result, job_ids: Sequence[str]
                          ) -> ExitCodes:
        if result.exit_code != 0:
            raise SchedulerError(f"Could not read exit codes: {result.stderr}")
        return parse_exit_codes(result.stdout, job_ids)

    def _cancel_command(self, job_id: str) -> Command:
        return Command("sh", ["-c", cancel_script(job_id)])
