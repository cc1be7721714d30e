"""The job registry: job metadata as files in the cluster's job directory.

Every client of a cluster sees the same jobs because their metadata lives on
the cluster, in the configured ``job_dir``, written and read through the
cerulean file system of the machine the terminal runs on (local or SFTP).
So ``list()`` and ``status()`` work from any client, after a restart, and
after the scheduler has forgotten the job.

Layout (``<id>`` is ``job-<uuid>``)::

    <job_dir>/<id>.json        the JobRecord, written once after submission
    <job_dir>/<id>.final.json  the record plus its final JobState, written once
                               the job is over (then the others are not read)
    <job_dir>/<id>.events      made empty at submission, then appended to by
                               the job's wrapper script only
    <job_dir>/<id>.cancel      Jobs.kill was called (the time, first call wins)
    <job_dir>/<id>.limit       the life span in seconds, read by the wrapper
    <job_dir>/<id>/            the job's own directory: ``output`` (stdout and
                               stderr of the command), ``scheduler.out`` and
                               ``scheduler.err`` (the scheduler's messages),
                               all three made empty at submission

The job directory must be on a file system that the compute nodes share
with the machine the terminal runs on (home directories usually are): the
wrapper writes its events and the command's output there from the node.

Several clusters may share a job directory (two local clusters without
``job_dir`` both use the default one): each record names its cluster, and a
cluster's registry sees only its own jobs.

The facts sit side by side in one directory, so that one listing tells which
exist for every job, and each file has a single writer or is written once:
concurrent clients never update the same file in place. Files are written
under a temporary name and renamed into place (atomic on POSIX file systems
and SFTP's posix-rename), so a reader sees a whole file or none, and the
metadata is private to the user (mode 0600, directories 0700; the files
that the wrapper and the scheduler write exist before the job starts, so
that the job's umask does not decide their mode).

Everything here blocks; the Jobs subsystem calls it in worker threads.
"""
from __future__ import annotations

import contextlib
import logging
import math
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cerulean.file_system_impl import FileSystemImpl, WriteItem

from .record import (
    Events,
    JobRecord,
    JobState,
    dump_record,
    load_record,
    parse_events,
)

log = logging.getLogger(__name__)

JOB_ID = re.compile(r"job-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""What a job id looks like; anything else never becomes a path."""

_FILE = re.compile(rf"({JOB_ID.pattern})\.(json|final\.json|events|cancel|limit)")
_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


@dataclass(frozen=True)
class Entry:
    """A job as the registry holds it.

    :ivar record: what was submitted.
    :ivar final: the final state, once the job is over; else None.
    """

    record: JobRecord
    final: JobState | None


@dataclass(frozen=True)
class Progress:
    """What happened to a job that is not over yet.

    :ivar events: what its wrapper script recorded.
    :ivar cancel_at: when ``kill`` was first called, or None.
    :ivar limit: the life span the wrapper enforces now, or None.
    """

    events: Events
    cancel_at: float | None
    limit: float | None = None


class Registry:
    """The job files of one cluster.

    :param fs: the file system of the machine the terminal runs on.
    :param job_dir: the job directory there (absolute).
    :param cluster: the cluster's name: jobs of other clusters in the same
        directory are not seen.
    """

    def __init__(self, fs: FileSystemImpl, job_dir: str, cluster: str) -> None:
        self.fs = fs
        self.job_dir = job_dir
        self.cluster = cluster
        self._ready = False

    # --- Paths --------------------------------------------------------------

    def path(self, job_id: str, kind: str) -> str:
        """The path of one of a job's files (``json``, ``events``, ...)."""
        return posixpath.join(self.job_dir, f"{check_id(job_id)}.{kind}")

    def home(self, job_id: str) -> str:
        """The job's own directory."""
        return posixpath.join(self.job_dir, check_id(job_id))

    def output(self, job_id: str) -> str:
        """The file with the command's stdout and stderr."""
        return posixpath.join(self.home(job_id), "output")

    # --- Writing ------------------------------------------------------------

    def create_home(self, job_id: str) -> None:
        """Make the job directory (first time), the job's own directory, and,
        empty, the files that the wrapper and the scheduler write.

        Made here so that they are private (0600) like the rest: the wrapper
        and the scheduler would create them with the job's umask, and only
        append to or truncate a file that exists.
        """
        if not self._ready:
            makedirs(self.fs, self.job_dir)
            self._ready = True
        self.fs._mkdir(self.home(job_id), _PRIVATE_DIR)
        items = [WriteItem(path, b"", _PRIVATE_FILE) for path in self._written_by_job(job_id)]
        for _ in self.fs._write_files(items):
            pass

    def _written_by_job(self, job_id: str) -> list[str]:
        home = self.home(job_id)
        return [self.path(job_id, "events"), self.output(job_id),
                posixpath.join(home, "scheduler.out"), posixpath.join(home, "scheduler.err")]

    def write_record(self, record: JobRecord) -> None:
        """Store the record of a newly submitted job."""
        self._write(self.path(record.id, "json"), dump_record(record))

    def write_final(self, record: JobRecord, state: JobState) -> None:
        """Store the final state; from now on only this file is read."""
        self._write(self.path(record.id, "final.json"), dump_record(record, state))

    def write_finals(self, finals: Iterable[tuple[JobRecord, JobState]]) -> None:
        """Store several final states, pipelined where the file system can."""
        items = [WriteItem(self.path(r.id, "final.json"), dump_record(r, s), _PRIVATE_FILE)
                 for r, s in finals]
        for _ in self.fs._write_files(items):
            pass

    def write_cancel(self, job_id: str, when: float) -> None:
        """Note that ``kill`` was called, unless an earlier call did."""
        path = self.path(job_id, "cancel")
        if self._exists(path):
            return  # the first request's time is what tells its order
        self._write(path, f"{when!r}\n".encode())

    def write_limit(self, job_id: str, seconds: float) -> None:
        """Set the life span the job's wrapper script enforces."""
        # Whole seconds, rounded up: a job never gets less than asked for.
        self._write(self.path(job_id, "limit"), f"{math.ceil(seconds)}\n".encode())

    def _write(self, path: str, data: bytes) -> None:
        self.fs._write_atomic(path, [data], _PRIVATE_FILE)

    def _exists(self, path: str) -> bool:
        try:
            self.fs._lstat(path)
        except FileNotFoundError:
            return False
        return True

    # --- Reading ------------------------------------------------------------

    def read_limit(self, job_id: str) -> float | None:
        """The life span the wrapper enforces now, or None if it has none."""
        return _float(self.read_optional(self.path(job_id, "limit")))

    def entry(self, job_id: str) -> Entry | None:
        """One job's record and final state; None if this cluster has no
        such job (also when the job belongs to another cluster)."""
        final = self.read_optional(self.path(job_id, "final.json"))
        if final is not None:
            record, state = load_record(final)
            return Entry(record, state) if self._ours(record) else None
        data = self.read_optional(self.path(job_id, "json"))
        if data is None:
            return None
        record = load_record(data)[0]
        return Entry(record, None) if self._ours(record) else None

    def entries(self) -> list[Entry]:
        """Every job of this cluster in the directory, with one listing and
        pipelined reads.

        Jobs whose files cannot be read (a file removed by hand, another
        format) are logged and left out rather than failing the listing.
        """
        kinds = self._listing()
        wanted = []
        for job_id, present in kinds.items():
            if "final.json" in present:
                wanted.append(self.path(job_id, "final.json"))
            elif "json" in present:
                wanted.append(self.path(job_id, "json"))
        result = []
        for path, data in zip(wanted, self.read_many(wanted)):
            if data is None:
                continue
            try:
                record, state = load_record(data)
            except ValueError as e:
                log.warning("ignoring job file %s: %s", path, e)
                continue
            if self._ours(record):
                result.append(Entry(record, state))
        return result

    def _ours(self, record: JobRecord) -> bool:
        return record.cluster_name == self.cluster

    def progress(self, job_ids: list[str]) -> dict[str, Progress]:
        """What the wrapper scripts recorded, kill requests and life spans.

        Read after asking the scheduler, so that a job the scheduler calls
        done has written all it ever will. For many jobs, a fresh listing
        (one round trip) says which files exist, so that only those are
        read, pipelined; a single job's files are simply tried.
        """
        kinds = ("events", "cancel", "limit")
        present = self._listing() if len(job_ids) > 1 else None
        paths = [self.path(j, k) for j in job_ids for k in kinds
                 if present is None or k in present.get(j, ())]
        contents = dict(zip(paths, self.read_many(paths)))
        result = {}
        for job_id in job_ids:
            events, cancel, limit = (contents.get(self.path(job_id, k)) for k in kinds)
            result[job_id] = Progress(
                parse_events(events.decode(errors="replace")) if events else Events(),
                _float(cancel), _float(limit))
        return result

    def read_many(self, paths: list[str]) -> list[bytes | None]:
        """The contents of several small files (None for a missing one)."""
        if not paths:
            return []
        try:
            return list(self.fs._read_files([(p, 4096) for p in paths]))
        except FileNotFoundError:
            # Some file is missing: the pipelined read stops, so read one by
            # one, each missing file giving None.
            return [self.read_optional(p) for p in paths]

    def read_optional(self, path: str) -> bytes | None:
        """The content of a file, or None if it does not exist."""
        try:
            return b"".join(self.fs._read_stream(path))
        except FileNotFoundError:
            return None

    def read_tail(self, path: str, limit: int = 2000) -> str:
        """The last ``limit`` characters of a text file, or ``""``."""
        data = self.read_optional(path)
        return "" if data is None else data.decode(errors="replace")[-limit:]

    def _listing(self) -> dict[str, set[str]]:
        try:
            names = [name for name, _ in self.fs._listdir(self.job_dir)]
        except FileNotFoundError:
            return {}  # no job was ever started here
        kinds: dict[str, set[str]] = {}
        for name in names:
            m = _FILE.fullmatch(name)
            if m is not None:
                kinds.setdefault(m.group(1), set()).add(m.group(2))
        return kinds

    def remove(self, job_id: str) -> None:
        """Remove a job's files (a submission that failed); best effort."""
        for path in (self.path(job_id, "limit"), *self._written_by_job(job_id)):
            with contextlib.suppress(OSError):
                self.fs._unlink(path)
        with contextlib.suppress(OSError):
            self.fs._rmdir(self.home(job_id))


def check_id(job_id: str) -> str:
    """Return ``job_id`` if it is one of ours, else raise ValueError.

    Ids become file names, so nothing but ``job-<uuid>`` is accepted.
    """
    if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
        raise ValueError(f"{job_id!r} is not a job id (job-<uuid>)")
    return job_id


def makedirs(fs: FileSystemImpl, path: str) -> None:
    """Make ``path`` and its missing parents (0700), as ``mkdir -p``."""
    missing: list[str] = []
    current = path
    while current not in ("/", ""):
        try:
            fs._stat(current)
            break
        except FileNotFoundError:
            missing.append(current)
            current = posixpath.dirname(current)
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another client made it
            fs._mkdir(directory, _PRIVATE_DIR)


def _float(data: bytes | None) -> float | None:
    if data is None:
        return None
    try:
        return float(data.decode().strip())
    except ValueError:
        return None
