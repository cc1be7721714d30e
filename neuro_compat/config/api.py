"""The :class:`Config` class, ``Client.config``, and the :class:`Cluster`
dataclass it lists: neuro_sdk's configuration subsystem on top of the
cluster configuration file (:mod:`neuro_compat.config`)."""
from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn

from yarl import URL

from .._utils import NoPublicConstructor
from ..errors import NotSupportedError
from . import CURRENT_CLUSTER_FILE_NAME, ClusterConfig, ClustersFile
from .preset import Preset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cluster:
    """*Read-only* dataclass for describing a cluster configuration.

    :ivar name: cluster name, ``str``.
    :ivar registry_url: URL of the cluster's image registry, or None.
    :ivar storage_url: where the storage root is, for display
        (``file:///...``, ``sftp://host/...`` or the WebDAV URL).
    :ivar presets: a ``Mapping`` of preset names to :class:`Preset`.
    :ivar orgs: the organizations; only None (no orgs on HPC clusters).
    :ivar config: the full configuration of the cluster.
    """

    name: str
    registry_url: URL | None
    storage_url: URL
    presets: Mapping[str, Preset]
    orgs: tuple[str | None, ...]
    config: ClusterConfig


def _cluster(config: ClusterConfig) -> Cluster:
    storage = config.storage
    if storage.type == "local":
        storage_url = URL.build(scheme="file", path=storage.root)
    elif storage.type == "sftp":
        term = config.terminal
        storage_url = URL.build(scheme="sftp", host=term.host or "", user=term.user,
                                port=term.port if term.port != 22 else None,
                                path=storage.root)
    else:
        storage_url = URL(storage.url or "") / storage.root.lstrip("/")
    registry = URL.build(scheme="https", host=config.registry) if config.registry else None
    presets = MappingProxyType({n: p.to_preset() for n, p in config.presets.items()})
    return Cluster(name=config.name, registry_url=registry, storage_url=storage_url,
                   presets=presets, orgs=(None,), config=config)


class Config(metaclass=NoPublicConstructor):
    """Configuration subsystem, available as ``Client.config``.

    Use it for analyzing information about the configuration, e.g. a list of
    available clusters, or for switching the active cluster.
    """

    def __init__(self, clusters_file: ClustersFile, state_dir: Path | None) -> None:
        self._file = clusters_file
        self._state_dir = state_dir
        self._clusters = MappingProxyType(
            {name: _cluster(c) for name, c in clusters_file.clusters.items()})
        self._cluster_name = self._remembered_cluster() or clusters_file.default_cluster
        # Set by Factory.get, which loads the plugins that define it.
        self._user_config: Callable[[], Mapping[str, Any]] = lambda: MappingProxyType({})

    def _remembered_cluster(self) -> str | None:
        if self._state_dir is None:
            return None
        try:
            name = (self._state_dir / CURRENT_CLUSTER_FILE_NAME).read_text().strip()
        except OSError:
            return None
        if name not in self._clusters:
            log.warning("ignoring %s: cluster %r is no longer configured",
                        self._state_dir / CURRENT_CLUSTER_FILE_NAME, name)
            return None
        return name

    @property
    def username(self) -> str:
        """User name used on the current cluster, read-only ``str``."""
        return self.cluster_config().username

    @property
    def presets(self) -> Mapping[str, Preset]:
        """A ``Mapping`` of preset name (``str``) to :class:`Preset` for the
        current cluster."""
        return self._clusters[self._cluster_name].presets

    @property
    def clusters(self) -> Mapping[str, Cluster]:
        """A ``Mapping`` of cluster name (``str``) to :class:`Cluster` for
        available clusters."""
        return self._clusters

    @property
    def cluster_name(self) -> str:
        """The current cluster name, read-only ``str``.

        To switch on another cluster use :meth:`switch_cluster`.
        """
        return self._cluster_name

    @property
    def org_name(self) -> str | None:
        """The current org name: always None, HPC clusters have no orgs."""
        return None

    @property
    def source(self) -> str:
        """The configuration file in use, or ``<embedded default ...>``."""
        return self._file.origin

    def cluster_config(self, name: str | None = None) -> ClusterConfig:
        """The full configuration of a cluster (default: the current one).

        :param name: a cluster name, or None for the current cluster.
        :raises ValueError: if no such cluster is configured.
        """
        name = name or self._cluster_name
        try:
            return self._clusters[name].config
        except KeyError:
            raise ValueError(f"Cluster {name} doesn't exist in a list of available "
                             f"clusters {list(self._clusters)} (configuration: "
                             f"{self.source})") from None

    async def fetch(self) -> None:
        """Fetch available clusters configuration.

        The clusters come from the configuration file, read when the client
        was made, so there is nothing to fetch; kept for compatibility.
        """

    async def switch_cluster(self, name: str) -> None:
        """Switch the current cluster to *name*.

        The choice is remembered for the next client in the file
        ``current-cluster`` beside the configuration file.

        :raises RuntimeError: if no such cluster is configured.
        """
        if name not in self._clusters:
            raise RuntimeError(f"Cluster {name} doesn't exist in a list of available "
                               f"clusters {list(self._clusters)} (configuration: "
                               f"{self.source})")
        self._cluster_name = name
        if self._state_dir is not None:
            _write_atomically(self._state_dir / CURRENT_CLUSTER_FILE_NAME, name + "\n")

    async def switch_org(self, name: str | None) -> None:
        """Switch the current org; only None is possible (no orgs on HPC).

        :raises NotSupportedError: for any other org.
        """
        if name is not None:
            raise NotSupportedError(f"Config.switch_org: organizations do not exist on "
                                    f"HPC clusters (asked for org '{name}')")

    async def get_user_config(self) -> Mapping[str, Any]:
        """Return user-provided config dictionary: ``user.toml`` merged with
        the project's ``.neuro.toml``, as :meth:`Factory.load_user_config`
        reads them (re-read on each call)."""
        return self._user_config()

    async def token(self) -> str:
        """Not supported: clusters are reached with SSH credentials, not
        tokens."""
        _unsupported("Config.token", "clusters are reached with SSH credentials")

    @property
    def api_url(self) -> URL:
        """Not supported: there is no platform API."""
        _unsupported("Config.api_url", "there is no Neu.ro platform API")

    @property
    def monitoring_url(self) -> URL:
        """Not supported: there is no monitoring service."""
        _unsupported("Config.monitoring_url", "there is no monitoring service")

    @property
    def registry_url(self) -> URL:
        """Image registry URL of the current cluster (``registry`` key).

        :raises NotSupportedError: if the cluster configures no registry.
        """
        url = self._clusters[self._cluster_name].registry_url
        if url is None:
            _unsupported("Config.registry_url", f"cluster '{self._cluster_name}' has no "
                         "registry configured")
        return url

    @property
    def storage_url(self) -> URL:
        """Where the current cluster's storage root is, for display."""
        return self._clusters[self._cluster_name].storage_url


def _unsupported(what: str, why: str) -> NoReturn:
    raise NotSupportedError(f"{what} is not supported: {why}")


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
