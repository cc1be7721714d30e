"""Forwarding a local TCP port to a port of a job (``Jobs.port_forward``).

The forwarder listens on ``127.0.0.1:<local_port>`` only (never on other
interfaces, so nobody else reaches the job through us). For each
connection it opens a path to the job's node: a ``direct-tcpip`` channel of
the terminal's SSH connection (the SSH server connects to the node, as
``ssh -L`` does), or, for a local cluster, a plain TCP connection. Bytes are
then copied both ways until either side closes.

The listener and each connection have a thread of their own, not one of the
bounded worker threads: a forwarded connection may stay open for hours, and
must not keep other calls waiting.
"""
from __future__ import annotations

import contextlib
import logging
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024

Connector = Callable[[tuple[str, int]], Any]
"""Opens a path to the job's port; given the local peer's address, returns
a socket or a paramiko Channel (both have send, recv, fileno and close)."""


def ssh_connector(transport_of: Callable[[], Any], host: str, port: int) -> Connector:
    """A connector opening ``direct-tcpip`` channels to ``host:port``.

    :param transport_of: returns the terminal's live paramiko Transport (it
        reconnects if the connection dropped).
    """
    def connect(peer: tuple[str, int]) -> Any:
        return transport_of().open_channel("direct-tcpip", (host, port), peer,
                                           timeout=30.0)
    return connect


def tcp_connector(host: str, port: int) -> Connector:
    """A connector opening plain TCP connections to ``host:port``."""
    def connect(peer: tuple[str, int]) -> Any:
        return socket.create_connection((host, port), timeout=30.0)
    return connect


class Forwarder:
    """Forwards ``127.0.0.1:local_port`` through a connector.

    :param local_port: the local port to listen on.
    :param connect: opens the path to the job for each connection.
    """

    def __init__(self, local_port: int, connect: Connector) -> None:
        self._connect = connect
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(("127.0.0.1", local_port))
            self._listener.listen(16)
        except OSError:
            self._listener.close()
            raise
        self.port: int = self._listener.getsockname()[1]
        """The port listened on."""
        self._lock = threading.Lock()
        self._open: set[Any] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._accepter = threading.Thread(target=self._accept, daemon=True,
                                          name=f"neuro-compat-forward-{self.port}")
        self._accepter.start()

    def _accept(self) -> None:
        while True:
            try:
                client, peer = self._listener.accept()
            except OSError:
                return  # the listener was closed: stop
            thread = threading.Thread(target=self._serve, args=(client, peer), daemon=True,
                                      name=f"neuro-compat-forward-{self.port}-conn")
            with self._lock:
                if self._stopping:
                    client.close()
                    return
                self._threads = [t for t in self._threads if t.is_alive()]
                self._threads.append(thread)
                self._open.add(client)
            thread.start()

    def _serve(self, client: socket.socket, peer: tuple[str, int]) -> None:
        remote = None
        try:
            remote = self._connect(peer)
            with self._lock:
                if self._stopping:
                    return
                self._open.add(remote)
            _pump(client, remote)
        except Exception as e:  # noqa: BLE001 - one failed connection, logged
            if not self._stopping:
                log.warning("port forward %d: connection from %s failed: %s",
                            self.port, peer, e)
        finally:
            for end in (client, remote):
                if end is not None:
                    with self._lock:
                        self._open.discard(end)
                    with contextlib.suppress(Exception):
                        end.close()

    def stop(self) -> None:
        """Stop listening, close every forwarded connection, join the threads."""
        with self._lock:
            self._stopping = True
            ends = list(self._open)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for end in ends:
            with contextlib.suppress(Exception):
                end.close()
        self._accepter.join(timeout=10)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=10)


def _pump(a: Any, b: Any) -> None:
    """Copy bytes both ways between two ends until both have closed.

    When one end stops sending, the other is told so (half-close), and the
    reply can still come back, as a TCP client expects.
    """
    reading = [a, b]
    while reading:
        readable, _, _ = select.select(reading, [], [], 1.0)
        for end in readable:
            other = b if end is a else a
            data = end.recv(_CHUNK)
            if data:
                other.sendall(data)
                continue
            reading.remove(end)
            _shutdown_write(other)


def _shutdown_write(end: Any) -> None:
    with contextlib.suppress(Exception):  # the other side may be gone already
        if isinstance(end, socket.socket):
            end.shutdown(socket.SHUT_WR)
        else:
            end.shutdown_write()
