"""Grid Engine: the qsub command line, the job script, and qstat/qacct parsers.

For Son of Grid Engine, Univa/Altair Grid Engine and Open Grid Scheduler,
whose commands (``qsub -terse``, ``qstat -xml``, ``qacct -j``, ``qdel``)
are the same. Only pure parts live here; :class:`CommandScheduler` runs the
commands.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

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
from cerulean.terminal import Terminal

_JOB_ID = re.compile(r"\d+\Z")
_JOB_ID_VAR = "${JOB_ID}"
_KIND = "sge"  # in the names of exit files

# The letters of a qstat state (`man qstat`): d(eletion), E(rror), h(old),
# r(unning), R(estarted), s(uspended), S(uspended by its queue),
# t(ransferring), T(hreshold suspended), w(aiting), q(ueued), z(ombie).
_STATE_LETTERS = frozenset("dEhrRsStTwqz")
# Started (possibly suspended, or being deleted): the command has begun.
_STARTED = frozenset("rtsST")
_QUEUED = frozenset("qw")

_PE_OPTION = re.compile(r"(?:^|\s)-pe(?:\s|$)")
# What Grid Engine refuses in a job name (qmaster answers so badly that qsub
# says only "Error reading answer list"): white space, / : @ \ * ?, and
# anything not ASCII.
_NAME_REFUSED = re.compile(r"[^!-~]|[/:@\\*?]")

DEFAULT_OUTPUT: list[Word] = [Raw('-o "$HOME"')]
"""Where the scheduler's own output goes without a ``system_out_file``.

Grid Engine writes ``<name>.o<id>`` into the directory it is given; its
default is the job's working directory, which may be one the job cannot
write, and Cerulean's other schedulers put that file in the home directory
(Cerulean 1.0 ran its submissions there). ``$HOME`` is expanded by the
remote shell.
"""

DEFAULT_ERROR: list[Word] = [Raw('-e "$HOME"')]
"""Where the scheduler's own error output goes without a ``system_err_file``
(``<name>.e<id>`` in the home directory, as for :data:`DEFAULT_OUTPUT`)."""


def parse_state(text: str) -> JobStatus:
    """Map a qstat state (``qw``, ``hqw``, ``Eqw``, ``r``, ``dr``, ...) to a
    JobStatus.

    A job that has started (running, suspended, being transferred, or being
    deleted while it runs) is RUNNING; one still in the queue, held or not,
    is WAITING. A job in the error state (``Eqw``, for example when its
    output file cannot be created) stays in the queue until someone clears
    (``qmod -cj``) or deletes it, so it is WAITING too, as Grid Engine says.

    :param text: The state as ``qstat`` prints it.
    :returns: The status.
    :raises SchedulerError: For a state we do not know, quoting it.
    """
    letters = set(text.strip())
    if not letters or not letters <= _STATE_LETTERS:
        raise SchedulerError(f"Unknown Grid Engine job state {text!r}")
    if letters & _STARTED:
        return JobStatus.RUNNING
    if letters & _QUEUED:
        return JobStatus.WAITING
    if "z" in letters:
        return JobStatus.DONE
    raise SchedulerError(f"Unknown Grid Engine job state {text!r}")


def job_name(name: str) -> str:
    """The job name as Grid Engine takes it.

    Grid Engine refuses names with white space, ``/ : @ \\ * ?``, non-ASCII
    characters, or a digit first, which Cerulean's other schedulers take;
    since the name is only shown in the queue, such characters become
    ``_`` (and a leading digit gets one in front) rather than the job being
    refused.

    :param name: The job description's name.
    :returns: A name qsub accepts.
    :raises ValueError: If the name contains a line break.
    """
    safe = _NAME_REFUSED.sub("_", _script.check_line(name, "name"))
    return "_" + safe if safe[:1].isdigit() or not safe else safe


def output_path(path: str, what: str) -> str:
    """A ``-o``/``-e`` value that Grid Engine takes as the path given.

    qsub reads ``host:path`` in these options, so a path with a colon in it
    would name a host ("can't resolve hostname"); with an empty host in
    front (``:path``) the whole value is the path. Grid Engine still expands
    its own variables in it (``$HOME``, ``$JOB_ID``, ``$JOB_NAME``, ...).

    :param path: The system_out_file or system_err_file.
    :param what: Which one, for the error message.
    :returns: The option's value.
    :raises ValueError: If the path contains a line break.
    """
    _script.check_line(path, what)
    return ":" + path if ":" in path else path


def slots(jd: JobDescription) -> int | None:
    """The number of slots a job asks for, if it asks for nodes or processes.

    Grid Engine counts slots, not nodes: ``num_nodes`` times
    ``mpi_processes_per_node`` (each 1 if not given).

    :param jd: The job description.
    :returns: The number of slots, or None if the job sets neither.
    :raises ValueError: For a number that is not positive.
    """
    if jd.num_nodes is None and jd.mpi_processes_per_node is None:
        return None
    nodes = _script.positive_int(
        1 if jd.num_nodes is None else jd.num_nodes, "num_nodes")
    per_node = _script.positive_int(
        1 if jd.mpi_processes_per_node is None else jd.mpi_processes_per_node,
        "mpi_processes_per_node")
    return nodes * per_node


def qsub_args(jd: JobDescription, parallel_environment: str | None = None
              ) -> list[Word]:
    """The qsub options for a job description.

    ``-terse`` makes qsub print just the job id; the name is made one that
    Grid Engine takes (:func:`job_name`); ``-C ''`` stops it from
    reading ``#$`` lines in the script as options, so nothing in the script
    can add one; ``-S /bin/bash`` runs the script with bash even where the
    queue's shell is another. With a working directory, qsub is run there
    and ``-cwd`` starts the job there too.

    A job with more than one slot (:func:`slots`) needs a parallel
    environment: ``-pe <parallel_environment> <slots>``, unless the user's
    ``extra_scheduler_options`` give a ``-pe`` of their own. How the slots
    spread over hosts is the parallel environment's ``allocation_rule``.

    :param jd: The job description.
    :param parallel_environment: The parallel environment for jobs with
        more than one slot, if any.
    :returns: Arguments for ``qsub`` (quoted when run).
    :raises ValueError: For values that cannot be passed safely, or a job
        with more than one slot and no parallel environment.
    """
    args: list[Word] = ["-terse", "-C", "", "-S", "/bin/bash",
                        "-N", job_name(jd.name)]
    if jd.queue_name is not None:
        args += ["-q", _script.check_line(jd.queue_name, "queue_name")]
    if jd.time_reserved is not None:
        seconds = _script.positive_int(jd.time_reserved, "time_reserved")
        args += ["-l", f"h_rt={seconds}"]
    if jd.working_directory is not None:
        args.append("-cwd")
    extra = jd.extra_scheduler_options
    if extra is not None:
        _script.check_line(extra, "extra_scheduler_options")
    count = slots(jd)
    if count is not None and count > 1 and not (
            extra is not None and _PE_OPTION.search(extra)):
        if parallel_environment is None:
            raise ValueError(
                f"This job asks for {count} slots (num_nodes={jd.num_nodes},"
                f" mpi_processes_per_node={jd.mpi_processes_per_node}), and"
                " Grid Engine gives a job more than one slot only through a"
                " parallel environment: name one with"
                " GridEngineScheduler(..., parallel_environment='<name>') or"
                " give '-pe <name> <slots>' in extra_scheduler_options"
                " (`qconf -spl` lists them)")
        args += ["-pe", parallel_environment, str(count)]
    if jd.system_out_file is not None:
        args += ["-o", output_path(jd.system_out_file, "system_out_file")]
    else:
        args += DEFAULT_OUTPUT
    if jd.system_err_file is not None:
        args += ["-e", output_path(jd.system_err_file, "system_err_file")]
    else:
        args += DEFAULT_ERROR
    if extra is not None:
        # Scheduler-specific options, passed as given (the caller quotes).
        args.append(Raw(extra))
    return args


def job_script(jd: JobDescription) -> str:
    """The job script given to qsub on standard input.

    :param jd: The job description.
    :returns: The script.
    """
    return _script.batch_script(jd, _KIND, _JOB_ID_VAR)


def parse_qsub(stdout: str) -> str:
    """The job id from ``qsub -terse`` output (``id``, or ``id.1-3:1`` for
    an array job).

    :param stdout: qsub's standard output.
    :returns: The job id.
    :raises SchedulerError: If there is no job id in it.
    """
    return last_line_job_id(stdout, ".", _JOB_ID, "qsub")


def parse_qstat_xml(text: str) -> dict[str, str]:
    """Job id to state from ``qstat -xml`` output.

    :param text: The XML.
    :returns: The state text of every job listed.
    :raises SchedulerError: If the XML cannot be read.
    """
    try:
        root = SafeET.fromstring(text)
    except (ParseError, DefusedXmlException) as e:
        raise SchedulerError(f"Cannot read qstat -xml output: {e}") from None
    states: dict[str, str] = {}
    for job in root.iter("job_list"):
        number = (job.findtext("JB_job_number") or "").strip()
        state = job.findtext("state")
        if not number or state is None:
            raise SchedulerError(f"qstat -xml lists a job without a number or"
                                 f" state: {SafeET.tostring(job)!r}")
        states[number] = state.strip()
    return states


def parse_qstat(result: Result, job_ids: Sequence[str]
                ) -> dict[str, JobStatus]:
    """Job statuses from ``qstat -xml`` (all the user's unfinished jobs).

    Jobs qstat does not list have finished (or were deleted), so they are
    done.

    :param result: What qstat returned.
    :param job_ids: The jobs asked about.
    :returns: The status of every job asked about.
    :raises SchedulerError: If qstat failed, or printed a state we do not
        know.
    """
    if result.exit_code != 0:
        raise SchedulerError(
            f"qstat failed: {result.stderr.strip() or result.stdout.strip()}")
    states = parse_qstat_xml(result.stdout)
    return {job_id: parse_state(states[job_id]) if job_id in states
            else JobStatus.DONE for job_id in job_ids}


_QACCT_MARK = "cerulean-qacct"


def exit_code_script(job_ids: Sequence[str]) -> str:
    """Shell code reporting the exit codes of the given jobs.

    Jobs qstat still lists have no exit code yet. For the others, exit
    files left by our job scripts come first (they stay for whoever asks
    next); then ``qacct -j`` for each job without one (a job killed before
    its script could write the file), each after a ``cerulean-qacct <id>``
    line.

    :param job_ids: The jobs.
    :returns: POSIX shell code.
    """
    active = ("qstat -xml 2>/dev/null | sed -n"
              " 's|.*<JB_job_number>\\([0-9]*\\)</JB_job_number>.*|\\1|p'")
    return (
        _script.read_exit_files(_KIND, job_ids, active) + "; "
        f'for i in $rest; do echo "{_QACCT_MARK} $i"; qacct -j "$i" 2>&1;'
        " done; exit 0")


def parse_qacct(text: str) -> tuple[int | None, bool] | None:
    """A job's exit code from its ``qacct -j`` records.

    The last record counts (a rescheduled job has one per run). A job that
    Grid Engine ended or could not start (``failed`` is not 0: deleted,
    killed at its ``h_rt``, an output file it could not open) has no exit
    code; otherwise it is ``exit_status``, which is 128 + the signal for a
    command killed by one.

    :param text: qacct's output for one job.
    :returns: (exit code, final), or None if accounting has no record of
        the job (yet: the accounting file may be written a little later).
    :raises SchedulerError: If a record cannot be read.
    """
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("====="):
            fields = {}
            continue
        key, _, value = line.partition(" ")
        if key in ("failed", "exit_status"):
            fields[key] = value.strip()
    if "failed" not in fields or "exit_status" not in fields:
        if "not found" in text or not text.strip():
            return None
        raise SchedulerError(f"Cannot read qacct output {text!r}")
    failed = fields["failed"].split()[0] if fields["failed"] else ""
    status = fields["exit_status"].split()[0] if fields["exit_status"] else ""
    if not failed.isdigit() or not status.isdigit():
        raise SchedulerError(f"Cannot read qacct record {fields!r}")
    return (int(status) if failed == "0" else None), True


def parse_exit_codes(stdout: str, job_ids: Sequence[str]) -> ExitCodes:
    """Exit codes from the output of :func:`exit_code_script`.

    :param stdout: The output.
    :param job_ids: The jobs asked about.
    :returns: Every job's exit code, and those that are final.
    :raises SchedulerError: For output we cannot read.
    """
    final, _active = recorded_exits(stdout)
    codes: dict[str, int | None] = dict(final)
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in stdout.splitlines():
        if line.startswith(_QACCT_MARK + " "):
            current = sections.setdefault(line.split()[1], [])
        elif current is not None:
            current.append(line)
    for job_id, lines in sections.items():
        if job_id not in job_ids or job_id in final:
            continue
        found = parse_qacct("\n".join(lines))
        if found is not None:
            final[job_id] = codes[job_id] = found[0]
    return ExitCodes({j: codes.get(j) for j in job_ids}, final)


class GridEngineScheduler(CommandScheduler):
    """Represents a Grid Engine scheduler (Son of Grid Engine, Univa/Altair).

    This class represents a Grid Engine scheduler, to which it talks
    through a :class:`Terminal`.

    On some machines, an additional command is needed to make Grid Engine
    available to the user, e.g. ``'module load sge;'`` or
    ``'. /opt/sge/default/common/settings.sh; '``. If you specify a
    prefix, it will be prepended to any Grid Engine command run by this
    class. Note that this is a plain string concatenation, so you'll
    probably need a semicolon to separate the commands.

    Grid Engine gives a job more than one slot only through a parallel
    environment (``qconf -spl`` lists a cluster's). Jobs that set
    ``num_nodes`` or ``mpi_processes_per_node`` ask for
    ``num_nodes * mpi_processes_per_node`` slots of the one named here
    (``-pe <name> <slots>``); how the slots spread over hosts is that
    environment's ``allocation_rule``. Without one, such a job is refused,
    unless its ``extra_scheduler_options`` give a ``-pe`` themselves.

    Jobs are submitted with all options on the qsub command line, each
    value quoted. The job script records the command's exit status in
    ``~/.cerulean/jobs/``, so :meth:`get_exit_code` works after the job has
    left qstat; for a job killed before it could write that record,
    ``qacct`` is asked. The record stays for 14 days, however often it is
    read; a submission removes older ones. Statuses of many jobs come from
    one ``qstat -xml`` call (:meth:`get_statuses`), which lists the user's
    own jobs: ask about jobs submitted by the same user.

    :param terminal: The terminal to use to talk to the scheduler.
    :param prefix: A string to prefix the Grid Engine commands with.
    :param parallel_environment: The parallel environment for jobs with
        more than one slot.
    """

    _queue_kind = _KIND
    _job_id_pattern = _JOB_ID
    _job_id_what = "a Grid Engine job id"

    def __init__(self, terminal: Terminal, prefix: str = "",
                 parallel_environment: str | None = None) -> None:
        """Create a GridEngineScheduler talking through ``terminal``."""
        super().__init__(terminal, prefix)
        if parallel_environment is not None:
            _script.check_line(parallel_environment, "parallel_environment")
        self._parallel_environment = parallel_environment

    @property
    def parallel_environment(self) -> str | None:
        """The parallel environment for jobs with more than one slot."""
        return self._parallel_environment

    def _submit_command(self, job_description: JobDescription) -> Command:
        script = job_script(job_description)
        # Run in the working directory: -cwd starts the job there, and
        # qsub resolves relative output paths against it.
        return Command("qsub", qsub_args(job_description,
                                         self._parallel_environment),
                       stdin=script, workdir=job_description.working_directory)

    _parse_submit = staticmethod(parse_qsub)

    def _status_command(self, job_ids: Sequence[str]) -> Command:
        return Command("qstat", ["-xml"])

    _parse_statuses = staticmethod(parse_qstat)
    _exit_code_script = staticmethod(exit_code_script)

    def _parse_exit_codes(self, result: Result, job_ids: Sequence[str]
                          ) -> ExitCodes:
        return parse_exit_codes(result.stdout, job_ids)

    def _cancel_command(self, job_id: str) -> Command:
        return Command("qdel", [job_id])

    _ended_job_messages = ("does not exist",)  # qdel on a finished job

