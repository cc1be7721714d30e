"""neuro_compat: the Jobs and Storage API of neuro_sdk 22.7, on HPC clusters.

A script written for neuro_sdk's Jobs and Storage APIs runs unchanged after
``import neuro_compat as neuro_sdk``::

    import neuro_compat as neuro_sdk
    from yarl import URL

    async with neuro_sdk.get() as client:
        await client.storage.upload_dir(URL("file:data"), URL("storage:data"))

Clusters come from a configuration file (see :mod:`neuro_compat.config`);
without one, the embedded ``local`` cluster runs everything on this machine.
Underneath, everything is done by :mod:`cerulean`: terminals, file systems
(local, SFTP, WebDAV) and schedulers (DirectGnu, Slurm, Torque).
"""
from ._images import LocalImage, RemoteImage, TagOption
from ._volumes import DiskVolume, EnvParseResult, SecretFile, Volume, VolumeParseResult
from .client import DEFAULT_TIMEOUT, Client, ClientTimeout, Factory, get
from .config.api import Cluster, Config
from .config.preset import Preset
from .errors import (
    AuthenticationError,
    AuthError,
    AuthorizationError,
    ClientError,
    ConfigError,
    IllegalArgumentError,
    NotSupportedError,
    ResourceNotFound,
    ServerNotAvailable,
    StdStreamError,
    StorageNotFoundError,
    StoragePathError,
)
from .jobs import Jobs
from .jobs.types import (
    Container,
    HTTPPort,
    JobDescription,
    JobDescriptionInternal,
    JobPriority,
    JobRestartPolicy,
    JobStatus,
    JobStatusHistory,
    JobStatusItem,
    JobTelemetry,
    Message,
    Resources,
    StdStream,
)
from .parser import Parser
from .storage import Storage
from .storage.progress import (
    AbstractDeleteProgress,
    AbstractFileProgress,
    AbstractRecursiveFileProgress,
    StorageProgressComplete,
    StorageProgressDelete,
    StorageProgressEnterDir,
    StorageProgressFail,
    StorageProgressLeaveDir,
    StorageProgressStart,
    StorageProgressStep,
)
from .storage.types import Action, DiskUsageInfo, FileStatus, FileStatusType

__version__ = "22.7.1"
"""The neuro_sdk release whose API this package offers."""

__all__ = [
    "DEFAULT_TIMEOUT",
    "AbstractDeleteProgress",
    "AbstractFileProgress",
    "AbstractRecursiveFileProgress",
    "Action",
    "AuthError",
    "AuthenticationError",
    "AuthorizationError",
    "Client",
    "ClientError",
    "ClientTimeout",
    "Cluster",
    "Config",
    "ConfigError",
    "Container",
    "DiskUsageInfo",
    "DiskVolume",
    "EnvParseResult",
    "Factory",
    "FileStatus",
    "FileStatusType",
    "HTTPPort",
    "IllegalArgumentError",
    "JobDescription",
    "JobDescriptionInternal",
    "JobPriority",
    "JobRestartPolicy",
    "JobStatus",
    "JobStatusHistory",
    "JobStatusItem",
    "JobTelemetry",
    "Jobs",
    "LocalImage",
    "Message",
    "NotSupportedError",
    "Parser",
    "Preset",
    "RemoteImage",
    "ResourceNotFound",
    "Resources",
    "SecretFile",
    "ServerNotAvailable",
    "StdStream",
    "StdStreamError",
    "Storage",
    "StorageNotFoundError",
    "StoragePathError",
    "StorageProgressComplete",
    "StorageProgressDelete",
    "StorageProgressEnterDir",
    "StorageProgressFail",
    "StorageProgressLeaveDir",
    "StorageProgressStart",
    "StorageProgressStep",
    "TagOption",
    "Volume",
    "VolumeParseResult",
    "get",
]
