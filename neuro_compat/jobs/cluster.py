"""The blocking side of the Jobs subsystem on one cluster.

:class:`ClusterJobs` does everything that talks to a cluster (submitting,
asking the scheduler, reading and writing the registry, running commands
beside a job); :class:`neuro_compat.Jobs` calls its methods in the
cluster's worker threads. All methods are thread-safe: the cerulean objects
underneath are, and the little state kept here is set under a lock or is
idempotent.
"""
from __future__ import annotations

import contextlib
import logging
import posixpath
import shlex
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from yarl import URL

import cerulean
from cerulean.scheduler import SchedulerError

from .._cluster.session import ClusterSession
from .._uri import normalize_storage_uri, storage_relpath
from ..errors import IllegalArgumentError, NotSupportedError
from . import telemetry
from .capacity import (
    DIRECTGNU_COMMAND,
    SGE_COMMAND,
    SLURM_COMMAND,
    TORQUE_COMMAND,
    Need,
    Nodes,
    capacity,
    directgnu_capacity,
    sge_nodes,
    slurm_nodes,
    torque_nodes,
    unfit,
)
from .record import JobRecord, JobState, parse_events
from .registry import Entry, Progress, Registry
from .runtime import RUNTIME_PROGRAMS, Bind, exec_line, launch, missing_runtime_error
from .script import BACKSTOP_SECONDS, job_description, wrapper_script
from .state import derive
from .streams import ExecCommand, relayed
from .types import Container, JobStatus

log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 60.0
"""Seconds to wait for a command run beside a job or for the scheduler."""

NODES_TTL = 60.0
"""Seconds the node list that unfit jobs are refused by is used before it is
asked for again: nodes are rarely added, and twenty starts at once should not
ask twenty times."""

_OUTPUT_CHUNK = 1024 * 1024

# Batch schedulers that cannot enter a job's node, by their names in messages.
_NO_WAY_BESIDE = {"torque": "Torque/PBS", "sge": "Grid Engine"}

# Options that send a job to another partition or queue than the preset's:
# the nodes a job could go to are then unknown, and no job is refused.
_PARTITION_OPTIONS = {"slurm": ("-p", "--partition"), "torque": ("-q",), "sge": ("-q",)}

# Per batch scheduler: its name in messages, the command that lists its nodes,
# and the parser of that command's output.
_NODE_QUERIES = {
    "slurm": ("Slurm", SLURM_COMMAND, slurm_nodes),
    "torque": ("PBS", TORQUE_COMMAND, torque_nodes),
    "sge": ("Grid Engine", SGE_COMMAND, sge_nodes),
}


@dataclass(frozen=True)
class Submission:
    """A job to start, checked and filled in by :class:`~neuro_compat.Jobs`.

    :ivar container: what to run, with its resources.
    :ivar name: the job's name, or None.
    :ivar tags: the job's tags.
    :ivar description: the job's description, or None.
    :ivar preset_name: the preset, or None (``run`` with own resources).
    :ivar life_span: the run-time limit in seconds, or None.
    :ivar partition: the partition or queue, or None.
    :ivar scheduler_options: extra scheduler options from the preset.
    """

    container: Container
    name: str | None
    tags: tuple[str, ...]
    description: str | None
    preset_name: str | None
    life_span: float | None
    partition: str | None
    scheduler_options: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    """A job and its state at one moment.

    :ivar record: what was submitted.
    :ivar state: its status now.
    """

    record: JobRecord
    state: JobState


class ClusterJobs:
    """Jobs on one cluster, through one client's session.

    :param session: the client's session with the cluster.
    """

    def __init__(self, session: ClusterSession) -> None:
        self.session = session
        self.config = session.config
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._login_host: str | None = None
        self._runtime_checked = False
        self._nodes_lock = threading.Lock()
        self._nodes: tuple[float, Nodes] | None = None

    # --- The cerulean objects -------------------------------------------------

    @property
    def registry(self) -> Registry:
        """The job files, on the machine the terminal runs on."""
        if self._registry is None:
            self._registry = Registry(self.session.host_fs(), self.config.job_dir,
                                      self.config.name)
        return self._registry

    @property
    def scheduler(self) -> cerulean.Scheduler:
        """The cluster's scheduler."""
        return self.session.scheduler()

    @property
    def terminal(self) -> cerulean.Terminal:
        """The cluster's terminal."""
        return self.session.terminal()

    def run(self, line: str, purpose: str, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run a shell line on the cluster; its stdout, or raise with stderr.

        :raises RuntimeError: if it fails or times out, naming ``purpose``.
        """
        code, out, err = self.terminal.run(timeout, "sh", ["-c", shlex.quote(line)])
        if code != 0:
            what = "timed out" if code is None else f"exited with {code}"
            raise RuntimeError(f"Could not {purpose} on cluster '{self.config.name}': "
                               f"the command {what}: {(err or out).strip()}")
        return out

    # --- Starting ---------------------------------------------------------------

    def binds(self, container: Container) -> list[Bind]:
        """The host paths of a container's volumes (storage directories).

        :raises ValueError: for a volume of another cluster or a bad path.
        :raises NotSupportedError: if the storage is not on the nodes.
        """
        binds = []
        for volume in container.volumes:
            uri = normalize_storage_uri(URL(volume.storage_uri), self.config.username,
                                        self.config.name)
            if uri.host != self.config.name:
                raise ValueError(f"volume {volume.storage_uri} is on cluster '{uri.host}', "
                                 f"but the job runs on cluster '{self.config.name}'")
            host = self.session.storage_host_path(storage_relpath(uri))
            binds.append(Bind(host, volume.container_path, volume.read_only))
        return binds

    def check_runtime(self) -> None:
        """Make sure the configured container runtime exists (once).

        :raises NotSupportedError: saying how to configure one.
        """
        runtime = self.config.runtime
        if runtime == "host" or self._runtime_checked:
            return
        program = RUNTIME_PROGRAMS[runtime]
        code, _, _ = self.terminal.run(COMMAND_TIMEOUT, "command", ["-v", program])
        if code != 0:
            where = (self.config.terminal.host or "this machine")
            raise missing_runtime_error(runtime, self.config.name, self.session.origin,
                                        where)
        self._runtime_checked = True

    def submit(self, sub: Submission) -> Snapshot:
        """Register and submit a job; its record is stored once submitted.

        :raises NotSupportedError: for volumes under runtime ``host``, or a
            runtime that is not installed.
        """
        config = self.config
        container = sub.container
        binds = self.binds(container)
        if config.runtime == "host" and binds:
            raise _volumes_under_host(config.name, container, binds)
        self.check_runtime()
        self.check_fits(sub)
        job_id = f"job-{uuid.uuid4()}"
        reg = self.registry
        reg.create_home(job_id)
        try:
            workdir = self._workdir(job_id, container)
            if sub.life_span is not None:
                reg.write_limit(job_id, sub.life_span)
            run = launch(config.runtime, job_id=job_id, image=container.image,
                         entrypoint=container.entrypoint, command=container.command,
                         working_dir=container.working_dir, env_names=list(container.env),
                         binds=binds, cpu=container.resources.cpu,
                         memory=container.resources.memory, shm=container.resources.shm)
            script = wrapper_script(
                events=reg.path(job_id, "events"),
                limit=reg.path(job_id, "limit") if sub.life_span is not None else None,
                launch=run)
            jd = job_description(
                scheduler=config.scheduler.type, name=sub.name or job_id, script=script,
                workdir=workdir, home=reg.home(job_id), output=reg.output(job_id),
                env=dict(container.env), resources=container.resources,
                partition=sub.partition, options=sub.scheduler_options,
                limit=sub.life_span)
            created = time.time()
            scheduler_id = self.scheduler.submit(jd)
        except BaseException:
            reg.remove(job_id)
            raise
        record = JobRecord(
            id=job_id, owner=config.username, cluster_name=config.name, created_at=created,
            container=container, name=sub.name, tags=sub.tags, description=sub.description,
            preset_name=sub.preset_name, life_span=sub.life_span,
            scheduler_type=config.scheduler.type, scheduler_id=scheduler_id,
            runtime=config.runtime, workdir=workdir)
        try:
            reg.write_record(record)
        except BaseException:
            # Unregistered, the job could never be seen or killed again.
            with contextlib.suppress(Exception):
                self.scheduler.cancel(scheduler_id)
            raise
        return Snapshot(record, JobState(JobStatus.PENDING, "Scheduling",
                                         "Waiting in the scheduler's queue",
                                         life_span=sub.life_span))

    def check_fits(self, sub: Submission) -> None:
        """Refuse a job that no node of the cluster could ever run.

        Such a job would wait in a batch queue forever (or be refused by the
        scheduler with a message that names neither the preset nor what is
        missing). The nodes' CPUs, memory and GPUs come from one scheduler
        query, reused for :data:`NODES_TTL` seconds. DirectGnu runs every
        job at once, so nothing is refused there.

        :raises IllegalArgumentError: naming the preset and what no node has.
        """
        if names_partition(self.config.scheduler.type, sub.scheduler_options):
            return
        res = sub.container.resources
        # qhost shows the GPUs of a site's gpu consumable that are free now,
        # not how many a host has: on Grid Engine the scheduler alone judges.
        gpu = 0 if self.config.scheduler.type == "sge" else res.gpu or 0
        need = Need(res.cpu, res.memory // 2**20, gpu, sub.partition, res.gpu_model)
        try:
            nodes = self.nodes()
        except (RuntimeError, OSError) as e:
            # Only a courtesy to the user: the scheduler still decides.
            log.warning("cluster '%s': could not ask for its nodes, so a preset too large "
                        "for all of them is not refused here: %s", self.config.name, e)
            return
        reason = unfit(nodes, need) if nodes is not None else None
        if reason is None:
            return
        what = f"Preset '{sub.preset_name}'" if sub.preset_name is not None else \
            (f"A job with resources cpu={res.cpu:g}, memory={need.memory_mb} MiB, "
             f"gpu={need.gpu}")
        raise IllegalArgumentError(
            f"{what} cannot run on cluster '{self.config.name}': {reason}; choose a "
            f"preset that fits (client.presets lists them)")

    def _workdir(self, job_id: str, container: Container) -> str:
        """Where the job's command starts on the node.

        Under ``host``: the given working directory, else the user's storage
        directory (so ``storage:data`` is ``./data`` for the command), else
        (WebDAV storage) the job's own directory. Container runtimes start
        in the job's directory; the container's working directory is theirs.
        """
        if self.config.runtime != "host":
            return self.registry.home(job_id)
        if self.config.storage.type == "webdav":
            return container.working_dir or self.registry.home(job_id)
        if container.working_dir:
            return container.working_dir
        self.session.storage_root()  # makes the user's directory if missing
        return self.session.storage_host_path(PurePosixPath(self.config.username))

    # --- Status -------------------------------------------------------------------

    def find(self, job_id: str) -> Entry | None:
        """The registry entry of a job, or None if this cluster has no such job."""
        return self.registry.entry(job_id)

    def snapshot(self, entry: Entry) -> Snapshot:
        """The current state of one job (stored if it is final now)."""
        return self.snapshots([entry])[0]

    def snapshots(self, entries: Sequence[Entry]) -> list[Snapshot]:
        """The current state of many jobs, with one scheduler query.

        Jobs that are over have their final state stored, so the scheduler
        is never asked about them again.
        """
        active = [e.record for e in entries if e.final is None]
        states: dict[str, JobState] = {}
        if active:
            states = self._derive(active)
        result = []
        for entry in entries:
            state = entry.final or states[entry.record.id]
            result.append(Snapshot(entry.record, state))
        return result

    def all_snapshots(self) -> list[Snapshot]:
        """Every job of the registry, with its current state."""
        return self.snapshots(self.registry.entries())

    def _derive(self, records: list[JobRecord]) -> dict[str, JobState]:
        reg = self.registry
        ours = [r for r in records if r.scheduler_type == self.config.scheduler.type]
        asked = {r.id for r in ours}
        # Ask the scheduler first, then read the events: a job the scheduler
        # calls done has then written everything it ever will.
        statuses = self.scheduler.get_statuses([r.scheduler_id for r in ours]) if ours \
            else {}
        progress = reg.progress([r.id for r in records])
        done = [r for r in ours
                if statuses.get(r.scheduler_id) == cerulean.JobStatus.DONE]
        codes: Mapping[str, int | None] = {}
        if done:
            # Also lets the scheduler drop the exit file it keeps for the job.
            codes = self._exit_codes([r.scheduler_id for r in done])
        now = time.time()
        states = {}
        finals = []
        for r in records:
            p: Progress = progress[r.id]
            status = statuses.get(r.scheduler_id) if r.id in asked else None
            message = ""
            if status == cerulean.JobStatus.DONE and p.events.exit_code is None:
                message = reg.read_tail(posixpath.join(reg.home(r.id), "scheduler.err"))
            state = derive(r, p, status, now=now, limit=p.limit,
                           scheduler_exit_code=codes.get(r.scheduler_id),
                           scheduler_message=message)
            state = replace(state, life_span=p.limit)
            states[r.id] = state
            if state.status.is_finished:
                finals.append((r, state))
        if finals:
            reg.write_finals(finals)
        return states

    def _exit_codes(self, scheduler_ids: list[str]) -> Mapping[str, int | None]:
        try:
            return self.scheduler.get_exit_codes(scheduler_ids)
        except SchedulerError as e:
            # Only a fallback: the wrapper's own record comes first.
            log.warning("cluster '%s': could not read exit codes: %s", self.config.name, e)
            return {}

    # --- Acting on a job ------------------------------------------------------------

    def kill(self, entry: Entry) -> None:
        """Cancel a job that is not over (a finished one is left alone)."""
        if entry.final is not None:
            return
        self.registry.write_cancel(entry.record.id, time.time())
        self.scheduler.cancel(entry.record.scheduler_id)

    def bump(self, entry: Entry, extra: float) -> None:
        """Extend a job's life span by ``extra`` seconds.

        :raises ValueError: if the job is over or has no life span.
        :raises NotSupportedError: where the scheduler does not allow it.
        """
        record = entry.record
        if entry.final is not None:
            raise ValueError(f"Job {record.id} has already finished")
        current = self.registry.read_limit(record.id)
        if current is None:
            raise ValueError(f"Job {record.id} has no life span to extend "
                             "(it runs without a time limit)")
        new = current + extra
        kind = record.scheduler_type
        if kind == "torque":
            raise NotSupportedError(
                "bump_life_span: Torque/PBS does not let users extend the walltime of "
                f"a submitted job (job {record.id})")
        if kind == "sge":
            # qalter -l would replace the job's whole resource list, and a
            # running job's h_rt stays what it started with.
            raise NotSupportedError(
                "bump_life_span: Grid Engine does not let users extend the h_rt of "
                f"a running job (job {record.id})")
        if kind == "slurm":
            minutes = -(-(int(new) + BACKSTOP_SECONDS) // 60)
            prefix = self.config.scheduler.prefix
            code, out, err = self.terminal.run(
                COMMAND_TIMEOUT, prefix + "scontrol",
                ["update", f"JobId={shlex.quote(record.scheduler_id)}",
                 f"TimeLimit={minutes}"])
            if code != 0:
                text = (err or out).strip()
                if "denied" in text.lower() or "permission" in text.lower():
                    raise NotSupportedError(
                        f"bump_life_span: Slurm on cluster '{self.config.name}' does not "
                        f"let users extend a job's time limit (only administrators "
                        f"may): {text}")
                raise RuntimeError(f"Could not extend the time limit of job {record.id}: "
                                   f"scontrol exited with {code}: {text}")
        # DirectGnu: the wrapper is the only enforcer, the new limit is enough.
        self.registry.write_limit(record.id, new)

    def read_output(self, job_id: str, offset: int) -> bytes:
        """Output of a job written since ``offset`` (up to 1 MiB at a time)."""
        try:
            # On the session's host file system itself: nothing of our own to
            # open (and close) for it.
            chunks = self.session.host_fs()._read_range(self.registry.output(job_id),
                                                        offset, _OUTPUT_CHUNK)
            return b"".join(chunks)
        except FileNotFoundError:
            return b""  # not started yet

    def exited(self, job_id: str) -> bool:
        """Whether the wrapper has recorded the command's exit (cheap check)."""
        data = self.registry.read_optional(self.registry.path(job_id, "events"))
        return data is not None and parse_events(data.decode(errors="replace")
                                                 ).exit_code is not None

    # --- Beside the job -------------------------------------------------------------

    def beside(self, snap: Snapshot, line: str, what: str, tty: bool = False) -> str:
        """A shell line running ``line`` on the job's node, in its directory.

        DirectGnu jobs run where the terminal runs; Slurm jobs are entered
        with ``srun --jobid ... --overlap``; Torque and Grid Engine jobs only
        when they run on the machine the terminal is on.

        :param tty: the line will run with a terminal (``srun --pty``,
            which relays it: see :func:`neuro_compat.jobs.streams.relayed`).
        :raises ValueError: if the job is not running.
        :raises NotSupportedError: for a Torque or Grid Engine job on another
            node.
        """
        record, state = snap.record, snap.state
        if not state.status.is_running or state.pid is None:
            raise ValueError(f"Job {record.id} is not running (status: {state.status})")
        env = "".join(f"export {name}={shlex.quote(value)}; "
                      for name, value in record.container.env.items())
        script = f"cd {shlex.quote(record.workdir)} || exit 1; {env}{line}"
        kind = record.scheduler_type
        if kind == "slurm":
            pty = "--pty " if tty else ""
            srun = (f"{self.config.scheduler.prefix}srun "
                    f"--jobid={shlex.quote(record.scheduler_id)} --overlap --ntasks=1 "
                    f"--nodes=1 --quiet {pty}sh -c {shlex.quote(script)}")
            return relayed(srun) if tty else srun
        if kind in _NO_WAY_BESIDE and state.host != self.login_host():
            # Grid Engine's qrsh -inherit only works from inside the job.
            raise NotSupportedError(
                f"{what}: job {record.id} runs on node {state.host}, and "
                f"{_NO_WAY_BESIDE[kind]} offers no way to run a command beside a job "
                "on another node")
        return f"sh -c {shlex.quote(script)}"

    def exec_line(self, snap: Snapshot, cmd: str, tty: bool = False) -> ExecCommand:
        """The line that runs ``cmd`` beside a job, as ``Jobs.exec`` does."""
        record = snap.record
        inner = exec_line(record.runtime, job_id=record.id, image=record.container.image,
                          binds=self.binds(record.container), cmd=cmd, tty=tty)
        relays = 0
        if tty and record.runtime in ("docker", "podman"):
            inner = relayed(inner)  # exec -it relays the terminal, as srun --pty does
            relays += 1
        if tty and record.scheduler_type == "slurm":
            relays += 1  # beside() makes srun --pty a relayed line
        return ExecCommand(self.beside(snap, inner, "exec", tty), relays)

    def signal(self, snap: Snapshot) -> None:
        """Send SIGKILL to the job's command (its whole process tree)."""
        record, state = snap.record, snap.state
        if record.runtime in ("docker", "podman"):
            line = f"{record.runtime} kill --signal=KILL {shlex.quote(record.id)}"
        else:
            line = (f"tree() {{ printf '%s\\n' \"$1\"; for c in $(pgrep -P \"$1\"); do "
                    f"tree \"$c\"; done; }}; kill -s KILL $(tree {int(state.pid or 0)})")
        self.run(self.beside(snap, line, "send_signal"), "send a signal to the job")

    def sample(self, snap: Snapshot) -> telemetry.Sample | None:
        """One telemetry sample of a running job, or None once it is gone."""
        record, state = snap.record, snap.state
        if record.runtime in ("docker", "podman"):
            out = self.run(self.beside(snap, telemetry.docker_script(record.runtime,
                                                                      record.id), "top"),
                           "read the job's telemetry")
            return telemetry.parse_docker(out)
        out = self.run(self.beside(snap, telemetry.tree_script(state.pid or 0), "top"),
                       "read the job's telemetry")
        return telemetry.parse_tree(out)

    def login_host(self) -> str:
        """The host name of the machine the terminal runs on."""
        if self._login_host is None:
            self._login_host = self.run("uname -n", "read the host name").strip()
        return self._login_host

    def forward_target(self, snap: Snapshot) -> str:
        """The host to connect to, from the terminal's machine, for a job's port."""
        state = snap.state
        if not state.status.is_running:
            raise ValueError(f"Job {snap.record.id} is not running (status: {state.status})")
        if snap.record.scheduler_type == "directgnu" or state.host == self.login_host():
            return "127.0.0.1"
        return state.node or state.host or "127.0.0.1"

    # --- Capacity ---------------------------------------------------------------------

    def nodes(self, fresh: bool = False) -> Nodes | None:
        """The batch scheduler's nodes; None for DirectGnu.

        Asked again when ``fresh``, or once :data:`NODES_TTL` seconds old;
        while one thread asks, the others wait for its answer.
        """
        query = _NODE_QUERIES.get(self.config.scheduler.type)
        if query is None:
            return None
        name, command, parse = query
        with self._nodes_lock:
            if not fresh and self._nodes is not None and \
                    time.monotonic() - self._nodes[0] < NODES_TTL:
                return self._nodes[1]
            out = self.run(self.config.scheduler.prefix + command,
                           f"ask {name} about its nodes")
            try:
                nodes = parse(out)
            except ValueError as e:
                raise RuntimeError(f"Could not read what {name} says about its nodes "
                                   f"on cluster '{self.config.name}': {e}") from None
            self._nodes = (time.monotonic(), nodes)
            return nodes

    def capacity(self) -> dict[str, int]:
        """How many more jobs of each preset fit now."""
        needs = {name: Need(p.cpu, p.memory_mb, p.gpu or 0, p.partition, p.gpu_model)
                 for name, p in self.config.presets.items()}
        nodes = self.nodes(fresh=True)
        if nodes is not None:
            return capacity(nodes, needs)
        out = self.run(self.config.scheduler.prefix + DIRECTGNU_COMMAND,
                       "count CPUs and memory")
        return directgnu_capacity(out, needs)


def names_partition(scheduler: str, options: Sequence[str]) -> bool:
    """Whether extra scheduler options send a job to a partition or queue.

    The nodes a job can go to are then not the preset's partition's, so
    :meth:`ClusterJobs.check_fits` refuses nothing.
    """
    names = _PARTITION_OPTIONS.get(scheduler, ())
    return any(word.split("=", 1)[0] in names or
               any(word.startswith(n) and not n.startswith("--") for n in names)
               for line in options for word in line.split())


def _volumes_under_host(cluster: str, container: Container,
                        binds: Sequence[Bind]) -> NotSupportedError:
    pairs = "; ".join(f"{v.storage_uri} (for {v.container_path}) is {b.host_path}"
                      for v, b in zip(container.volumes, binds))
    return NotSupportedError(
        f"volumes: cluster '{cluster}' runs jobs with runtime 'host', which runs the "
        "command directly on the node and mounts nothing. Use the storage path "
        f"itself in the command instead: {pairs}. (Or configure a container runtime "
        f"such as apptainer for the cluster.)")
