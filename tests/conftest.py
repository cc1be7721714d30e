"""Shared fixtures: real servers on loopback, parametrised over backends.

Tests that need a real server carry ``@pytest.mark.real_server("ssh", ...)``.
When a named server does not answer, the test is skipped with the reason, or
fails under ``CI=true``, where every server must be up.

Parametrised fixtures:

* ``credential``: password, RSA key, ed25519 key with passphrase, ECDSA key.
* ``terminal``: ``local`` and ``ssh``.
* ``filesystem``: ``(fs, base)`` for ``local``, ``sftp`` and ``webdav``, where
  ``base`` is a fresh, empty directory on that file system.
* ``scheduler``: ``(sched, workdir)`` for ``directgnu-local``,
  ``directgnu-ssh``, ``slurm-ssh``, ``torque-ssh``, ``sge-ssh`` and ``sge-local`` (Grid
  Engine, reached through its prefix, with a parallel environment), where
  ``workdir`` is a fresh directory (as a string) on the machine the
  scheduler runs jobs on.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path as LocalPath
from typing import Any, NoReturn

import pytest

from tests.servers import settings as S

IN_CI = os.environ.get("CI", "").lower() == "true"


def _server_down_reason(name: str) -> str | None:
    """Say why a server is unusable, or None if it answers."""
    if name == "torque":
        if shutil.which("qsub") is None:
            return "qsub (slurm-wlm-torque) is not installed"
        name = "slurm"
    host, port = S.PROBES[name]
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return None
    except OSError as e:
        why = ""
        if name == "sge" and S.SGE_UNAVAILABLE.is_file():
            why = f" ({S.SGE_UNAVAILABLE.read_text().strip()})"
        return (f"{name} test server is not listening on {host}:{port} ({e});"
                f" start it with `make servers-up` (as root){why}")


def unavailable(reason: str) -> NoReturn:
    """Skip the test for ``reason``; under CI=true, where every real
    server must run, fail it instead."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def require_servers(*names: str) -> None:
    """Skip (or fail under CI=true) unless every named server answers."""
    for name in names:
        reason = _server_down_reason(name)
        if reason is not None:
            unavailable(reason)


@pytest.fixture(autouse=True)
def _check_real_servers(request: pytest.FixtureRequest) -> None:
    for marker in request.node.iter_markers("real_server"):
        require_servers(*marker.args)


# --- credentials -----------------------------------------------------------

@pytest.fixture
def password_credential() -> Any:
    import cerulean
    return cerulean.PasswordCredential(S.USER, S.PASSWORD)


@pytest.fixture
def rsa_credential() -> Any:
    import cerulean
    return cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY))


@pytest.fixture
def ed25519_credential() -> Any:
    import cerulean
    return cerulean.PubKeyCredential(
        S.USER, str(S.ED25519_KEY), S.ED25519_PASSPHRASE)


@pytest.fixture(params=["password", "rsa", "ed25519-passphrase", "ecdsa"])
def credential(request: pytest.FixtureRequest) -> Any:
    """Every way the test user can log in to the test sshd."""
    import cerulean
    if request.param == "password":
        return cerulean.PasswordCredential(S.USER, S.PASSWORD)
    if request.param == "rsa":
        return cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY))
    if request.param == "ecdsa":
        return cerulean.PubKeyCredential(S.USER, str(S.ECDSA_KEY))
    return cerulean.PubKeyCredential(S.USER, str(S.ED25519_KEY), S.ED25519_PASSPHRASE)


# --- terminals ---------------------------------------------------------------

def make_ssh_terminal(credential: Any = None, **kwargs: Any) -> Any:
    """An SshTerminal to the test sshd, verifying its host key."""
    import cerulean
    require_servers("ssh")
    if credential is None:
        credential = cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY))
    return cerulean.SshTerminal(
        S.HOST, S.SSH_PORT, credential, known_hosts=str(S.KNOWN_HOSTS), **kwargs)


@pytest.fixture
def ssh_terminal() -> Iterator[Any]:
    term = make_ssh_terminal()
    try:
        yield term
    finally:
        term.close()


@pytest.fixture(params=["local", "ssh", "ssh-sessions"])
def terminal(request: pytest.FixtureRequest) -> Iterator[Any]:
    """Each terminal: local, SSH with its shared shells, SSH without them."""
    import cerulean
    if request.param == "local":
        yield cerulean.LocalTerminal()
    else:
        shells = 0 if request.param == "ssh-sessions" else 4
        term = make_ssh_terminal(command_shells=shells)
        try:
            yield term
        finally:
            term.close()


def remote_scratch_dir(term: Any) -> str:
    """Make a fresh directory in the test user's home, return its path."""
    path = f"{S.HOME}/test-{uuid.uuid4().hex[:12]}"
    exit_code, _, err = term.run(10.0, "mkdir", ["-p", path])
    assert exit_code == 0, err
    return path


def remove_remote_dir(term: Any, path: str) -> None:
    assert path.startswith(f"{S.HOME}/test-")
    term.run(30.0, "rm", ["-rf", path])


@contextlib.contextmanager
def remote_scratch(term: Any) -> Iterator[str]:
    """A fresh directory in the test user's home, removed afterwards."""
    path = remote_scratch_dir(term)
    try:
        yield path
    finally:
        remove_remote_dir(term, path)


@contextlib.contextmanager
def ssh_scratch() -> Iterator[tuple[Any, str]]:
    """A new SSH terminal to the test sshd and a fresh directory there; the
    directory is removed and the terminal closed afterwards."""
    term = make_ssh_terminal()
    try:
        with remote_scratch(term) as scratch:
            yield term, scratch
    finally:
        term.close()


# --- file systems --------------------------------------------------------

@pytest.fixture(params=["local", "sftp", "webdav"])
def filesystem(request: pytest.FixtureRequest,
               tmp_path: LocalPath) -> Iterator[tuple[Any, Any]]:
    import cerulean
    kind = request.param
    if kind == "local":
        with cerulean.LocalFileSystem() as fs:
            yield fs, fs / str(tmp_path).lstrip("/")
    elif kind == "sftp":
        with ssh_scratch() as (term, scratch), cerulean.SftpFileSystem(term) as fs:
            yield fs, fs / scratch.lstrip("/")
    else:
        require_servers("webdav")
        name = f"test-{uuid.uuid4().hex[:12]}"
        with cerulean.WebdavFileSystem(
                S.WEBDAV_PRIVATE_URL, cerulean.PasswordCredential(
                    S.USER, S.PASSWORD)) as fs:
            base = fs / name
            base.mkdir()
            try:
                yield fs, base
            finally:
                shutil.rmtree(S.WEBDAV_PRIVATE_DIR / name, ignore_errors=True)


# --- schedulers -------------------------------------------------------------

_SGE_OUTPUT = re.compile(r"\.[oe][0-9]+\Z")  # Grid Engine's <name>.o<id>, .e<id>


@contextlib.contextmanager
def _root_grid_engine_output() -> Iterator[None]:
    """Remove the ``<name>.o<id>``/``.e<id>`` files that local Grid Engine
    jobs without system files leave in the home directory (the test
    process's own, root's here) while the block runs."""
    home = LocalPath.home()
    before = {p.name for p in home.iterdir()}
    try:
        yield
    finally:
        for p in home.iterdir():
            if p.name not in before and p.is_file() and _SGE_OUTPUT.search(p.name):
                p.unlink(missing_ok=True)


@pytest.fixture(params=["directgnu-local", "directgnu-ssh", "slurm-ssh",
                        "torque-ssh", "sge-ssh", "sge-local"])
def scheduler(request: pytest.FixtureRequest,
              tmp_path: LocalPath) -> Iterator[tuple[Any, str]]:
    import cerulean
    kind = request.param
    if kind == "directgnu-local":
        yield cerulean.DirectGnuScheduler(cerulean.LocalTerminal()), str(tmp_path)
        return
    name = kind.split("-")[0]
    if name == "sge":
        # Locally as the test process's user: root here, whose jobs the
        # test cell runs (min_uid 0, tests/servers/sge.sh).
        require_servers("sge")
        if kind == "sge-local":
            with _root_grid_engine_output():
                yield cerulean.GridEngineScheduler(
                    cerulean.LocalTerminal(), S.SGE_PREFIX,
                    parallel_environment=S.SGE_PE), str(tmp_path)
            return
        with ssh_scratch() as (term, scratch):
            yield cerulean.GridEngineScheduler(
                term, S.SGE_PREFIX, parallel_environment=S.SGE_PE), scratch
        return
    if name != "directgnu":
        require_servers("slurm" if name == "slurm" else "torque")
    with ssh_scratch() as (term, scratch):
        yield cerulean.make_scheduler(name, term), scratch


# --- mockssh (fast, in-process; for unit tests beside the real ones) --------

@pytest.fixture
def mock_ssh(tmp_path: LocalPath) -> Iterator[tuple[Any, Any, str]]:
    """(server, credential, known_hosts path) of an in-process mockssh server.

    Runs commands as the test process's own user, public-key auth only.
    """
    import mockssh
    import mockssh.server
    import paramiko

    import cerulean

    key_path = tmp_path / "mock_id_rsa"
    paramiko.RSAKey.generate(2048).write_private_key_file(str(key_path))
    with mockssh.Server({"mockuser": str(key_path)}) as server:
        host_key = paramiko.RSAKey.from_private_key_file(mockssh.server.SERVER_KEY_PATH)
        known_hosts = tmp_path / "mock_known_hosts"
        known_hosts.write_text(
            f"[{server.host}]:{server.port} {host_key.get_name()} "
            f"{host_key.get_base64()}\n")
        yield server, cerulean.PubKeyCredential("mockuser", str(key_path)), str(known_hosts)
