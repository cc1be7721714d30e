"""Run commands on a remote machine over SSH.

One :class:`SshTerminal` holds one SSH connection (a paramiko Transport).
Every :meth:`~SshTerminal.run` opens its own channel on it, so many threads
can run commands at once; SFTP sessions and port forwards borrow the same
connection through :meth:`~SshTerminal.open_sftp` and
:meth:`~SshTerminal.transport`.

If the connection drops, the next call reconnects by itself. A command that
may already have started when the connection dropped is never re-run: run()
raises ``ConnectionError`` naming it instead, because running, say, an
``sbatch`` twice would submit two jobs.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import paramiko

from cerulean._shell import command_line
from cerulean._ssh import config as ssh_config
from cerulean._ssh import run as ssh_run
from cerulean._ssh import shells as ssh_shells
from cerulean._ssh.connect import open_transport
from cerulean._ssh.errors import AuthenticationError
from cerulean._ssh.host_keys import (
    HostKeyChangedError,
    HostKeyError,
    HostKeyVerifier,
    UnknownHostKeyError,
)
from cerulean.credential import Credential, DefaultKeysCredential
from cerulean.terminal import Terminal

__all__ = [
    "AuthenticationError",
    "HostKeyChangedError",
    "HostKeyError",
    "SshTerminal",
    "UnknownHostKeyError",
]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

# Errors that mean "the connection is unusable" when they come out of paramiko.
_CONNECTION_ERRORS = (paramiko.SSHException, EOFError, OSError)

DEFAULT_KNOWN_HOSTS = ("~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts")
"""Where host keys are looked up when ``known_hosts`` is None (new keys are
recorded in the first)."""

# How long a jump chain from an SSH config may be; guards against loops.
_MAX_JUMPS = 8


class SshTerminal(Terminal):
    """A terminal that runs commands over SSH.

    This terminal connects to a host using SSH, then lets you run commands
    there. It connects right away, so a wrong password or an unknown host
    key shows up here, not on the first command.

    The server's host key is verified against ``known_hosts``; Cerulean 1.0
    did not check it at all. To log in with ``~/.ssh/config`` settings,
    ssh-agent or default keys, see :meth:`from_ssh_config`,
    :class:`~cerulean.credential.AgentCredential` and
    :class:`~cerulean.credential.DefaultKeysCredential`; for a one-time
    code after the key (two-factor logins), see
    :class:`~cerulean.credential.InteractiveCredential`. Reconnecting logs
    in again, and so asks for a new code.

    After :meth:`close`, using the terminal again reconnects (as Cerulean
    1.0 did); close it again when done.

    :param host: The hostname to connect to.
    :param port: The port to connect on.
    :param credential: The credential to authenticate with.
    :param known_hosts: The OpenSSH known_hosts file to verify the host key
        against. None means ``~/.ssh/known_hosts`` (and the system-wide
        ``/etc/ssh/ssh_known_hosts``).
    :param host_key_policy: ``'strict'`` (default): only connect if the
        host's key is in ``known_hosts``. ``'accept-new'``: like OpenSSH's
        ``StrictHostKeyChecking accept-new``, a host without any recorded
        key is trusted on first use and its key appended to ``known_hosts``.
        As with ssh, no directory is made for it but a missing ``~/.ssh``;
        if the key cannot be recorded (its directory is missing, the file
        is not writable), a warning is logged and the key is trusted for
        this connection only. A key that differs from a recorded one is
        refused under both.
    :param keepalive_interval: Seconds between SSH keepalive messages, which
        keep idle connections through firewalls and let a dead connection
        be noticed; 0 disables them.
    :param connect_timeout: Seconds to wait for the TCP connection and for
        each step of the SSH handshake.
    :param via: Reach ``host`` through this terminal's connection, like
        ``ssh -J``. This terminal does not close ``via``.
    :param command_shells: How many login shells to keep open on the host
        for running commands. A command run on one of them takes about a
        quarter of the time of a new SSH session; see :meth:`run`. 0 runs
        every command in a session of its own, as ``ssh host command`` does.
    :raises ValueError: ``credential`` is None, or a bad port or policy.
    :raises ConnectionError: the host cannot be reached.
    :raises UnknownHostKeyError: the host key is not in ``known_hosts``.
    :raises HostKeyChangedError: the host key differs from the recorded one.
    :raises AuthenticationError: the server refused the credential.
    """

    def __init__(self, host: str, port: int, credential: Credential, *,
                 known_hosts: str | None = None,
                 host_key_policy: str = "strict",
                 keepalive_interval: float = 30.0,
                 connect_timeout: float = 30.0,
                 via: SshTerminal | None = None,
                 command_shells: int = 4) -> None:
        if credential is None:
            raise ValueError(
                "SshTerminal needs a credential, e.g."
                " PasswordCredential(username, password)")
        if not isinstance(credential, Credential):
            raise TypeError(
                f"credential must be a cerulean Credential, not"
                f" {type(credential).__name__}")
        if not host:
            raise ValueError("SshTerminal needs a host name")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"Invalid SSH port {port!r}; expected 1-65535")
        shells = ssh_shells.ShellPool(_shell_count(command_shells))
        self._host = host
        self._port = port
        self._credential = credential
        files = [known_hosts] if known_hosts is not None else list(DEFAULT_KNOWN_HOSTS)
        self._verifier = HostKeyVerifier(files, host_key_policy)
        self._keepalive_interval = keepalive_interval
        self._connect_timeout = connect_timeout
        self._via = via
        self._owns_via = False
        # Guards _transport and _generation; held while (re)connecting so
        # that threads finding the connection down make one new connection.
        self._lock = threading.Lock()
        self._transport: paramiko.Transport | None = None
        self._generation = 0
        self._open_lock = threading.Lock()  # see _opening
        self._shells = shells
        self.transport()

    @classmethod
    def from_ssh_config(cls, alias: str, *, credential: Credential | None = None,
                        config_file: str | None = None,
                        known_hosts: str | None = None,
                        host_key_policy: str | None = None,
                        keepalive_interval: float | None = None,
                        connect_timeout: float | None = None,
                        command_shells: int = 4) -> SshTerminal:
        """Connect to a host as ``ssh <alias>`` would, using ``~/.ssh/config``.

        From the config entry for ``alias`` this uses ``HostName``,
        ``Port``, ``User``, ``IdentityFile``, ``CertificateFile`` (the first
        one only), ``IdentitiesOnly``,
        ``ProxyJump`` (one or more hops, each looked up in the config too),
        ``UserKnownHostsFile``, ``StrictHostKeyChecking`` (``accept-new``;
        ``no`` is treated as ``accept-new``), ``ServerAliveInterval`` and
        ``ConnectTimeout``. Arguments given here win over the config.

        Without ``credential``, it logs in like ``ssh``: ssh-agent keys
        (unless ``IdentitiesOnly yes``), then the ``IdentityFile`` keys or
        the default keys (see
        :class:`~cerulean.credential.DefaultKeysCredential`). Jump hosts
        always log in that way. The returned terminal owns the jump
        connections and closes them with itself.

        Example::

            with SshTerminal.from_ssh_config('cluster') as term:
                term.run(10.0, 'squeue', ['--me'])

        :param alias: The ``Host`` name as used with ``ssh``.
        :param credential: Credential for the final host, overriding the
            config's ``User`` and keys.
        :param config_file: Config file to read; default ``~/.ssh/config``
            (no file means no settings).
        :param command_shells: As for :class:`SshTerminal`; jump hosts
            run no commands, so they start no shells.
        :raises ValueError: the config uses ProxyCommand, or has bad values.
        :raises FileNotFoundError: ``config_file`` does not exist.
        """
        config = ssh_config.load(config_file)
        overrides = _Overrides(known_hosts, host_key_policy,
                               keepalive_interval, connect_timeout,
                               _shell_count(command_shells))
        return cls._from_config(config, alias, None, None, credential,
                                overrides, depth=0)

    @classmethod
    def _from_config(cls, config: paramiko.SSHConfig, alias: str,
                     user: str | None, port: int | None,
                     credential: Credential | None, overrides: _Overrides,
                     depth: int) -> SshTerminal:
        if depth > _MAX_JUMPS:
            raise ValueError(f"ProxyJump chain through {alias!r} is longer than"
                             f" {_MAX_JUMPS} hops; is it a loop?")
        entry = ssh_config.resolve(config, alias)
        via: SshTerminal | None = None
        for hop in entry.proxy_jump:
            hop_user, hop_host, hop_port = ssh_config.parse_hop(hop)
            if via is None:  # the first hop may itself jump, per its config
                via = cls._from_config(config, hop_host, hop_user, hop_port,
                                       None, overrides, depth + 1)
            else:  # later hops are reached through the previous one
                via = cls._from_entry(ssh_config.resolve(config, hop_host),
                                      hop_user, hop_port, None, overrides, via)
        return cls._from_entry(entry, user, port, credential, overrides, via)

    @classmethod
    def _from_entry(cls, entry: ssh_config.HostConfig, user: str | None,
                    port: int | None, credential: Credential | None,
                    overrides: _Overrides, via: SshTerminal | None) -> SshTerminal:
        """Connect to a resolved config entry; the result owns ``via``."""
        if credential is None:
            credential = DefaultKeysCredential(
                user or entry.user, list(entry.identity_files) or None,
                use_agent=not entry.identities_only,
                certificate_files=entry.certificate_files)
        try:
            term = cls(entry.hostname, port or entry.port, credential,
                       known_hosts=(overrides.known_hosts
                                    or _first(entry.known_hosts_files)),
                       host_key_policy=(overrides.host_key_policy
                                        or entry.host_key_policy or "strict"),
                       keepalive_interval=_pick(overrides.keepalive_interval,
                                                entry.keepalive_interval, 30.0),
                       connect_timeout=_pick(overrides.connect_timeout,
                                             entry.connect_timeout, 30.0),
                       via=via, command_shells=overrides.command_shells)
        except BaseException:
            if via is not None:
                via.close()
            raise
        term._owns_via = via is not None
        return term

    # --- the connection --------------------------------------------------

    @property
    def connection_generation(self) -> int:
        """Counts connections made: 1 after the first, +1 per reconnect.

        Objects that borrow the connection (SFTP clients, port forwards)
        compare it to the value they saw to know they must reopen.
        """
        return self._generation

    def transport(self) -> paramiko.Transport:
        """The connected paramiko Transport, reconnecting first if it is down.

        For borrowers such as SFTP and port forwarding; do not close it,
        close the terminal.
        """
        with self._lock:
            transport = self._transport
            if transport is not None and transport.is_active():
                return transport
            if transport is not None:
                logger.info("Connection to %s:%d lost; reconnecting",
                            self._host, self._port)
                _close_transport(transport)
                self._transport = None
            tunnel = None
            if self._via is not None:
                tunnel = self._via._open_tunnel(self._host, self._port,
                                                self._connect_timeout)
            self._transport = open_transport(
                self._host, self._port, self._credential, self._verifier,
                connect_timeout=self._connect_timeout,
                keepalive_interval=self._keepalive_interval, tunnel=tunnel)
            self._generation += 1
            return self._transport

    def open_sftp(self) -> paramiko.SFTPClient:
        """Open a new SFTP session on this terminal's connection.

        Reconnects first if the connection is down. The caller closes the
        client; closing it leaves the connection open.

        :raises ConnectionError: no SFTP session could be opened.
        """
        client = self._on_live_connection(paramiko.SFTPClient.from_transport)
        if client is None:
            raise ConnectionError(
                f"Could not open an SFTP session on {self._where()}")
        return client

    def _on_live_connection(self, open_: Callable[[paramiko.Transport], _T]) -> _T:
        """``open_(transport)``, once more on a new connection if it fails.

        Only for opening things that have no effect on the server yet (a
        channel, an SFTP session): those are safe to retry, and a retry is
        how a connection that died while idle is noticed and replaced.
        """
        transport = self.transport()
        try:
            return self._opening(open_, transport)
        except paramiko.ChannelException:
            raise  # the server said no (say, too many sessions): the connection is fine
        except _CONNECTION_ERRORS as e:
            logger.info("Opening a channel on %s failed (%s); reconnecting",
                        self._where(), e)
            self._forget(transport)
        transport = self.transport()
        try:
            return self._opening(open_, transport)
        except (paramiko.ChannelException, ConnectionError):
            raise
        except _CONNECTION_ERRORS as e:
            # The new connection failed too. paramiko's own errors (EOFError,
            # SSHException) are not OSErrors; callers that retry on
            # ConnectionError, as documented, must see one. The connection
            # is left alone: if it died, the next call notices and replaces
            # it; if only this channel failed, others' commands go on.
            raise ConnectionError(
                f"Connection to {self._where()} lost while opening a"
                f" channel: {e or type(e).__name__}") from e

    def _opening(self, open_: Callable[[paramiko.Transport], _T],
                 transport: paramiko.Transport) -> _T:
        """``open_(transport)``, one opening at a time.

        paramiko keeps the reason a channel was refused in one place per
        connection, so when two opens fail at once, one may get the other's
        ChannelException and the other a bare SSHException that looks like
        a broken connection.
        """
        with self._open_lock:
            return open_(transport)

    def _open_tunnel(self, host: str, port: int,
                     timeout: float) -> paramiko.Channel:
        """A ``direct-tcpip`` channel from this (jump) host to host:port."""
        def open_(transport: paramiko.Transport) -> paramiko.Channel:
            return transport.open_channel(
                "direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=timeout)
        try:
            return self._on_live_connection(open_)
        except _CONNECTION_ERRORS as e:
            raise ConnectionError(
                f"Jump host {self._where()} could not connect to"
                f" {host}:{port}: {e}") from e

    def _forget(self, transport: paramiko.Transport) -> None:
        """Drop ``transport`` if it is still ours, so the next call reconnects."""
        with self._lock:
            if self._transport is transport:
                self._transport = None
        _close_transport(transport)

    def close(self) -> None:
        """Close the terminal.

        This closes the SSH connection (and jump connections this terminal
        made), ending SFTP sessions on it, and waits for paramiko's thread
        to finish. Calling it again does nothing.
        """
        self._shells.close()
        with self._lock:
            transport, self._transport = self._transport, None
        if transport is not None:
            _close_transport(transport)
            logger.debug("Disconnected from %s", self._where())
        if self._owns_via and self._via is not None:
            self._via.close()

    # --- commands ----------------------------------------------------------

    def run(self, timeout: float, command: str | Path, args: list[str],
            stdin_data: str | None = None,
            workdir: str | Path | None = None
            ) -> tuple[int | None, str, str]:
        """Run a shell command on the remote host.

        The command will be run in the user's login shell (which must be
        POSIX-like: sh, bash, dash, ksh or zsh), and arguments are not quoted
        automatically. If you have untrusted or unknown input, be sure to
        quote it using quote() from the shlex module of the Python standard
        library. ``workdir`` is quoted for you; if it cannot be entered the
        command does not run, and the exit code and stderr say why.

        Safe to call from many threads at once: each call has a shell or a
        channel of the shared connection to itself.

        Commands run on one of the terminal's long-lived login shells (see
        ``command_shells``), each in a subshell of its own that reads
        /dev/null, so nothing one command changes (directory, variables)
        reaches the next. Commands given ``stdin_data``, commands with a
        visible ``&`` and commands run when all shells are busy get a new
        SSH session instead. One difference remains: background processes
        that a command starts out of sight (in a script it runs) and that
        keep its stdout or stderr open do not make run() wait for them;
        their later output is discarded. Redirect their output, as with
        ``nohup cmd >log 2>&1 &``.

        The parameters are those of :meth:`Terminal.run
        <cerulean.terminal.Terminal.run>`.

        :returns: A tuple containing the exit code (None on timeout, -1 if
            the login shell itself was killed), standard output, and
            standard error output.
        :raises ConnectionError: the connection failed after the command may
            have started. It is not re-run; the message names it.
        """
        line = command_line(command, args, workdir)
        logger.debug("Running on %s: %s", self._where(), line)
        return self._run_line(line, (stdin_data or "").encode(), timeout)

    def _run_line(self, line: str, stdin: bytes, timeout: float
                  ) -> tuple[int | None, str, str]:
        """Run ``line`` on a shared shell if it may, else in a new session.

        While the server refuses more sessions on this connection (OpenSSH's
        ``MaxSessions``, 10 by default), wait for a shell or a session of
        ours to come free; nothing has started yet, so trying again is safe.
        """
        on_shell = not stdin and ssh_shells.suits(line)
        give_up = time.monotonic() + self._connect_timeout
        delay = 0.005
        while True:
            if on_shell:
                result = self._run_on_shell(line, timeout)
                if result is not None:
                    return result
            channel = self._new_session_channel(line)
            if channel is not None:
                return self._run_in_session(channel, line, stdin, timeout)
            # Refused. Our idle shells hold sessions that this command
            # cannot use; give one back to the server.
            if not on_shell:
                self._shells.close_idle_one()
            if time.monotonic() + delay > give_up:
                raise ConnectionError(
                    f"{self._where()} refused a new SSH session for"
                    f" {self._connect_timeout:g} s (is its MaxSessions"
                    f" reached?), so {line!r} did not run")
            time.sleep(delay)
            delay = min(2 * delay, 0.1)

    def _run_on_shell(self, line: str, timeout: float
                      ) -> tuple[int | None, str, str] | None:
        """Run ``line`` on a shared shell; None if it did not run there."""
        transport = self.transport()
        shell = self._shells.take(
            transport, lambda live: self._opening(_open_session, live))
        if shell is None:
            return None
        try:
            outcome = shell.run(line, timeout, self._kill_group)
        except _CONNECTION_ERRORS as e:
            shell.close()
            raise self._connection_lost(transport, line) from e
        finally:
            self._shells.give_back(shell)
        if not outcome.started:
            return None  # the shell had ended: the command certainly did not run
        return self._result(line, transport, outcome.exit_code,
                            outcome.stdout, outcome.stderr)

    def _run_in_session(self, channel: paramiko.Channel, line: str,
                        stdin: bytes, timeout: float
                        ) -> tuple[int | None, str, str]:
        """Run ``line`` on a new session channel of its own."""
        remote, nonce = ssh_run.wrap(line, len(stdin))
        transport = channel.get_transport()
        try:
            # From here on, the command may be running.
            channel.exec_command(remote)
            code, out, err = ssh_run.collect(
                channel, nonce, stdin, timeout, self._kill_group)
        except _CONNECTION_ERRORS as e:
            channel.close()
            raise self._connection_lost(transport, line) from e
        return self._result(line, transport, code, out, err)

    def _result(self, line: str, transport: paramiko.Transport,
                code: int | None, out: bytes, err: bytes
                ) -> tuple[int | None, str, str]:
        if code == -1:
            if not transport.is_active():
                raise self._connection_lost(transport, line)
            logger.warning("%r on %s ended without an exit status (was its"
                           " shell killed?)", line, self._where())
        return code, _decode(out), _decode(err)

    def _connection_lost(self, transport: paramiko.Transport,
                         line: str) -> ConnectionError:
        self._forget(transport)
        return ConnectionError(
            f"The SSH connection to {self._where()} failed while running"
            f" {line!r}. The command may or may not have run, so it was"
            " not run again; check its effects before retrying.")

    def _new_session_channel(self, line: str) -> paramiko.Channel | None:
        """A new session channel for ``line``; None if the server refuses one.

        A dead connection is replaced first (see :meth:`_on_live_connection`).

        :raises ConnectionError: no connection could be made.
        """
        try:
            return self._on_live_connection(_open_session)
        except paramiko.ChannelException as e:
            logger.debug("%s refused a session: %s", self._where(), e)
            return None
        except _CONNECTION_ERRORS as e:
            raise ConnectionError(
                f"Could not open an SSH session on {self._where()}"
                f" ({e}), so {line!r} did not run") from e

    def _kill_group(self, pgid: int) -> None:
        """Kill a timed-out command's process group, from another shell."""
        try:
            self._run_line(f"kill -KILL -- -{int(pgid)} 2>/dev/null", b"", 5.0)
        except _CONNECTION_ERRORS as e:
            logger.warning("Could not kill timed-out process group %d on %s: %s",
                           pgid, self._where(), e)

    # --- identity ----------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Terminals are equal if they log in to the same account on the same
        host and port."""
        if not isinstance(other, Terminal):
            return NotImplemented
        return isinstance(other, SshTerminal) and self._key() == other._key()

    def __hash__(self) -> int:
        """Hash consistent with :meth:`__eq__`."""
        return hash(self._key())

    def __repr__(self) -> str:
        """Host, port and user; never the credential's secret."""
        return (f"SshTerminal({self._host!r}, {self._port},"
                f" user={self._credential.username!r})")

    def _key(self) -> tuple[str, int, str]:
        return self._host, self._port, self._credential.username

    def _where(self) -> str:
        return f"{self._credential.username}@{self._host}:{self._port}"


class _Overrides:
    """Arguments of from_ssh_config that win over the config file."""

    def __init__(self, known_hosts: str | None, host_key_policy: str | None,
                 keepalive_interval: float | None,
                 connect_timeout: float | None, command_shells: int) -> None:
        self.known_hosts = known_hosts
        self.host_key_policy = host_key_policy
        self.keepalive_interval = keepalive_interval
        self.connect_timeout = connect_timeout
        self.command_shells = command_shells


def _shell_count(size: int) -> int:
    """``size`` if it is a valid ``command_shells``; checked before connecting."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"command_shells must be a whole number >= 0, not {size!r}")
    return size


def _open_session(transport: paramiko.Transport) -> paramiko.Channel:
    return transport.open_session(timeout=30.0)


def _close_transport(transport: paramiko.Transport) -> None:
    try:
        transport.close()
    except _CONNECTION_ERRORS:
        # A jumped connection's socket is a channel of the jump connection;
        # if that is gone, closing the channel fails. The transport thread
        # stops anyway, because close() marks it inactive first.
        pass
    # close() may return before paramiko's thread has ended; wait, so that
    # closing a terminal really leaves no threads behind.
    if transport.is_alive():
        transport.join(5.0)


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _first(items: tuple[str, ...]) -> str | None:
    return items[0] if items else None


def _pick(override: float | None, configured: float | None,
          default: float) -> float:
    if override is not None:
        return override
    return configured if configured is not None else default
