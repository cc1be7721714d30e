"""Log in on an SSH transport with a cerulean Credential.

Every credential gets exactly one attempt per secret: a wrong password is
never retried, so a typo cannot lock an account.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
from collections.abc import Callable

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from cerulean.credential import (
    AgentCredential,
    Credential,
    DefaultKeysCredential,
    PasswordCredential,
    PubKeyCredential,
)

logger = logging.getLogger(__name__)


class AuthenticationError(paramiko.AuthenticationException, ConnectionError):
    """The server did not accept the credential.

    It is a ``paramiko.AuthenticationException`` (what paramiko raises) and a
    ``ConnectionError`` (what Cerulean 1.0 raised), so existing handlers of
    either keep working.
    """


def authenticate(transport: paramiko.Transport, credential: Credential,
                 where: str) -> None:
    """Authenticate ``transport`` with ``credential``, or raise.

    :param where: ``user@host:port``, for error messages.
    :raises AuthenticationError: the server rejected the credential, or it
        needs a method the server does not offer.
    :raises TypeError: an unsupported credential type.
    :raises FileNotFoundError: a ``PubKeyCredential`` key file is missing.
    """
    user = credential.username
    if isinstance(credential, PasswordCredential):
        _attempt(where, "password",
                 lambda: transport.auth_password(user, credential.password))
    elif isinstance(credential, PubKeyCredential):
        key = load_private_key(credential.public_key, credential.passphrase)
        _attempt(where, f"key {credential.public_key}",
                 lambda: transport.auth_publickey(user, key))
    elif isinstance(credential, (AgentCredential, DefaultKeysCredential)):
        only_agent = isinstance(credential, AgentCredential)
        use_agent = only_agent or getattr(credential, "use_agent", True)
        agent = _open_agent(required=only_agent) if use_agent else None
        try:
            keys = _agent_keys(agent, required=only_agent)
            if isinstance(credential, DefaultKeysCredential):
                keys += _file_keys(credential)
            _try_keys(transport, user, where, keys)
        finally:
            # The agent connection is only needed while signing the login.
            if agent is not None:
                agent.close()
    else:
        raise TypeError(
            f"Unsupported credential type {type(credential).__name__}; use"
            " PasswordCredential, PubKeyCredential, AgentCredential or"
            " DefaultKeysCredential")


def load_private_key(path: str, passphrase: str | None) -> paramiko.PKey:
    """Load an Ed25519, ECDSA or RSA private key file (OpenSSH or PEM).

    A ``<path>-cert.pub`` next to it is loaded too, as OpenSSH does. As with
    OpenSSH, a passphrase given for an unencrypted key is ignored.

    :raises FileNotFoundError: no such file.
    :raises AuthenticationError: the key is encrypted and the passphrase
        is missing or wrong, or the file is not a key we can read.
    """
    path = os.path.expanduser(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"Private key file {path} does not exist") from None
    if _openssh_key_type(data) == "ssh-ed25519":
        # paramiko reads these itself; going through cryptography first (as
        # PKey.from_path does) would run the deliberately slow passphrase
        # KDF twice.
        key: paramiko.PKey = _load_ed25519(path, passphrase)
    else:
        key = _load_rsa_or_ecdsa(path, data, passphrase)
    cert = path + "-cert.pub"
    if os.path.isfile(cert):
        key.load_certificate(cert)
    return key


def _load_ed25519(path: str, passphrase: str | None) -> paramiko.PKey:
    try:
        return paramiko.Ed25519Key.from_private_key_file(path, passphrase)
    except paramiko.PasswordRequiredException:
        raise AuthenticationError(
            f"Private key {path} is encrypted: give its passphrase") from None
    except (paramiko.SSHException, ValueError) as e:
        what = "wrong passphrase?" if passphrase is not None else "corrupt?"
        raise AuthenticationError(f"Cannot read private key {path} ({what} {e})") from e


def _load_rsa_or_ecdsa(path: str, data: bytes,
                       passphrase: str | None) -> paramiko.PKey:
    password = passphrase.encode() if passphrase is not None else None
    try:
        loaded = _parse_key(data, password)
    except TypeError:
        if password is None:  # "Password was not given but private key is encrypted"
            raise AuthenticationError(
                f"Private key {path} is encrypted: give its passphrase") from None
        # "Password was given but private key is not encrypted": as OpenSSH.
        loaded = _parse_key(data, None)
    except ValueError as e:
        what = "wrong passphrase?" if password is not None else "not a private key?"
        raise AuthenticationError(f"Cannot read private key {path} ({what} {e})") from e
    except UnsupportedAlgorithm as e:
        raise AuthenticationError(f"Cannot read private key {path}: {e}") from e
    if isinstance(loaded, rsa.RSAPrivateKey):
        return paramiko.RSAKey(key=loaded)
    if isinstance(loaded, ec.EllipticCurvePrivateKey):
        return paramiko.ECDSAKey(vals=(loaded, loaded.public_key()))
    raise AuthenticationError(
        f"Private key {path} is a {type(loaded).__name__}; only Ed25519,"
        " ECDSA and RSA keys are supported")


def _openssh_key_type(data: bytes) -> str | None:
    """The key type an OpenSSH-format key file records unencrypted, if any."""
    lines = data.strip().splitlines()
    if not lines or lines[0] != b"-----BEGIN OPENSSH PRIVATE KEY-----":
        return None
    try:
        body = base64.b64decode(b"".join(lines[1:-1]))
        magic = b"openssh-key-v1\0"
        if not body.startswith(magic):
            return None
        header = paramiko.Message(body[len(magic):])
        for _ in range(3):  # cipher name, KDF name, KDF options
            header.get_string()
        if header.get_int() < 1:
            return None
        return paramiko.Message(header.get_binary()).get_text()
    except (binascii.Error, UnicodeDecodeError, IndexError):
        return None


def _parse_key(data: bytes, password: bytes | None) -> PrivateKeyTypes:
    """Parse an OpenSSH-format or PEM private key with cryptography.

    RSA key validation is skipped: it costs ~0.2 s per load (paramiko's
    own loader pays it twice, 0.4 s per connection), and only guards against
    malformed keys from untrusted sources, while this is the user's own key
    file.
    """
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" in data:
        return serialization.load_ssh_private_key(
            data, password, unsafe_skip_rsa_key_validation=True)
    return serialization.load_pem_private_key(
        data, password, unsafe_skip_rsa_key_validation=True)


def _attempt(where: str, method: str, auth: Callable[[], list[str]]) -> None:
    try:
        remaining = auth()
    except paramiko.BadAuthenticationType as e:
        raise AuthenticationError(
            f"Authentication as {where} with {method} is not allowed by the"
            f" server; it accepts: {', '.join(e.allowed_types)}") from None
    except paramiko.AuthenticationException as e:
        raise AuthenticationError(
            f"Authentication as {where} with {method} failed: {e}") from None
    if remaining:
        # Partial success: the server wants a second factor as well.
        raise AuthenticationError(
            f"Authentication as {where} with {method} succeeded partially;"
            f" the server also requires: {', '.join(remaining)}")


def _try_keys(transport: paramiko.Transport, user: str, where: str,
              keys: list[tuple[str, paramiko.PKey]]) -> None:
    """Offer each key once, in order, until the server accepts one."""
    if not keys:
        raise AuthenticationError(
            f"Authentication as {where} failed: no usable key (no ssh-agent"
            " keys and no readable key files)")
    for label, key in keys:
        try:
            _attempt(where, label, lambda key=key: transport.auth_publickey(user, key))  # type: ignore[misc]
            return
        except AuthenticationError as e:
            logger.debug("%s", e)
            if not transport.is_active():
                break  # e.g. the server's MaxAuthTries was reached
    tried = ", ".join(label for label, _ in keys)
    raise AuthenticationError(
        f"Authentication as {where} failed: the server accepted none of {tried}")


def _open_agent(required: bool) -> paramiko.Agent | None:
    if not os.environ.get("SSH_AUTH_SOCK"):
        if required:
            raise AuthenticationError(
                "AgentCredential needs a running ssh-agent, but SSH_AUTH_SOCK"
                " is not set")
        return None
    try:
        return paramiko.Agent()
    except paramiko.SSHException as e:
        if required:
            raise AuthenticationError(f"Cannot talk to ssh-agent: {e}") from e
        logger.info("Not using ssh-agent: %s", e)
        return None


def _agent_keys(agent: paramiko.Agent | None,
                required: bool) -> list[tuple[str, paramiko.PKey]]:
    keys = agent.get_keys() if agent is not None else ()
    if required and not keys:
        raise AuthenticationError(
            f"The ssh-agent at {os.environ.get('SSH_AUTH_SOCK')} holds no"
            " keys; add one with ssh-add")
    return [(f"ssh-agent key {k.get_name()} {k.fingerprint}", k) for k in keys]


def _file_keys(credential: DefaultKeysCredential) -> list[tuple[str, paramiko.PKey]]:
    paths = credential.key_files
    if paths is None:
        paths = [p for p in DefaultKeysCredential.DEFAULT_KEY_FILES
                 if os.path.isfile(os.path.expanduser(p))]
    keys = []
    for path in paths:
        try:
            keys.append((f"key {path}",
                         load_private_key(path, credential.passphrase)))
        except (OSError, AuthenticationError) as e:
            # Like ssh: an unreadable or locked key is skipped, not fatal.
            logger.info("Skipping key file: %s", e)
    return keys
