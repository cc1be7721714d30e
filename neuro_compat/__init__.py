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
from ._admin import admin_types as _admin_types
from ._file_filter import AsyncFilterFunc, FileFilter
from ._images import LocalImage, RemoteImage, TagOption
from ._platform import (
    SCHEMES,
    AbstractDockerImageProgress,
    Bucket,
    BucketCredentials,
    BucketEntry,
    Disk,
    ImageCommitFinished,
    ImageCommitStarted,
    ImageProgressPull,
    ImageProgressPush,
    ImageProgressSave,
    ImageProgressStep,
    Permission,
    PersistentBucketCredentials,
    Quota,
    Secret,
    ServiceAccount,
    Share,
    Tag,
)
from ._plugins import ConfigBuilder, ConfigScope, PluginManager, VersionChecker
from ._tracing import gen_trace_id
from ._volumes import DiskVolume, EnvParseResult, SecretFile, Volume, VolumeParseResult
from .client import (
    DEFAULT_API_URL,
    DEFAULT_CONFIG_PATH,
    DEFAULT_TIMEOUT,
    PASS_CONFIG_ENV_NAME,
    Client,
    ClientTimeout,
    Factory,
    get,
)
from .config import CONFIG_ENV_NAME
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

# The platform-administration types (_Cluster, _Balance, ...), where their
# packages are installed (the cli extra); not in __all__, since they may be
# absent, and neuro_sdk's star-import users do not expect underscore names.
globals().update(_admin_types())

__all__ = [
    "CONFIG_ENV_NAME",
    "DEFAULT_API_URL",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_TIMEOUT",
    "PASS_CONFIG_ENV_NAME",
    "SCHEMES",
    "AbstractDeleteProgress",
    "AbstractDockerImageProgress",
    "AbstractFileProgress",
    "AbstractRecursiveFileProgress",
    "Action",
    "AsyncFilterFunc",
    "AuthError",
    "AuthenticationError",
    "AuthorizationError",
    "Bucket",
    "BucketCredentials",
    "BucketEntry",
    "Client",
    "ClientError",
    "ClientTimeout",
    "Cluster",
    "Config",
    "ConfigBuilder",
    "ConfigError",
    "ConfigScope",
    "Container",
    "Disk",
    "DiskUsageInfo",
    "DiskVolume",
    "EnvParseResult",
    "Factory",
    "FileFilter",
    "FileStatus",
    "FileStatusType",
    "HTTPPort",
    "IllegalArgumentError",
    "ImageCommitFinished",
    "ImageCommitStarted",
    "ImageProgressPull",
    "ImageProgressPush",
    "ImageProgressSave",
    "ImageProgressStep",
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
    "Permission",
    "PersistentBucketCredentials",
    "PluginManager",
    "Preset",
    "Quota",
    "RemoteImage",
    "ResourceNotFound",
    "Resources",
    "Secret",
    "SecretFile",
    "ServerNotAvailable",
    "ServiceAccount",
    "Share",
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
    "Tag",
    "TagOption",
    "VersionChecker",
    "Volume",
    "VolumeParseResult",
    "gen_trace_id",
    "get",
]
