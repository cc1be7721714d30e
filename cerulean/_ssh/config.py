"""Read the OpenSSH client configuration (``~/.ssh/config``) for one host.

Only what SshTerminal can honour is read: HostName, Port, User,
IdentityFile, CertificateFile, IdentitiesOnly, ProxyJump, UserKnownHostsFile,
StrictHostKeyChecking, ServerAliveInterval and ConnectTimeout. A host that
needs ProxyCommand is refused rather than reached the wrong way.
:func:`host_port` reads the ``host[:port]`` addresses found there
and in :func:`cerulean.make_terminal` locations.
"""
from __future__ import annotations

import getpass
import logging
import os
from dataclasses import dataclass

import paramiko

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_FILE = "~/.ssh/config"


@dataclass(frozen=True)
class HostConfig:
    """The settings for one host alias, with OpenSSH's defaults filled in."""

    alias: str
    hostname: str
    port: int
    user: str
    identity_files: tuple[str, ...]  # empty: use the default key files
    certificate_files: tuple[str, ...]  # CertificateFile (paramiko keeps the first)
    identities_only: bool
    proxy_jump: tuple[str, ...]  # hop specs "[user@]host[:port]", in order
    known_hosts_files: tuple[str, ...]  # empty: the default files
    host_key_policy: str | None  # None: not configured
    keepalive_interval: float | None
    connect_timeout: float | None


def load(config_file: str | None) -> paramiko.SSHConfig:
    """Parse ``config_file``, or ``~/.ssh/config`` if it exists.

    :raises FileNotFoundError: an explicitly given file does not exist.
    """
    if config_file is None:
        path = os.path.expanduser(DEFAULT_CONFIG_FILE)
        if not os.path.isfile(path):
            return paramiko.SSHConfig()
    else:
        path = os.path.expanduser(config_file)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"SSH config file {path} does not exist")
    return paramiko.SSHConfig.from_path(path)


def resolve(config: paramiko.SSHConfig, alias: str) -> HostConfig:
    """Look ``alias`` up as ``ssh <alias>`` would.

    :raises ValueError: the host uses ProxyCommand, or a value is invalid.
    """
    entry = config.lookup(alias)
    if "proxycommand" in entry and entry["proxycommand"].lower() != "none":
        raise ValueError(
            f"SSH config for {alias!r} uses ProxyCommand, which SshTerminal"
            " does not support; use ProxyJump instead")
    jump = entry.get("proxyjump", "none")
    return HostConfig(
        alias=alias,
        hostname=entry["hostname"],
        port=_int(entry.get("port", "22"), "Port", alias),
        user=entry.get("user") or getpass.getuser(),
        identity_files=tuple(entry.get("identityfile", ())),
        # paramiko keeps only the first CertificateFile of an entry (OpenSSH
        # takes them all), and expands no ~ in it.
        certificate_files=tuple(
            os.path.expanduser(f) for f in [entry.get("certificatefile")]
            if f and f.lower() != "none"),
        identities_only=entry.get("identitiesonly", "no").lower() == "yes",
        proxy_jump=() if jump.lower() == "none" else tuple(
            hop.strip() for hop in jump.split(",") if hop.strip()),
        known_hosts_files=tuple(
            os.path.expanduser(f)
            for f in entry.get("userknownhostsfile", "").split()),
        host_key_policy=_policy(entry.get("stricthostkeychecking")),
        keepalive_interval=_float(entry.get("serveraliveinterval")),
        connect_timeout=_float(entry.get("connecttimeout")),
    )


def parse_hop(spec: str) -> tuple[str | None, str, int | None]:
    """Split a ProxyJump hop ``[ssh://][user@]host[:port]``.

    :returns: ``(user or None, host, port or None)``.
    :raises ValueError: the spec is malformed.
    """
    rest = spec.removeprefix("ssh://")
    user, sep, hostport = rest.rpartition("@")
    if not sep:
        user = ""
    host, port = host_port(hostport, spec, "ProxyJump hop", "ProxyJump port")
    return user or None, host, port


def _policy(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.lower()
    if value == "accept-new":
        return "accept-new"
    if value in ("no", "off"):
        # OpenSSH would even connect to a host whose key changed; we never
        # do, so the closest safe equivalent is accept-new.
        logger.warning("StrictHostKeyChecking %s is treated as accept-new:"
                       " changed host keys are always refused", value)
        return "accept-new"
    return "strict"  # yes, ask (we cannot ask)


def _int(text: str, what: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"Invalid {what} {text!r} for {where!r}") from None
    if not 0 < value < 65536:
        raise ValueError(f"{what} {value} for {where!r} is out of range")
    return value


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"Invalid number {text!r} in SSH config") from None


def host_port(address: str, where: str, what: str, port_what: str
              ) -> tuple[str, int | None]:
    """``(host, port or None)`` of ``host[:port]`` (``[v6addr]:port`` too).

    :param address: The address.
    :param where: The text it is part of, for error messages.
    :param what: What the address is, for error messages.
    :param port_what: What its port is, for error messages.
    :returns: The host and the port, if one is given.
    :raises ValueError: For a malformed address, one without a host, or a
        port that is not a number from 1 to 65535.
    """
    parts = split_host_port(address)
    if parts is None:
        raise ValueError(f"Invalid {what} {where!r}")
    host, port_text = parts
    if not host:
        raise ValueError(f"Invalid {what} {where!r}: no host")
    return host, _int(port_text, port_what, where) if port_text else None


def split_host_port(address: str) -> tuple[str, str] | None:
    """``(host, port text)`` of ``address``; the port text is "" if absent.

    A host with more than one ``:`` and no brackets is an IPv6 address
    without a port.

    :returns: The parts, or None if ``address`` is malformed: a ``[``
        without its ``]``, or anything but ``:port`` after the ``]``.
    """
    if address.startswith("["):
        host, sep, rest = address[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        return host, rest[1:]
    if address.count(":") == 1:
        host, port_text = address.split(":")
        return host, port_text
    return address, ""
