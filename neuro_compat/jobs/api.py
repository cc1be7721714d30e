"""The :class:`Jobs` class, ``Client.jobs``: the async face of the Jobs API.

Each call checks its arguments (:mod:`~neuro_compat.jobs.params`), finds the
job's cluster, and runs the blocking work of
:class:`~neuro_compat.jobs.cluster.ClusterJobs` in that cluster's worker
threads; see :mod:`neuro_compat.jobs` for how neuro_sdk's notions map onto a
cluster.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from yarl import URL

import cerulean

from .._bridge import Bridge
from .._cluster.session import Sessions
from .._images import RemoteImage
from .._utils import UNSET, NoPublicConstructor, async_iterator_context
from .._volumes import DiskVolume, SecretFile, Volume
from ..errors import IllegalArgumentError, ResourceNotFound
from . import telemetry
from .cluster import ClusterJobs, Snapshot, Submission
from .output import follow, output_size
from .params import check_submission, refuse
from .params import life_span as life_span_of
from .ports import Forwarder, ssh_connector, tcp_connector
from .registry import Entry, check_id
from .state import description
from .streams import LogSource, ProcessSource, open_process
from .types import (
    Container,
    HTTPPort,
    JobDescription,
    JobPriority,
    JobRestartPolicy,
    JobStatus,
    JobTelemetry,
    Resources,
    StdStream,
)

log = logging.getLogger(__name__)

TOP_INTERVAL = 1.0
"""Seconds between two ``top`` samples."""

ATTACH_DRAIN_TIMEOUT = 60.0
"""Longest wait, in seconds, of an attach to a finished job for the job's
monitors to end (see :meth:`Jobs.attach`)."""

class Jobs(metaclass=NoPublicConstructor):
    """Jobs subsystem, available as ``Client.jobs``.

    User can start new job, terminate it, get status, list running jobs etc.
    """

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._clusters: dict[str, ClusterJobs] = {}
        self._told_host: set[str] = set()
        # Open port forwards, with the worker threads of their cluster.
        self._forwarders: dict[Forwarder, Bridge] = {}
        # The monitor() iterations of each job under way, each an event set
        # as it ends (see attach()).
        self._monitoring: dict[str, set[asyncio.Event]] = {}

    # --- Clusters -------------------------------------------------------------

    def _on(self, cluster_name: str | None = None) -> ClusterJobs:
        session = self._sessions.get(cluster_name)
        jobs = self._clusters.get(session.name)
        if jobs is None or jobs.session is not session:
            jobs = ClusterJobs(session)
            self._clusters[session.name] = jobs
        return jobs

    async def _find(self, id: str, cluster_name: str | None = None
                    ) -> tuple[ClusterJobs, Entry]:
        """The cluster and registry entry of a job.

        Looks on ``cluster_name``, or on the current cluster and then the
        others (a job id does not say where the job runs).
        """
        try:
            check_id(id)
        except ValueError as e:
            raise ResourceNotFound(f"Job {id!r} not found: {e}") from None
        config = self._sessions.config
        names = [cluster_name] if cluster_name else \
            [config.cluster_name, *[n for n in config.clusters if n != config.cluster_name]]
        problems = []
        for name in names:
            jobs = self._on(name)
            try:
                entry = await jobs.session.bridge.run(jobs.find, id)
            except Exception as e:  # another cluster may be down: say so, go on
                if name == names[0]:
                    raise
                problems.append(f"cluster '{name}' could not be asked ({e})")
                continue
            if entry is not None:
                return jobs, entry
        where = ", ".join(f"'{n}'" for n in names)
        extra = f"; {'; '.join(problems)}" if problems else ""
        raise ResourceNotFound(f"Job {id} not found on cluster {where}{extra}")

    async def _snapshot(self, jobs: ClusterJobs, entry: Entry) -> Snapshot:
        return await jobs.session.bridge.run(jobs.snapshot, entry)

    # --- Starting -------------------------------------------------------------

    async def start(self, *, image: RemoteImage, preset_name: str,
                    cluster_name: str | None = None, org_name: Any = UNSET,
                    entrypoint: str | None = None, command: str | None = None,
                    working_dir: str | None = None, http: HTTPPort | None = None,
                    env: Mapping[str, str] | None = None, volumes: Sequence[Volume] = (),
                    secret_env: Mapping[str, URL] | None = None,
                    secret_files: Sequence[SecretFile] = (),
                    disk_volumes: Sequence[DiskVolume] = (), tty: bool = False,
                    shm: bool = False, name: str | None = None, tags: Sequence[str] = (),
                    description: str | None = None, pass_config: bool = False,
                    wait_for_jobs_quota: bool = False,
                    schedule_timeout: float | None = None,
                    restart_policy: JobRestartPolicy = JobRestartPolicy.NEVER,
                    life_span: float | None = None, privileged: bool = False,
                    priority: JobPriority | None = None) -> JobDescription:
        """Start a new job.

        :param image: image used for starting a container (recorded only
            under runtime ``host``).
        :param preset_name: name of the preset of resources given to a
            container on a node.
        :param cluster_name: cluster to start a job. Default is current
            cluster.
        :param org_name: org to start a job on behalf of; only the default
            (no org) is possible.
        :param entrypoint: optional Docker *ENTRYPOINT* used for overriding
            image entry-point (``str``).
        :param command: optional command line to execute inside a container
            (``str``); under runtime ``host`` a ``bash`` command line.
        :param working_dir: optional working directory inside a container
            (``str``); under ``host``, on the node.
        :param http: the job's HTTP server, :class:`HTTPPort`: recorded on
            the job (``container.http``), and the job's ``http_url`` is
            ``http://<node>:<port>`` once it runs. There is no HTTP ingress:
            from outside the cluster, reach it with :meth:`port_forward` (the
            ``neuro port-forward JOB 8080:<port>`` command); ``requires_auth``
            is recorded, and only your own SSH connection forwards to it.
        :param env: optional custom *environment variables* for pushing into
            container's task.
        :param volumes: optional storage volumes to mount into container, a
            ``Sequence`` of :class:`Volume` objects (not under ``host``).
        :param secret_env: not supported (no secrets service).
        :param secret_files: not supported (no secrets service).
        :param disk_volumes: not supported (no disks).
        :param tty: not supported (batch jobs have no terminal).
        :param shm: give the container a shared-memory ``/dev/shm`` as large
            as its memory (docker, podman; always there otherwise).
        :param name: optional job name.
        :param tags: optional job tags.
        :param description: optional container description.
        :param pass_config: not supported.
        :param wait_for_jobs_quota: not supported (no quotas).
        :param schedule_timeout: not supported.
        :param restart_policy: only ``JobRestartPolicy.NEVER``.
        :param life_span: job run-time limit in seconds. Pass None to
            disable (the preset's ``time`` still applies).
        :param privileged: not supported.
        :param priority: only None or ``JobPriority.NORMAL``.
        :returns: :class:`JobDescription` instance with information about
            started job.
        :raises NotSupportedError: for a parameter without meaning here,
            volumes under runtime ``host``, or a runtime that is not
            installed on the cluster.
        :raises IllegalArgumentError: for an unknown preset, or one that asks
            for more CPUs, memory or GPUs than any node of its partition has
            (the message names what no node has; nothing is submitted).
        :raises ValueError: for a malformed argument.
        """
        refuse("Jobs.start", org_name=(org_name, org_name is UNSET or org_name is None),
               secret_env=(secret_env, not secret_env),
               secret_files=(secret_files, not secret_files),
               disk_volumes=(disk_volumes, not disk_volumes), tty=(tty, not tty),
               pass_config=(pass_config, not pass_config),
               wait_for_jobs_quota=(wait_for_jobs_quota, not wait_for_jobs_quota),
               schedule_timeout=(schedule_timeout, schedule_timeout is None),
               restart_policy=(restart_policy, restart_policy == JobRestartPolicy.NEVER),
               privileged=(privileged, not privileged),
               priority=(priority, priority in (None, JobPriority.NORMAL)))
        jobs = self._on(cluster_name)
        preset = jobs.config.presets.get(preset_name)
        if preset is None:
            raise IllegalArgumentError(
                f"Preset {preset_name!r} not found on cluster '{jobs.config.name}'; "
                f"available presets: {', '.join(jobs.config.presets) or 'none'}")
        resources = Resources(memory=preset.memory_mb * 2**20, cpu=preset.cpu,
                              gpu=preset.gpu, gpu_model=preset.gpu_model, shm=shm)
        container = Container(image=image, resources=resources, entrypoint=entrypoint,
                              command=command, working_dir=working_dir, http=http,
                              env=dict(env or {}), volumes=list(volumes))
        limit = life_span_of(life_span)
        if preset.time_limit is not None:
            limit = preset.time_limit if limit is None else min(limit, preset.time_limit)
        return await self._submit(jobs, Submission(
            container=container, name=name, tags=tuple(tags), description=description,
            preset_name=preset_name, life_span=limit, partition=preset.partition,
            scheduler_options=preset.scheduler_options))

    async def run(self, container: Container, *, name: str | None = None,
                  tags: Sequence[str] = (), description: str | None = None,
                  scheduler_enabled: bool = False, pass_config: bool = False,
                  wait_for_jobs_quota: bool = False, schedule_timeout: float | None = None,
                  restart_policy: JobRestartPolicy = JobRestartPolicy.NEVER,
                  life_span: float | None = None, org_name: Any = UNSET,
                  priority: JobPriority | None = None) -> JobDescription:
        """Start a new job on the current cluster with the container's own
        resources (the default partition or queue).

        Deprecated since version 20.11.25: please use :meth:`start` instead.

        :param container: container description to start.
        :param name: optional job name.
        :param tags: optional job tags.
        :param description: optional container description.
        :param scheduler_enabled: not supported.
        :param pass_config: not supported.
        :param wait_for_jobs_quota: not supported.
        :param schedule_timeout: not supported.
        :param restart_policy: only ``JobRestartPolicy.NEVER``.
        :param life_span: job run-time limit in seconds. Pass None to
            disable.
        :param org_name: only the default (no org).
        :param priority: only None or ``JobPriority.NORMAL``.
        :returns: :class:`JobDescription` instance with information about
            started job.
        """
        refuse("Jobs.run", scheduler_enabled=(scheduler_enabled, not scheduler_enabled),
               pass_config=(pass_config, not pass_config),
               wait_for_jobs_quota=(wait_for_jobs_quota, not wait_for_jobs_quota),
               schedule_timeout=(schedule_timeout, schedule_timeout is None),
               restart_policy=(restart_policy, restart_policy == JobRestartPolicy.NEVER),
               org_name=(org_name, org_name is UNSET or org_name is None),
               priority=(priority, priority in (None, JobPriority.NORMAL)))
        c = container
        refuse("Container", secret_env=(c.secret_env, not c.secret_env),
               secret_files=(c.secret_files, not c.secret_files),
               disk_volumes=(c.disk_volumes, not c.disk_volumes), tty=(c.tty, not c.tty),
               tpu_type=(c.resources.tpu_type, c.resources.tpu_type is None),
               tpu_software_version=(c.resources.tpu_software_version,
                                      c.resources.tpu_software_version is None))
        if not c.resources.cpu > 0 or c.resources.memory < 2**20:
            raise ValueError(f"Resources need cpu > 0 and at least 1 MiB of memory, not "
                             f"{c.resources}")
        return await self._submit(self._on(None), Submission(
            container=dataclasses.replace(c, env=dict(c.env), volumes=list(c.volumes)),
            name=name, tags=tuple(tags), description=description, preset_name=None,
            life_span=life_span_of(life_span), partition=None, scheduler_options=()))

    async def _submit(self, jobs: ClusterJobs, sub: Submission) -> JobDescription:
        check_submission(sub)
        _check_http(sub.container.http)
        snap = await jobs.session.bridge.run(jobs.submit, sub)
        if jobs.config.runtime == "host" and jobs.config.name not in self._told_host:
            self._told_host.add(jobs.config.name)
            log.warning("cluster '%s' runs jobs with runtime 'host': commands run directly "
                        "on the node and images (here %s) are only recorded; configure a "
                        "container runtime to run images", jobs.config.name,
                        sub.container.image)
        return description(snap.record, snap.state, now=time.time())

    # --- Looking at jobs --------------------------------------------------------

    async def status(self, id: str) -> JobDescription:
        """Get information about a job.

        :param id: job *id* to get its status.
        :returns: :class:`JobDescription` instance with job status details.
        :raises ResourceNotFound: if there is no such job.
        """
        jobs, entry = await self._find(id)
        snap = await self._snapshot(jobs, entry)
        return description(snap.record, snap.state, now=time.time())

    @async_iterator_context
    async def list(self, *, statuses: Iterable[JobStatus] = (), name: str = "",
                   tags: Iterable[str] = (), owners: Iterable[str] = (),
                   since: datetime | None = None, until: datetime | None = None,
                   reverse: bool = False, limit: int | None = None,
                   cluster_name: str | None = None, _materialized: bool | None = None,
                   _being_dropped: bool | None = False,
                   _logs_removed: bool | None = False
                   ) -> AsyncGenerator[JobDescription, None]:
        """List user jobs, all scheduled, running and finished jobs by default.

        The scheduler is asked once, about all jobs that are not over.

        :param statuses: filter jobs by their statuses; empty means all.
        :param name: filter jobs by *name* (exact match); empty string or
            None means that no filter is applied.
        :param tags: retrieves only jobs submitted with all tags from the
            specified list.
        :param owners: filter jobs by their owners; empty means all.
        :param since: retrieves only jobs submitted after the specified date
            (including); a naive datetime object is local time.
        :param until: retrieves only jobs submitted before the specified date
            (including); a naive datetime object is local time.
        :param reverse: iterate jobs from later to earlier (default: in the
            order of their creation date, from earlier to later).
        :param limit: limit the number of jobs; None means no limit.
        :param cluster_name: list jobs on specified cluster; None means the
            current cluster.
        :returns: asynchronous iterator which emits :class:`JobDescription`
            objects.
        """
        wanted = set(statuses)
        tag_set = set(tags)
        owner_set = set(owners)
        start = since.timestamp() if since is not None else None
        end = until.timestamp() if until is not None else None
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, not {limit}")
        jobs = self._on(cluster_name)
        bridge = jobs.session.bridge

        def matches(e: Entry) -> bool:
            r = e.record
            return ((not name or r.name == name) and tag_set <= set(r.tags)
                    and (not owner_set or r.owner in owner_set)
                    and (start is None or r.created_at >= start)
                    and (end is None or r.created_at <= end)
                    and _materialized in (None, True) and not _being_dropped
                    and not _logs_removed)

        def collect() -> list[Snapshot]:
            # Filters on what was submitted come first, so that the scheduler
            # is only asked about jobs that can still be listed.
            entries = [e for e in jobs.registry.entries() if matches(e)]
            return jobs.snapshots(entries)

        snaps = [s for s in await bridge.run(collect)
                 if not wanted or s.state.status in wanted]
        snaps.sort(key=lambda s: (s.record.created_at, s.record.id), reverse=reverse)
        if limit is not None:
            snaps = snaps[:limit]
        now = time.time()
        for snap in snaps:
            yield description(snap.record, snap.state, now=now)

    @async_iterator_context
    async def monitor(self, id: str, *, cluster_name: str | None = None,
                      since: datetime | None = None, timestamps: bool = False,
                      separator: str | None = None, debug: bool = False
                      ) -> AsyncGenerator[bytes, None]:
        """Get job logs as a sequence of data chunks, e.g.::

            async with client.jobs.monitor(job_id) as it:
                async for chunk in it:
                    print(chunk.decode('utf8', errors='replace'))

        The chunks are the job's stdout and stderr as it writes them; the
        iteration ends when the job has ended and everything is read (at
        once for a finished job).

        :param id: job *id* to retrieve logs.
        :param cluster_name: cluster on which the job is running; None
            means the current cluster (or any cluster that has the job).
        :param since: not supported (the log has no timestamps).
        :param timestamps: not supported.
        :param separator: accepted; there is never an archive part to
            separate from the live part here, so it has nothing to do.
        :param debug: not supported.
        :returns: ``AsyncIterator`` over ``bytes`` log chunks.
        """
        refuse("Jobs.monitor", since=(since, since is None),
               timestamps=(timestamps, not timestamps), debug=(debug, not debug))
        # Counted from before the first await, so that an attach() started
        # just after this (the neuro command line starts both) sees it.
        ended = asyncio.Event()
        self._monitoring.setdefault(id, set()).add(ended)
        try:
            jobs, entry = await self._find(id, cluster_name)
            async for chunk in follow(jobs, entry):
                yield chunk
        finally:
            # Nothing awaited here: a generator closed by aclose() may not.
            ended.set()
            self._monitoring[id].discard(ended)
            if not self._monitoring[id]:
                del self._monitoring[id]

    @async_iterator_context
    async def top(self, id: str, *, cluster_name: str | None = None
                  ) -> AsyncGenerator[JobTelemetry, None]:
        """Get job usage statistics, e.g.::

            async with client.jobs.top(job_id) as top:
                async for data in top:
                    print(data.cpu, data.memory)

        CPU load and resident memory of the job's processes, sampled on its
        node every second; the iteration ends when the job ends.

        :param id: job *id* to get telemetry data.
        :param cluster_name: cluster on which the job is running.
        :returns: asynchronous iterator which emits :class:`JobTelemetry`
            objects periodically.
        :raises ValueError: if the job is not running.
        """
        jobs, entry = await self._find(id, cluster_name)
        snap = await self._snapshot(jobs, entry)
        if not snap.state.status.is_running:
            raise ValueError(f"Job {id} is not running (status: {snap.state.status})")
        first = await _sample(jobs, entry, snap)
        while first is not None:
            await asyncio.sleep(TOP_INTERVAL)
            second = await _sample(jobs, entry, snap)
            if second is None:
                return
            yield JobTelemetry(cpu=telemetry.load_between(first, second),
                               memory_bytes=second.memory_bytes, timestamp=time.time())
            first = second

    # --- Acting on jobs -------------------------------------------------------------

    async def kill(self, id: str) -> None:
        """Kill a job.

        A job killed before it ends is CANCELLED; killing a finished job
        changes nothing.

        :param id: job *id* to kill.
        """
        jobs, entry = await self._find(id)
        await jobs.session.bridge.run(jobs.kill, entry)

    async def send_signal(self, id: str, *, cluster_name: str | None = None) -> None:
        """Send SIGKILL signal to a job (its command's processes, which then
        end with exit code 137; the job is FAILED, not CANCELLED).

        :param id: job *id*.
        :param cluster_name: cluster on which the job is running.
        :raises ValueError: if the job is not running.
        """
        jobs, entry = await self._find(id, cluster_name)
        snap = await self._snapshot(jobs, entry)
        await jobs.session.bridge.run(jobs.signal, snap)

    async def bump_life_span(self, id: str, additional_life_span: float) -> None:
        """Increase life span of a job.

        Possible under DirectGnu (the life span is enforced by neuro_compat)
        and under Slurm where the cluster lets users raise a job's time
        limit (``scontrol update TimeLimit``).

        :param id: job *id* to increase life span.
        :param additional_life_span: amount of seconds to add to job run-time
            limit.
        :raises NotSupportedError: where the scheduler does not allow it.
        :raises ValueError: if the job has finished or has no life span.
        """
        extra = life_span_of(additional_life_span, "additional_life_span")
        if extra is None:  # life_span_of lets None through; here it means nothing
            raise ValueError("additional_life_span must be a positive number of seconds, "
                             "not None")
        jobs, entry = await self._find(id)
        await jobs.session.bridge.run(jobs.bump, entry, extra)

    async def get_capacity(self, *, cluster_name: str | None = None) -> Mapping[str, int]:
        """Get counts of available job for specified cluster for each
        available preset.

        The numbers are how many more jobs of each preset fit on the
        cluster's free nodes now (an approximation): node by node, the CPUs,
        memory and GPUs that no job holds, in the preset's partition.

        :param cluster_name: cluster for which the request is performed.
            None means the current cluster (default).
        :returns: a mapping of *preset_name* to *count*.
        """
        jobs = self._on(cluster_name)
        return await jobs.session.bridge.run(jobs.capacity)

    # --- Streams and ports -------------------------------------------------------------

    @asynccontextmanager
    async def exec(self, id: str, cmd: str, *, tty: bool = False, stdin: bool = False,
                   stdout: bool = False, stderr: bool = False,
                   cluster_name: str | None = None) -> AsyncIterator[StdStream]:
        """Start an ``exec`` session, get access to session's standard input,
        output, and error streams.

        The command runs beside the job: on its node, in its working
        directory, with its environment (DirectGnu: on the same machine;
        Slurm: ``srun --jobid <job> --overlap``; docker and podman: inside
        the job's container).

        :param id: job *id* to use for command execution.
        :param cmd: the command to execute (a shell command line).
        :param tty: True to run the command with a pseudo-terminal (stdout
            and stderr then arrive together, as stdout), default is False.
        :param stdin: True to attach ``stdin``, default is False (then the
            command's stdin is empty).
        :param stdout: True to attach ``stdout``, default is False.
        :param stderr: True to attach ``stderr``, default is False.
        :param cluster_name: cluster on which the job is running.
        :returns: asynchronous context manager which can be used to access
            stdin/stdout/stderr, see :class:`StdStream` for details. When the
            command has ended, :meth:`StdStream.read_out` raises
            :class:`StdStreamError` with its exit code, 0 included (as
            neuro_sdk does), then returns None.
        :raises ValueError: if the job is not running.
        """
        jobs, entry = await self._find(id, cluster_name)
        bridge = jobs.session.bridge
        snap = await self._snapshot(jobs, entry)
        command = await bridge.run(jobs.exec_line, snap, cmd, tty)
        process = await bridge.run(lambda: open_process(jobs.terminal, command.line, tty,
                                                        command.relays))
        if not stdin:
            await bridge.run(process.close_stdin)
        source = ProcessSource(process, bridge, stdin=stdin, stdout=stdout, stderr=stderr)
        try:
            yield StdStream(source)
        finally:
            await source.close()

    @asynccontextmanager
    async def attach(self, id: str, *, tty: bool = False, stdin: bool = False,
                     stdout: bool = False, stderr: bool = False,
                     cluster_name: str | None = None) -> AsyncIterator[StdStream]:
        """Get access to the output of a job as it runs.

        The job's stdout and stderr are one log (read as stdout, fileno 1);
        what the job writes from the attach on is delivered if ``stdout`` or
        ``stderr`` is True (its earlier output: :meth:`monitor`). At the end,
        :meth:`StdStream.read_out` returns None, or raises
        :class:`StdStreamError` if the job's exit code is not 0.

        :param id: job *id*.
        :param tty: not supported (batch jobs have no terminal).
        :param stdin: accepted, but the job's input is closed: batch jobs have
            no standard input, so :meth:`StdStream.write_in` raises
            ValueError. (The neuro command line attaches with
            ``stdin=True``.)
        :param stdout: True to attach ``stdout``.
        :param stderr: True to attach ``stderr``.
        :param cluster_name: cluster on which the job is running.
        :raises ResourceNotFound: if the job has already finished (as
            neuro_sdk: its container is gone). It is raised once every
            :meth:`monitor` of the job under way in this client has read the
            output to its end (at most :data:`ATTACH_DRAIN_TIMEOUT` seconds):
            the neuro command line follows a job's log while it attaches, and
            would otherwise exit before printing the output of a job that
            ended before the attach.
        """
        refuse("Jobs.attach", tty=(tty, not tty))
        jobs, entry = await self._find(id, cluster_name)
        snap = await self._snapshot(jobs, entry)
        if snap.state.status.is_finished:
            ends = [asyncio.ensure_future(e.wait()) for e in self._monitoring.get(id, ())]
            try:
                if ends:
                    await asyncio.wait(ends, timeout=ATTACH_DRAIN_TIMEOUT)
            finally:
                for wait in ends:
                    wait.cancel()
            raise ResourceNotFound(
                f"Job {id} is not running (status: {snap.state.status}): nothing to attach to")

        async def exit_code() -> int | None:
            current = await self._snapshot(jobs, entry)
            return current.state.exit_code

        # Live, as neuro_sdk's attach to the container's streams: what was
        # written before is for monitor() (`neuro run` prints both, and says
        # they may overlap).
        now = await jobs.session.bridge.run(output_size, jobs, id)
        source = LogSource(follow(jobs, entry, offset=now), exit_code,
                           deliver=stdout or stderr)
        try:
            yield StdStream(source)
        finally:
            await source.close()

    @asynccontextmanager
    async def port_forward(self, id: str, local_port: int, job_port: int, *,
                           no_key_check: bool = False,
                           cluster_name: str | None = None) -> AsyncIterator[None]:
        """Forward local port to job, e.g.::

            async with client.jobs.port_forward(job_id, 8080, 80):
                # port forwarding is available inside with-block

        Connections to ``127.0.0.1:<local_port>`` reach ``job_port`` on the
        job's node, through the cluster's SSH connection (or directly, for a
        local cluster).

        :param id: job *id*.
        :param local_port: local TCP port to forward.
        :param job_port: remote TCP port in a job to forward.
        :param no_key_check: not supported (host keys are always checked).
        :param cluster_name: cluster on which the job is running.
        :raises ValueError: if the job is not running or a port is invalid.
        :raises OSError: if the local port cannot be listened on.
        """
        refuse("Jobs.port_forward", no_key_check=(no_key_check, not no_key_check))
        for what, port in (("local_port", local_port), ("job_port", job_port)):
            if not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(f"{what} must be a TCP port (1-65535), not {port!r}")
        jobs, entry = await self._find(id, cluster_name)
        bridge = jobs.session.bridge
        snap = await self._snapshot(jobs, entry)
        host = await bridge.run(jobs.forward_target, snap)

        def open_forwarder() -> Forwarder:
            terminal = jobs.terminal
            if isinstance(terminal, cerulean.SshTerminal):
                return Forwarder(local_port, ssh_connector(terminal.transport, host,
                                                           job_port))
            return Forwarder(local_port, tcp_connector(host, job_port))

        forwarder = await bridge.run(open_forwarder)
        self._forwarders[forwarder] = bridge
        try:
            yield
        finally:
            if self._forwarders.pop(forwarder, None) is not None:
                await bridge.run(forwarder.stop)

    async def _close(self) -> None:
        """Stop the port forwards still open (called by ``Client.close``,
        before it closes the sessions whose worker threads this uses)."""
        forwarders, self._forwarders = self._forwarders, {}
        for forwarder, bridge in forwarders.items():
            await bridge.run(forwarder.stop)


# --- Helpers ---------------------------------------------------------------------------

def _check_http(http: HTTPPort | None) -> None:
    """Refuse an HTTP port no TCP server could listen on (port 0 included:
    neuro_sdk's callers pass None for no HTTP server)."""
    if http is None:
        return
    if not isinstance(http, HTTPPort):
        raise TypeError(f"http must be an HTTPPort or None, not {http!r}")
    port = http.port
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"http port must be a TCP port (1-65535), not {port!r}")


async def _sample(jobs: ClusterJobs, entry: Entry, snap: Snapshot
                  ) -> telemetry.Sample | None:
    """A telemetry sample, or None once the job has ended."""
    bridge = jobs.session.bridge
    try:
        return await bridge.run(jobs.sample, snap)
    except RuntimeError:
        current = await bridge.run(jobs.snapshot, entry)
        if current.state.status.is_finished:
            return None  # it ended between two samples (srun refuses then)
        raise
