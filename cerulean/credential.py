"""Credentials: who to log in as, and how to prove it."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import threading
import time
from abc import ABC
from collections.abc import Callable, Sequence
from typing import ClassVar

from cerulean._ssh.errors import AuthenticationError


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

    An OpenSSH user certificate beside the key, ``<key>-cert.pub``, is
    offered with it, as ``ssh`` does; one that has expired or is not yet
    valid is not offered, and the error of a refused login says so.

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
    keys never leave the agent. Certificates that ``ssh-add`` added with
    their keys are offered too, unless they have expired. (Not in
    Cerulean 1.0.)

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

    A ``<key>-cert.pub`` beside a key file is offered with it, as OpenSSH
    does; ``certificate_files`` (``CertificateFile`` in ``~/.ssh/config``)
    names certificates kept elsewhere, each offered with the key (file or
    agent key) it certifies.

    :param username: The name of the user to connect as.
    :param key_files: Private key files to try, instead of the defaults.
    :param passphrase: Passphrase for encrypted key files; optional.
    :param use_agent: Whether to try ssh-agent's keys first.
    :param certificate_files: OpenSSH user certificate files to offer with
        the keys they certify; optional.
    """

    DEFAULT_KEY_FILES = ("~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ed25519")
    """Key files tried when none are given, in OpenSSH's order."""

    def __init__(self, username: str, key_files: Sequence[str] | None = None,
                 passphrase: str | None = None, *,
                 use_agent: bool = True,
                 certificate_files: Sequence[str] = ()) -> None:
        if isinstance(key_files, str):
            raise TypeError("key_files must be a list of paths, not a str")
        if isinstance(certificate_files, str):
            raise TypeError("certificate_files must be a list of paths, not a str")
        self.username = username
        self.key_files = list(key_files) if key_files is not None else None
        self.passphrase = passphrase
        self.use_agent = use_agent
        self.certificate_files = list(certificate_files)

    def __repr__(self) -> str:
        """Show the settings, never the passphrase."""
        secret = "None" if self.passphrase is None else "'***'"
        certificates = (f", certificate_files={self.certificate_files!r}"
                        if self.certificate_files else "")
        return (f"DefaultKeysCredential({self.username!r}, {self.key_files!r},"
                f" {secret}, use_agent={self.use_agent!r}{certificates})")


Responder = Callable[[str], str]
"""Answers one keyboard-interactive prompt: ``responder(prompt) -> answer``."""


class InteractiveCredential(Credential):
    """A credential that answers the server's questions: one-time codes, 2FA.

    Many HPC centres ask for a second factor after a key or password, most
    often a one-time code from an authenticator app (TOTP), through SSH's
    keyboard-interactive method. This credential logs in with ``first``
    (if given), and when the server accepts it but asks for more (a
    *partial success*), it answers the server's keyboard-interactive
    prompts by calling ``responder`` once per prompt. Without ``first``, the
    keyboard-interactive exchange is the whole login (for centres that ask
    for password and code that way).

    ``responder`` gets the prompt text, e.g. ``"Verification code: "``, and
    returns the answer. :class:`TotpResponder` computes codes from the
    secret of an authenticator app; ``getpass.getpass`` asks a person at
    the keyboard. Every login asks again, including the reconnects that
    :class:`~cerulean.SshTerminal` makes by itself after a dropped
    connection, so a responder must be able to answer more than once. The
    responder runs on paramiko's connection thread and has up to
    :data:`PROMPT_TIMEOUT` seconds for all its answers; anything it raises
    ends the login and is raised from it.

    Answers are sent once: when the server refuses them (a wrong or used
    code), the login fails with
    :class:`~cerulean.ssh_terminal.AuthenticationError` rather than trying
    again, so a wrong secret cannot lock the account. (Not in Cerulean 1.0.)

    :param username: The name of the user to connect as.
    :param responder: Called as ``responder(prompt)`` for each prompt the
        server sends; returns the answer.
    :param first: The credential the server asks for before the
        keyboard-interactive step: a
        :class:`PubKeyCredential`, :class:`PasswordCredential`,
        :class:`AgentCredential` or :class:`DefaultKeysCredential` for the
        same user; optional.
    :raises ValueError: ``first`` is for another user.
    :raises TypeError: ``first`` is an InteractiveCredential, or
        ``responder`` is not callable.
    """

    PROMPT_TIMEOUT = 120.0
    """Seconds the responder has for the answers of one login (OpenSSH's
    servers wait as long by default, ``LoginGraceTime``)."""

    def __init__(self, username: str, responder: Responder,
                 first: Credential | None = None) -> None:
        if not callable(responder):
            raise TypeError("responder must be a callable prompt -> answer")
        if isinstance(first, InteractiveCredential):
            raise TypeError("first cannot itself be an InteractiveCredential")
        if first is not None and first.username != username:
            raise ValueError(
                f"first is for user {first.username!r}, not {username!r}:"
                " SSH servers want one user for every step of a login")
        self.username = username
        self.responder = responder
        self.first = first

    def __repr__(self) -> str:
        """Show the username, the responder and the first credential (whose
        repr hides its secrets)."""
        return (f"InteractiveCredential({self.username!r}, {self.responder!r},"
                f" first={self.first!r})")


class TotpResponder:
    """A responder that answers one-time code prompts with TOTP codes.

    It computes RFC 6238 time-based one-time codes (those of Google
    Authenticator, FreeOTP, pam_oath, privacyIDEA...) from the secret that
    the centre gave for an authenticator app, usually shown as base32
    (``JBSW Y3DP EHPK 3PXP``) or inside an ``otpauth://`` QR code. Use it as
    the ``responder`` of an :class:`InteractiveCredential`.

    Servers refuse a code that was used already, and one code is valid
    for a whole ``period``. So a second login within the same period (a
    reconnect, or a second terminal with the same secret in this process)
    waits until the next period begins and answers with that period's code,
    rather than replaying the used one: up to ``period`` seconds. Logins
    elsewhere with the same secret (an ``ssh`` in a shell, a phone) are not
    seen, and may make a login here fail.

    Prompts are told apart by their words: one that mentions a code (see
    :attr:`CODE_WORDS`, e.g. ``"Verification code:"``, ``"One-time password
    (OATH) for `alice':"``) gets the code. One that asks for a password
    (``"Password:"``) gets ``password`` if given; any other prompt is
    refused with :class:`~cerulean.ssh_terminal.AuthenticationError`
    rather than sent a secret it may not be asking for.

    The secret is kept in memory only as long as the responder, and never
    shown in its repr. The computer's clock must be right to within a
    period or so (servers usually accept a code from a neighbouring period
    too).

    :param secret_base32: The shared secret, base32 as the centre shows it;
        case, spaces and missing ``=`` padding do not matter.
    :param digits: Digits per code, 6 to 10.
    :param period: Seconds each code is valid for.
    :param password: Answer to prompts that ask for a password (for centres
        that ask for password and code in one keyboard-interactive
        exchange); optional.
    :param algorithm: The HMAC hash: ``'sha1'`` (the usual one),
        ``'sha256'`` or ``'sha512'``.
    :raises ValueError: the secret is not base32, or a bad digits, period or
        algorithm.
    """

    CODE_WORDS = ("code", "one-time", "one time", "otp", "oath", "token",
                  "verification", "passcode", "authenticator", "2fa", "totp")
    """Words (matched ignoring case) that mark a prompt asking for a code."""

    PASSWORD_WORDS = ("password", "passphrase")
    """Words that mark a prompt asking for the password (if no code word)."""

    # The last period used per (secret, digits, period, algorithm), shared
    # by every responder of this process: a code is spent for them all.
    _used: ClassVar[dict[bytes, int]] = {}
    _used_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, secret_base32: str, digits: int = 6, period: int = 30, *,
                 password: str | None = None, algorithm: str = "sha1") -> None:
        cleaned = "".join(secret_base32.split()).upper().rstrip("=")
        try:
            secret = base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))
        except (binascii.Error, ValueError):
            # The secret itself stays out of the message, as out of logs.
            raise ValueError("The TOTP secret is not valid base32") from None
        if not secret:
            raise ValueError("The TOTP secret is empty")
        if isinstance(digits, bool) or not isinstance(digits, int) or not 6 <= digits <= 10:
            raise ValueError(f"digits must be 6 to 10, not {digits!r}")
        if isinstance(period, bool) or not isinstance(period, int) or period < 1:
            raise ValueError(f"period must be a whole number of seconds >= 1, not {period!r}")
        if algorithm not in ("sha1", "sha256", "sha512"):
            raise ValueError(f"algorithm must be 'sha1', 'sha256' or 'sha512', not {algorithm!r}")
        self._secret = secret
        self.digits = digits
        self.period = period
        self.algorithm = algorithm
        self.password = password
        self._key = hashlib.sha256(
            b"%d:%d:%s:" % (digits, period, algorithm.encode()) + secret).digest()

    def __call__(self, prompt: str) -> str:
        """Answer ``prompt``: a fresh code, the password, or refuse.

        :raises AuthenticationError: a prompt that asks for neither a code
            nor (with ``password`` given) a password.
        """
        text = prompt.lower()
        if any(word in text for word in self.CODE_WORDS):
            return self.code()
        if any(word in text for word in self.PASSWORD_WORDS):
            if self.password is not None:
                return self.password
            raise AuthenticationError(
                f"The server asks {prompt!r}, which is not a one-time code"
                " prompt; give TotpResponder the password too")
        raise AuthenticationError(
            f"The server asks {prompt!r}, which TotpResponder does not"
            " recognise as asking for a one-time code or a password; write a"
            " responder that answers it (TotpResponder.code() gives codes)")

    def code(self) -> str:
        """A code no login of this process has used yet, marking it used.

        Waits for the next period if this period's code was used.
        """
        with self._used_lock:
            step = max(int(time.time()) // self.period,
                       self._used.get(self._key, -1) + 1)
            self._used[self._key] = step
        wait = step * self.period - time.time()
        if wait > 0:
            time.sleep(wait)
        return self.code_at(step * self.period)

    def code_at(self, when: float) -> str:
        """The code for the Unix time ``when`` (seconds), without marking it
        used; for checks against the centre's or RFC 6238's examples."""
        counter = struct.pack(">Q", int(when) // self.period)
        mac = hmac.new(self._secret, counter, self.algorithm).digest()
        offset = mac[-1] & 0x0F
        value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
        return str(value % 10 ** self.digits).zfill(self.digits)

    def __repr__(self) -> str:
        """Show the settings, never the secret or password."""
        password = "None" if self.password is None else "'***'"
        return (f"TotpResponder('***', digits={self.digits}, period={self.period},"
                f" password={password}, algorithm={self.algorithm!r})")
