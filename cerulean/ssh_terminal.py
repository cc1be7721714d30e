"""Run commands on a remote machine over SSH (provisional; being fleshed out)."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import paramiko

from cerulean._shell import command_line
from cerulean.credential import Credential, PasswordCredential, PubKeyCredential
from cerulean.terminal import Terminal


class SshTerminal(Terminal):
    """A terminal that runs commands over SSH.

    :param host: The hostname to connect to.
    :param port: The port to connect on.
    :param credential: The credential to authenticate with.
    :param known_hosts: known_hosts file to verify the host key against;
        None means ``~/.ssh/known_hosts``.
    :param host_key_policy: ``'strict'`` (default) or ``'accept-new'``.
    :param keepalive_interval: Seconds between keepalives; 0 disables them.
    """

    def __init__(self, host: str, port: int, credential: Credential, *,
                 known_hosts: str | None = None,
                 host_key_policy: str = "strict",
                 keepalive_interval: float = 30.0) -> None:
        if credential is None:
            raise ValueError("SshTerminal needs a credential")
        self._host = host
        self._port = port
        self._credential = credential
        self._lock = threading.Lock()
        self._generation = 0
        self._client = paramiko.SSHClient()
        self._client.load_host_keys(known_hosts or str(Path("~/.ssh/known_hosts").expanduser()))
        kwargs: dict[str, Any] = {}
        if isinstance(credential, PasswordCredential):
            kwargs["password"] = credential.password
        elif isinstance(credential, PubKeyCredential):
            kwargs["key_filename"] = credential.public_key
            kwargs["passphrase"] = credential.passphrase
        self._client.connect(host, port, credential.username,
                             allow_agent=False, look_for_keys=False, **kwargs)

    @property
    def connection_generation(self) -> int:
        """Increments on every reconnect, so borrowers know to reopen."""
        return self._generation

    def transport(self) -> paramiko.Transport:
        """The connected paramiko Transport (reconnects if down)."""
        t = self._client.get_transport()
        assert t is not None
        return t

    def open_sftp(self) -> paramiko.SFTPClient:
        """A new SFTP session on the shared connection."""
        return self._client.open_sftp()

    def close(self) -> None:
        """Close the terminal and its SSH connection; idempotent."""
        self._client.close()

    def run(self, timeout: float, command: str | Path, args: list[str],
            stdin_data: str | None = None,
            workdir: str | Path | None = None
            ) -> tuple[int | None, str, str]:
        """Run a shell command remotely; see :meth:`Terminal.run`."""
        line = command_line(command, args, workdir)
        chan = self.transport().open_session()
        chan.exec_command(line)
        if stdin_data:
            chan.sendall(stdin_data.encode())
        chan.shutdown_write()
        out = chan.makefile("rb").read()
        err = chan.makefile_stderr("rb").read()
        code = chan.recv_exit_status()
        chan.close()
        return code, out.decode(errors="replace"), err.decode(errors="replace")
