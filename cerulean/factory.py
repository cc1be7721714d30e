"""Factory functions: make terminals, file systems and schedulers by name.

Each picks the implementation named by its first argument. Terminals and
file systems may hold resources (connections), so use what these functions
return in a with statement, or call close() on it when you are done.
"""
from __future__ import annotations

from cerulean._ssh.config import host_port
from cerulean.credential import Credential
from cerulean.direct_gnu_scheduler import DirectGnuScheduler
from cerulean.file_system import FileSystem
from cerulean.grid_engine_scheduler import GridEngineScheduler
from cerulean.local_file_system import LocalFileSystem
from cerulean.local_terminal import LocalTerminal
from cerulean.scheduler import Scheduler
from cerulean.sftp_file_system import SftpFileSystem
from cerulean.slurm_scheduler import SlurmScheduler
from cerulean.ssh_terminal import SshTerminal
from cerulean.terminal import Terminal
from cerulean.torque_scheduler import TorqueScheduler
from cerulean.webdav_file_system import WebdavFileSystem

_DEFAULT_SSH_PORT = 22


def make_terminal(protocol: str, location: str | None = None,
                  credential: Credential | None = None) -> Terminal:
    """Make a terminal object: a LocalTerminal or an SshTerminal.

    Close it when you are done with it (see the module's description).

    :param protocol: ``local`` or ``ssh``. For local, location and credential
        can be omitted.
    :param location: The location in the form hostname or hostname:port to
        connect to.
    :param credential: The Credential to use to connect with.
    :returns: An instance of a Terminal representing the described terminal.
    :raises ValueError: For an unknown protocol, or a missing location or
        credential for ``ssh``.
    """
    if protocol == "local":
        return LocalTerminal()
    if protocol == "ssh":
        return _ssh_terminal("make_terminal", protocol, location, credential)
    raise ValueError(f"Unknown terminal protocol {protocol!r};"
                     " valid protocols are 'local' and 'ssh'")


def make_file_system(protocol: str, location: str | None = None,
                     credential: Credential | None = None) -> FileSystem:
    """Make a file system object: local, over SFTP or over WebDAV.

    Close it when you are done with it (see the module's description).

    :param protocol: ``local``, ``sftp`` or ``webdav``. For local, location
        and credential can be omitted. For webdav, credential can be omitted.
    :param location: The location in the form hostname, hostname:port or
        http(s)://hostname:port/base_path to connect to.
    :param credential: The Credential to use to connect with.
    :returns: An instance of a FileSystem representing the described file
        system.
    :raises ValueError: For an unknown protocol, or missing location or
        credential where one is required.
    """
    if protocol == "local":
        return LocalFileSystem()
    if protocol == "sftp":
        # The file system owns this terminal and closes it with itself.
        return SftpFileSystem(_ssh_terminal("make_file_system", protocol,
                                            location, credential), True)
    if protocol == "webdav":
        if not location:
            raise ValueError("make_file_system('webdav', ...) needs a location"
                             " (an http(s):// URL)")
        return WebdavFileSystem(location, credential)
    raise ValueError(f"Unknown file system protocol {protocol!r};"
                     " valid protocols are 'local', 'sftp' and 'webdav'")


def make_scheduler(name: str, terminal: Terminal,
                   prefix: str = "") -> Scheduler:
    """Make a scheduler object, which talks to the supplied Terminal.

    :param name: The name of the scheduler. One of ``directgnu``, ``slurm``,
        ``torque``, or ``sge`` (also ``gridengine``) for Grid Engine; for a
        Grid Engine parallel environment, make a
        :class:`~cerulean.GridEngineScheduler` directly.
    :param terminal: The terminal this Scheduler will communicate on.
    :param prefix: A string to prefix any shell commands with.
    :returns: The Scheduler.
    :raises ValueError: For an unknown scheduler name.
    """
    if name == "directgnu":
        return DirectGnuScheduler(terminal, prefix)
    if name == "slurm":
        return SlurmScheduler(terminal, prefix)
    if name == "torque":
        return TorqueScheduler(terminal, prefix)
    if name in ("sge", "gridengine"):
        return GridEngineScheduler(terminal, prefix)
    raise ValueError(f"Unknown scheduler name {name!r}; valid names are"
                     " 'directgnu', 'slurm', 'torque' and 'sge' (or"
                     " 'gridengine')")


def _ssh_terminal(function: str, protocol: str, location: str | None,
                  credential: Credential | None) -> SshTerminal:
    """The SshTerminal for ``location``, for ``function``'s ``protocol``."""
    host, port = _host_port(protocol, location)
    if credential is None:
        raise ValueError(f"{function}({protocol!r}, ...) needs a credential")
    return SshTerminal(host, port, credential)


def _host_port(protocol: str, location: str | None) -> tuple[str, int]:
    """Split ``host`` or ``host:port`` (``[v6addr]:port`` too)."""
    if not location:
        raise ValueError(f"protocol {protocol!r} needs a location"
                         " (hostname or hostname:port)")
    host, port = host_port(location, location, "location", "port")
    return host, _DEFAULT_SSH_PORT if port is None else port
