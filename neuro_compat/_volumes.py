"""Dataclasses for storage volumes, secret files, disk volumes and the
results of :meth:`Parser.volumes` and :meth:`Parser.envs` (as in neuro_sdk).

The Jobs subsystem consumes them; the Parser produces them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from yarl import URL


@dataclass(frozen=True)
class Volume:
    """*Read-only* dataclass for describing mounted volumes of a container.

    :ivar storage_uri: an URL on remote storage, ``yarl.URL``.
    :ivar container_path: a path on container filesystem, ``str``.
    :ivar read_only: True is the volume is mounted in read-only mode, False
        for read-write (default).
    """

    storage_uri: URL
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class SecretFile:
    """*Read-only* dataclass for describing secrets mounted as files in a
    container.

    :ivar secret_uri: an URI on a secret, ``yarl.URL``.
    :ivar container_path: a path on container filesystem, ``str``.
    """

    secret_uri: URL
    container_path: str


@dataclass(frozen=True)
class DiskVolume:
    """*Read-only* dataclass for describing mounted disk volumes of a
    container.

    :ivar disk_uri: an URI on a disk, ``yarl.URL``.
    :ivar container_path: a path on container filesystem, ``str``.
    :ivar read_only: True is the volume is mounted in read-only mode.
    """

    disk_uri: URL
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class VolumeParseResult:
    """Result of :meth:`Parser.volumes`.

    :ivar volumes: list of parsed regular volumes.
    :ivar secret_files: list of parsed secret files.
    :ivar disk_volumes: list of parsed disk volumes.
    """

    volumes: Sequence[Volume]
    secret_files: Sequence[SecretFile]
    disk_volumes: Sequence[DiskVolume]


@dataclass(frozen=True)
class EnvParseResult:
    """Result of :meth:`Parser.envs`.

    :ivar env: mapping of parsed environmental variables, ``Dict[str, str]``.
    :ivar secret_env: mapping of environmental variables taken from secrets,
        ``Dict[str, URL]``.
    """

    env: dict[str, str]
    secret_env: dict[str, URL]
