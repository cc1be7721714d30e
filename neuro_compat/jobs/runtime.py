"""Container runtimes: the shell line that runs a job's image on the node.

Each cluster names one runtime in its configuration (key ``runtime``):

``host``
    The command runs directly on the node, through ``bash -c``; the image is
    only recorded. The embedded local default uses it, so the neuro_sdk
    examples (``ubuntu:latest``, ``sleep 30``) run offline. Volumes cannot be
    mounted (the job can use the storage path itself instead).
``apptainer``, ``singularity``
    ``apptainer exec docker://<image> <entrypoint> <command>`` (``run`` when
    no entrypoint is given, so the image's own entrypoint applies), volumes
    as ``--bind host:container[:ro]``, the working directory as ``--pwd``.
``podman``, ``docker``
    ``docker run --rm --name <job id> ...`` with ``--entrypoint``, ``-w``,
    ``-v host:container[:ro]``, ``-e NAME`` for each variable, ``--cpus`` and
    ``--memory`` from the resources; a killed job's container is removed with
    ``docker rm -f``. Docker runs the container as the user
    (``--user $(id -u):$(id -g)``) so files written to volumes are theirs.

As in Docker, ``command`` is split into words (shell syntax is not
interpreted) for the container runtimes; under ``host`` it is a shell
command line. Every word is quoted before it reaches a shell.
"""
from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from .._images import RemoteImage
from ..errors import NotSupportedError

RUNTIME_PROGRAMS = {"apptainer": "apptainer", "singularity": "singularity",
                    "podman": "podman", "docker": "docker"}
"""The program each container runtime needs on the cluster."""


@dataclass(frozen=True)
class Bind:
    """A storage directory mounted into a container.

    :ivar host_path: the directory on the node.
    :ivar container_path: where it appears in the container.
    :ivar read_only: mount it read-only.
    """

    host_path: str
    container_path: str
    read_only: bool


@dataclass(frozen=True)
class Launch:
    """How the wrapper script starts and stops a job's command.

    :ivar run: the shell line that runs the command (in the foreground).
    :ivar stop: a shell line that also has to run when the job is killed
        (removing a container that the client process does not own), or
        ``""``.
    """

    run: str
    stop: str = ""


def launch(runtime: str, *, job_id: str, image: RemoteImage, entrypoint: str | None,
           command: str | None, working_dir: str | None, env_names: Sequence[str],
           binds: Sequence[Bind], cpu: float, memory: int, shm: bool) -> Launch:
    """The launch of a job's command under ``runtime``.

    :raises NotSupportedError: under ``host`` with neither entrypoint nor
        command (there is no image to take a default command from).
    :raises ValueError: for a command that cannot be split into words, or a
        bind that cannot be written as a mount option.
    """
    for bind in binds:
        _check_bind(bind)
    if runtime == "host":
        line = " ".join(part for part in (entrypoint, command) if part)
        if not line.strip():
            raise NotSupportedError(
                "the job has no command: under runtime 'host' the image is not run, "
                "so it cannot supply a default command; pass command=...")
        return Launch(run="bash -c " + shlex.quote(line))
    words = _words(command, "command")
    entry = _words(entrypoint, "entrypoint")
    url = image.as_docker_url()
    if runtime in ("apptainer", "singularity"):
        options = [f"--bind {shlex.quote(_bind_spec(b))}" for b in binds]
        if working_dir:
            options.append("--pwd " + shlex.quote(working_dir))
        verb = "exec" if entry else "run"
        argv = [runtime, verb, *options, shlex.quote("docker://" + url),
                *[shlex.quote(w) for w in (*entry, *words)]]
        return Launch(run=" ".join(argv))
    if runtime in ("docker", "podman"):
        options = ["--rm", "--name", shlex.quote(job_id), "-i",
                   f"--cpus={cpu:g}", f"--memory={memory}b"]
        if runtime == "docker":
            options.append('--user "$(id -u):$(id -g)"')
        if shm:
            options.append(f"--shm-size={memory}b")
        if entry:
            options.append("--entrypoint " + shlex.quote(entry[0]))
        if working_dir:
            options.append("-w " + shlex.quote(working_dir))
        options += [f"-v {shlex.quote(_bind_spec(b))}" for b in binds]
        options += [f"-e {shlex.quote(name)}" for name in env_names]
        argv = [runtime, "run", *options, shlex.quote(url),
                *[shlex.quote(w) for w in (*entry[1:], *words)]]
        return Launch(run=" ".join(argv),
                      stop=f"{runtime} rm -f {shlex.quote(job_id)} >/dev/null 2>&1")
    raise ValueError(f"unknown container runtime {runtime!r}")


def exec_line(runtime: str, *, job_id: str, image: RemoteImage,
              binds: Sequence[Bind], cmd: str, tty: bool = False) -> str:
    """The shell line that runs ``cmd`` beside a running job (``Jobs.exec``).

    Under ``host`` it is a ``bash -c`` in the job's working directory; docker
    and podman run it inside the job's container (``exec``); apptainer and
    singularity run it in the same image with the same mounts (an apptainer
    job has no long-lived container to enter).
    """
    if runtime == "host":
        return "bash -c " + shlex.quote(cmd)
    if runtime in ("apptainer", "singularity"):
        options = [f"--bind {shlex.quote(_bind_spec(b))}" for b in binds]
        return " ".join([runtime, "exec", *options,
                         shlex.quote("docker://" + image.as_docker_url()),
                         "sh", "-c", shlex.quote(cmd)])
    if runtime in ("docker", "podman"):
        flags = "-it" if tty else "-i"
        return f"{runtime} exec {flags} {shlex.quote(job_id)} sh -c {shlex.quote(cmd)}"
    raise ValueError(f"unknown container runtime {runtime!r}")


def missing_runtime_error(runtime: str, cluster: str, origin: str, where: str) -> NotSupportedError:
    """The error for a runtime whose program is not installed on the cluster."""
    program = RUNTIME_PROGRAMS[runtime]
    return NotSupportedError(
        f"cluster '{cluster}' runs images with runtime '{runtime}', but '{program}' "
        f"is not installed on {where} (command -v {program} found nothing). Install "
        f"it there, or set clusters.{cluster}.runtime in {origin} to a runtime the "
        "cluster has (apptainer, singularity, podman, docker), or to \"host\" to run "
        "commands directly on the nodes without their images")


def _words(text: str | None, what: str) -> list[str]:
    if not text:
        return []
    try:
        return shlex.split(text)
    except ValueError as e:
        raise ValueError(f"cannot split the {what} {text!r} into words: {e}") from None


def _check_bind(bind: Bind) -> None:
    for path, what in ((bind.host_path, "storage path"),
                       (bind.container_path, "container path")):
        if not path.startswith("/"):
            raise ValueError(f"the {what} of a volume must be absolute, not {path!r}")
        if any(c in path for c in ":,\n\r\0"):
            raise ValueError(f"the {what} {path!r} of a volume cannot be mounted: it "
                             "contains ':', ',' or a line break")


def _bind_spec(bind: Bind) -> str:
    spec = f"{bind.host_path}:{bind.container_path}"
    return spec + (":ro" if bind.read_only else "")
