"""Torque/PBS: qsub command lines, the job script, and qstat parsers.

Only pure parts live here; :class:`CommandScheduler` runs the commands.
The qstat parsers are written in :mod:`cerulean._torque_qstat` and
imported here, where they are found.

Two kinds of ``qsub``/``qstat`` are supported, detected once per scheduler
object by looking at the ``qsub`` program:

* real Torque, whose ``qstat -x`` prints XML (parsed with defusedxml) with
  the job's ``exit_status``;
* the PBS-compatible wrappers on Slurm (Debian's ``slurm-wlm-torque``),
  which have no ``-x``, no ``exit_status``, take no script on standard
  input, ignore ``#PBS`` lines, and paste their option values unquoted into
  a shell command line, so each value gets a second layer of quoting.

For both, options go on the qsub command line and the job script is
handed over as a file, which is removed right after qsub has read it.
"""
from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from xml.etree.ElementTree import Element

from cerulean import _script
from cerulean._torque_qstat import (
    STATES,
    TORQUE,
    WRAPPER,
    exit_code_for,
    find_record,
    parse_qstat_full,
    parse_qstat_xml,
    parse_state,
    parse_statuses,
    qstat_command,
    records,
)
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
from cerulean.terminal import Terminal

__all__ = [
    "DETECT_SCRIPT", "HOME_DIR_VAR", "STATES", "TORQUE", "WRAPPER",
    "TorqueScheduler", "exit_code_for", "exit_code_script", "job_script",
    "parse_exit_codes", "parse_flavor", "parse_qstat_full", "parse_qstat_xml",
    "parse_qsub", "parse_state", "parse_statuses", "qstat_command",
    "qsub_args", "qsub_options", "submit_script",
]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_JOB_ID = re.compile(r"[0-9]+(\[[0-9]*\])?(\.[A-Za-z0-9_.-]+)?\Z")
_JOB_ID_VAR = "${PBS_JOBID:-$SLURM_JOB_ID}"  # wrappers may not set PBS_JOBID
_KIND = "torque"  # in the names of exit files

DETECT_SCRIPT = (
    'q=$(command -v qsub) || { echo "qsub not found on PATH" >&2; exit 127; }; '
    f'if grep -q sbatch "$q" 2>/dev/null; then echo {WRAPPER}; '
    f"else echo {TORQUE}; fi")
"""Shell code printing the flavor of the qsub on PATH."""


def parse_flavor(stdout: str) -> str:
    """The flavor printed by :data:`DETECT_SCRIPT`.

    :param stdout: The output.
    :returns: :data:`TORQUE` or :data:`WRAPPER`.
    :raises SchedulerError: For anything else.
    """
    flavor = stdout.strip()
    if flavor not in (TORQUE, WRAPPER):
        raise SchedulerError(f"Cannot tell which qsub this is: {stdout!r}")
    return flavor


HOME_DIR_VAR = "cerulean_home"
"""Shell variable :func:`submit_script` sets to the home directory plus ``/``,
or to nothing if that path holds characters the wrapper's shell would
misread."""


def qsub_options(jd: JobDescription, flavor: str,
                 walltime: Callable[[int], str] = _script.hms
                 ) -> list[list[str]]:
    """The qsub options for a job description, one list of words per option.

    :param jd: The job description.
    :param flavor: :data:`TORQUE` or :data:`WRAPPER`.
    :param walltime: Formats the time limit (seconds) for ``walltime=``.
    :returns: Shell words, grouped by option, quoted for ``flavor``.
    :raises ValueError: For values that cannot be passed safely.
    """
    def value(text: str, what: str) -> str:
        word = _script.quote(text, what)
        # The wrapper pastes the value into a shell line: quote it again.
        return shlex.quote(word) if flavor == WRAPPER else word

    options = [["-N", value(jd.name, "name")]]
    if jd.queue_name is not None:
        options.append(["-q", value(jd.queue_name, "queue_name")])
    resources = []
    if jd.time_reserved is not None:
        seconds = _script.positive_int(jd.time_reserved, "time_reserved")
        resources.append("walltime=" + walltime(seconds))
    if jd.num_nodes is not None or jd.mpi_processes_per_node is not None:
        nodes = f"nodes={_script.positive_int(jd.num_nodes or 1, 'num_nodes')}"
        if jd.mpi_processes_per_node is not None:
            per_node = _script.positive_int(jd.mpi_processes_per_node,
                                            "mpi_processes_per_node")
            nodes += f":ppn={per_node}"
            if flavor == WRAPPER:
                # The wrapper makes nodes=N:ppn=M "N nodes, N*M tasks",
                # which Slurm may pack unevenly; its mppnppn (the Cray
                # resource) pins M tasks on each node, as Torque's ppn does.
                resources.append(f"mppnppn={per_node}")
        resources.append(nodes)
    if resources:
        options.append(["-l", ",".join(resources)])
    for option, path, what, suffix in (
            ("-o", jd.system_out_file, "system_out_file", ".o%A"),
            ("-e", jd.system_err_file, "system_err_file", ".e%A")):
        if path is not None:
            options.append([option, value(path, what)])
        elif flavor == WRAPPER:
            # The wrapper's default, <name>.o<id>, takes the name as a path
            # relative to the working directory: a `/` in the name points
            # into a missing directory, and a working directory the job
            # cannot write (`/home`) stops the job before it starts, even
            # with a stdout_file elsewhere. So: the same name, made of safe
            # characters, in the home directory, where Cerulean 1.0's jobs
            # put it (1.0 ran qsub there).
            options.append([option, f'"${HOME_DIR_VAR}"'
                            + _SAFE_NAME.sub("_", jd.name) + suffix])
    if flavor == TORQUE:
        # Torque runs the script with the login shell unless told otherwise.
        options.append(["-S", "/bin/bash"])
    if jd.extra_scheduler_options is not None:
        options.append([_script.check_line(jd.extra_scheduler_options,
                                           "extra_scheduler_options")])
    return options


def qsub_args(jd: JobDescription, flavor: str) -> list[str]:
    """The qsub options for a job description, quoted for ``flavor``.

    For :data:`WRAPPER`, default output paths refer to the shell variable
    :data:`HOME_DIR_VAR`, which :func:`submit_script` sets.

    :param jd: The job description.
    :param flavor: :data:`TORQUE` or :data:`WRAPPER`.
    :returns: Shell words to put after ``qsub`` (before the script file).
    :raises ValueError: For values that cannot be passed safely.
    """
    return [word for option in qsub_options(jd, flavor) for word in option]


# The PBS wrappers on Slurm set no PBS_NODEFILE, which Torque jobs use to
# find their nodes (mpirun reads it). Where it is missing and Slurm gave a
# node list, the job script writes one as Torque does: each node once per
# task on it (SLURM_TASKS_PER_NODE, e.g. "2(x3),1").
_NODEFILE_SETUP = [
    'cerulean_nodefile=""',
    ('if [ -z "${PBS_NODEFILE:-}" ] && [ -n "${SLURM_JOB_NODELIST:-}" ]'
     ' && cerulean_nodefile=$(mktemp); then'),
    '  scontrol show hostnames "$SLURM_JOB_NODELIST" | awk -v t="${SLURM_TASKS_PER_NODE:-1}" \\',
    "    'BEGIN { n = split(t, part, \",\"); k = 0",
    "      for (i = 1; i <= n; i++) { c = part[i]; r = 1",
    "        if (match(c, /\\(x[0-9]+\\)/)) { r = substr(c, RSTART + 2, RLENGTH - 3); c = substr(c, 1, RSTART - 1) }",
    "        for (j = 0; j < r; j++) tasks[k++] = c } }",
    "     { m = ((NR - 1) in tasks) ? tasks[NR - 1] : 1; for (j = 0; j < m; j++) print }' >\"$cerulean_nodefile\"",
    '  export PBS_NODEFILE="$cerulean_nodefile"',
    "fi",
]
_NODEFILE_CLEANUP = ['[ -z "$cerulean_nodefile" ] || rm -f "$cerulean_nodefile"']


def job_script(jd: JobDescription) -> str:
    """The job script handed to qsub.

    :param jd: The job description.
    :returns: The script.
    """
    return _script.batch_script(jd, _KIND, _JOB_ID_VAR,
                                _NODEFILE_SETUP, _NODEFILE_CLEANUP)


def submit_script(jd: JobDescription, flavor: str) -> str:
    """Shell code that saves the script (stdin) to a file and runs qsub on it.

    The file's name comes from mktemp and is checked to be plain, since the
    wrapper pastes it into a shell line too.

    :param jd: The job description.
    :param flavor: :data:`TORQUE` or :data:`WRAPPER`.
    :returns: POSIX shell code.
    """
    args = " ".join(qsub_args(jd, flavor))
    return (
        # Checked like the temporary file's name: what goes into the
        # wrapper's shell line must be plain. Otherwise the default output
        # stays relative, as the wrapper would have it.
        f'{HOME_DIR_VAR}="$HOME/"; case ${HOME_DIR_VAR} in'
        f' *[!A-Za-z0-9_./-]*) {HOME_DIR_VAR}="";; esac; '
        'f=$(mktemp) || exit 1; case $f in *[!A-Za-z0-9_./-]*)'
        ' echo "unsafe temporary file name $f" >&2; rm -f "$f"; exit 1;; esac; '
        'cat >"$f" || { rm -f "$f"; exit 1; }; '
        f'qsub {args} "$f"; rc=$?; rm -f "$f"; exit $rc')


def parse_qsub(stdout: str) -> str:
    """The job id from qsub output (``123.server``, or ``123`` on wrappers).

    :param stdout: qsub's standard output.
    :returns: The job id.
    :raises SchedulerError: If there is no job id in it.
    """
    words = stdout.split()
    job_id = words[-1] if words else ""
    if not _JOB_ID.match(job_id):
        raise SchedulerError(f"qsub printed no job id: {stdout.strip()!r}")
    return job_id


def exit_code_script(job_ids: Sequence[str], flavor: str) -> str:
    """Shell code printing exit files, then qstat records.

    Jobs qstat lists as not completed have no exit code yet, and their
    files (leftovers of an older job with the same id) are left alone.

    :param job_ids: The jobs.
    :param flavor: :data:`TORQUE` or :data:`WRAPPER`.
    :returns: POSIX shell code.
    """
    ids = " ".join(shlex.quote(job_id) for job_id in job_ids)
    # Works on the -f text of real Torque and of the wrapper alike.
    active = (f"qstat -f {ids} 2>/dev/null | awk '/^Job Id:/ {{id = $3}}"
              " /job_state = / && $3 != \"C\" {print id}'")
    return (_script.read_exit_files(_KIND, job_ids, active) + "; "
            'if [ -n "$rest" ]; then echo cerulean-qstat; '
            f"{qstat_command(flavor)} $rest; "
            'echo "cerulean-qstat-rc $?"; fi; exit 0')


def parse_exit_codes(result: Result, job_ids: Sequence[str], flavor: str
                     ) -> ExitCodes:
    """Exit codes from :func:`exit_code_script` output.

    :param result: What the script returned.
    :param job_ids: The jobs asked about.
    :param flavor: :data:`TORQUE` or :data:`WRAPPER`.
    :returns: Every job's exit code, and those that are final.
    :raises SchedulerError: For output we cannot read.
    """
    head, _, qstat_out = result.stdout.partition("cerulean-qstat\n")
    qstat_out, _, rc_text = qstat_out.rpartition("cerulean-qstat-rc ")
    final, active = recorded_exits(head)
    codes: dict[str, int | None] = dict(final)
    rest = [job_id for job_id in job_ids
            if job_id not in final and job_id not in active]
    if rest:
        rc = rc_text.strip()
        if not rc.isdigit():
            raise SchedulerError(
                f"The exit code query was cut short: {result.stdout!r}"
                f" {result.stderr!r}")
        found = records(Result(int(rc), qstat_out, result.stderr), flavor)
        for job_id in rest:
            record = find_record(found, job_id)
            if record is None:
                final[job_id] = codes[job_id] = None  # purged, nothing left
            elif parse_state(record.get("job_state", "?"), flavor) \
                    == JobStatus.DONE:
                final[job_id] = codes[job_id] = exit_code_for(
                    record.get("exit_status"))
            else:
                codes[job_id] = None
    return ExitCodes({j: codes.get(j) for j in job_ids}, final)


# --- Cerulean 1.0's module functions -----------------------------------------


def _job_desc_to_job_script(job_description: JobDescription) -> str:
    """A job script with ``#PBS`` directives, as Cerulean 1.0 made one.

    For code written against Cerulean 1.0: the options we pass to real
    Torque's qsub (:func:`qsub_options`, values quoted, line breaks
    refused, the walltime as :func:`_seconds_to_time` writes it), written as
    directives above our job script. :class:`TorqueScheduler` itself passes
    them on the command line, since the PBS wrappers on Slurm ignore
    ``#PBS`` lines.

    :param job_description: The job description.
    :returns: The job script.
    :raises ValueError: For values that cannot be passed safely.
    """
    jd = _script.with_command(job_description)
    directives = ["#PBS " + " ".join(option)
                  for option in qsub_options(jd, TORQUE, _seconds_to_time)]
    shebang, _, body = job_script(jd).partition("\n")
    return "\n".join([shebang, *directives, body])


def _get_field_from_qstat_xml(xml_data: Element, field_name: str) -> str:
    """The text of a job's field in parsed ``qstat -x`` XML (as Cerulean 1.0).

    :param xml_data: The parsed ``<Data>`` element.
    :param field_name: The field, e.g. ``job_state``.
    :returns: The text of the first job's field of that name.
    :raises RuntimeError: If no job has the field.
    """
    for job in xml_data:
        for field in job:
            if field.tag == field_name:
                return field.text or ""
    raise RuntimeError(f"Expected field {field_name} not returned by qstat")


def _seconds_to_time(seconds: int) -> str:
    """Seconds as a Torque duration, ``DD:HH:MM:SS`` (as Cerulean 1.0).

    :param seconds: The number of seconds to reserve.
    :returns: The duration.
    """
    days, rest = divmod(seconds, 86400)
    return f"{days:02d}:{_script.hms(rest)}"


class TorqueScheduler(CommandScheduler):
    """Represents a Torque scheduler.

    Its commands are run through a :class:`Terminal`, each after the
    prefix (``'module load torque;'`` where that is needed first, see
    :class:`~cerulean.scheduler.CommandScheduler`).

    Works with real Torque and with the PBS-compatible wrappers on Slurm
    (``slurm-wlm-torque``); which one is found is detected once, on first
    use. The job script records the command's exit status in
    ``~/.cerulean/jobs/``, which gives an exit code also where qstat
    reports none (the wrappers) and after the job has been purged. The
    record stays for 14 days, however often it is read, so another
    scheduler object or process gets the exit code too; a submission
    removes older ones.

    :param terminal: The terminal to use to talk to the scheduler.
    :param prefix: A string to prefix the Torque commands with.
    """

    _queue_kind = _KIND
    _job_id_pattern = _JOB_ID
    _job_id_what = "a Torque job id"

    def __init__(self, terminal: Terminal, prefix: str = "") -> None:
        """Create a TorqueScheduler talking through ``terminal``."""
        super().__init__(terminal, prefix)
        self._flavor: str | None = None

    @property
    def flavor(self) -> str:
        """Which qsub this is: ``'torque'`` or ``'slurm-wrapper'``.

        Found out with one command on first use, then remembered.
        """
        if self._flavor is None:
            result = self._run(Command("sh", ["-c", DETECT_SCRIPT]),
                               "find out which qsub this is")
            self._flavor = parse_flavor(result.stdout)
        return self._flavor

    def _submit_command(self, job_description: JobDescription) -> Command:
        script = job_script(job_description)
        code = submit_script(job_description, self.flavor)
        # Run in the working directory: the wrapper starts the job there,
        # and both resolve relative output paths against it.
        return Command("sh", ["-c", code], stdin=script,
                       workdir=job_description.working_directory)

    _parse_submit = staticmethod(parse_qsub)

    def _status_command(self, job_ids: Sequence[str]) -> Command:
        command, option = qstat_command(self.flavor).split()
        return Command(command, [option, *job_ids])

    def _parse_statuses(self, result: Result, job_ids: Sequence[str]
                        ) -> dict[str, JobStatus]:
        return parse_statuses(result, job_ids, self.flavor)

    def _exit_code_script(self, job_ids: Sequence[str]) -> str:
        return exit_code_script(job_ids, self.flavor)

    def _parse_exit_codes(self, result: Result, job_ids: Sequence[str]
                          ) -> ExitCodes:
        return parse_exit_codes(result, job_ids, self.flavor)

    def _cancel_command(self, job_id: str) -> Command:
        return Command("qdel", [job_id])

    # qdel on a finished or purged job.
    _ended_job_messages = ("Unknown Job Id", "invalid state", "Invalid job id",
                           "already completing")

    def _check_cancel(self, result: Result, job_id: str) -> None:
        # The wrapper's qdel says nothing at all for such jobs.
        if (result.stdout + result.stderr).strip():
            super()._check_cancel(result, job_id)

