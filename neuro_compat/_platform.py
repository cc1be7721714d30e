"""Data types of neuro_sdk subsystems that have no counterpart on HPC
clusters: sharing, quotas, image tags and image-transfer progress, buckets,
disks, secrets and service accounts.

They exist so that code written for neuro_sdk (the neuro command line among
it) imports and type-checks unchanged; their fields are neuro-sdk 22.7.1's.
No call of neuro_compat returns them: the subsystems that would
(``Client.users``, ``images``, ``buckets``, ``disks``, ``secrets``,
``service_accounts``) raise :class:`NotSupportedError`.
"""
from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from yarl import URL

from ._images import LocalImage, RemoteImage
from .storage.types import Action

SCHEMES = ("storage", "image", "job", "secret", "disk", "blob", "flow")
"""The URI schemes of a neuro platform cluster, as neuro_sdk lists them (the
CLI completes these); only ``storage`` and ``job`` are served here."""


@dataclass(frozen=True)
class Permission:
    """*Read-only* dataclass: an :class:`Action` granted on a resource ``uri``
    (``yarl.URL``)."""

    uri: URL
    action: Action


@dataclass(frozen=True)
class Share:
    """*Read-only* dataclass: a :class:`Permission` shared with ``user``."""

    user: str
    permission: Permission


@dataclass(frozen=True)
class Quota:
    """*Read-only* dataclass: a user's platform quota, ``credits``
    (``Decimal``) and ``total_running_jobs`` (``int``), None for unlimited."""

    credits: Decimal | None = None
    total_running_jobs: int | None = None


@dataclass(frozen=True)
class Tag:
    """*Read-only* dataclass: an image tag ``name`` and its ``size`` in bytes
    (None when unknown)."""

    name: str
    size: int | None = None


@dataclass(frozen=True)
class ImageProgressPull:
    """Pulling image ``src`` (:class:`RemoteImage`) to ``dst``
    (:class:`LocalImage`) starts."""

    src: RemoteImage
    dst: LocalImage


@dataclass(frozen=True)
class ImageProgressPush:
    """Pushing image ``src`` (:class:`LocalImage`) to ``dst``
    (:class:`RemoteImage`) starts."""

    src: LocalImage
    dst: RemoteImage


@dataclass(frozen=True)
class ImageProgressSave:
    """Saving the container of ``job`` (job id) as image ``dst`` starts."""

    job: str
    dst: RemoteImage


@dataclass(frozen=True)
class ImageProgressStep:
    """One step of an image transfer, as Docker reports it: ``message``,
    ``layer_id``, ``status``, and ``current`` of ``total`` bytes (None when
    Docker does not say)."""

    message: str
    layer_id: str
    status: str
    current: float | None
    total: float | None


@dataclass(frozen=True)
class ImageCommitStarted:
    """Committing the container of ``job_id`` to ``target_image`` starts."""

    job_id: str
    target_image: RemoteImage


@dataclass(frozen=True)
class ImageCommitFinished:
    """Committing the container of ``job_id`` is done."""

    job_id: str


class AbstractDockerImageProgress(abc.ABC):
    """Base class for image-transfer progress callbacks (each receives the
    event dataclass of the same name)."""

    @abc.abstractmethod
    def pull(self, data: ImageProgressPull) -> None:
        """An image pull starts."""

    @abc.abstractmethod
    def push(self, data: ImageProgressPush) -> None:
        """An image push starts."""

    @abc.abstractmethod
    def step(self, data: ImageProgressStep) -> None:
        """A transfer progresses."""

    @abc.abstractmethod
    def save(self, data: ImageProgressSave) -> None:
        """Saving a job's container starts."""

    @abc.abstractmethod
    def commit_started(self, data: ImageCommitStarted) -> None:
        """Committing a job's container starts."""

    @abc.abstractmethod
    def commit_finished(self, data: ImageCommitFinished) -> None:
        """Committing a job's container is done."""


@dataclass(frozen=True)
class Bucket:
    """*Read-only* dataclass describing an object-storage bucket."""

    id: str
    owner: str
    cluster_name: str
    org_name: str | None
    provider: Bucket.Provider
    created_at: datetime
    imported: bool
    public: bool = False
    name: str | None = None

    @property
    def uri(self) -> URL:
        """The bucket's ``blob:`` URI, ``yarl.URL``."""
        base = f"blob://{self.cluster_name}"
        if self.org_name:
            base += f"/{self.org_name}"
        return URL(f"{base}/{self.owner}/{self.name or self.id}")

    class Provider(str, enum.Enum):
        """Who stores the bucket's objects."""

        AWS = "aws"
        MINIO = "minio"
        AZURE = "azure"
        GCP = "gcp"
        OPEN_STACK = "open_stack"


@dataclass(frozen=True)
class BucketEntry(abc.ABC):
    """Base of the entries of a bucket: ``key``, ``bucket``, ``size`` in
    bytes, creation and modification times."""

    key: str
    bucket: Bucket
    size: int
    created_at: datetime | None = None
    modified_at: datetime | None = None


@dataclass(frozen=True)
class BucketCredentials:
    """*Read-only* dataclass: credentials of one bucket."""

    bucket_id: str
    provider: Bucket.Provider
    credentials: Mapping[str, str]


@dataclass(frozen=True)
class PersistentBucketCredentials:
    """*Read-only* dataclass: named, stored credentials of several buckets."""

    id: str
    owner: str
    cluster_name: str
    name: str | None
    read_only: bool
    credentials: list[BucketCredentials]


@dataclass(frozen=True)
class Disk:
    """*Read-only* dataclass describing a persistent disk of a platform
    cluster (``storage`` and ``used_bytes`` in bytes)."""

    id: str
    storage: int
    owner: str
    status: Disk.Status
    cluster_name: str
    org_name: str | None
    created_at: datetime
    last_usage: datetime | None = None
    name: str | None = None
    timeout_unused: timedelta | None = None
    used_bytes: int | None = None

    class Status(enum.Enum):
        """A disk's state."""

        PENDING = "Pending"
        READY = "Ready"
        BROKEN = "Broken"


@dataclass(frozen=True)
class Secret:
    """*Read-only* dataclass naming a secret (never its value)."""

    key: str
    owner: str
    cluster_name: str
    org_name: str | None


@dataclass(frozen=True)
class ServiceAccount:
    """*Read-only* dataclass describing a service account."""

    id: str
    name: str | None
    owner: str
    default_cluster: str
    role: str
    created_at: datetime
