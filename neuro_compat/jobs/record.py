"""What the job registry stores, and its JSON form.

Three kinds of facts make up a job, each written by one party:

* :class:`JobRecord`: what was asked for and where it went (the container,
  preset, names, the scheduler's job id), written once by ``Jobs.start``;
* :class:`Events`: what the job's wrapper script saw on the node (started,
  life span ended, exited with a code), appended by that script only;
* :class:`JobState`: the status derived from those facts and the scheduler,
  written once when it is final, so a finished job never needs the
  scheduler again.

The JSON form has a ``version`` so that a later release can read the files
of this one.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yarl import URL

from .._images import RemoteImage
from .._volumes import DiskVolume, SecretFile, Volume
from .types import Container, HTTPPort, JobStatus, Resources

FORMAT_VERSION = 1


@dataclass(frozen=True)
class JobRecord:
    """The facts of a job known when it was submitted.

    :ivar id: the job id, ``job-<uuid>``.
    :ivar owner: the user who started it.
    :ivar cluster_name: the cluster it runs on.
    :ivar created_at: when it was submitted, seconds since the epoch.
    :ivar container: the container (image, resources, command, ...).
    :ivar name: the job's name, or None.
    :ivar tags: the job's tags.
    :ivar description: the job's description, or None.
    :ivar preset_name: the preset it was started with, or None.
    :ivar life_span: the run-time limit in seconds at submission, or None.
    :ivar scheduler_type: ``directgnu``, ``slurm``, ``torque`` or ``sge``.
    :ivar scheduler_id: the scheduler's id for the job.
    :ivar runtime: the container runtime that runs it.
    :ivar workdir: where the job's command starts, on the node.
    """

    id: str
    owner: str
    cluster_name: str
    created_at: float
    container: Container
    name: str | None
    tags: tuple[str, ...]
    description: str | None
    preset_name: str | None
    life_span: float | None
    scheduler_type: str
    scheduler_id: str
    runtime: str
    workdir: str


@dataclass(frozen=True)
class Events:
    """What a job's wrapper script recorded on the node.

    :ivar started_at: when the command started, or None.
    :ivar node: the scheduler's name for the node (or its host name).
    :ivar host: the node's host name.
    :ivar pid: process id of the command (the root of its process tree).
    :ivar timed_out_at: when the life span ran out, or None.
    :ivar exit_code: the command's exit code, or None if it has not exited.
    :ivar finished_at: when the command exited, or None.
    """

    started_at: float | None = None
    node: str | None = None
    host: str | None = None
    pid: int | None = None
    timed_out_at: float | None = None
    exit_code: int | None = None
    finished_at: float | None = None


def parse_events(text: str) -> Events:
    """Read the lines the wrapper script appends (see :mod:`neuro_compat.jobs.script`).

    Only complete lines count: a line still being written is ignored. A
    line that cannot be read is skipped rather than failing the status of
    the whole job.
    """
    values: dict[str, Any] = {}
    for line in text.split("\n")[:-1]:
        words = line.split()
        try:
            if words[0] == "started" and len(words) >= 5:
                values.update(started_at=float(words[1]), node=words[2],
                              host=words[3], pid=int(words[4]))
            elif words[0] == "timeout" and len(words) >= 2:
                values["timed_out_at"] = float(words[1])
            elif words[0] == "exited" and len(words) >= 3:
                values.update(exit_code=int(words[1]), finished_at=float(words[2]))
        except (IndexError, ValueError):
            continue
    return Events(**values)


@dataclass(frozen=True)
class JobState:
    """A job's status as derived from its facts.

    :ivar status: the status.
    :ivar reason: the short reason (``LifeSpanEnded``, ``Error``, ...).
    :ivar description: a sentence saying what happened, or ``""``.
    :ivar exit_code: the command's exit code, or None.
    :ivar started_at: when the command started, or None.
    :ivar finished_at: when the job ended, or None.
    :ivar node: the node it ran on, or None.
    :ivar host: the node's host name, or None.
    :ivar pid: the process id of the command, or None.
    :ivar life_span: the life span in seconds as it stood, or None.
    """

    status: JobStatus
    reason: str = ""
    description: str = ""
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    node: str | None = None
    host: str | None = None
    pid: int | None = None
    life_span: float | None = None


# --- JSON ---------------------------------------------------------------------

def dump_record(record: JobRecord, state: JobState | None = None) -> bytes:
    """The JSON bytes of a record, with its final state if given."""
    data: dict[str, Any] = {"version": FORMAT_VERSION, "record": _record_to(record)}
    if state is not None:
        data["state"] = _state_to(state)
    return json.dumps(data, indent=1, sort_keys=True).encode()


def load_record(data: bytes) -> tuple[JobRecord, JobState | None]:
    """Read what :func:`dump_record` wrote.

    :raises ValueError: if the bytes are not a record of a known version.
    """
    try:
        doc = json.loads(data.decode())
        if doc.get("version") != FORMAT_VERSION:
            raise ValueError(f"not a job record: unknown format version {doc.get('version')!r}")
        record = _record_from(doc["record"])
        state = _state_from(doc["state"]) if "state" in doc else None
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError,
            json.JSONDecodeError) as e:
        raise ValueError(f"not a job record: {e}") from None
    return record, state


def _record_to(r: JobRecord) -> dict[str, Any]:
    return {"id": r.id, "owner": r.owner, "cluster_name": r.cluster_name,
            "created_at": r.created_at, "container": _container_to(r.container),
            "name": r.name, "tags": list(r.tags), "description": r.description,
            "preset_name": r.preset_name, "life_span": r.life_span,
            "scheduler_type": r.scheduler_type, "scheduler_id": r.scheduler_id,
            "runtime": r.runtime, "workdir": r.workdir}


def _record_from(d: Mapping[str, Any]) -> JobRecord:
    return JobRecord(
        id=str(d["id"]), owner=str(d["owner"]), cluster_name=str(d["cluster_name"]),
        created_at=float(d["created_at"]), container=_container_from(d["container"]),
        name=d["name"], tags=tuple(str(t) for t in d["tags"]),
        description=d["description"], preset_name=d["preset_name"],
        life_span=None if d["life_span"] is None else float(d["life_span"]),
        scheduler_type=str(d["scheduler_type"]), scheduler_id=str(d["scheduler_id"]),
        runtime=str(d["runtime"]), workdir=str(d["workdir"]))


def _state_to(s: JobState) -> dict[str, Any]:
    return {"status": s.status.value, "reason": s.reason, "description": s.description,
            "exit_code": s.exit_code, "started_at": s.started_at,
            "finished_at": s.finished_at, "node": s.node, "host": s.host, "pid": s.pid,
            "life_span": s.life_span}


def _state_from(d: Mapping[str, Any]) -> JobState:
    return JobState(status=JobStatus(d["status"]), reason=str(d["reason"]),
                    description=str(d["description"]), exit_code=d["exit_code"],
                    started_at=d["started_at"], finished_at=d["finished_at"],
                    node=d["node"], host=d["host"], pid=d["pid"],
                    life_span=d.get("life_span"))


def _container_to(c: Container) -> dict[str, Any]:
    image = c.image
    return {
        "image": {"name": image.name, "tag": image.tag, "owner": image.owner,
                  "registry": image.registry, "cluster_name": image.cluster_name,
                  "org_name": image.org_name},
        "resources": {"memory": c.resources.memory, "cpu": c.resources.cpu,
                      "gpu": c.resources.gpu, "gpu_model": c.resources.gpu_model,
                      "shm": c.resources.shm},
        "entrypoint": c.entrypoint, "command": c.command, "working_dir": c.working_dir,
        "http": None if c.http is None else {"port": c.http.port,
                                             "requires_auth": c.http.requires_auth},
        "env": dict(c.env),
        "volumes": [{"storage_uri": str(v.storage_uri), "container_path": v.container_path,
                     "read_only": v.read_only} for v in c.volumes],
        "secret_env": {k: str(v) for k, v in c.secret_env.items()},
        "secret_files": [{"secret_uri": str(f.secret_uri),
                          "container_path": f.container_path} for f in c.secret_files],
        "disk_volumes": [{"disk_uri": str(v.disk_uri), "container_path": v.container_path,
                          "read_only": v.read_only} for v in c.disk_volumes],
        "tty": c.tty,
    }


def _container_from(d: Mapping[str, Any]) -> Container:
    http = d["http"]
    return Container(
        image=RemoteImage(**d["image"]),
        resources=Resources(**d["resources"]),
        entrypoint=d["entrypoint"], command=d["command"], working_dir=d["working_dir"],
        http=None if http is None else HTTPPort(**http),
        env=dict(d["env"]),
        volumes=[Volume(URL(v["storage_uri"]), v["container_path"], v["read_only"])
                 for v in d["volumes"]],
        secret_env={k: URL(v) for k, v in d["secret_env"].items()},
        secret_files=[SecretFile(URL(f["secret_uri"]), f["container_path"])
                      for f in d["secret_files"]],
        disk_volumes=[DiskVolume(URL(v["disk_uri"]), v["container_path"], v["read_only"])
                      for v in d["disk_volumes"]],
        tty=bool(d["tty"]))
