"""Helpers for the WebDAV tests: a request counter on the real session,
a tiny HTTP server that answers with chosen statuses (for faults wsgidav
cannot be made to produce), and a TCP proxy whose connections can be cut
in the middle of a transfer."""
from __future__ import annotations

import shutil
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path as LocalPath
from typing import Any

from tests.servers import settings as S


def private_fs(url: str = S.WEBDAV_PRIVATE_URL, **kwargs: Any) -> Any:
    """A WebdavFileSystem on the private share (at url), logged in."""
    import cerulean
    return cerulean.WebdavFileSystem(
        url, cerulean.PasswordCredential(S.USER, S.PASSWORD), **kwargs)


def new_dir_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@contextmanager
def fresh_dir(fs: Any) -> Iterator[Any]:
    """A new empty directory on fs (a file system on the private share),
    removed from the server's disk afterwards, whatever is left in it."""
    base = fs / new_dir_name()
    base.mkdir()
    try:
        yield base
    finally:
        shutil.rmtree(on_disk(base), ignore_errors=True)


@contextmanager
def proxied_fs() -> Iterator[tuple[Any, CuttableProxy]]:
    """(fs, proxy): a file system on the private share that talks to the
    server through a :class:`CuttableProxy`, so that the test can cut its
    connections in the middle of a transfer."""
    proxy = CuttableProxy()
    try:
        with private_fs(f"http://127.0.0.1:{proxy.port}/private") as fs:
            yield fs, proxy
    finally:
        proxy.close()


def on_disk(path: Any, share: LocalPath = S.WEBDAV_PRIVATE_DIR) -> LocalPath:
    """Where the server keeps a cerulean Path of the private share."""
    return share / str(path).lstrip("/")


def temp_files(directory: LocalPath) -> list[str]:
    """Leftover temporary files (of any cerulean backend) in a directory."""
    return [p.name for p in directory.iterdir()
            if p.name.endswith(".cerulean-tmp")]


@contextmanager
def count_requests(fs: Any) -> Iterator[Counter[str]]:
    """Count the HTTP answers fs's session receives, by method.

    A response hook on the real session: these are requests that went to
    the real server, not calls to a mock.
    """
    counts: Counter[str] = Counter()

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        counts[response.request.method] += 1
        return response

    hooks = fs._http.session.hooks["response"]
    hooks.append(hook)
    try:
        yield counts
    finally:
        hooks.remove(hook)


# --- A server that answers with chosen statuses ----------------------------

ROOT_PROPFIND = (
    b'<?xml version="1.0" encoding="utf-8"?><D:multistatus xmlns:D="DAV:">'
    b"<D:response><D:href>/dav/</D:href><D:propstat><D:prop><D:resourcetype>"
    b"<D:collection/></D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK"
    b"</D:status></D:propstat></D:response></D:multistatus>")


class FaultServer:
    """An HTTP server on 127.0.0.1 whose answers the test chooses.

    ``answers[(method, path)] = (status, body)`` or ``(status, body,
    headers)``; PROPFIND of ``/dav/``
    answers as a WebDAV collection, so that a WebdavFileSystem on
    ``url`` can be made. Anything else answers 500.
    """

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], tuple[Any, ...]] = {
            ("PROPFIND", "/dav/"): (207, ROOT_PROPFIND)}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, body, *extra = outer.answers.get(
                    (self.command, self.path), (500, b"no answer scripted"))
                self.send_response(status)
                for name, value in (extra[0] if extra else {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_PROPFIND = do_DELETE = do_MKCOL = _answer
            do_MOVE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/dav"
        # A short poll interval, so that shutdown() returns at once.
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        args=(0.02,), daemon=True)

    def __enter__(self) -> FaultServer:  # noqa: PYI034 - Self is 3.11+
        self._thread.start()
        return self

    def __exit__(self, *args: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- A proxy whose connections can be cut -----------------------------------

class CuttableProxy:
    """Forwards 127.0.0.1:<port> to the WebDAV server; cut() drops every
    open connection at once (new ones still work), as a network failure
    in the middle of a transfer would."""

    def __init__(self, target_port: int = S.WEBDAV_PORT) -> None:
        self._target = (S.HOST, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            # Forwarding headers and body as separate segments would
            # otherwise wait for delayed ACKs (Nagle): 40 ms per request.
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        _shut_down(source, sink)
        source.close()  # each direction's thread closes where it read from

    def cut(self) -> None:
        """Drop every connection now open, both towards the client and
        towards the server.

        shutdown() rather than close(): it also wakes the forwarding
        threads blocked in recv(); the client then gets a reset for the
        data it still sends, and the server an early end of the body.
        """
        with self._lock:
            sockets, self._open = self._open, []
        _shut_down(*sockets)

    def close(self) -> None:
        self._stopped = True
        self._listener.close()
        self.cut()


def _shut_down(*sockets: socket.socket) -> None:
    """shutdown() both directions of each socket; one already gone is
    fine."""
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
