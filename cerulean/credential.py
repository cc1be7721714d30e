"""Credentials: who to log in as, and how to prove it."""
from __future__ import annotations

from abc import ABC


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
        # Never show the password, not even in a traceback or a log line.
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
        secret = "None" if self.passphrase is None else "'***'"
        return f"PubKeyCredential({self.username!r}, {self.public_key!r}, {secret})"
