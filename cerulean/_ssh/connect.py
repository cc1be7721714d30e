"""Open one authenticated, host-key-verified paramiko Transport.

This is the only place that creates SSH connections; ``SshTerminal`` owns
what it returns and decides when to call it again.
"""
from __future__ import annotations

import logging
import socket
from collections.abc import Sequence

import paramiko

from cerulean._ssh.auth import authenticate
from cerulean._ssh.host_keys import HostKeyVerifier
from cerulean.credential import Credential

logger = logging.getLogger(__name__)

# AES-GCM roughly doubles paramiko's bulk throughput compared to its default
# aes128-ctr + HMAC (shared/notes/test-servers.md, section 5); the rest of
# paramiko's list stays as fallback for servers without GCM.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")

# known_hosts records RSA keys as "ssh-rsa", but the host key *algorithms*
# that use such a key are these (SHA-2 first, as OpenSSH does).
_ALGORITHMS_FOR_KEY_TYPE = {
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),
}


def open_transport(host: str, port: int, credential: Credential,
                   verifier: HostKeyVerifier, *, connect_timeout: float,
                   keepalive_interval: float,
                   tunnel: paramiko.Channel | None = None) -> paramiko.Transport:
    """Connect, verify the host key, log in; return the Transport.

    :param tunnel: A ``direct-tcpip`` channel to host:port through a jump
        host (like ``ssh -J``), to use instead of a new TCP connection.
    :raises ConnectionError: the host cannot be reached or the SSH handshake
        fails.
    :raises cerulean.ssh_terminal.HostKeyError: the host key is unknown
        (strict policy), changed or revoked.
    :raises cerulean.ssh_terminal.AuthenticationError: login refused.
    """
    where = f"{credential.username}@{host}:{port}"
    sock: socket.socket | paramiko.Channel
    if tunnel is None:
        sock = _tcp_socket(host, port, connect_timeout, keepalive_interval)
    else:
        sock = tunnel
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = connect_timeout
        transport.handshake_timeout = connect_timeout
        options = transport.get_security_options()
        options.ciphers = _prefer(options.ciphers, PREFERRED_CIPHERS)
        options.key_types = _prefer(
            options.key_types, _host_key_algorithms(verifier, host, port))
        try:
            transport.start_client(timeout=connect_timeout)
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise ConnectionError(
                f"SSH handshake with {host}:{port} failed: {e}") from e
        verifier.verify(host, port, transport.get_remote_server_key())
        authenticate(transport, credential, where)
        if keepalive_interval > 0:
            transport.set_keepalive(keepalive_interval)
    except BaseException:
        transport.close()
        # Transport.close() skips the socket if the handshake never started.
        sock.close()
        raise
    logger.info("Connected to %s%s", where, " (jumped)" if tunnel else "")
    return transport


def _tcp_socket(host: str, port: int, timeout: float,
                keepalive_interval: float) -> socket.socket:
    try:
        addresses = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise ConnectionError(f"Cannot resolve host name {host!r}: {e}") from e
    last_error: OSError | None = None
    for family, kind, proto, _, address in addresses:
        sock = socket.socket(family, kind, proto)
        try:
            # Without TCP_NODELAY every request/response exchange waits for
            # Nagle + delayed ACK: 44 ms instead of 2 ms per command. Set it
            # before connecting, so the handshake benefits too.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if keepalive_interval > 0 and hasattr(socket, "TCP_USER_TIMEOUT"):
                # paramiko's keepalives alone never notice a peer that
                # vanished without a reset (TCP retries for ~15 min); with
                # this, unacknowledged data for 3 intervals kills the socket.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                                int(max(3 * keepalive_interval, 10) * 1000))
            sock.settimeout(timeout)
            sock.connect(address)
            return sock
        except OSError as e:
            sock.close()
            last_error = e
    raise ConnectionError(
        f"Cannot connect to {host}:{port}: {last_error}") from last_error


def _host_key_algorithms(verifier: HostKeyVerifier, host: str,
                         port: int) -> list[str]:
    """Algorithms for the key types known_hosts has for this host.

    Asking for these first makes the server present a key we can check,
    as OpenSSH does.
    """
    algorithms: list[str] = []
    for key_type in verifier.known_key_types(host, port):
        algorithms.extend(_ALGORITHMS_FOR_KEY_TYPE.get(key_type, (key_type,)))
    return algorithms


def _prefer(available: Sequence[str], preferred: Sequence[str]) -> tuple[str, ...]:
    """``available`` reordered so that entries of ``preferred`` come first."""
    first = [name for name in preferred if name in available]
    return tuple(first + [name for name in available if name not in first])
