"""Pure helpers shared by the schedulers: quoting, validation, job scripts.

Nothing here runs a command. Every value that cerulean itself puts into a
shell line or job script (names, paths, queue, environment values, job ids)
goes through :func:`quote`, which refuses newlines: inside a job script a
newline would start a new line, i.e. a new ``#SBATCH`` directive or command.
The command and its arguments are the exception, as the Cerulean document
says: they are appended unquoted, and quoting them is the caller's job.
"""
from __future__ import annotations

import copy
import math
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

from cerulean.job_description import JobDescription

JOBS_DIR = '"$HOME/.cerulean/jobs"'
"""Shell word for the directory where job scripts leave their exit codes.

A fixed place under the home directory, rather than the working directory,
means any Scheduler object can find a job's exit code from the job id alone,
also one made after a restart, and the user's directories stay clean.
"""

KEEP_DAYS = 14
"""Days a job's exit record is kept in :data:`JOBS_DIR`.

Reading a record leaves it in place, so any number of processes and
scheduler objects (one that submits, others that collect, one started
after a restart) all get the same exit code. Records older than this are
removed when a job is submitted (:func:`remove_old_records`), so the
directory cannot grow without bound; two weeks is longer than any queue
wait or job we expect someone to come back for.
"""

MARKER = "cerulean-job"
"""Word in every DirectGnu job's command line, so ps can tell ours apart."""

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def check_line(value: str, what: str) -> str:
    """Return ``value`` if it fits on one line, else raise ValueError.

    :param value: The value to check.
    :param what: What the value is, for the error message.
    :returns: The value itself.
    :raises ValueError: If the value contains a newline or carriage return.
    """
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\n" in value or "\r" in value:
        raise ValueError(
            f"{what} {value!r} contains a line break; that could add lines"
            " (scheduler directives or commands) to the job script")
    return value


@dataclass(frozen=True)
class Raw:
    """Shell words put into a command line as they are, not quoted.

    Only for words that must reach the shell as shell code: the user's own
    (``extra_scheduler_options``, which Cerulean 1.0 passes as given) and
    ours with an expansion in them (``"$HOME"``). Every other argument of a
    scheduler command is a plain ``str`` and is quoted by
    :func:`shell_words`, once.

    :param text: The shell words.
    """

    text: str


Word = Union[str, Raw]
"""One argument of a scheduler command: a value (quoted when run) or Raw."""


def shell_words(args: Sequence[Word]) -> str:
    """The command-line text of ``args``: each value quoted, Raw as it is.

    :param args: The arguments.
    :returns: Shell words joined by spaces.
    """
    return " ".join(arg.text if isinstance(arg, Raw) else shlex.quote(arg)
                    for arg in args)


def quote(value: str, what: str) -> str:
    """Quote a value we insert into a shell line, refusing line breaks.

    :param value: The value to quote.
    :param what: What the value is, for the error message.
    :returns: The value as one shell word.
    :raises ValueError: If the value contains a line break.
    """
    return shlex.quote(check_line(value, what))


def positive_int(value: object, what: str) -> int:
    """Return ``value`` as an int of at least 1, else raise ValueError.

    Whole-valued floats are accepted, other fractions are rounded up, so a
    time limit is never shorter than asked for.

    :param value: The number to check.
    :param what: What the number is, for the error message.
    :returns: The number as an int.
    :raises TypeError: If it is not a number.
    :raises ValueError: If it is not positive.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a positive number, not {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number, not {value!r}")
    return math.ceil(value)


def hms(seconds: int) -> str:
    """Format seconds as ``HH:MM:SS``, hours unbounded (Torque walltime).

    :param seconds: A duration in seconds.
    :returns: The duration as hours, minutes and seconds.
    """
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def dhms(seconds: int) -> str:
    """Format seconds as ``DD-HH:MM:SS`` (Slurm's --time).

    Days have at least two digits, as Cerulean 1.0 wrote them; Slurm reads
    either.

    :param seconds: A duration in seconds.
    :returns: The duration as days, hours, minutes and seconds.
    """
    days, rest = divmod(seconds, 86400)
    return f"{days:02d}-{hms(rest)}"


def command_line(jd: JobDescription) -> str:
    """The user's command line: command and arguments, unquoted as documented.

    :param jd: The job description.
    :returns: The command followed by its arguments.
    :raises ValueError: If there is no command.
    """
    if jd.command is None or str(jd.command).strip() == "":
        raise ValueError("Job description is missing a command")
    return " ".join([str(jd.command), *[str(arg) for arg in jd.arguments]])


def with_command(jd: JobDescription) -> JobDescription:
    """``jd``, or a copy with the no-op command ``:`` if it has none.

    Cerulean 1.0's script builders wrote a script for a description without
    a command (with the word ``None`` in its place); their faces here write
    one that does nothing instead. submit() still refuses such a job.

    :param jd: The job description.
    :returns: A job description with a command.
    """
    if jd.command is not None and str(jd.command).strip() != "":
        return jd
    filled = copy.copy(jd)
    filled.command = ":"
    return filled


def environment_lines(environment: dict[str, str]) -> list[str]:
    """``export NAME=value`` lines, values quoted, names checked.

    :param environment: Variable names and values.
    :returns: One export line per variable.
    :raises ValueError: For a name that is not a shell identifier, or a
        value with a line break.
    """
    lines = []
    for name, value in environment.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise ValueError(
                f"Environment variable name {name!r} is not a valid shell"
                " identifier (letters, digits and _, not starting with a"
                " digit)")
        lines.append(
            f"export {name}={quote(str(value), f'environment variable {name}')}")
    return lines


def redirections(jd: JobDescription) -> str:
    """Shell redirections of the command's stdout and stderr, if set.

    :param jd: The job description.
    :returns: The redirections, starting with a space, or an empty string.
    """
    text = ""
    if jd.stdout_file is not None:
        text += " >" + quote(jd.stdout_file, "stdout_file")
    if jd.stderr_file is not None:
        text += " 2>" + quote(jd.stderr_file, "stderr_file")
    return text


def exit_file_name(kind: str, job_id_word: str) -> str:
    """The name of a job's exit file in :data:`JOBS_DIR`.

    :param kind: Scheduler name (``slurm``, ``torque``, ``directgnu``).
    :param job_id_word: The job id, or shell code that expands to it.
    :returns: ``<kind>-<job id>.exit``.
    """
    return f"{kind}-{job_id_word}.exit"


def record_exit_lines(exit_file: str, status: str) -> list[str]:
    """Lines that write ``status`` to ``exit_file`` atomically.

    Written to a temporary name and renamed, so a reader never sees half a
    number. The record stays for :data:`KEEP_DAYS` days, however often it
    is read; submissions remove older ones (:func:`remove_old_records`).

    :param exit_file: Shell word for the exit file path.
    :param status: Shell word for the value to record.
    :returns: Script lines.
    """
    return [(f"mkdir -p {JOBS_DIR} && printf '%s\\n' {status} >{exit_file}.tmp"
             f" && mv -f {exit_file}.tmp {exit_file}")]


def old_records() -> str:
    """find(1) tests matching exit records older than :data:`KEEP_DAYS` days.

    Temporary files of a job killed while it wrote its record
    (``*.exit.tmp``) match too. Minutes rather than ``-mtime``, whose days
    are rounded down, so the age is :data:`KEEP_DAYS` days exactly.

    :returns: find tests, quoted for the shell.
    """
    return (f"\\( -name '*.exit' -o -name '*.exit.tmp' \\)"
            f" -mmin +{KEEP_DAYS * 24 * 60}")


def remove_old_records() -> str:
    """Shell code removing the exit records older than :data:`KEEP_DAYS` days.

    Its errors are silenced and must not stop what follows (a submission):
    a record that cannot be removed now is tried again at the next one.

    :returns: POSIX shell code.
    """
    return (f"find {JOBS_DIR} -maxdepth 1 -type f {old_records()} -delete"
            " 2>/dev/null")


def batch_script(jd: JobDescription, kind: str, job_id_word: str,
                 setup: Sequence[str] = (), cleanup: Sequence[str] = ()) -> str:
    """The bash job script for a batch scheduler (Slurm, Torque/PBS).

    The scheduler options are passed on the command line, not as directives
    in here: PBS wrappers ignore ``#PBS`` lines, and a command line is
    quoted word by word. The script records the command's exit status in
    ``~/.cerulean/jobs/<kind>-<job id>.exit``, so the exit code is known
    after the job has left the queue, without accounting, and where the
    scheduler does not report one.

    :param jd: The job description.
    :param kind: Scheduler name, used in the exit file's name.
    :param job_id_word: Shell word that expands to the job id inside the job.
    :param setup: Scheduler-specific lines run before the user's command.
    :param cleanup: Scheduler-specific lines run after it.
    :returns: The job script.
    """
    user_line = command_line(jd)
    exit_file = f"{JOBS_DIR}/{exit_file_name(kind, job_id_word)}"
    lines = [
        "#!/bin/bash",
        f"# Job script written by cerulean; the exit status goes to {exit_file}",
        f"cerulean_exit={exit_file}",
        # A leftover file from an older job with the same id must not be
        # taken for this job's exit code.
        'rm -f "$cerulean_exit"',
    ]
    if jd.working_directory is not None:
        where = quote(jd.working_directory, "working_directory")
        if not jd.working_directory.startswith("/"):
            # Relative to where the submission ran, which is the working
            # directory itself (the submit command runs there): the job
            # starts there on Slurm, the PBS wrappers and Grid Engine, and
            # real Torque names it PBS_O_WORKDIR. Entering it again would
            # look for it inside itself.
            where = '"${PBS_O_WORKDIR:-.}"'
        lines.append(f"cd -- {where} || exit 1")
    lines += setup
    lines += environment_lines(jd.environment)
    # A subshell, so that an `exit` in the user's command line still lets
    # us record the status.
    lines.append(f"( {user_line}\n){redirections(jd)}")
    lines.append("cerulean_rc=$?")
    lines += cleanup
    lines += record_exit_lines('"$cerulean_exit"', '"$cerulean_rc"')
    lines.append('exit "$cerulean_rc"')
    return "\n".join(lines) + "\n"


def read_exit_files(kind: str, job_ids: Sequence[str], active: str,
                    host_word: str = "") -> str:
    """Shell code printing the exit files of finished jobs.

    ``active`` is shell code printing the ids of jobs that are still queued
    or running, one per line. Their files are not read, since a file there
    can only be a leftover of an older job with the same id (ids are reused
    eventually, pids soon): such a job prints ``cerulean-active <id>``. For
    every other job with a file it prints ``cerulean-exit <id> <content>``
    and leaves the file in place, for whoever asks next (it is removed once
    older than :data:`KEEP_DAYS` days); the ids of jobs without a file are
    collected in the shell variable ``rest`` (space-separated).

    :param kind: Scheduler name used in the file names.
    :param job_ids: Job ids, already validated.
    :param active: Shell code listing the ids of unfinished jobs.
    :param host_word: Extra shell word put before the id in the file name.
    :returns: POSIX shell code.
    """
    ids = " ".join(shlex.quote(job_id) for job_id in job_ids)
    each_file = exit_file_name(kind, f'{host_word}"$i"')
    return (
        f"active=\" $({active} | tr '\\n' ' ')\"; "
        f'rest=""; for i in {ids}; do '
        'case "$active" in *" $i "*) echo "cerulean-active $i"; continue;; esac; '
        f"f={JOBS_DIR}/{each_file}; "
        'if [ -r "$f" ]; then printf "cerulean-exit %s %s\\n" "$i" "$(cat "$f")";'
        ' else rest="$rest $i"; fi; done')


def parse_active(stdout: str) -> set[str]:
    """Ids of the ``cerulean-active`` lines printed by :func:`read_exit_files`.

    :param stdout: Output of the command.
    :returns: The ids of jobs that are still queued or running.
    """
    return {line.split()[1] for line in stdout.splitlines()
            if line.startswith("cerulean-active ") and len(line.split()) == 2}


def parse_exit_files(stdout: str) -> dict[str, int | None]:
    """Parse the ``cerulean-exit`` lines printed by :func:`read_exit_files`.

    :param stdout: Output of the command.
    :returns: Job id to exit code (None where the job recorded ``none``).
    :raises ValueError: If a recorded value is not a number or ``none``.
    """
    codes: dict[str, int | None] = {}
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "cerulean-exit":
            value = parts[2] if len(parts) > 2 else ""
            if value == "none":
                codes[parts[1]] = None
            elif re.fullmatch(r"-?\d+", value):
                codes[parts[1]] = int(value)
            else:
                raise ValueError(
                    f"Exit file of job {parts[1]} holds {value!r},"
                    " not an exit code")
    return codes


WORKDIR_MARK = "cerulean-workdir:"
"""Starts the line on stderr that says why a working directory could not
be entered (see :func:`enter_workdir`)."""


def enter_workdir(workdir: str) -> str:
    """Shell code entering ``workdir``, then running what is appended.

    If the directory cannot be entered, it prints why on stderr, after
    :data:`WORKDIR_MARK` (for :func:`workdir_failure`), and exits with 1.
    The shell's own message is dropped: dash's says only "can't cd".
    """
    where = quote(workdir, "working_directory")
    why = (f"if [ ! -e {where} ]; then echo '{WORKDIR_MARK} does not exist';"
           f" elif [ ! -d {where} ]; then echo '{WORKDIR_MARK} is not a"
           f" directory'; else echo '{WORKDIR_MARK} cannot be entered"
           " (permission denied)'; fi >&2; exit 1")
    return f"cd -- {where} 2>/dev/null || {{ {why}; }}; exec "


def workdir_failure(stderr: str) -> str | None:
    """Why the working directory could not be entered, from :func:`enter_workdir`."""
    for line in stderr.splitlines():
        if line.startswith(WORKDIR_MARK):
            return line[len(WORKDIR_MARK):].strip()
    return None
