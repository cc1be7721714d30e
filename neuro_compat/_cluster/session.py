"""One client's connections to its clusters: per cluster the cerulean
objects, made on first use, and the worker-thread pool that calls them.

A :class:`ClusterSession` is what the Storage and Jobs subsystems work on;
:class:`Sessions`, which the client holds and hands to both, makes one per
cluster on first use. A session's getters (:meth:`~ClusterSession.terminal`,
:meth:`~ClusterSession.storage_fs`, ...) block (they may log in over SSH) and
are meant to run in the session's worker threads::

    session = sessions.get()                       # the current cluster
    term = await session.bridge.run(session.terminal)

One SSH connection per cluster is shared by everything: the terminal runs
commands on channels of it, SFTP storage and the host file system borrow it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import TypeVar

import cerulean
from cerulean.file_system_impl import FileSystemImpl

from .._bridge import Bridge
from ..config import ClusterConfig, TerminalConfig
from ..config.api import Config
from ..errors import (
    AuthenticationError,
    ClientError,
    ConfigError,
    NotSupportedError,
    ServerNotAvailable,
)
from .backend import Backend, make_backend
from .otp import CommandResponder
from .storage_root import StorageRoot

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class ClusterSession:
    """The cerulean objects for one cluster, opened lazily, closed together.

    :param config: the cluster's configuration.
    :param origin: the configuration file, for error messages.
    """

    def __init__(self, config: ClusterConfig, origin: str) -> None:
        self.config = config
        self.origin = origin
        self.bridge = Bridge(config.workers)
        """The worker threads for this cluster's blocking calls."""
        self._lock = threading.RLock()
        self._terminal: cerulean.Terminal | None = None
        self._storage_fs: FileSystemImpl | None = None
        self._host_fs: FileSystemImpl | None = None
        self._scheduler: cerulean.Scheduler | None = None
        self._backend: Backend | None = None
        self._root: StorageRoot | None = None
        self._closed = False

    @property
    def name(self) -> str:
        """The cluster's name."""
        return self.config.name

    # --- Blocking getters (call them in the session's worker threads) -------

    def terminal(self) -> cerulean.Terminal:
        """The cluster's terminal; logs in on first use.

        :raises AuthenticationError: if the cluster refuses the credential.
        :raises ServerNotAvailable: if the host cannot be reached or its host
            key cannot be verified.
        :raises ConfigError: if an environment variable the configuration
            names is not set.
        """
        return self._once("_terminal", self._open_terminal)

    def storage_fs(self) -> FileSystemImpl:
        """The file system holding the storage root."""
        return self._once("_storage_fs", self._open_storage_fs)

    def host_fs(self) -> FileSystemImpl:
        """The file system of the machine the terminal runs on (where jobs
        run and the job directory lives): local, or SFTP over the terminal."""
        return self._once("_host_fs", self._open_host_fs)

    def scheduler(self) -> cerulean.Scheduler:
        """The cluster's scheduler, with the configured prefix."""
        return self._once("_scheduler", self._open_scheduler)

    def backend(self) -> Backend:
        """Storage operations on :meth:`storage_fs`."""
        return self._once("_backend", lambda: make_backend(
            self.config.storage.type, self.storage_fs(),
            self.terminal() if self.config.storage.type == "sftp" else None))

    def storage_root(self) -> StorageRoot:
        """The storage root, created if missing, with confinement checks."""
        return self._once("_root", lambda: StorageRoot.open(
            self.backend(), self.config.storage.root, self.config.username, self.name))

    def storage_host_path(self, relpath: PurePosixPath) -> str:
        """The path on the compute host of a path below the storage root,
        for bind-mounting storage into jobs.

        :param relpath: a path below the storage root, as
            :func:`neuro_compat._uri.storage_relpath` gives it.
        :raises NotSupportedError: if the storage is not on the machine the
            jobs run on (WebDAV storage).
        """
        if self.config.storage.type == "webdav":
            raise NotSupportedError(
                f"cluster '{self.name}' keeps its storage on a WebDAV server, which "
                "jobs cannot mount; use storage of type local or sftp")
        return str(PurePosixPath(self.config.storage.root) / relpath)

    # --- Opening ------------------------------------------------------------

    def _once(self, attr: str, make: Callable[[], _T]) -> _T:
        value: _T | None = getattr(self, attr)
        if value is not None:
            return value
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the client's session with cluster '{self.name}' "
                                   "is closed")
            value = getattr(self, attr)
            if value is None:
                value = make()
                setattr(self, attr, value)
            return value

    def _open_terminal(self) -> cerulean.Terminal:
        term = self.config.terminal
        if term.type == "local":
            return cerulean.LocalTerminal()
        assert term.host is not None and term.user is not None
        credential = _credential(term, self.origin, self.name)
        log.debug("cluster %s: logging in to %s@%s:%d", self.name, term.user, term.host,
                  term.port)
        try:
            return cerulean.SshTerminal(
                term.host, term.port, credential, known_hosts=term.known_hosts,
                host_key_policy=term.host_key_policy,
                connect_timeout=term.connect_timeout,
                command_shells=term.command_shells)
        except cerulean.ssh_terminal.AuthenticationError as e:
            raise AuthenticationError(
                f"cluster '{self.name}': {term.user}@{term.host}:{term.port} refused "
                f"the credential: {e}") from e
        except cerulean.ssh_terminal.HostKeyError as e:
            raise ServerNotAvailable(
                f"cluster '{self.name}': the host key of {term.host}:{term.port} cannot "
                f"be verified: {e}") from e
        except OSError as e:
            raise ServerNotAvailable(
                f"cluster '{self.name}': cannot connect to {term.host}:{term.port}: "
                f"{e}") from e

    def _open_scheduler(self) -> cerulean.Scheduler:
        config = self.config.scheduler
        if config.type == "sge":
            # make_scheduler takes no parallel environment.
            return cerulean.GridEngineScheduler(self.terminal(), config.prefix,
                                                config.parallel_environment)
        return cerulean.make_scheduler(config.type, self.terminal(), config.prefix)

    def _open_storage_fs(self) -> FileSystemImpl:
        storage = self.config.storage
        if storage.type == "local":
            return cerulean.LocalFileSystem()
        if storage.type == "sftp":
            return self.host_fs()
        credential = None
        if storage.user is not None:
            assert storage.password_env is not None
            credential = cerulean.PasswordCredential(
                storage.user, _env(storage.password_env, self.origin,
                                   f"clusters.{self.name}.storage.password_env"))
        fs = cerulean.WebdavFileSystem(storage.url or "", credential,
                                       host_ca_cert_file=storage.ca_cert)
        assert isinstance(fs, FileSystemImpl)
        return fs

    def _open_host_fs(self) -> FileSystemImpl:
        terminal = self.terminal()
        if isinstance(terminal, cerulean.SshTerminal):
            fs: cerulean.FileSystem = cerulean.SftpFileSystem(terminal)
        else:
            fs = cerulean.LocalFileSystem()
        assert isinstance(fs, FileSystemImpl)
        return fs

    # --- Closing ------------------------------------------------------------

    async def aclose(self) -> None:
        """Stop the worker threads, then close what was opened; idempotent."""
        await self.bridge.aclose()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            things = [self._backend, self._host_fs, self._storage_fs, self._terminal]
        for thing in things:
            if thing is not None:
                with contextlib.suppress(Exception):  # best effort, all of them
                    thing.close()


class Sessions:
    """A client's sessions, one per configured cluster, made on first use and
    closed together.

    The Jobs and Storage subsystems are built on this rather than on the
    client: it is all they need of it (which clusters there are, which one is
    current, and a way to reach each).

    :param config: the client's configuration subsystem.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        """The configuration: the clusters, the current one, the user names."""
        self._sessions: dict[str, ClusterSession] = {}
        self._closed = False

    def get(self, cluster_name: str | None = None) -> ClusterSession:
        """The session of a cluster; made on first use, closed with the client.

        :param cluster_name: a configured cluster, None for the current one.
        :raises ClientError: if the client is closed.
        :raises ValueError: if no such cluster is configured.
        """
        if self._closed:
            raise ClientError("the client is closed; make a new one with get()")
        name = cluster_name or self.config.cluster_name
        session = self._sessions.get(name)
        if session is None:
            session = ClusterSession(self.config.cluster_config(name), self.config.source)
            self._sessions[name] = session
        return session

    async def aclose(self) -> None:
        """Close every session made so far (see :meth:`ClusterSession.aclose`);
        :meth:`get` refuses afterwards. Idempotent."""
        self._closed = True
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.aclose()


def _env(name: str, origin: str, key: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(f"{origin}: {key}: the environment variable {name} is not set")
    return value


def _credential(term: TerminalConfig, origin: str, cluster: str) -> cerulean.Credential:
    first = _first_credential(term, origin, cluster)
    if not term.one_time_codes:
        assert first is not None
        return first
    assert term.user is not None
    return cerulean.InteractiveCredential(term.user, _responder(term, origin, cluster),
                                          first=first)


def _first_credential(term: TerminalConfig, origin: str, cluster: str
                      ) -> cerulean.Credential | None:
    """The key, agent or password credential; None where one-time codes are
    the whole login."""
    assert term.user is not None
    prefix = f"clusters.{cluster}.terminal"
    if term.password_env is not None:
        return cerulean.PasswordCredential(
            term.user, _env(term.password_env, origin, f"{prefix}.password_env"))
    if term.agent:
        return cerulean.credential.AgentCredential(term.user)
    if term.key_file is None:
        return None
    passphrase = None
    if term.key_passphrase_env is not None:
        passphrase = _env(term.key_passphrase_env, origin, f"{prefix}.key_passphrase_env")
    return cerulean.PubKeyCredential(term.user, term.key_file, passphrase)


def _responder(term: TerminalConfig, origin: str, cluster: str
               ) -> cerulean.credential.Responder:
    """What answers the one-time code prompts of every login (reconnects
    too): the command, or TOTP from the secret."""
    if term.otp_command is not None:
        return CommandResponder(term.otp_command, f"cluster '{cluster}'")
    assert term.otp_secret_env is not None
    key = f"clusters.{cluster}.terminal.otp_secret_env"
    secret = _env(term.otp_secret_env, origin, key)
    try:
        return cerulean.TotpResponder(secret)
    except ValueError as e:
        # The message never holds the secret itself.
        raise ConfigError(f"{origin}: {key}: the environment variable "
                          f"{term.otp_secret_env} does not hold a TOTP secret: {e}") \
            from None
