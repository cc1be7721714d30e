"""Verify SSH host keys against OpenSSH known_hosts files.

We verify keys ourselves instead of using paramiko's ``HostKeys`` because we
need what OpenSSH does and paramiko does not: ``@revoked`` markers, wildcard
and negated host patterns, and an ``accept-new`` policy that records a key
only for a host that has no key at all (a changed key is always refused).
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import logging
import os
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import paramiko

# Named as before this module moved into cerulean._ssh: docs/security.rst
# tells users to look for its warnings on this logger.
logger = logging.getLogger("cerulean._host_keys")

HOST_KEY_POLICIES = ("strict", "accept-new")
"""Valid values of ``host_key_policy``."""

# Serialise appends from threads of this process; other processes are
# covered by O_APPEND writing each line in a single write().
_append_lock = threading.Lock()


class HostKeyError(paramiko.SSHException):
    """The server's host key could not be verified; we did not log in."""


class UnknownHostKeyError(HostKeyError):
    """The host has no key in the known_hosts files.

    :ivar host: The name looked up in known_hosts, e.g. ``[host]:2222``.
    :ivar fingerprint: The server key's ``SHA256:...`` fingerprint.
    """

    def __init__(self, host: str, key: paramiko.PKey,
                 files: Sequence[str]) -> None:
        self.host = host
        self.fingerprint = fingerprint(key)
        super().__init__(
            f"Host key for {host} is unknown: the server offered"
            f" {key.get_name()} key {self.fingerprint}, which is in none of"
            f" {', '.join(files) or 'no known_hosts file'}. If this"
            " fingerprint is right, add the key to known_hosts (for example"
            " with `ssh-keyscan`), or connect once with"
            " host_key_policy='accept-new'.")


class HostKeyChangedError(HostKeyError):
    """The host's key differs from the one(s) in known_hosts, or is revoked.

    This is what a man-in-the-middle attack looks like, so we refuse.

    :ivar host: The name looked up in known_hosts.
    :ivar fingerprint: The server key's ``SHA256:...`` fingerprint.
    """

    def __init__(self, host: str, key: paramiko.PKey, reason: str) -> None:
        self.host = host
        self.fingerprint = fingerprint(key)
        super().__init__(
            f"REFUSING to connect to {host}: its {key.get_name()} host key"
            f" {self.fingerprint} {reason}. Someone may be intercepting the"
            " connection, or the host key was replaced; check with the"
            " host's administrator before updating known_hosts.")


def fingerprint(key: paramiko.PKey) -> str:
    """The key's fingerprint as OpenSSH prints it, ``SHA256:<base64>``."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def known_hosts_name(host: str, port: int) -> str:
    """The name OpenSSH uses for a host in known_hosts."""
    return host if port == 22 else f"[{host}]:{port}"


@dataclass(frozen=True)
class _Entry:
    patterns: tuple[str, ...]
    marker: str  # "", "@revoked" or "@cert-authority"
    blob: bytes  # the key in SSH wire format (what PKey.asbytes() gives)

    def matches(self, name: str) -> bool:
        """OpenSSH semantics: any positive match and no negated match."""
        matched = False
        for pattern in self.patterns:
            negated = pattern.startswith("!")
            if _name_matches(pattern[1:] if negated else pattern, name):
                if negated:
                    return False
                matched = True
        return matched


def _name_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        # Hashed entry: |1|base64(salt)|base64(HMAC-SHA1(salt, name))
        try:
            _, _, salt64, hash64 = pattern.split("|")
            salt = base64.b64decode(salt64)
            expected = base64.b64decode(hash64)
        except (ValueError, binascii.Error):
            return False
        actual = hmac.new(salt, name.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(actual, expected)
    return _wildcard_regex(pattern).fullmatch(name.lower()) is not None


@functools.lru_cache(maxsize=256)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    """OpenSSH patterns: only ``*`` and ``?`` are special (not fnmatch's
    ``[...]``, which would misread ``[host]:port``); case-insensitive."""
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c)
             for c in pattern.lower())
    return re.compile("".join(parts), re.DOTALL)


def _parse(lines: Iterable[str], path: str) -> Iterator[_Entry]:
    for lineno, raw in enumerate(lines, 1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = ""
        if fields[0].startswith("@"):
            marker, fields = fields[0], fields[1:]
        if len(fields) < 3:
            logger.debug("%s:%d: not a known_hosts line, skipped", path, lineno)
            continue
        try:
            blob = base64.b64decode(fields[2], validate=True)
        except binascii.Error:
            logger.debug("%s:%d: bad base64 key, skipped", path, lineno)
            continue
        yield _Entry(tuple(fields[0].split(",")), marker, blob)


class HostKeyVerifier:
    """Check server keys against known_hosts files, per a policy.

    :param files: known_hosts files to read, in order. Missing files count
        as empty.
    :param policy: ``'strict'``: only keys already in the files are accepted.
        ``'accept-new'``: a key of a host that has *no* key in the files is
        accepted and appended to ``files[0]``; a changed key is refused.
        If the key cannot be appended (a missing directory other than
        ``~/.ssh``, an unwritable file), a warning is logged and the key is
        trusted for this connection only, as OpenSSH does.
    """

    def __init__(self, files: Sequence[str], policy: str = "strict") -> None:
        if policy not in HOST_KEY_POLICIES:
            raise ValueError(
                f"Unknown host_key_policy {policy!r}; valid policies are"
                f" {', '.join(repr(p) for p in HOST_KEY_POLICIES)}")
        if not files:
            raise ValueError("HostKeyVerifier needs at least one known_hosts file")
        self.files = [os.path.expanduser(f) for f in files]
        self.policy = policy

    def known_key_types(self, host: str, port: int) -> list[str]:
        """Key types known for the host, so we can ask the server for those.

        Without this, the server might present a key type we have no entry
        for, and a known host would look unknown.
        """
        name = known_hosts_name(host, port)
        types = []
        for entry in self._entries():
            if entry.marker == "" and entry.matches(name):
                key_type = _blob_key_type(entry.blob)
                if key_type and key_type not in types:
                    types.append(key_type)
        return types

    def verify(self, host: str, port: int, key: paramiko.PKey) -> None:
        """Accept the server's ``key`` for host:port, or raise.

        :raises HostKeyChangedError: the host has other keys, or this key is
            revoked.
        :raises UnknownHostKeyError: the host has no key and the policy is
            strict.
        """
        name = known_hosts_name(host, port)
        blob = key.asbytes()
        entries = list(self._entries())
        if any(e.marker == "@revoked" and e.blob == blob for e in entries):
            raise HostKeyChangedError(name, key, "is marked @revoked")
        known = [e for e in entries if e.marker == "" and e.matches(name)]
        if any(e.blob == blob for e in known):
            return
        if known:
            raise HostKeyChangedError(
                name, key, "does not match the key(s) recorded in"
                f" {', '.join(self.files)}")
        if self.policy != "accept-new":
            raise UnknownHostKeyError(name, key, self.files)
        self._record(name, key)

    def _entries(self) -> Iterator[_Entry]:
        # Re-read on every check: files are small, checks are rare (one per
        # connection), and another process may have added a key meanwhile.
        for path in self.files:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    yield from _parse(f, path)
            except (FileNotFoundError, NotADirectoryError):
                continue  # no such file (NotADirectory: a parent is a file)

    def _record(self, name: str, key: paramiko.PKey) -> None:
        """Append the key of a new host to files[0], as OpenSSH's
        accept-new does: if that cannot be done, warn and go on.

        No directory is made but ``~/.ssh`` for a file directly in it (what
        ssh makes for itself): a known_hosts path in a missing directory is
        most likely mistyped, and a tree made silently where the user does
        not look would collect keys they believe are checked against their
        real file. Like ssh, the key is then trusted for this connection
        only, which is what accept-new grants a new host anyway; refusing
        instead would stop a connection that ssh itself makes.
        """
        path = self.files[0]
        line = f"{name} {key.get_name()} {key.get_base64()}\n"
        try:
            with _append_lock:
                _make_user_ssh_dir(path)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                             0o600)
                try:
                    if os.fstat(fd).st_size > 0 and not _ends_with_newline(
                            path):
                        line = "\n" + line
                    os.write(fd, line.encode())
                finally:
                    os.close(fd)
        except OSError as error:
            logger.warning(
                "Failed to add the %s host key %s for %s to %s (%s); it is"
                " trusted for this connection only, as ssh does",
                key.get_name(), fingerprint(key), name, path,
                error.strerror or error)
            return
        logger.warning("Added %s host key %s for %s to %s",
                       key.get_name(), fingerprint(key), name, path)


def _make_user_ssh_dir(path: str) -> None:
    """Make ``~/.ssh`` (mode 0700) if path is a file directly in it and it
    is missing; OpenSSH's ssh does the same (and makes nothing else)."""
    ssh_dir = os.path.abspath(os.path.expanduser("~/.ssh"))
    if os.path.dirname(os.path.abspath(path)) != ssh_dir:
        return
    try:
        os.mkdir(ssh_dir, 0o700)
    except FileExistsError:
        pass


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def _blob_key_type(blob: bytes) -> str | None:
    """The key type string at the start of an SSH wire-format key."""
    if len(blob) < 4:
        return None
    length = int.from_bytes(blob[:4], "big")
    try:
        return blob[4:4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None
