"""Helpers for the neuro_compat tests: cluster configurations pointing at the
test servers, a runner for coroutines, and a progress recorder.

pytest-asyncio is not a dependency, so tests are plain functions that run
their coroutine with :func:`run`.
"""
from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

import neuro_compat
from tests.conftest import require_servers
from tests.servers import settings as S

_T = TypeVar("_T")
_E = TypeVar("_E", bound=BaseException)

DAV_PASSWORD_ENV = "NEURO_COMPAT_TEST_DAV_PASSWORD"

LOCAL_TERMINAL: Mapping[str, object] = {"type": "local"}
"""The ``terminal`` table of a cluster on this machine."""

SSH_TERMINAL_TOML = f"""
type = "ssh"
host = "{S.HOST}"
port = {S.SSH_PORT}
user = "{S.USER}"
key_file = "{S.RSA_KEY}"
known_hosts = "{S.KNOWN_HOSTS}"
"""
"""The ``terminal`` table of a cluster on the test sshd (RSA key, host key
checked)."""


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))  # a TOML basic string, escaped as JSON's


def cluster_section(name: str, *, storage: Mapping[str, object],
                    terminal: Mapping[str, object] | str = LOCAL_TERMINAL,
                    scheduler: str | Mapping[str, object] = "directgnu",
                    presets: Mapping[str, Mapping[str, object]] | None = None,
                    **settings: object) -> str:
    """The ``clusters.toml`` tables of one cluster ``name``.

    :param storage: the ``storage`` table's keys and values.
    :param terminal: the ``terminal`` table: keys and values, or its text
        (such as :data:`SSH_TERMINAL_TOML`).
    :param scheduler: the scheduler type, or the whole ``scheduler`` table.
    :param presets: preset name -> its keys and values.
    :param settings: the cluster's own keys (``username``, ``job_dir``, ...).
    """
    def table(header: str, values: Mapping[str, object]) -> str:
        return f"[clusters.{name}{header}]\n" + "".join(
            f"{key} = {_toml_value(value)}\n" for key, value in values.items())

    terminal_text = (f"[clusters.{name}.terminal]\n{terminal.strip()}\n"
                     if isinstance(terminal, str) else table(".terminal", terminal))
    return "\n" + table("", settings) + terminal_text + table(".storage", storage) \
        + table(".scheduler", {"type": scheduler} if isinstance(scheduler, str)
                else scheduler) + "".join(
            table(f".presets.{preset}", keys) for preset, keys in (presets or {}).items())


def fetch(url: str, seconds: float = 60.0) -> str:
    """GET ``url``, retrying while a forward or a job's server is not
    listening yet."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                text: str = reply.read().decode()
                return text
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


STORAGE_KINDS = [pytest.param("local"),
                 pytest.param("sftp", marks=pytest.mark.real_server("ssh")),
                 pytest.param("webdav", marks=pytest.mark.real_server("webdav"))]
"""The storage kinds, each marked with the server it needs."""


def run(coro: Coroutine[Any, Any, _T], timeout: float = 120.0) -> _T:
    """Run a coroutine on a fresh event loop; fail if it takes too long."""
    async def bounded() -> _T:
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


def run_client(cluster: Cluster, body: Callable[[neuro_compat.Client], Awaitable[None]],
               timeout: float = 120.0) -> None:
    """Run ``body(client)`` with a client of the test cluster, closed
    afterwards, on a fresh event loop (see :func:`run`)."""
    async def main() -> None:
        async with neuro_compat.get(path=cluster.config_dir) as client:
            await body(client)
    run(main(), timeout)


async def raises(error: type[_E], call: Awaitable[object], match: str | None = None) -> _E:
    """Await ``call``, which must raise ``error`` (its text matching the
    regular expression ``match``, if given); return the exception."""
    with pytest.raises(error, match=match) as info:
        await call
    return info.value


def worker_threads() -> list[str]:
    """Names of the live neuro_compat worker threads."""
    return [t.name for t in threading.enumerate() if t.name.startswith("neuro-compat")]


def wait_no_workers(timeout: float = 5.0) -> list[str]:
    """Wait until no neuro_compat worker thread is alive; return the rest."""
    deadline = time.monotonic() + timeout
    while worker_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    return worker_threads()


@dataclass
class Cluster:
    """A cluster configuration written for a test.

    :ivar kind: ``local``, ``sftp`` or ``webdav``.
    :ivar config_dir: the directory to pass to ``get(path=...)``.
    :ivar root: the storage root (on the storage's file system).
    :ivar user: the user name in storage URIs.
    :ivar local_root: where the storage root is on this machine, if it is
        reachable here (local storage, and WebDAV through the share's
        directory), else None.
    """

    kind: str
    config_dir: Path
    root: str
    user: str
    local_root: Path | None

    @property
    def user_dir(self) -> Path:
        """The user's storage directory on this machine (local clusters)."""
        assert self.local_root is not None
        return self.local_root / self.user


def _write(config_dir: Path, text: str) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "clusters.toml").write_text(text)


def local_cluster(tmp: Path) -> Cluster:
    """A local cluster with its storage root in ``tmp``."""
    root = tmp / "storage-root"
    config_dir = tmp / "config"
    _write(config_dir, cluster_section(
        "here", username="tester", job_dir=tmp / "jobs", storage={"type": "local", "root": root},
        presets={"cpu-small": {"cpu": 1, "memory_mb": 512}}))
    return Cluster("local", config_dir, str(root), "tester", root)


def sftp_cluster(tmp: Path) -> Cluster:
    """A cluster on the test sshd, storage over SFTP in a fresh directory."""
    require_servers("ssh")
    base = f"{S.HOME}/test-neuro-{uuid.uuid4().hex[:12]}"
    config_dir = tmp / "config"
    _write(config_dir, cluster_section(
        "hpc", job_dir=f"{base}/jobs", terminal=SSH_TERMINAL_TOML,
        storage={"type": "sftp", "root": f"{base}/storage"}, presets={"cpu-small": {"cpu": 1, "memory_mb": 512}}))
    return Cluster("sftp", config_dir, f"{base}/storage", S.USER, None)


def webdav_cluster(tmp: Path) -> Cluster:
    """A cluster whose storage is on the test WebDAV server's private share."""
    require_servers("webdav")
    name = f"test-neuro-{uuid.uuid4().hex[:12]}"
    os.environ[DAV_PASSWORD_ENV] = S.PASSWORD
    config_dir = tmp / "config"
    _write(config_dir, cluster_section(
        "dav", username="tester", job_dir=tmp / "jobs",
        storage={"type": "webdav", "url": S.WEBDAV_PRIVATE_URL, "user": S.USER,
                 "password_env": DAV_PASSWORD_ENV, "root": f"/{name}"}))
    return Cluster("webdav", config_dir, f"/{name}", "tester", S.WEBDAV_PRIVATE_DIR / name)


def default_cluster(tmp: Path) -> Cluster:
    """The embedded default cluster (no configuration file), its data in
    ``tmp``: sets XDG_DATA_HOME, which the caller restores."""
    import getpass

    data = tmp / "xdg"
    os.environ["XDG_DATA_HOME"] = str(data)
    root = data / "neuro-compat" / "storage"
    config_dir = tmp / "no-config"  # exists, without a clusters.toml
    config_dir.mkdir(parents=True, exist_ok=True)
    return Cluster("local", config_dir, str(root), getpass.getuser(), root)


def make_cluster(kind: str, tmp: Path) -> Cluster:
    """The test cluster of a kind; ``local`` is the embedded default."""
    if kind == "local":
        return default_cluster(tmp)
    if kind == "sftp":
        return sftp_cluster(tmp)
    if kind == "webdav":
        webdav_usable()
        return webdav_cluster(tmp)
    raise ValueError(kind)


def webdav_usable() -> None:
    """Skip the test while cerulean's WebDAV backend is not implemented."""
    import inspect

    import cerulean

    if inspect.isabstract(cerulean.WebdavFileSystem):
        pytest.skip("cerulean.WebdavFileSystem is not implemented yet")


def sshd_terminal() -> Any:
    """A new SshTerminal to the test sshd with the RSA key (no check that the
    server is up: also for clean-up)."""
    import cerulean

    return cerulean.SshTerminal(S.HOST, S.SSH_PORT,
                                cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY)),
                                known_hosts=str(S.KNOWN_HOSTS))


def remove_on_sshd(path: str) -> None:
    """``rm -rf`` a path on the test sshd, over a connection of its own."""
    term = sshd_terminal()
    try:
        term.run(60.0, "rm", ["-rf", path])
    finally:
        term.close()


def remove_cluster(cluster: Cluster) -> None:
    """Remove what a test cluster left on its server."""
    if cluster.kind == "sftp":
        base = cluster.root.rsplit("/", 1)[0]
        assert base.startswith(f"{S.HOME}/test-neuro-")
        remove_on_sshd(base)
    elif cluster.kind == "webdav" and cluster.local_root is not None:
        import shutil

        shutil.rmtree(cluster.local_root, ignore_errors=True)


@contextmanager
def cluster_of(kind: str, tmp: Path) -> Iterator[Cluster]:
    """A test cluster, removed afterwards (and the environment restored)."""
    saved = os.environ.get("XDG_DATA_HOME")
    cluster = make_cluster(kind, tmp)
    try:
        yield cluster
    finally:
        remove_cluster(cluster)
        if saved is None:
            os.environ.pop("XDG_DATA_HOME", None)
        else:
            os.environ["XDG_DATA_HOME"] = saved


PROGRESS_CALLBACKS = ("start", "step", "complete", "enter", "leave", "fail", "delete")
"""The methods of the file, recursive and delete progress classes."""


class Recorder:
    """A progress object (file, recursive and delete) that records events:
    each of :data:`PROGRESS_CALLBACKS` records ``(its name, the event)``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.threads: set[int] = set()

    def _record(self, kind: str, data: Any) -> None:
        self.threads.add(threading.get_ident())
        self.events.append((kind, data))

    def kinds(self) -> list[str]:
        """The event kinds, in order."""
        return [k for k, _ in self.events]


def _recording(kind: str) -> Callable[[Recorder, Any], None]:
    def callback(self: Recorder, data: Any) -> None:
        self._record(kind, data)
    callback.__name__ = kind
    return callback


# Real methods (not __getattr__), so that subclasses can call super().step().
for _kind in PROGRESS_CALLBACKS:
    setattr(Recorder, _kind, _recording(_kind))


def make_tree(base: Path, dirs: int = 3, files: int = 4, size: int = 100) -> dict[str, bytes]:
    """A small tree of distinct files; returns relative path -> content."""
    content: dict[str, bytes] = {}
    for d in range(dirs):
        for f in range(files):
            rel = f"d{d}/f{f}.txt" if d else f"f{f}.txt"
            data = (f"{rel}:".encode() * (size // 8 + 1))[:size]
            path = base / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            content[rel] = data
    return content


def read_tree(base: Path) -> dict[str, bytes]:
    """Relative path -> content of every file below ``base``."""
    return {p.relative_to(base).as_posix(): p.read_bytes()
            for p in sorted(base.rglob("*")) if p.is_file()}


def set_mtime(path: Path, seconds_ago: float) -> None:
    """Set a local file's modification time into the past."""
    t = time.time() - seconds_ago
    os.utime(path, (t, t))
