"""Dataclasses and enums of the Jobs API, as neuro_sdk defines them.

:class:`JobDescription` and its parts describe a job; :class:`StdStream` and
:class:`Message` carry the streams of ``Jobs.exec()`` and ``Jobs.attach()``.
The storage-side dataclasses a job uses (:class:`~neuro_compat.Volume`,
:class:`~neuro_compat.SecretFile`, :class:`~neuro_compat.DiskVolume`,
:class:`~neuro_compat.RemoteImage`, :class:`~neuro_compat.Preset`) live with
the Storage and Parser code and are only imported here.
"""
from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from yarl import URL

from .._images import RemoteImage
from .._volumes import DiskVolume, SecretFile, Volume


class JobStatus(str, enum.Enum):
    """*Enumeration* that describes job state.

    Can be one of the following statuses:

    ``PENDING``: job is scheduled for execution but not started yet.
    ``RUNNING``: job is running now.
    ``SUSPENDED``: scheduled job is paused to allow other jobs to run.
    ``SUCCEEDED``: job is finished successfully.
    ``CANCELLED``: job was canceled while it was running.
    ``FAILED``: job execution is failed.
    ``UNKNOWN``: invalid (or unknown) status code, should be never returned.
    """

    PENDING = "pending"
    SUSPENDED = "suspended"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_pending(self) -> bool:
        """Job is waiting to become running: True for *PENDING* and
        *SUSPENDED* states."""
        return self in (JobStatus.PENDING, JobStatus.SUSPENDED)

    @property
    def is_running(self) -> bool:
        """Job is running now: True for *RUNNING* state."""
        return self == JobStatus.RUNNING

    @property
    def is_finished(self) -> bool:
        """Job completed execution: True for *SUCCEEDED*, *CANCELLED* and
        *FAILED*."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)

    @classmethod
    def items(cls) -> set[JobStatus]:
        """Returns all statuses except *UNKNOWN*."""
        return {item for item in cls if item != cls.UNKNOWN}

    @classmethod
    def active_items(cls) -> set[JobStatus]:
        """Returns all statuses that are not final: *PENDING*, *SUSPENDED*
        and *RUNNING*."""
        return {item for item in cls.items() if not item.is_finished}

    @classmethod
    def finished_items(cls) -> set[JobStatus]:
        """Returns all statuses that are final: *SUCCEEDED*, *CANCELLED* and
        *FAILED*."""
        return {item for item in cls.items() if item.is_finished}

    def __str__(self) -> str:
        return self.value


class JobRestartPolicy(str, enum.Enum):
    """*Enumeration* that describes job restart behavior.

    ``NEVER``: job will never be restarted (the only policy batch
    schedulers offer here). ``ON_FAILURE``: job will be restarted only in
    case of job failure. ``ALWAYS``: job will always be restarted after
    success or failure.
    """

    NEVER = "never"
    ON_FAILURE = "on-failure"
    ALWAYS = "always"

    def __str__(self) -> str:
        return self.value


class JobPriority(enum.IntEnum):
    """*Enumeration* that describes job priority.

    ``LOW``: jobs with LOW priority will start after all other jobs.
    ``NORMAL``: default job priority.
    ``HIGH``: jobs with HIGH priority will start before all other jobs.
    """

    LOW = 1
    NORMAL = 2
    HIGH = 3


@dataclass(frozen=True)
class HTTPPort:
    """*Read-only* dataclass for exposing HTTP server started in a job.

    :ivar port: open port number in container's port namespace, ``int``.
    :ivar requires_auth: authentication in Neuro Platform is required for
        access to exposed HTTP server if True, the port is open publicly
        otherwise. On HPC clusters it is only recorded: nothing is opened
        publicly, the port is reached through your own SSH connection
        (:meth:`Jobs.port_forward`), and from the cluster's network as any
        port a job listens on.
    """

    port: int
    requires_auth: bool = True


@dataclass(frozen=True)
class Resources:
    """*Read-only* dataclass for describing resources (memory, CPU/GPU etc.)
    available for container, see also :attr:`Container.resources` attribute.

    :ivar memory: requested memory amount in bytes, ``int``.
    :ivar cpu: requested number of CPUs, ``float``. Batch schedulers round a
        fraction up to whole CPUs.
    :ivar gpu: the number of requested GPUs, ``int``. Use None for jobs that
        doesn't require GPU.
    :ivar gpu_model: the name of requested GPU model, ``str`` (or None for
        job without GPUs).
    :ivar shm: use Linux shared memory or not, ``bool``.
    :ivar tpu_type: requested TPU type; TPUs do not exist on HPC clusters.
    :ivar tpu_software_version: requested TPU software version.
    """

    memory: int
    cpu: float
    gpu: int | None = None
    gpu_model: str | None = None
    shm: bool = True
    tpu_type: str | None = None
    tpu_software_version: str | None = None

    @property
    def memory_mb(self) -> int:
        """Requested memory amount in MiB, ``int``."""
        return self.memory // 2**20


@dataclass(frozen=True)
class Container:
    """*Read-only* dataclass for describing Docker image and environment to
    run a job.

    :ivar image: :class:`RemoteImage` used for starting a container.
    :ivar resources: :class:`Resources` which are used to schedule a
        container.
    :ivar entrypoint: Docker *ENTRYPOINT* used for overriding image
        entry-point (``str``), default None is used to pick entry-point from
        image's *Dockerfile*.
    :ivar command: command line to execute inside a container (``str``),
        None for picking command line from image's *Dockerfile*.
    :ivar working_dir: working directory inside a container (``str``), or
        None.
    :ivar http: :class:`HTTPPort` for describing parameters of HTTP server
        exposed by container, None if the container doesn't provide HTTP
        access. Recorded, and shown as the job's ``http_url``; reached with
        :meth:`Jobs.port_forward` (no ingress on HPC clusters).
    :ivar env: custom *environment variables* for pushing into container's
        task. A ``Mapping`` where keys are environments variables names and
        values are variable values, both ``str``. Empty ``dict`` by default.
    :ivar volumes: Docker volumes to mount into container, a ``Sequence`` of
        :class:`Volume` objects. Empty ``list`` by default.
    :ivar secret_env: secrets pushed as custom *environment variables* into
        container's task. Empty ``dict`` by default.
    :ivar secret_files: secrets mounted as files in a container, a
        ``Sequence`` of :class:`SecretFile` objects. Empty ``list`` by
        default.
    :ivar disk_volumes: disk volumes used to mount into container, a
        ``Sequence`` of :class:`DiskVolume` objects. Empty ``list`` by
        default.
    :ivar tty: allocate a TTY or not. False by default.
    """

    image: RemoteImage
    resources: Resources
    entrypoint: str | None = None
    command: str | None = None
    working_dir: str | None = None
    http: HTTPPort | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    volumes: Sequence[Volume] = field(default_factory=list)
    secret_env: Mapping[str, URL] = field(default_factory=dict)
    secret_files: Sequence[SecretFile] = field(default_factory=list)
    disk_volumes: Sequence[DiskVolume] = field(default_factory=list)
    tty: bool = False


@dataclass(frozen=True)
class JobStatusItem:
    """*Read-only* dataclass for describing job status transition details.

    :ivar status: status of job after this transition, :class:`JobStatus`
        enumeration.
    :ivar transition_time: status transition timestamp, ``datetime``.
    :ivar reason: additional information for job status, ``str``, e.g.
        ``'LifeSpanEnded'`` for a job stopped at its life span.
    :ivar description: extended description for short abbreviation
        described by *reason*, empty ``str`` if no additional information is
        provided.
    :ivar exit_code: exit code for container's process (``int``) or None if
        the job was not started or was still running when this transition
        occurred.
    """

    status: JobStatus
    transition_time: datetime
    reason: str = ""
    description: str = ""
    exit_code: int | None = None


@dataclass(frozen=True)
class JobStatusHistory:
    """*Read-only* dataclass for describing job status details, e.g.
    creation and finishing time, exit code etc.

    :ivar status: current status of job, :class:`JobStatus` enumeration. The
        same as :attr:`JobDescription.status`.
    :ivar reason: additional information for current status, ``str``.
    :ivar description: extended description for short abbreviation
        described by *reason*, empty ``str`` if no additional information is
        provided.
    :ivar restarts: number of container's restarts, ``int`` (always 0:
        jobs are never restarted here).
    :ivar created_at: job creation timestamp, ``datetime`` or None.
    :ivar started_at: job starting timestamp, ``datetime`` or None if job
        not started.
    :ivar finished_at: job finishing timestamp, ``datetime`` or None if job
        not finished.
    :ivar run_time_seconds: seconds the job has run (so far), or None.
    :ivar exit_code: exit code for container's process (``int``) or None if
        the job was not started or is still running.
    :ivar transitions: list of job status transitions, ``Sequence`` of
        :class:`JobStatusItem`.
    """

    status: JobStatus
    reason: str
    description: str
    restarts: int = 0
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    run_time_seconds: int | None = None
    exit_code: int | None = None
    transitions: Sequence[JobStatusItem] = field(default_factory=list)

    @property
    def changed_at(self) -> datetime:
        """When the job entered its current status, ``datetime``."""
        when: datetime | None = None
        if self.status.is_pending:
            when = self.created_at
        elif self.status.is_running:
            when = self.started_at
        elif self.status.is_finished:
            when = self.finished_at
        if when is None and self.transitions:
            when = self.transitions[-1].transition_time
        if when is None:
            raise ValueError("the job's history has no time for its current status")
        return when


@dataclass(frozen=True)
class JobDescriptionInternal:
    """Some internal info about job used by platform. Should not be used.

    :ivar materialized: True once the job was handed to the scheduler.
    :ivar being_dropped: always False here.
    :ivar logs_removed: always False here.
    """

    materialized: bool = False
    being_dropped: bool = False
    logs_removed: bool = False


@dataclass(frozen=True)
class JobDescription:
    """*Read-only* dataclass for describing a job.

    :ivar id: job ID, ``str`` (``job-<uuid>``).
    :ivar owner: a name of user who created a job, ``str``.
    :ivar cluster_name: a name of cluster where job was scheduled, ``str``.
    :ivar status: current status of job, :class:`JobStatus` enumeration.
    :ivar history: additional information about job, e.g. creation time and
        process exit code. :class:`JobStatusHistory` instance.
    :ivar container: description of container information used to start a
        job, :class:`Container` instance.
    :ivar scheduler_enabled: is job participate in round-robin scheduling
        (always False here).
    :ivar pass_config: is config data is passed by platform (always False
        here).
    :ivar uri: the job's URI, ``job://cluster/owner/id``, ``yarl.URL``.
    :ivar total_price_credits: always 0 on HPC clusters.
    :ivar price_credits_per_hour: always 0 on HPC clusters.
    :ivar name: job name provided by user at creation time, ``str`` or None
        if name is omitted.
    :ivar tags: list of job tags provided by user at creation time,
        ``Sequence[str]`` or ``()`` if tags omitted.
    :ivar description: job description text provided by user at creation
        time, ``str`` or None if description is omitted.
    :ivar http_url: ``yarl.URL`` for HTTP server exposed by job:
        ``http://<node>:<port>`` of its ``container.http`` while it runs,
        reachable from the cluster's network (there is no ingress: from
        elsewhere, :meth:`Jobs.port_forward` to that port); empty for a job
        without one, or not running.
    :ivar internal_hostname: the host name of the node the job runs on, once
        it has started; None before.
    :ivar internal_hostname_named: always None here.
    :ivar restart_policy: job restart behavior, :class:`JobRestartPolicy`.
    :ivar life_span: job run-time limit in seconds, ``float``, or None.
    :ivar schedule_timeout: always None here.
    :ivar preset_name: the preset the job was started with, or None.
    :ivar org_name: always None (no organizations on HPC clusters).
    :ivar preemptible_node: always False here.
    :ivar privileged: always False here.
    :ivar priority: priority used to specify job's start order,
        :class:`JobPriority`.
    """

    id: str
    owner: str
    cluster_name: str
    status: JobStatus
    history: JobStatusHistory
    container: Container
    scheduler_enabled: bool
    pass_config: bool
    uri: URL
    total_price_credits: Decimal
    price_credits_per_hour: Decimal
    name: str | None = None
    tags: Sequence[str] = ()
    description: str | None = None
    http_url: URL = field(default_factory=URL)
    internal_hostname: str | None = None
    internal_hostname_named: str | None = None
    restart_policy: JobRestartPolicy = JobRestartPolicy.NEVER
    life_span: float | None = None
    schedule_timeout: float | None = None
    preset_name: str | None = None
    org_name: str | None = None
    preemptible_node: bool = False
    privileged: bool = False
    priority: JobPriority = JobPriority.NORMAL
    _internal: JobDescriptionInternal = JobDescriptionInternal()


@dataclass(frozen=True)
class JobTelemetry:
    """*Read-only* dataclass for job telemetry (statistics), e.g. consumed
    CPU load, memory footprint etc.

    :ivar cpu: CPU load, ``float``. 1 means fully loaded one CPU unit, 0.5
        is for half-utilized CPU.
    :ivar memory_bytes: consumed memory (resident set size of the job's
        processes) in bytes, ``int``.
    :ivar timestamp: date and time of telemetry report (``float``), time in
        seconds since the *epoch*, like the value returned from
        ``time.time()``.
    :ivar gpu_duty_cycle: percentage of time the GPU was busy; None (GPU
        telemetry is not collected here).
    :ivar gpu_memory_bytes: used GPU memory in bytes; None here.
    """

    cpu: float
    memory_bytes: int
    timestamp: float
    gpu_duty_cycle: int | None = None
    gpu_memory_bytes: int | None = None

    @property
    def memory(self) -> float:
        """Consumed memory in megabytes, ``float``."""
        return self.memory_bytes / 2**20

    @property
    def gpu_memory(self) -> float | None:
        """Used GPU memory in megabytes, ``float``, or None."""
        if self.gpu_memory_bytes is None:
            return None
        return self.gpu_memory_bytes / 2**20


@dataclass(frozen=True)
class Message:
    """*Read-only* dataclass for representing job's stdout/stderr stream
    chunks, returned from :meth:`StdStream.read_out`.

    :ivar fileno: stream number, 1 for stdout and 2 for stderr.
    :ivar data: a chunk of stdout/stderr data, ``bytes``.
    """

    fileno: int
    data: bytes


class StdStream:
    """A class for communicating with attached job (:meth:`Jobs.attach`) or
    exec session (:meth:`Jobs.exec`). Use :meth:`read_out` for reading from
    stdout/stderr and :meth:`write_in` for writing into stdin.

    Instances are made by the Jobs subsystem.

    :param ws: the stream's source (a process beside the job, or the job's
        log), made by :meth:`Jobs.exec` or :meth:`Jobs.attach`.
    """

    def __init__(self, ws: Any) -> None:
        self._ws = ws

    async def close(self) -> None:
        """Close *StdStream* instance (and stop what feeds it)."""
        await self._ws.close()

    async def read_out(self) -> Message | None:
        """Read next chunk from stdout/stderr.

        :returns: :class:`Message` instance for read data chunk or None if
            EOF is reached or *StdStream* was closed.
        :raises StdStreamError: at the end of the stream: for
            :meth:`Jobs.exec`, always, with the command's exit code (0
            included, as in neuro_sdk); for :meth:`Jobs.attach`, if the job
            ended with a non-zero exit code.
        """
        message: Message | None = await self._ws.read()
        return message

    async def write_in(self, data: bytes) -> None:
        """Write *data* to stdin.

        Writing ``b""`` closes the standard input (end of file).

        :param data: data to send, ``bytes``.
        """
        await self._ws.write(data)

    async def resize(self, h: int, w: int) -> None:
        """Resize the terminal of a ``tty=True`` exec session.

        :param h: height in rows.
        :param w: width in columns.
        :raises ValueError: for a session without a terminal.
        """
        await self._ws.resize(h, w)
