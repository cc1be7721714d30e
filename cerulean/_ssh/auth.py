"""Log in on an SSH transport with a cerulean Credential.

Every credential gets exactly one attempt per secret: a wrong password or
one-time code is never retried, so a typo cannot lock an account.
"""
from __future__ import annotations

import base64
import binascii
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import (
    SSHCertificate,
    SSHCertificateType,
)

from cerulean._ssh.errors import AuthenticationError
from cerulean.credential import (
    AgentCredential,
    Credential,
    DefaultKeysCredential,
    InteractiveCredential,
    PasswordCredential,
    PubKeyCredential,
)

logger = logging.getLogger(__name__)


def authenticate(transport: paramiko.Transport, credential: Credential,
                 where: str) -> None:
    """Authenticate ``transport`` with ``credential``, or raise.

    :param where: ``user@host:port``, for error messages.
    :raises AuthenticationError: the server rejected the credential, or it
        needs a method the server does not offer.
    :raises TypeError: an unsupported credential type.
    :raises FileNotFoundError: a ``PubKeyCredential`` key file is missing.
    """
    if isinstance(credential, InteractiveCredential):
        _interactive_login(transport, credential, where)
        return
    remaining, method = _first_factor(transport, credential, where)
    if remaining:
        raise _partial_success(where, method, remaining)


def _first_factor(transport: paramiko.Transport, credential: Credential,
                  where: str) -> tuple[list[str], str]:
    """Log in with a non-interactive credential.

    :returns: The methods the server still wants (empty: logged in), and
        what was accepted, for messages.
    """
    user = credential.username
    if isinstance(credential, PasswordCredential):
        return _attempt(where, "password",
                        lambda: transport.auth_password(user, credential.password)), "password"
    if isinstance(credential, PubKeyCredential):
        key = load_private_key(credential.public_key, credential.passphrase)
        method = f"key {credential.public_key}"
        note = _attach_certificate(key, _beside(credential.public_key))
        try:
            return _attempt(where, method,
                            lambda: transport.auth_publickey(user, key)), method
        except AuthenticationError as e:
            if note is None:
                raise
            raise AuthenticationError(f"{e}; {note}") from None
    if isinstance(credential, (AgentCredential, DefaultKeysCredential)):
        only_agent = isinstance(credential, AgentCredential)
        use_agent = only_agent or getattr(credential, "use_agent", True)
        certificates = getattr(credential, "certificate_files", [])
        agent = _open_agent(required=only_agent) if use_agent else None
        try:
            keys, notes = _agent_keys(agent, required=only_agent,
                                      certificates=certificates)
            if isinstance(credential, DefaultKeysCredential):
                file_keys, file_notes = _file_keys(credential)
                keys += file_keys
                notes += file_notes
            return _try_keys(transport, user, where, keys, notes)
        finally:
            # The agent connection is only needed while signing the login.
            if agent is not None:
                agent.close()
    raise TypeError(
        f"Unsupported credential type {type(credential).__name__}; use"
        " PasswordCredential, PubKeyCredential, AgentCredential,"
        " DefaultKeysCredential or InteractiveCredential")


def _partial_success(where: str, method: str,
                     remaining: list[str]) -> AuthenticationError:
    hint = ""
    if "keyboard-interactive" in remaining:
        hint = ("; to answer its questions (such as a one-time code), use"
                " InteractiveCredential(user, responder, first=<this credential>)")
    return AuthenticationError(
        f"Authentication as {where} with {method} succeeded partially;"
        f" the server also requires: {', '.join(remaining)}{hint}")


def _interactive_login(transport: paramiko.Transport,
                       credential: InteractiveCredential, where: str) -> None:
    """The first credential if any, then the keyboard-interactive exchange."""
    method = "keyboard-interactive"
    if credential.first is not None:
        remaining, first_method = _first_factor(transport, credential.first, where)
        if not remaining:
            return  # the server asked for nothing more
        if "keyboard-interactive" not in remaining:
            raise _partial_success(where, first_method, remaining)
        method = f"keyboard-interactive after {first_method}"
    conversation = _Conversation(credential.responder)
    # The responder may take a while (a person typing; TotpResponder waiting
    # for a fresh code), longer than paramiko's 30 s default.
    previous_timeout = transport.auth_timeout
    transport.auth_timeout = InteractiveCredential.PROMPT_TIMEOUT
    try:
        remaining = transport.auth_interactive(credential.username, conversation)
    except paramiko.BadAuthenticationType as e:
        hint = ""
        if credential.first is None and set(e.allowed_types) & {"publickey", "password"}:
            hint = "; give InteractiveCredential the credential to use first"
        raise AuthenticationError(
            f"Authentication as {where} with {method} is not allowed by the"
            f" server; it accepts: {', '.join(e.allowed_types)}{hint}") from None
    except (paramiko.SSHException, EOFError, OSError) as e:
        error = conversation.error
        if isinstance(error, AuthenticationError):
            raise AuthenticationError(
                f"Authentication as {where} with {method} failed: {error}") from None
        if error is not None:
            raise error from None
        if not conversation.prompts:
            raise AuthenticationError(
                f"Authentication as {where} with {method} failed: {e}") from None
        asked = ", ".join(repr(p) for p in conversation.prompts)
        said = "".join(f"; the server said: {m!r}" for m in conversation.messages)
        # Not retried: the answers were wrong or used (a code is only
        # good once), and another try could lock the account.
        raise AuthenticationError(
            f"Authentication as {where} with {method} failed: the server"
            f" refused the answers to {asked} (a wrong or already used code?);"
            f" not retried{said}") from None
    finally:
        transport.auth_timeout = previous_timeout
    if remaining:
        raise _partial_success(where, method, remaining)


class _Conversation:
    """paramiko's keyboard-interactive handler, asking a responder.

    It runs on paramiko's transport thread; what the responder raises is
    kept for the thread that waits for the login.
    """

    def __init__(self, responder: Callable[[str], str]) -> None:
        self.responder = responder
        self.prompts: list[str] = []
        self.messages: list[str] = []
        self.error: BaseException | None = None

    def __call__(self, title: str, instructions: str,
                 prompts: list[tuple[str, bool]]) -> list[str]:
        for text in (title, instructions):
            if text.strip():
                self.messages.append(text.strip())
                logger.info("SSH server: %s", text.strip())
        answers = []
        for prompt, _echo in prompts:
            self.prompts.append(prompt)
            try:
                answer = self.responder(prompt)
                if not isinstance(answer, str):
                    raise TypeError(
                        f"The responder answered {prompt!r} with a"
                        f" {type(answer).__name__}, not a str")
            except BaseException as e:
                self.error = e
                # paramiko ends the transport quietly on EOFError (other
                # exceptions are logged with a traceback), which fails the
                # waiting auth_interactive() call.
                raise EOFError("the responder failed") from e
            answers.append(answer)
        return answers


def load_private_key(path: str, passphrase: str | None) -> paramiko.PKey:
    """Load an Ed25519, ECDSA or RSA private key file (OpenSSH or PEM).

    As with OpenSSH, a passphrase given for an unencrypted key is ignored.
    Its certificate, if any, is attached by the caller.

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


def _attempt(where: str, method: str, auth: Callable[[], list[str]]) -> list[str]:
    """One login attempt; the methods the server still wants (partial success)."""
    try:
        return auth()
    except paramiko.BadAuthenticationType as e:
        raise AuthenticationError(
            f"Authentication as {where} with {method} is not allowed by the"
            f" server; it accepts: {', '.join(e.allowed_types)}") from None
    except paramiko.AuthenticationException as e:
        raise AuthenticationError(
            f"Authentication as {where} with {method} failed: {e}") from None


def _try_keys(transport: paramiko.Transport, user: str, where: str,
              keys: list[tuple[str, paramiko.PKey]],
              notes: list[str]) -> tuple[list[str], str]:
    """Offer each key once, in order, until the server accepts one.

    :param notes: Why some keys or certificates were not offered, for the
        message if none is accepted.
    :returns: As :func:`_first_factor`.
    """
    not_offered = "".join(f"; {note}" for note in notes)
    if not keys:
        raise AuthenticationError(
            f"Authentication as {where} failed: no usable key (no ssh-agent"
            f" keys and no readable key files){not_offered}")
    for label, key in keys:
        try:
            remaining = _attempt(where, label, lambda key=key: transport.auth_publickey(user, key))  # type: ignore[misc]
            return remaining, label
        except AuthenticationError as e:
            logger.debug("%s", e)
            if not transport.is_active():
                break  # e.g. the server's MaxAuthTries was reached
    tried = ", ".join(label for label, _ in keys)
    raise AuthenticationError(
        f"Authentication as {where} failed: the server accepted none of"
        f" {tried}{not_offered}")


# --- certificates ------------------------------------------------------------

_CERT_SUFFIX = "-cert-v01@openssh.com"
_FOREVER = 2 ** 64 - 1  # valid_before of a certificate without an end


def _beside(key_path: str) -> str:
    """Where OpenSSH looks for a key's certificate."""
    return os.path.expanduser(key_path) + "-cert.pub"


def certificate_problem(data: bytes, where: str) -> str | None:
    """Why the OpenSSH certificate ``data`` cannot log in now, or None.

    Checked before offering it, because servers refuse an expired
    certificate without saying why.

    :param where: The certificate's file or agent identity, for the message.
    """
    try:
        cert = serialization.load_ssh_public_identity(data)
    except (ValueError, UnsupportedAlgorithm) as e:
        return f"certificate {where} cannot be read ({e})"
    if not isinstance(cert, SSHCertificate):
        return f"{where} is a plain public key, not a certificate"
    if cert.type != SSHCertificateType.USER:
        return f"certificate {where} is a host certificate, not a user certificate"
    now = time.time()
    if cert.valid_before != _FOREVER and now >= cert.valid_before:
        return (f"certificate {where} expired on {_utc(cert.valid_before)}"
                " (renew it with your certificate authority)")
    if now < cert.valid_after:
        return f"certificate {where} is not valid before {_utc(cert.valid_after)}"
    return None


def _utc(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%S UTC")


def _certifies(data: bytes, key: paramiko.PKey) -> bool:
    """Whether the certificate ``data`` is for ``key``."""
    try:
        cert = serialization.load_ssh_public_identity(data)
    except (ValueError, UnsupportedAlgorithm):
        return False
    if not isinstance(cert, SSHCertificate):
        return False
    public = cert.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return public.split()[1].decode() == key.get_base64()


def _attach_certificate(key: paramiko.PKey, path: str,
                        explicit: bool = False) -> str | None:
    """Offer ``key`` with the certificate in ``path`` from now on, if it is
    for ``key`` and valid now.

    :param explicit: ``path`` was named (``CertificateFile``), rather than
        looked for beside the key; a missing one is worth a note then.
    :returns: Why the certificate is not used, if it is not (for messages).
    """
    try:
        with open(os.path.expanduser(path), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return f"certificate {path} does not exist" if explicit else None
    except OSError as e:
        return f"certificate {path} cannot be read ({e})"
    if not _certifies(data, key):
        if not explicit:
            logger.info("Not using %s: it is not a certificate for that key", path)
        return None if explicit else f"{path} is not a certificate for its key"
    problem = certificate_problem(data, path)
    if problem is not None:
        logger.warning("Not offering %s", problem)
        return f"{problem}, so it was not offered"
    key.load_certificate(path)
    return None




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


def _agent_keys(agent: paramiko.Agent | None, required: bool,
                certificates: list[str]
                ) -> tuple[list[tuple[str, paramiko.PKey]], list[str]]:
    """The agent's keys to offer, and why some were not.

    paramiko lists a certificate that ``ssh-add`` added with its key as an
    identity of its own (an ``AgentKey`` whose blob is the certificate),
    and signs with it through the agent; an expired one is left out.
    """
    agent_keys = agent.get_keys() if agent is not None else ()
    if required and not agent_keys:
        raise AuthenticationError(
            f"The ssh-agent at {os.environ.get('SSH_AUTH_SOCK')} holds no"
            " keys; add one with ssh-add")
    keys: list[tuple[str, paramiko.PKey]] = []
    notes: list[str] = []
    for key in agent_keys:
        label = f"ssh-agent key {key.get_name()} {key.fingerprint}"
        if key.get_name().endswith(_CERT_SUFFIX):
            text = f"{key.get_name()} {key.get_base64()}".encode()
            problem = certificate_problem(text, f"{key.comment or label} (ssh-agent)")
            if problem is not None:
                logger.warning("Not offering %s", problem)
                notes.append(f"{problem}, so it was not offered")
                continue
        else:
            notes += _attach_named_certificates(key, certificates)
        keys.append((label, key))
    return keys, notes


def _attach_named_certificates(key: paramiko.PKey, certificates: list[str]) -> list[str]:
    """Attach the first of ``certificates`` that is for ``key``."""
    for path in certificates:
        try:
            with open(os.path.expanduser(path), "rb") as f:
                data = f.read()
        except OSError:
            continue  # said once, in _file_keys
        if _certifies(data, key):
            note = _attach_certificate(key, path, explicit=True)
            return [] if note is None else [note]
    return []


def _file_keys(credential: DefaultKeysCredential
               ) -> tuple[list[tuple[str, paramiko.PKey]], list[str]]:
    paths = credential.key_files
    if paths is None:
        paths = [p for p in DefaultKeysCredential.DEFAULT_KEY_FILES
                 if os.path.isfile(os.path.expanduser(p))]
    keys = []
    notes = [f"certificate {path} does not exist"
             for path in credential.certificate_files
             if not os.path.isfile(os.path.expanduser(path))]
    for path in paths:
        try:
            key = load_private_key(path, credential.passphrase)
        except (OSError, AuthenticationError) as e:
            # Like ssh: an unreadable or locked key is skipped, not fatal.
            logger.info("Skipping key file: %s", e)
            continue
        found = _attach_named_certificates(key, credential.certificate_files)
        if key.public_blob is None and not found:
            note = _attach_certificate(key, _beside(path))
            found = [] if note is None else [note]
        notes += found
        keys.append((f"key {path}", key))
    return keys, notes
