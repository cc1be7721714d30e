"""The cluster configuration: which clusters a client can use, and how.

neuro_sdk learns its clusters from the Neu.ro platform at login. Here they come
from a TOML file written by the user, or, when there is none, from the
embedded default: one ``local`` cluster on this machine, which works offline.

Where the file is
-----------------
:class:`~neuro_compat.Factory` (and :func:`~neuro_compat.get`) take a
configuration directory: the ``path`` argument, else the
``NEUROMATION_CONFIG`` environment variable, else ``~/.neuro``. The cluster
configuration is the file ``clusters.toml`` in it. ``path`` (or the variable)
may also name a ``.toml`` file directly. When the directory has no
``clusters.toml``, the embedded default below is used; a ``.toml`` file
named explicitly must exist, and so must a directory named by ``path`` or
the variable (only ``~/.neuro`` may be missing: see
:meth:`Factory.get <neuro_compat.Factory.get>`). :meth:`Config.switch_cluster
<neuro_compat.Config.switch_cluster>` remembers the chosen cluster in the
file ``current-cluster`` beside the configuration file.

The format
----------
Example (also in ``docs/examples/neuro-cluster.toml``)::

    # The cluster get() starts with; default: the first one in the file.
    default_cluster = "hpc"

    [clusters.hpc]
    username = "alice"      # storage user name; default: the SSH user
    job_dir = "/home/alice/.neuro-compat/jobs"   # job metadata and logs
    workers = 16            # worker threads for this cluster (default 16)
    runtime = "apptainer"   # how jobs run images: host, apptainer,
                            # singularity, podman or docker (default host)
    registry = "registry.example.org"   # optional: host of the cluster's
                                        # image registry, for image: names

    [clusters.hpc.terminal]
    type = "ssh"            # "local" or "ssh"
    host = "login.example.org"
    port = 22               # default 22
    user = "alice"
    key_file = "~/.ssh/id_ed25519"  # log in with this private key ...
    # key_passphrase_env = "HPC_KEY_PASSPHRASE"  # ... unlocked by this
    #                                             # variable's value
    # agent = true                # ... or with the keys of ssh-agent
    # password_env = "HPC_PASSWORD"  # ... or with the password held in
    #                                # this environment variable
    # otp_secret_env = "HPC_TOTP_SECRET"  # 2FA: one-time codes from the
    #                                     # base32 TOTP secret in this variable
    # otp_command = "oathtool --totp -b ..."  # ... or from this command's
    #                                         # first line of output
    known_hosts = "~/.ssh/known_hosts"   # default ~/.ssh/known_hosts
    host_key_policy = "strict"   # or "accept-new" (record unknown hosts)
    connect_timeout = 30         # seconds (default 30)
    command_shells = 4           # login shells kept open for commands
                                 # (default 4; 0: a session per command)

    [clusters.hpc.storage]
    type = "sftp"           # "local", "sftp" (over the terminal's SSH
                            # connection) or "webdav"
    root = "/home/alice/neuro-storage"   # the storage root (absolute)
    # For webdav: url = "https://dav.example.org/storage", user = "alice",
    # password_env = "DAV_PASSWORD", ca_cert = "/path/to/ca.pem"; root is
    # then a path on the WebDAV server (default "/").

    [clusters.hpc.scheduler]
    type = "slurm"          # "directgnu", "slurm", "torque" or "sge"
                            # (Grid Engine; "gridengine" is the same)
    prefix = ""             # put in front of every scheduler command,
                            # for example "module load slurm &&"
    # parallel_environment = "smp"   # sge: for presets of more than 1 CPU

    [clusters.hpc.presets.cpu-small]
    cpu = 1                 # CPUs (may be fractional for directgnu)
    memory_mb = 2048        # memory in MiB
    gpu = 0                 # GPUs (default none)
    # gpu_model = "a100"
    partition = "debug"     # Slurm partition / Torque or Grid Engine
                            # queue ("queue" is another name for it)
    time = "01:00:00"       # time limit: [D-]HH:MM:SS, MM:SS or minutes
    # scheduler_options = ["--account=proj42"]   # extra options, verbatim

Rules
-----
* Secrets are never stored in the file: a password, a key's passphrase or
  a TOTP secret is read from the environment variable the file names
  (``password_env``, ``key_passphrase_env``, ``otp_secret_env``) when the
  connection is made. A ``password`` key is refused.
* Every storage URI resolves to a path under the storage ``root``; a
  relative one (``storage:data``) lands in ``<root>/<username>/``.
* Paths of local clusters may start with ``~``; paths on remote machines
  must be absolute.
* Unknown keys, wrong types and missing required keys raise
  :class:`~neuro_compat.ConfigError` naming the file, the key and the
  problem.

The embedded default
--------------------
Without a file, :data:`DEFAULT_CONFIG` is used: the cluster ``local`` with a
LocalTerminal, a LocalFileSystem whose storage root is
``$XDG_DATA_HOME/neuro-compat/storage`` (``~/.local/share/neuro-compat/
storage`` when XDG_DATA_HOME is unset), the DirectGnu scheduler, jobs in
``$XDG_DATA_HOME/neuro-compat/jobs``, runtime ``host`` and the presets
``cpu-small``, ``cpu-medium`` and ``cpu-large``.
"""
from __future__ import annotations

import getpass
import os
import re
import shlex
import sys
from pathlib import Path
from types import MappingProxyType

from ..errors import ConfigError
from .model import (
    DEFAULT_CONNECT_TIMEOUT,
    ClusterConfig,
    ClustersFile,
    PresetConfig,
    SchedulerConfig,
    StorageConfig,
    TerminalConfig,
)
from .reader import TableReader

# Beside this module, which reads and checks the file: model.py (the
# dataclasses it reads the file into), reader.py (typed access to the TOML
# tables), preset.py (neuro_sdk's Preset) and api.py (Config, the
# Client.config subsystem, built on the parsed file).

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

__all__ = [
    "CONFIG_ENV_NAME",
    "CONFIG_FILE_NAME",
    "DEFAULT_CONFIG",
    "DEFAULT_CONFIG_DIR",
    "RUNTIMES",
    "SCHEDULERS",
    "ClusterConfig",
    "ClustersFile",
    "PresetConfig",
    "SchedulerConfig",
    "StorageConfig",
    "TerminalConfig",
    "default_data_dir",
    "load_clusters",
    "parse_clusters",
]

CONFIG_ENV_NAME = "NEUROMATION_CONFIG"
"""Environment variable naming the configuration directory (or file)."""

DEFAULT_CONFIG_DIR = "~/.neuro"
"""The configuration directory when neither ``path`` nor the variable say."""

CONFIG_FILE_NAME = "clusters.toml"
"""Name of the cluster configuration file in the configuration directory."""

CURRENT_CLUSTER_FILE_NAME = "current-cluster"
"""Where :meth:`Config.switch_cluster` remembers the chosen cluster."""

RUNTIMES = ("host", "apptainer", "singularity", "podman", "docker")
"""Values of the ``runtime`` key: how jobs run their images."""

SCHEDULERS = ("directgnu", "slurm", "torque", "sge", "gridengine")
"""Values of a scheduler's ``type`` key (``gridengine`` is read as ``sge``)."""

DEFAULT_WORKERS = 16

DEFAULT_CONFIG = """\
# The embedded default: one cluster on this machine, usable offline.
default_cluster = "local"

[clusters.local]
# runtime "host": jobs run their command directly on this machine; the image
# named in a job is only recorded, not pulled or run.
runtime = "host"
workers = 16

[clusters.local.terminal]
type = "local"

[clusters.local.storage]
type = "local"      # root: $XDG_DATA_HOME/neuro-compat/storage

[clusters.local.scheduler]
type = "directgnu"

[clusters.local.presets.cpu-small]
cpu = 1
memory_mb = 1024

[clusters.local.presets.cpu-medium]
cpu = 2
memory_mb = 4096

[clusters.local.presets.cpu-large]
cpu = 4
memory_mb = 8192
"""
"""The configuration used when there is no configuration file."""


def default_data_dir() -> Path:
    """The per-user data directory of neuro_compat on this machine.

    ``$XDG_DATA_HOME/neuro-compat``, or ``~/.local/share/neuro-compat`` when
    XDG_DATA_HOME is unset or empty (as the XDG base directory spec says).
    """
    base = os.environ.get("XDG_DATA_HOME") or os.path.join("~", ".local", "share")
    return Path(os.path.expanduser(base)) / "neuro-compat"


def load_clusters(path: Path) -> ClustersFile:
    """Read the cluster configuration for a configuration directory or file.

    :param path: a configuration directory (holding ``clusters.toml``) or a
        ``.toml`` file.
    :returns: the parsed file, or the embedded default when a directory has
        no ``clusters.toml``.
    :raises ConfigError: if the file cannot be read or is invalid, or a
        ``.toml`` file named explicitly does not exist.
    """
    file = config_file_for(path)
    if not file.exists():
        if path.suffix == ".toml":
            raise ConfigError(f"{file}: the cluster configuration file does not exist")
        return parse_clusters(DEFAULT_CONFIG, None)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{file}: cannot read the cluster configuration: {e}") from e
    return parse_clusters(text, file)


def config_file_for(path: Path) -> Path:
    """The cluster configuration file for a directory or file ``path``."""
    if path.suffix == ".toml" or path.is_file():
        return path
    return path / CONFIG_FILE_NAME


def parse_clusters(text: str, source: Path | None) -> ClustersFile:
    """Parse and check the text of a cluster configuration.

    :param text: TOML text.
    :param source: the file it came from (for messages), None for the
        embedded default.
    :raises ConfigError: naming the file, the key and the problem.
    """
    origin = str(source) if source else "<embedded default configuration>"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{origin}: not valid TOML: {e}") from e
    reader = TableReader(origin, data, "")
    reader.only("default_cluster", "clusters")
    clusters_table = reader.table("clusters", required=True)
    if not clusters_table.names():
        raise ConfigError(f"{origin}: clusters: at least one cluster must be defined")
    clusters = {name: _parse_cluster(clusters_table.table(name, required=True), name)
                for name in clusters_table.names()}
    default = reader.string("default_cluster") or next(iter(clusters))
    if default not in clusters:
        raise ConfigError(f"{origin}: default_cluster: names '{default}', which is not "
                          f"one of the clusters defined ({', '.join(clusters)})")
    return ClustersFile(source, default, MappingProxyType(clusters))


# --- The parts ---------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _parse_cluster(reader: TableReader, name: str) -> ClusterConfig:
    reader.only("username", "terminal", "storage", "scheduler", "job_dir", "workers",
                "runtime", "registry", "presets")
    if not _NAME.fullmatch(name) or len(name) > 63:
        reader.fail("", "a cluster name must be letters, digits, '.', '_' or '-' "
                    "(it becomes the host part of storage:// URIs)")
    terminal = _parse_terminal(reader.table("terminal", required=True))
    local = terminal.type == "local"
    storage = _parse_storage(reader.table("storage", required=True), terminal)
    scheduler = _parse_scheduler(reader.table("scheduler", required=True))
    username = reader.string("username") or terminal.user or _local_user()
    if not _NAME.fullmatch(username):
        reader.fail("username", f"'{username}' cannot be a user name in storage paths")
    job_dir = reader.string("job_dir")
    if job_dir is None:
        if not local:
            reader.fail("job_dir", "required for a cluster reached over ssh: a directory "
                        "on the cluster for job metadata and logs")
        job_dir = str(default_data_dir() / "jobs")
    job_dir = _path(reader, "job_dir", job_dir, local)
    workers = reader.integer("workers", DEFAULT_WORKERS, minimum=1, maximum=256)
    runtime = reader.choice("runtime", RUNTIMES, "host")
    registry = reader.string("registry")
    presets_reader = reader.table("presets")
    presets = {p: _parse_preset(presets_reader.table(p, required=True), p)
               for p in presets_reader.names()}
    if scheduler.type == "sge":
        for p, preset in presets.items():
            _check_sge_preset(presets_reader.table(p), preset, scheduler)
    return ClusterConfig(name=name, username=username, terminal=terminal,
                         storage=storage, scheduler=scheduler, job_dir=job_dir,
                         workers=workers, runtime=runtime, registry=registry,
                         presets=MappingProxyType(presets))


def _parse_terminal(reader: TableReader) -> TerminalConfig:
    kind = reader.choice("type", ("local", "ssh"), required=True)
    if kind == "local":
        reader.only("type")
        return TerminalConfig(type="local")
    reader.only("type", "host", "port", "user", "key_file", "key_passphrase_env", "agent",
                "password_env", "known_hosts", "host_key_policy", "connect_timeout",
                "command_shells", "otp_command", "otp_secret_env")
    host = reader.string("host", required=True)
    user = reader.string("user", required=True)
    key_file = reader.string("key_file")
    agent = reader.boolean("agent", False)
    password_env = reader.env_name("password_env")
    otp_command, otp_secret_env = _one_time_codes(reader)
    methods = [m for m, on in (("key_file", key_file is not None), ("agent", agent),
                                ("password_env", password_env is not None)) if on]
    # With one-time codes, the codes alone may be the whole login (servers
    # that ask for everything through keyboard-interactive).
    if len(methods) > 1 or (not methods and otp_command is None and otp_secret_env is None):
        reader.fail("", "give exactly one way to log in: key_file, agent = true or "
                    f"password_env (found {', '.join(methods) or 'none'})")
    known_hosts = reader.string("known_hosts")
    return TerminalConfig(
        type="ssh", host=host, port=reader.integer("port", 22, minimum=1, maximum=65535),
        user=user,
        key_file=os.path.expanduser(key_file) if key_file else None,
        key_passphrase_env=reader.env_name("key_passphrase_env"),
        agent=agent, password_env=password_env,
        known_hosts=os.path.expanduser(known_hosts) if known_hosts else None,
        host_key_policy=reader.choice("host_key_policy", ("strict", "accept-new"), "strict"),
        connect_timeout=reader.number("connect_timeout", DEFAULT_CONNECT_TIMEOUT,
                                      minimum=0.1),
        command_shells=reader.integer("command_shells", 4, minimum=0, maximum=64),
        otp_command=otp_command, otp_secret_env=otp_secret_env)


def _one_time_codes(reader: TableReader) -> tuple[tuple[str, ...] | None, str | None]:
    """``otp_command`` (split as a shell would, but never run by one) and
    ``otp_secret_env``: at most one of them."""
    if "otp_command" in reader.data and "otp_secret_env" in reader.data:
        reader.fail("otp_command", "give otp_command or otp_secret_env, not both: "
                    "they are two ways to get the same one-time codes")
    secret_env = reader.env_name("otp_secret_env")
    text = reader.string("otp_command")
    if text is None:
        return None, secret_env
    if "\n" in text or "\r" in text or "\0" in text:
        reader.fail("otp_command", "must be one line (a command and its arguments)")
    try:
        argv = shlex.split(text)
    except ValueError as e:
        reader.fail("otp_command", f"cannot be split into a command and its "
                    f"arguments: {e}")
    if not argv:
        reader.fail("otp_command", "names no command")
    return tuple(argv), secret_env


def _parse_storage(reader: TableReader, terminal: TerminalConfig) -> StorageConfig:
    kind = reader.choice("type", ("local", "sftp", "webdav"), required=True)
    if kind == "webdav":
        reader.only("type", "root", "url", "user", "password_env", "ca_cert")
        url = reader.string("url", required=True)
        if not url.startswith(("http://", "https://")):
            reader.fail("url", f"must be an http:// or https:// URL, not '{url}'")
        password_env = reader.env_name("password_env")
        user = reader.string("user")
        if (user is None) != (password_env is None):
            reader.fail("", "give both user and password_env, or neither (anonymous)")
        root = _path(reader, "root", reader.string("root") or "/", False)
        ca_cert = reader.string("ca_cert")
        return StorageConfig(type="webdav", root=root, url=url.rstrip("/"), user=user,
                             password_env=password_env,
                             ca_cert=os.path.expanduser(ca_cert) if ca_cert else None)
    reader.only("type", "root")
    if kind == "local" and terminal.type != "local":
        reader.fail("type", "local storage needs a local terminal; a cluster reached "
                    "over ssh uses type = \"sftp\" (or \"webdav\")")
    if kind == "sftp" and terminal.type != "ssh":
        reader.fail("type", "sftp storage runs over the cluster's ssh terminal, but "
                    "the terminal is local; use type = \"local\"")
    root = reader.string("root")
    if root is None:
        if kind != "local":
            reader.fail("root", "required: the storage root, an absolute path on the cluster")
        root = str(default_data_dir() / "storage")
    return StorageConfig(type=kind, root=_path(reader, "root", root, kind == "local"))


def _parse_scheduler(reader: TableReader) -> SchedulerConfig:
    kind = reader.choice("type", SCHEDULERS, required=True)
    # One name in records and branches; "gridengine" as cerulean takes it.
    kind = "sge" if kind == "gridengine" else kind
    reader.only("type", "prefix", "parallel_environment")
    prefix = reader.string("prefix", allow_empty=True) or ""
    if "\n" in prefix or "\r" in prefix:
        reader.fail("prefix", "must be one line")
    pe = reader.string("parallel_environment")
    if pe is not None and kind != "sge":
        reader.fail("parallel_environment", "only Grid Engine (type = \"sge\") has "
                    "parallel environments")
    if pe is not None and not _NAME.fullmatch(pe):
        reader.fail("parallel_environment", f"'{pe}' is not a parallel environment's "
                    "name (`qconf -spl` lists them)")
    return SchedulerConfig(type=kind, prefix=prefix, parallel_environment=pe)


def _check_sge_preset(reader: TableReader, preset: PresetConfig,
                      scheduler: SchedulerConfig) -> None:
    """Grid Engine gives more than one slot only through a parallel
    environment, and knows GPUs only as a site's own resource: say so at
    load time rather than when a job is refused."""
    if preset.cpu > 1 and scheduler.parallel_environment is None and not any(
            "-pe" in option.split() for option in preset.scheduler_options):
        reader.fail("cpu", f"{preset.cpu:g} CPUs on Grid Engine need a parallel "
                    "environment: set parallel_environment in the cluster's "
                    "[scheduler] table (`qconf -spl` lists them), or give \"-pe <name> "
                    "<slots>\" in scheduler_options")
    if preset.gpu_model is not None:
        reader.fail("gpu_model", "Grid Engine has no standard way to ask for a GPU "
                    "model; ask for it with your site's resource in scheduler_options, "
                    "e.g. [\"-l gpu_model=a100\"]")


def _parse_preset(reader: TableReader, name: str) -> PresetConfig:
    reader.only("cpu", "memory_mb", "gpu", "gpu_model", "partition", "queue", "time",
                "scheduler_options")
    if not _NAME.fullmatch(name):
        reader.fail("", "a preset name must be letters, digits, '.', '_' or '-'")
    if "partition" in reader.data and "queue" in reader.data:
        reader.fail("queue", "give partition or queue (the same thing), not both")
    partition = reader.string("partition") or reader.string("queue")
    options = reader.string_list("scheduler_options")
    for option in options:
        if "\n" in option or "\r" in option:
            reader.fail("scheduler_options", "an option must be one line")
    gpu = reader.integer("gpu", 0, minimum=0, maximum=1024)
    return PresetConfig(
        name=name, cpu=reader.number("cpu", None, minimum=0.01, required=True),
        memory_mb=reader.integer("memory_mb", None, minimum=1, required=True),
        gpu=gpu or None, gpu_model=reader.string("gpu_model"), partition=partition,
        time_limit=_time_limit(reader), scheduler_options=tuple(options))


_CLOCK = re.compile(r"(?:(\d+)-)?(\d+):(\d{1,2})(?::(\d{1,2}))?")


def _time_limit(reader: TableReader) -> int | None:
    value = reader.data.get("time")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is None:
        reader.fail("time", "must be a time limit like \"01:30:00\", \"2-00:00:00\", "
                    f"\"45:00\" or a number of minutes, not {value!r}")
    return seconds


def _seconds(value: object) -> int | None:
    """Seconds in a Slurm-style time limit, or None if it is not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value * 60 if value > 0 else None
    if not isinstance(value, str):
        return None
    m = _CLOCK.fullmatch(value.strip())
    if m is None:
        return None
    days, first, second, third = m.groups()
    if third is None:  # MM:SS
        hours, minutes, secs = 0, int(first), int(second)
    else:  # HH:MM:SS
        hours, minutes, secs = int(first), int(second), int(third)
        if minutes >= 60:
            return None
    if secs >= 60 or (days is not None and third is None):
        return None
    total = ((int(days or 0) * 24 + hours) * 60 + minutes) * 60 + secs
    return total or None


def _path(reader: TableReader, key: str, value: str, local: bool) -> str:
    if local:
        value = os.path.abspath(os.path.expanduser(value))
    elif not value.startswith("/"):
        reader.fail(key, f"must be an absolute path on the cluster, not '{value}'")
    if "\n" in value or "\0" in value:
        reader.fail(key, "must not contain newlines or NUL characters")
    return value.rstrip("/") or "/"


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"user{os.getuid()}"
