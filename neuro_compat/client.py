"""Making a client: :func:`get`, :class:`Factory` and :class:`Client`."""
from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, overload

from typing_extensions import Self
from yarl import URL

from ._cluster.session import Sessions
from ._platform import Quota
from ._plugins import ClientVersionChecker, PluginManager, load_plugins, load_user_config
from ._utils import AwaitableContextManager, NoPublicConstructor
from .config import (
    CONFIG_ENV_NAME,
    CONFIG_FILE_NAME,
    DEFAULT_CONFIG_DIR,
    config_file_for,
    load_clusters,
)
from .config.api import Config
from .config.preset import Preset
from .errors import ClientError, ConfigError, NotSupportedError
from .jobs import Jobs
from .parser import Parser
from .storage import Storage


@dataclass(frozen=True)
class ClientTimeout:
    """Timeouts, shaped like ``aiohttp.ClientTimeout`` (which neuro_sdk takes).

    Accepted for compatibility; an ``aiohttp.ClientTimeout`` works as well.
    Clusters are reached over SSH, whose timeouts come from the cluster
    configuration (``connect_timeout``), so the values are not used.
    """

    total: float | None = None
    connect: float | None = None
    sock_read: float | None = 60
    sock_connect: float | None = 60
    ceil_threshold: float = 5


DEFAULT_TIMEOUT = ClientTimeout()
"""The default of the ``timeout`` parameters."""

DEFAULT_CONFIG_PATH = DEFAULT_CONFIG_DIR
"""The configuration directory used when neither ``path`` nor
``NEUROMATION_CONFIG`` names one, ``"~/.neuro"`` (not expanded)."""

PASS_CONFIG_ENV_NAME = "NEURO_PASSED_CONFIG"
"""The environment variable neuro_sdk passes a logged-in configuration to a
job in (see :meth:`Factory.login_with_passed_config`; not used here)."""

DEFAULT_API_URL = URL("https://staging.neu.ro/api/v1")
"""The platform API neuro_sdk logs in to by default (never contacted here)."""


class _OutOfScope:
    """A neuro_sdk subsystem with no counterpart on HPC clusters: reading it
    raises :class:`NotSupportedError` naming it."""

    def __init__(self, title: str) -> None:
        self._title = title
        self.__doc__ = f"{title}: not supported (raises NotSupportedError)."

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _OutOfScope: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> NoReturn: ...

    def __get__(self, instance: object, owner: type | None = None) -> _OutOfScope:
        if instance is None:  # the class itself (help(), inspect, Sphinx)
            return self
        raise NotSupportedError(
            f"{self._title} (Client.{self._name}) is not supported: neuro_compat "
            "offers the Jobs and Storage APIs of neuro_sdk on HPC clusters")


class Users(metaclass=NoPublicConstructor):
    """The user subsystem, ``Client.users``: only the quotas, which the neuro
    command line shows (``neuro config show``).

    There are no platform accounts here: a cluster's user is its SSH (or
    local) account, and neither neuro_compat nor the platform limits credits
    or running jobs (the cluster's scheduler may, by its own policies).
    Sharing and roles (``share``, ``revoke``, ``get_acl``, ``get_shares``,
    ``add_role``, ``remove_role``, ``get_subroles``) raise
    :class:`NotSupportedError`.
    """

    async def get_quota(self) -> Quota:
        """The user's quota: unlimited credits and running jobs (None in
        both fields), since no platform accounts for them here."""
        return Quota(credits=None, total_running_jobs=None)

    async def get_org_quota(self) -> Quota | None:
        """The org's quota: None, as neuro_sdk answers without an org (there
        are no orgs here)."""
        return None

    def __getattr__(self, name: str) -> NoReturn:
        # Every other neuro_sdk Users method shares or grants platform
        # permissions; a clear error beats an AttributeError.
        if name.startswith("_"):
            raise AttributeError(name)
        raise NotSupportedError(
            f"Users.{name} is not supported: there are no platform accounts, "
            "permissions or sharing on HPC clusters (only Users.get_quota and "
            "Users.get_org_quota answer, with no limits)")


class Client(metaclass=NoPublicConstructor):
    """Client of the configured clusters.

    For creating a client instance use :class:`Factory` or :func:`get`.

    The class provides access to the subsystems: :attr:`jobs`,
    :attr:`storage`, :attr:`config` and :attr:`parse`, and :attr:`users`
    for quotas only. The other neuro_sdk subsystems (images, secrets, disks,
    buckets, service accounts, blob storage) have no counterpart on HPC
    clusters: using them raises :class:`NotSupportedError` naming the
    subsystem.
    """

    def __init__(self, config: Config) -> None:
        self._config = config
        self._version_checker = ClientVersionChecker()
        self._parse = Parser._create(config)
        self._sessions = Sessions(config)
        self._storage = Storage._create(self._sessions)
        self._jobs = Jobs._create(self._sessions)
        self._users = Users._create()
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None = None,
                        exc_val: BaseException | None = None,
                        exc_tb: TracebackType | None = None) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the client: the SSH connections and worker threads of every
        cluster it used. All calls after closing are forbidden.

        The method is idempotent.
        """
        if self._closed:
            return
        self._closed = True
        await self._jobs._close()  # port forwards first: they use the sessions
        await self._sessions.aclose()

    @property
    def closed(self) -> bool:
        """Is this client instance closed, ``bool``."""
        return self._closed

    @property
    def username(self) -> str:
        """User name used on the current cluster, read-only ``str``."""
        return self._config.username

    @property
    def cluster_name(self) -> str:
        """The current cluster's name, read-only ``str``."""
        return self._config.cluster_name

    @property
    def presets(self) -> Mapping[str, Preset]:
        """A ``Mapping`` of preset name (``str``) to :class:`Preset` dataclass
        of the current cluster."""
        return self._config.presets

    @property
    def config(self) -> Config:
        """Configuration subsystem, see :class:`Config` for details."""
        return self._config

    @property
    def version_checker(self) -> ClientVersionChecker:
        """Announces new releases of the packages plugins registered:
        ``await client.version_checker.get_outdated()`` is always empty here
        (no network requests are made for it)."""
        return self._version_checker

    @property
    def parse(self) -> Parser:
        """A set of helpers used for parsing string forms of URIs, images,
        volumes and environment variables, see :class:`Parser`."""
        return self._parse

    @property
    def storage(self) -> Storage:
        """Storage subsystem, see :class:`Storage` for details."""
        self._check_open()
        return self._storage

    @property
    def jobs(self) -> Jobs:
        """Jobs subsystem, see :class:`Jobs` for details."""
        self._check_open()
        return self._jobs

    @property
    def users(self) -> Users:
        """Users subsystem, quotas only: see :class:`Users`."""
        self._check_open()
        return self._users

    images = _OutOfScope("Images (a container registry)")
    secrets = _OutOfScope("Secrets")
    disks = _OutOfScope("Disks")
    buckets = _OutOfScope("Buckets (object storage)")
    blob_storage = _OutOfScope("Blob storage")
    service_accounts = _OutOfScope("Service accounts")
    admin = _OutOfScope("Admin")
    # neuro_sdk's private names for the same, which `neuro admin` uses.
    _admin = _OutOfScope("Admin")
    _clusters = _OutOfScope("Cluster administration")

    def _check_open(self) -> None:
        if self._closed:
            raise ClientError("the client is closed; make a new one with get()")


class Factory:
    """A *factory* that makes :class:`Client` instances.

    :param path: the configuration directory, holding ``clusters.toml``
        (see :mod:`neuro_compat.config`), or a ``.toml`` file. Default: the
        ``NEUROMATION_CONFIG`` environment variable, else ``~/.neuro``. A
        directory named here or by the variable must exist; only
        ``~/.neuro`` may be missing (then the embedded default is used).
    :param trace_configs: accepted for compatibility and ignored (there is
        no HTTP traffic to trace).
    :param trace_id: accepted for compatibility and ignored.
    :param trace_sampled: accepted for compatibility and ignored.

    The plugins of the ``neuro_api`` entry-point group are loaded here, as
    neuro_sdk does: they define what the user configuration may hold (see
    :meth:`load_user_config`).
    """

    def __init__(self, path: Path | None = None, trace_configs: Any = None,
                 trace_id: str | None = None, trace_sampled: bool | None = None) -> None:
        # Who named the configuration directory (None: the default one).
        self._named_by: str | None = "the path argument"
        if path is None:
            named = os.environ.get(CONFIG_ENV_NAME)
            self._named_by = f"the environment variable {CONFIG_ENV_NAME}"
            if named is None:
                named, self._named_by = DEFAULT_CONFIG_DIR, None
            path = Path(named)
        self._path = Path(path).expanduser()
        self._plugin_manager: PluginManager = load_plugins()

    @property
    def path(self) -> Path:
        """Revealed path to the configuration directory (or file), expanded
        as described above. Read-only ``pathlib.Path`` property."""
        return self._path

    @property
    def is_config_present(self) -> bool:
        """True if a cluster configuration file is present under
        :attr:`path`, False otherwise (then the embedded default is used)."""
        return config_file_for(self._path).exists()

    async def get(self, *, timeout: Any = DEFAULT_TIMEOUT) -> Client:
        """Read the cluster configuration and return a client instance.

        Connections to clusters are made on first use, not here.

        :param timeout: accepted for compatibility (see :class:`ClientTimeout`).
        :returns: :class:`Client` that can be used for working with the
            clusters.
        :raises ConfigError: if the configuration file is malformed, or the
            configuration directory named by ``path`` or
            ``NEUROMATION_CONFIG`` does not exist.
        """
        if (self._named_by is not None and self._path.suffix != ".toml"
                and not self._path.exists()):
            # A mistyped path would otherwise run the "cluster" jobs on this
            # machine, with the embedded default: neuro_sdk refuses too.
            raise ConfigError(
                f"{self._path}: the configuration directory named by {self._named_by} "
                f"does not exist; create it with a {CONFIG_FILE_NAME}, or name an "
                f"existing one (without {CONFIG_ENV_NAME}, {DEFAULT_CONFIG_DIR} is used, "
                "and the embedded local default when that has no configuration)")
        clusters = load_clusters(self._path)
        state_dir = clusters.source.parent if clusters.source is not None else None
        config = Config._create(clusters, state_dir)
        # Config lives in config/api.py, which knows nothing of plugins: it is
        # handed how to read the user configuration.
        config._user_config = self._read_user_config
        return Client._create(config)

    def _user_config_dir(self) -> Path:
        # user.toml sits next to clusters.toml, also when a file is named.
        return self._path.parent if self._path.suffix == ".toml" else self._path

    def _read_user_config(self) -> Mapping[str, Any]:
        return load_user_config(self._plugin_manager, self._user_config_dir())

    async def load_user_config(self) -> Mapping[str, Any]:
        """Read the user configuration without making a client: ``user.toml``
        in the configuration directory (beside ``clusters.toml``) merged with
        ``.neuro.toml`` of the current project (the nearest directory from
        the current one up that has it), which wins. The neuro command line
        keeps its settings and aliases there.

        :returns: the merged TOML tables, ``{}`` if neither file exists.
        :raises ConfigError: if a file is invalid TOML, or sets something no
            plugin defined or a value of the wrong type, or ``user.toml`` sets
            ``job.cluster-name`` (use ``Config.switch_cluster``).
        """
        return self._read_user_config()

    async def login(self, show_browser_cb: Callable[[URL], Awaitable[None]], *,
                    url: URL = DEFAULT_API_URL, timeout: Any = DEFAULT_TIMEOUT) -> None:
        """Not supported: see :meth:`logout`."""
        _no_login("Factory.login")

    async def login_headless(self, get_auth_code_cb: Callable[[URL], Awaitable[str]], *,
                             url: URL = DEFAULT_API_URL,
                             timeout: Any = DEFAULT_TIMEOUT) -> None:
        """Not supported: see :meth:`logout`."""
        _no_login("Factory.login_headless")

    async def login_with_token(self, token: str, *, url: URL = DEFAULT_API_URL,
                               timeout: Any = DEFAULT_TIMEOUT) -> None:
        """Not supported: see :meth:`logout`."""
        _no_login("Factory.login_with_token")

    async def login_with_passed_config(self, config_data: str | None = None, *,
                                       timeout: Any = DEFAULT_TIMEOUT) -> None:
        """Not supported: see :meth:`logout`."""
        _no_login("Factory.login_with_passed_config")

    async def logout(self, show_browser_cb: Callable[[URL], Awaitable[None]] | None = None
                     ) -> None:
        """Not supported, like the ``login*`` methods: there is no platform to
        log in to. Clusters are reached with SSH credentials named in the
        cluster configuration file (see :mod:`neuro_compat.config`).

        :raises NotSupportedError: always.
        """
        _no_login("Factory.logout")


def _no_login(what: str) -> NoReturn:
    raise NotSupportedError(
        f"{what} is not supported: there is no platform to log in to; clusters are "
        f"reached with the SSH credentials of the cluster configuration file "
        f"({CONFIG_FILE_NAME} in {DEFAULT_CONFIG_DIR} or ${CONFIG_ENV_NAME})")


def get(*, path: Path | None = None, timeout: Any = DEFAULT_TIMEOUT,
        trace_configs: Any = None) -> AwaitableContextManager[Client]:
    """The handy API for getting initialized :class:`Client` instance.

    A shortcut for :meth:`Factory.get` that also acts as asynchronous
    context manager::

        async with neuro_compat.get() as client:
            async with client.storage.list(URL("storage:")) as it:
                async for status in it:
                    print(status.name)

    ``client = await get()`` works too; then call ``await client.close()``.

    :param path: the configuration directory or file, see :class:`Factory`.
    :param timeout: accepted for compatibility (see :class:`ClientTimeout`).
    :param trace_configs: accepted for compatibility and ignored.
    """
    return AwaitableContextManager(Factory(path).get(timeout=timeout))
