"""What a benchmark case is, and the context it runs in.

A case is a function decorated with :func:`case`. The runner (``bench/run.py``)
calls it in a fresh subprocess (``bench/worker.py``), once under our cerulean
and once under PyPI cerulean 1.0.0, which share the import name
``cerulean``; so a case uses only the documented Cerulean 1.0 API, or
branches on ``ctx.ours``. Where the OpenSSH command line can do the same
work, the case names it with :class:`OpenSSH`, and the runner times it in the
same run. Nothing here imports ``cerulean`` at module level, so that the
worker picks whichever one the interpreter has installed.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path as LocalPath
from typing import Any, Callable

from tests.servers import settings

REPO = LocalPath(__file__).resolve().parents[1]
DATA_DIR = REPO / ".bench-data"


class NotApplicable(Exception):
    """Raised by a case that has no counterpart in this implementation."""


@dataclass(frozen=True)
class OpenSSH:
    """The OpenSSH command-line equivalent of a case.

    ``command`` is run with bash and its wall time in seconds is turned into
    the case's unit by ``value``. ``setup`` and ``teardown`` run once around
    all repetitions (for example to start and stop a ControlMaster).
    Placeholders: {host} {port} {user} {target} {control} {key} {known_hosts}
    {ssh} {scp} {sftp} {scratch} {remote_scratch} {data_dir}; {ssh}, {scp} and
    {sftp} carry the options that log in with the test key and verify the
    host key.
    """

    command: str
    value: Callable[[float], float]
    setup: str | None = None
    teardown: str | None = None


@dataclass
class Case:
    """A registered benchmark case."""

    key: str
    name: str
    unit: str
    better: str
    func: Callable[[Context], float]
    openssh: OpenSSH | None = None
    prepare: Callable[[Context], None] | None = None
    repeats: int | None = None


REGISTRY: dict[str, Case] = {}


def case(name: str, unit: str, better: str = "lower",
         openssh: OpenSSH | None = None,
         prepare: Callable[[Context], None] | None = None,
         repeats: int | None = None) -> Callable[[Callable[[Context], float]],
                                                    Callable[[Context], float]]:
    """Register a benchmark case.

    :param name: What is measured, as printed in the report.
    :param unit: The unit of the value the function returns (ms, MiB/s, ...).
    :param better: ``"lower"`` or ``"higher"``.
    :param openssh: The OpenSSH equivalent, if there is one.
    :param prepare: Makes inputs in ``ctx.data_dir`` once, before any run.
    :param repeats: Overrides the runner's repetition count for this case.
    """
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', not {better!r}")

    def register(func: Callable[[Context], float]) -> Callable[[Context], float]:
        module = func.__module__.rsplit(".", 1)[-1]
        key = f"{module}:{func.__name__}"
        REGISTRY[key] = Case(key, name, unit, better, func, openssh, prepare, repeats)
        return func
    return register


def ssh_options() -> str:
    """OpenSSH options that log in to the test sshd like our fixtures do."""
    return (f"-o BatchMode=yes -o StrictHostKeyChecking=yes "
            f"-o UserKnownHostsFile={settings.KNOWN_HOSTS} "
            f"-o IdentitiesOnly=yes -i {settings.RSA_KEY}")


@dataclass
class Context:
    """What a case may use; everything it opens is closed by :meth:`close`."""

    ours: bool
    settings: Any = settings
    data_dir: str = str(DATA_DIR)
    scratch: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="bench-"))
    _remote_scratch: str | None = None
    _opened: list[Any] = field(default_factory=list)
    _terminal: Any = None

    def ssh_terminal(self) -> Any:
        """A connected SshTerminal to the test sshd (one per context)."""
        import cerulean
        if self._terminal is None:
            cred = cerulean.PubKeyCredential(settings.USER, str(settings.RSA_KEY))
            if self.ours:
                term = cerulean.SshTerminal(settings.HOST, settings.SSH_PORT, cred,
                                            known_hosts=str(settings.KNOWN_HOSTS))
            else:  # 1.0.0 checks no host key at all and has no such option
                term = cerulean.SshTerminal(settings.HOST, settings.SSH_PORT, cred)
            self._terminal = term
            self._opened.append(term)
        return self._terminal

    def sftp_fs(self) -> Any:
        """An SftpFileSystem on :meth:`ssh_terminal`."""
        import cerulean
        fs = cerulean.SftpFileSystem(self.ssh_terminal())
        self._opened.insert(0, fs)
        return fs

    def local_fs(self) -> Any:
        """A LocalFileSystem."""
        import cerulean
        return cerulean.LocalFileSystem()

    def webdav_fs(self) -> Any:
        """A WebdavFileSystem on the private share of the test server."""
        import cerulean
        fs = cerulean.WebdavFileSystem(
            settings.WEBDAV_PRIVATE_URL,
            cerulean.PasswordCredential(settings.USER, settings.PASSWORD))
        self._opened.insert(0, fs)
        return fs

    @property
    def remote_scratch(self) -> str:
        """A fresh directory under the test user's home on the sshd side."""
        if self._remote_scratch is None:
            path = f"{settings.HOME}/bench-{uuid.uuid4().hex[:12]}"
            code, _, err = self.ssh_terminal().run(30.0, "mkdir", ["-p", path])
            if code != 0:
                raise RuntimeError(f"cannot make {path}: {err}")
            self._remote_scratch = path
        return self._remote_scratch

    def close(self) -> None:
        """Remove the scratch directories and close what was opened."""
        if self._remote_scratch is not None:
            self.ssh_terminal().run(120.0, "rm", ["-rf", self._remote_scratch])
        for thing in self._opened:
            try:
                thing.close()
            except Exception:  # closing is best effort at the end of a run
                logging.getLogger(__name__).warning("closing %r failed", thing, exc_info=True)
        shutil.rmtree(self.scratch, ignore_errors=True)
