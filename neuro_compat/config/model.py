"""What a cluster configuration says, once read and checked: one frozen
dataclass per table of the file (:mod:`neuro_compat.config` reads the file
into them; its documentation describes the format)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .preset import Preset

# No __all__ of its own: neuro_compat.config's names these as public.

DEFAULT_CONNECT_TIMEOUT = 30.0
"""Seconds an SSH terminal waits for its connection, unless configured."""


@dataclass(frozen=True)
class TerminalConfig:
    """How to run commands on a cluster.

    :ivar type: ``"local"`` or ``"ssh"``.
    :ivar host: the SSH host name.
    :ivar port: the SSH port.
    :ivar user: the SSH user name.
    :ivar key_file: private key file to log in with, or None.
    :ivar key_passphrase_env: environment variable holding the key's
        passphrase, or None.
    :ivar agent: log in with the keys of a running ssh-agent.
    :ivar password_env: environment variable holding the password, or None.
    :ivar known_hosts: known_hosts file to verify the host key against.
    :ivar host_key_policy: ``"strict"`` or ``"accept-new"``.
    :ivar connect_timeout: seconds to wait for the connection.
    :ivar command_shells: login shells the terminal keeps open to run
        commands in (see :class:`cerulean.SshTerminal`).
    :ivar otp_command: for two-factor logins, the argv of a local command
        whose first line of output is a one-time code, or None.
    :ivar otp_secret_env: for two-factor logins, the environment variable
        holding the base32 TOTP secret, or None.
    """

    type: str
    host: str | None = None
    port: int = 22
    user: str | None = None
    key_file: str | None = None
    key_passphrase_env: str | None = None
    agent: bool = False
    password_env: str | None = None
    known_hosts: str | None = None
    host_key_policy: str = "strict"
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    command_shells: int = 4
    otp_command: tuple[str, ...] | None = None
    otp_secret_env: str | None = None

    @property
    def one_time_codes(self) -> bool:
        """Whether logins answer keyboard-interactive prompts with codes."""
        return self.otp_command is not None or self.otp_secret_env is not None


@dataclass(frozen=True)
class StorageConfig:
    """Where a cluster's storage lives.

    :ivar type: ``"local"``, ``"sftp"`` or ``"webdav"``.
    :ivar root: the storage root, an absolute path on that file system.
    :ivar url: the WebDAV server URL (webdav only).
    :ivar user: the WebDAV user name (webdav only), or None for anonymous.
    :ivar password_env: environment variable holding the WebDAV password.
    :ivar ca_cert: CA certificate file for an HTTPS WebDAV server, or None.
    """

    type: str
    root: str
    url: str | None = None
    user: str | None = None
    password_env: str | None = None
    ca_cert: str | None = None


@dataclass(frozen=True)
class SchedulerConfig:
    """Which batch scheduler runs a cluster's jobs.

    :ivar type: ``"directgnu"``, ``"slurm"``, ``"torque"`` or ``"sge"``
        (Grid Engine; ``"gridengine"`` in the file means the same).
    :ivar prefix: text put in front of every scheduler command.
    :ivar parallel_environment: Grid Engine's parallel environment for
        jobs of more than one CPU, or None.
    """

    type: str
    prefix: str = ""
    parallel_environment: str | None = None


@dataclass(frozen=True)
class PresetConfig:
    """A resource preset as configured, with its scheduler-specific parts.

    :ivar name: the preset's name.
    :ivar cpu: number of CPUs.
    :ivar memory_mb: memory in MiB.
    :ivar gpu: number of GPUs, or None.
    :ivar gpu_model: GPU model name, or None.
    :ivar partition: Slurm partition, or Torque or Grid Engine queue, or
        None for the scheduler's default.
    :ivar time_limit: time limit in seconds, or None for none.
    :ivar scheduler_options: extra scheduler options, passed verbatim.
    """

    name: str
    cpu: float
    memory_mb: int
    gpu: int | None = None
    gpu_model: str | None = None
    partition: str | None = None
    time_limit: int | None = None
    scheduler_options: tuple[str, ...] = ()

    def to_preset(self) -> Preset:
        """The neuro_sdk-style :class:`~neuro_compat.Preset` of this preset."""
        return Preset(credits_per_hour=Decimal(0), cpu=self.cpu,
                      memory=self.memory_mb * 2**20, gpu=self.gpu,
                      gpu_model=self.gpu_model)


@dataclass(frozen=True)
class ClusterConfig:
    """Everything about one cluster.

    :ivar name: the cluster's name (the host part of its URIs).
    :ivar username: the user name in storage and job URIs.
    :ivar terminal: how commands run there.
    :ivar storage: where its storage lives.
    :ivar scheduler: which scheduler runs its jobs.
    :ivar job_dir: directory on the cluster (terminal side) for job
        metadata and logs.
    :ivar workers: worker threads for this cluster's blocking calls.
    :ivar runtime: how jobs run images; one of :data:`RUNTIMES`.
    :ivar registry: host name of the cluster's image registry, or None.
    :ivar presets: the presets by name, in file order.
    """

    name: str
    username: str
    terminal: TerminalConfig
    storage: StorageConfig
    scheduler: SchedulerConfig
    job_dir: str
    workers: int
    runtime: str
    registry: str | None
    presets: Mapping[str, PresetConfig]


@dataclass(frozen=True)
class ClustersFile:
    """A parsed cluster configuration.

    :ivar source: the file it came from, or None for the embedded default.
    :ivar default_cluster: the cluster a new client starts with.
    :ivar clusters: the clusters by name, in file order.
    """

    source: Path | None
    default_cluster: str
    clusters: Mapping[str, ClusterConfig]

    @property
    def origin(self) -> str:
        """The file name, or a description of the embedded default."""
        return str(self.source) if self.source else "<embedded default configuration>"
