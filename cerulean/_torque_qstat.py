"""Torque's qstat: job states, job records, and the statuses read from them.

Both kinds of qstat that :mod:`cerulean.torque_scheduler` drives are read
here: real Torque's ``qstat -x`` (XML, read with defusedxml) and the
``qstat -f`` text of real Torque and of the PBS-compatible wrappers on
Slurm. Pure: nothing here runs a command. The public names are
re-exported by :mod:`cerulean.torque_scheduler`, where they are documented
to live.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from xml.etree.ElementTree import ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from cerulean.job_status import JobStatus
from cerulean.scheduler import Result, SchedulerError

TORQUE = "torque"
"""Flavor name of real Torque."""
WRAPPER = "slurm-wrapper"
"""Flavor name of the PBS-compatible wrappers on Slurm."""

# Torque job states (qstat man page). E (exiting) means the command has
# ended but the job is still being cleaned up: not DONE until C.
STATES: dict[str, JobStatus] = {
    "Q": JobStatus.WAITING,
    "H": JobStatus.WAITING,
    "W": JobStatus.WAITING,
    "T": JobStatus.WAITING,
    "R": JobStatus.RUNNING,
    "E": JobStatus.RUNNING,
    "S": JobStatus.RUNNING,
    "C": JobStatus.DONE,
}

# The wrapper's qstat prints U for the Slurm states it has no letter for;
# in Slurm 22.05 those are DEADLINE and OUT_OF_MEMORY, both final.
_WRAPPER_STATES = dict(STATES, U=JobStatus.DONE)


def parse_state(letter: str, flavor: str) -> JobStatus:
    """Map a qstat ``job_state`` letter to a JobStatus.

    :param letter: The state letter.
    :param flavor: :data:`TORQUE` or :data:`WRAPPER`.
    :returns: The status.
    :raises SchedulerError: For a state we do not know, quoting it.
    """
    states = _WRAPPER_STATES if flavor == WRAPPER else STATES
    if letter not in states:
        raise SchedulerError(f"Unknown Torque job state {letter!r}")
    return states[letter]


def exit_code_for(exit_status: str | None) -> int | None:
    """The exit code from Torque's ``exit_status``, if the script reported one.

    0 to 255 is the job script's own exit status. Negative values are
    Torque's (the job could not start, or exceeded a limit) and 256 + n
    means the script was killed by signal n (for example at its walltime):
    the command did not finish, so there is no exit code.

    :param exit_status: The attribute's text, or None if absent.
    :returns: The exit code or None.
    :raises SchedulerError: If the value is not a number.
    """
    if exit_status is None:
        return None
    if not re.fullmatch(r"-?\d+", exit_status.strip()):
        raise SchedulerError(f"Cannot read Torque exit_status {exit_status!r}")
    value = int(exit_status)
    return value if 0 <= value < 256 else None


def qstat_command(flavor: str) -> str:
    """The qstat invocation that reports full job records for ``flavor``.

    :param flavor: :data:`TORQUE` or :data:`WRAPPER`.
    :returns: Command and options.
    """
    return "qstat -x" if flavor == TORQUE else "qstat -f"


def parse_qstat_xml(text: str) -> dict[str, dict[str, str]]:
    """Job records from Torque's ``qstat -x`` XML.

    :param text: The XML (``<Data><Job>...</Job></Data>``).
    :returns: Job id to its attributes (top-level element texts).
    :raises SchedulerError: If the XML cannot be parsed.
    """
    if not text.strip():
        return {}
    try:
        root = SafeET.fromstring(text.strip())
    except (ParseError, DefusedXmlException) as e:
        raise SchedulerError(f"Cannot parse qstat XML ({e}): {text[:200]!r}") from None
    jobs: dict[str, dict[str, str]] = {}
    for job in root.iter("Job"):
        fields = {child.tag: (child.text or "").strip() for child in job}
        if "Job_Id" in fields:
            jobs[fields["Job_Id"]] = fields
    return jobs


def parse_qstat_full(text: str) -> dict[str, dict[str, str]]:
    """Job records from ``qstat -f`` text (Torque, or the Slurm wrapper).

    Records start with ``Job Id: <id>``; attributes are ``name = value``
    lines, and Torque continues long values on lines starting with a tab.

    :param text: The output.
    :returns: Job id to its attributes.
    """
    jobs: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    last = ""
    for line in text.splitlines():
        if line.startswith("Job Id:"):
            current = {}
            jobs[line.split(":", 1)[1].strip()] = current
            last = ""
        elif current is not None and " = " in line and line[:1].isspace() \
                and not line.startswith("\t\t"):
            name, _, value = line.strip().partition(" = ")
            current[name] = value
            last = name
        elif current is not None and last and line[:1].isspace() and line.strip():
            current[last] += line.strip()  # a continued long value
    return jobs


def records(result: Result, flavor: str) -> dict[str, dict[str, str]]:
    """Job records from a qstat run, tolerating ids qstat does not know."""
    text = result.stdout
    if flavor == TORQUE:
        # Torque prints XML for the jobs it knows and complains about the
        # rest on stderr; with only complaints, stdout is empty.
        jobs = parse_qstat_xml(text)
    else:
        jobs = parse_qstat_full(text)
    if result.exit_code != 0 and not jobs and not _all_unknown(result):
        raise SchedulerError(
            f"qstat failed: {(result.stderr or result.stdout).strip()}")
    return jobs


def _all_unknown(result: Result) -> bool:
    # Torque: "Unknown Job Id"; the wrapper exits with 153 and prints nothing.
    return ("Unknown Job Id" in result.stderr
            or (result.exit_code == 153 and not result.stderr.strip()))


def find_record(records: dict[str, dict[str, str]], job_id: str
          ) -> dict[str, str] | None:
    """A job's record; Torque may print the id with a longer server name."""
    if job_id in records:
        return records[job_id]
    number = job_id.split(".")[0]
    for key, record in records.items():
        if key.split(".")[0] == number and (
                "." not in job_id or key.startswith(job_id + ".")):
            return record
    return None


def parse_statuses(result: Result, job_ids: Sequence[str], flavor: str
                   ) -> dict[str, JobStatus]:
    """Job statuses from :func:`qstat_command` output.

    Jobs qstat no longer knows have been purged after finishing: done.

    :param result: What qstat returned.
    :param job_ids: The jobs asked about.
    :param flavor: :data:`TORQUE` or :data:`WRAPPER`.
    :returns: The status of every job asked about.
    :raises SchedulerError: If qstat failed, or printed a state we do not
        know.
    """
    found = records(result, flavor)
    statuses = {}
    for job_id in job_ids:
        record = find_record(found, job_id)
        if record is None:
            statuses[job_id] = JobStatus.DONE
        elif "job_state" not in record:
            raise SchedulerError(f"qstat printed no job_state for job {job_id}")
        else:
            statuses[job_id] = parse_state(record["job_state"], flavor)
    return statuses
