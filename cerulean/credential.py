"""Credentials: who to log in as, and how to prove it."""
from __future__ import annotations

from abc import ABC
from collections.abc import Sequence


class Credential(ABC):
    """A credential for connecting to remote machines.

    Credentials don't have much in common other than a username, which is
    best modelled as a public attribute. So this interface is empty, and only
    here to provide a generic type to represent any credential in the API.

    :ivar username: The name of the user to connect as.
    """

    username: str


class PasswordCredential(Credential):
    """A credential comprising a username and password.

    :param username: The name of the user to connect as.
    :param password: The password to authenticate with.
    """

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def __repr__(self) -> str:
        """Show the username, never the password (not even in a log line)."""
        return f"PasswordCredential({self.username!r}, '***')"


class PubKeyCredential(Credential):
    """A credential using a public/private key pair.

    :param username: The name of the user to connect as.
    :param public_key: The (local) path to a key file. Despite the name,
        this is the *private* key file (as with ``ssh -i``).
    :param passphrase: The passphrase to decrypt the key with; optional.
    """

    def __init__(self, username: str, public_key: str,
                 passphrase: str | None = None) -> None:
        self.username = username
        self.public_key = public_key
        self.passphrase = passphrase

    def __repr__(self) -> str:
        """Show username and key file, never the passphrase."""
        secret = "None" if self.passphrase is None else "'***'"
        return f"PubKeyCredential({self.username!r}, {self.public_key!r}, {secret})"


class AgentCredential(Credential):
    """A credential using the keys held by a running ssh-agent.

    The agent is found through the ``SSH_AUTH_SOCK`` environment variable,
    as OpenSSH does. Each key the agent offers is tried in turn; the private
    keys never leave the agent. (Not in Cerulean 1.0.)

    :param username: The name of the user to connect as.
    """

    def __init__(self, username: str) -> None:
        self.username = username

    def __repr__(self) -> str:
        """Show the username."""
        return f"AgentCredential({self.username!r})"


class DefaultKeysCredential(Credential):
    """A credential that logs in the way plain ``ssh user@host`` does.

    It tries, in order, the keys of a running ssh-agent (unless
    ``use_agent`` is False), then each key file: ``key_files`` if given,
    else the default files ``~/.ssh/id_rsa``, ``~/.ssh/id_ecdsa`` and
    ``~/.ssh/id_ed25519`` that exist. A key file that needs a passphrase
    other than ``passphrase`` is skipped. :meth:`SshTerminal.from_ssh_config
    <cerulean.ssh_terminal.SshTerminal.from_ssh_config>` uses this
    credential with the ``IdentityFile`` entries of ``~/.ssh/config``.
    (Not in Cerulean 1.0.)

    :param username: The name of the user to connect as.
    :param key_files: Private key files to try, instead of the defaults.
    :param passphrase: Passphrase for encrypted key files; optional.
    :param use_agent: Whether to try ssh-agent's keys first.
    """

    DEFAULT_KEY_FILES = ("~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519")
    """Key files tried when none are given, in OpenSSH's order."""

    def __init__(self, username: str, key_files: Sequence[str] | None = None,
                 passphrase: str | None = None, *,
                 use_agent: bool = True) -> None:
        if isinstance(key_files, str):
            raise TypeError("key_files must be a list of paths, not a str")
        self.username = username
        self.key_files = list(key_files) if key_files is not None else None
        self.passphrase = passphrase
        self.use_agent = use_agent

    def __repr__(self) -> str:
        """Show the settings, never the passphrase."""
        secret = "None" if self.passphrase is None else "'***'"
        return (f"DefaultKeysCredential({self.username!r}, {self.key_files!r},"
                f" {secret}, use_agent={self.use_agent!r})")
