"""Fixtures for Cerulean 1.0's own test suite, run unmodified against our package.

``tests/compat/compat.sh`` copies this file beside the suite's ``test_*.py``
(taken from the PyPI wheel of cerulean 1.0.0) and runs it as the test user, on
the loopback hosts it sets up the way Cerulean's Docker images are:
``cerulean-test-ssh``/``-sftp``/``-torque-6``/``-slurm-*`` (one sshd, with the
real Slurm and its PBS wrappers behind it), ``cerulean-test-flaky`` (an sshd
whose sessions are killed at random) and ``cerulean-test-webdav``.

The fixtures are the ones the suite asks for, with the same names, scopes and
parameters as Cerulean 1.0's conftest, except that the scheduler tests run on
the one Slurm this machine has (22.05) instead of once per Slurm release in
Cerulean's images (all their host names resolve, to that same Slurm).
"""
import socket
import sys
import types
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from paramiko.ssh_exception import SSHException

from cerulean.credential import PasswordCredential
from cerulean.direct_gnu_scheduler import DirectGnuScheduler
from cerulean.file_system import FileSystem
from cerulean.file_system_impl import FileSystemImpl
from cerulean.local_file_system import LocalFileSystem
from cerulean.local_terminal import LocalTerminal
from cerulean.path import AbstractPath, Path
from cerulean.scheduler import Scheduler
from cerulean.sftp_file_system import SftpFileSystem
from cerulean.slurm_scheduler import SlurmScheduler
from cerulean.ssh_terminal import SshTerminal
from cerulean.terminal import Terminal
from cerulean.torque_scheduler import TorqueScheduler
from cerulean.webdav_file_system import WebdavFileSystem

# test_scheduler.py imports these from ``cerulean.test.conftest``, where
# Cerulean 1.0 shipped its conftest; this module stands in for it.
NUM_TRIES = 3
"""How often a scheduler test is tried when the flaky server drops it."""

_package = types.ModuleType('cerulean.test')
_package.__path__ = []
_package.conftest = sys.modules[__name__]  # type: ignore[attr-defined]
sys.modules.setdefault('cerulean.test', _package)
sys.modules.setdefault('cerulean.test.conftest', sys.modules[__name__])

WEBDAV_URL = 'http://cerulean-test-webdav/files'
SLURM_VERSIONS = ['22-05']


@contextmanager
def abort_on_network_error() -> Iterator[None]:
    """Swallow an error of the network (so the caller's loop tries again).

    Every other error propagates.
    """
    try:
        yield
    except (SSHException, ConnectionError, socket.timeout):
        pass


def _ssh(host: str, credential: PasswordCredential) -> SshTerminal:
    return SshTerminal(host, 22, credential)


@pytest.fixture(scope='module')
def password_credential() -> PasswordCredential:
    return PasswordCredential('cerulean', 'kingfisher')


@pytest.fixture(scope='module')
def ssh_terminal(
        password_credential: PasswordCredential) -> Generator[SshTerminal, None, None]:
    with _ssh('cerulean-test-ssh', password_credential) as term:
        yield term


@pytest.fixture(scope='module')
def flaky_ssh_terminal(
        password_credential: PasswordCredential) -> Generator[SshTerminal, None, None]:
    with _ssh('cerulean-test-flaky', password_credential) as term:
        yield term


@pytest.fixture(scope='module')
def local_filesystem() -> Generator[LocalFileSystem, None, None]:
    yield LocalFileSystem()


@pytest.fixture(scope='module')
def webdav_filesystem_raises() -> Generator[WebdavFileSystem, None, None]:
    yield WebdavFileSystem(WEBDAV_URL)


@pytest.fixture(scope='module')
def webdav_filesystem_quiet() -> Generator[WebdavFileSystem, None, None]:
    yield WebdavFileSystem(WEBDAV_URL, unsupported_methods_raise=False)


@contextmanager
def _file_system(kind: str, credential: PasswordCredential) -> Iterator[FileSystemImpl]:
    if kind == 'local':
        yield LocalFileSystem()
    elif kind == 'sftp':
        # A connection of its own per file system, as in Cerulean 1.0's set-up.
        with _ssh('cerulean-test-sftp', credential) as term, SftpFileSystem(term) as fs:
            yield fs
    else:
        with WebdavFileSystem(WEBDAV_URL) as wfs:
            yield wfs


@pytest.fixture(scope='module', params=['local', 'sftp', 'webdav'])
def filesystem(
        request: Any, password_credential: PasswordCredential
        ) -> Generator[FileSystemImpl, None, None]:
    with _file_system(request.param, password_credential) as fs:
        yield fs


@pytest.fixture(scope='module', params=['local', 'sftp'])
def filesystem2(
        request: Any, password_credential: PasswordCredential
        ) -> Generator[FileSystemImpl, None, None]:
    with _file_system(request.param, password_credential) as fs:
        yield fs


def make_paths(filesystem: FileSystem) -> dict[str, Path]:
    """The named paths of the test tree that the suite uses."""
    root = filesystem / 'home' / 'cerulean' / 'test_files'
    links = root / 'links'
    return {
        'root': root,
        'dir': links,
        'new_dir': root / 'testdir',
        'deep_new_dir': root / 'testdir2' / 'testdeepdir',
        'file': links / 'file0',
        'other_file': links / 'file1',
        'new_file': root / 'test.txt',
        'executable': links / 'executable',
        'private': links / 'private',
        'link': links / 'link0',
        'multi_link': links / 'link1',
        'broken_link': links / 'link2',
        'link_loop': links / 'link3',
        'fifo': root / 'fifo',
        'blockdev': root / 'blockdev',
    }


def paths_to_lpaths(paths: dict[str, Path]) -> dict[str, AbstractPath]:
    """The file-system-level paths behind Path objects, as the suite reaches them."""
    return {name: path._Path__path for name, path in paths.items()}


@pytest.fixture(scope='module')
def paths(filesystem: FileSystem) -> dict[str, Path]:
    return make_paths(filesystem)


@pytest.fixture(scope='module')
def paths_local(local_filesystem: FileSystem) -> dict[str, Path]:
    return make_paths(local_filesystem)


@pytest.fixture(scope='module')
def lpaths_webdav_raises(
        webdav_filesystem_raises: FileSystem) -> dict[str, AbstractPath]:
    return paths_to_lpaths(make_paths(webdav_filesystem_raises))


@pytest.fixture(scope='module')
def lpaths_webdav_quiet(
        webdav_filesystem_quiet: FileSystem) -> dict[str, AbstractPath]:
    return paths_to_lpaths(make_paths(webdav_filesystem_quiet))


@pytest.fixture(scope='module')
def lpaths(paths: dict[str, Path]) -> dict[str, AbstractPath]:
    return paths_to_lpaths(paths)


@pytest.fixture(scope='module', params=['local', 'ssh', 'flakyssh'])
def terminal(
        request: Any, ssh_terminal: SshTerminal, flaky_ssh_terminal: SshTerminal
        ) -> Generator[Terminal, None, None]:
    if request.param == 'local':
        yield LocalTerminal()
    elif request.param == 'ssh':
        yield ssh_terminal
    else:
        yield flaky_ssh_terminal


@pytest.fixture(scope='module', params=(
        ['local_direct', 'ssh_direct', 'ssh_torque-6']
        + ['ssh_slurm-' + v for v in SLURM_VERSIONS]
        + ['flakyssh_direct', 'flakyssh_slurm-17-11']))
def scheduler_and_fs(
        request: Any, ssh_terminal: SshTerminal,
        password_credential: PasswordCredential
        ) -> Generator[tuple[Scheduler, FileSystem, str], None, None]:
    name = request.param
    if name == 'local_direct':
        yield DirectGnuScheduler(LocalTerminal()), LocalFileSystem(), name
        return
    if name == 'ssh_direct':
        with SftpFileSystem(ssh_terminal) as fs:
            yield DirectGnuScheduler(ssh_terminal), fs, name
        return

    host = {
        'ssh_torque-6': 'cerulean-test-torque-6',
        'flakyssh_direct': 'cerulean-test-flaky',
        'flakyssh_slurm-17-11': 'cerulean-test-flaky',
    }.get(name, 'cerulean-test-slurm-' + name[-5:])
    with _ssh(host, password_credential) as term:
        scheduler: Scheduler
        if name == 'ssh_torque-6':
            scheduler = TorqueScheduler(term)
        elif name == 'flakyssh_direct':
            scheduler = DirectGnuScheduler(term)
        else:
            scheduler = SlurmScheduler(term)
        with SftpFileSystem(term) as fs:
            yield scheduler, fs, name


@pytest.fixture(scope='module', params=[1, 2])
def procs_per_node(request: Any) -> int:
    return request.param


# --- how the run is spread over workers (pytest-xdist, --dist loadgroup) ------

def pytest_itemcollected(item: pytest.Item) -> None:
    """Group the tests so that those sharing files never run at once.

    The scheduler tests of one function share their output files in the
    test user's home (``test_sys_redirect2.err`` for every backend), so each
    function's backends run one after another, in one group; different
    functions use different files and run side by side. All other tests
    work in the one ``test_files`` tree and run in a single group. This
    only decides where a test runs: nothing is skipped, marked or changed.
    (Done as each test is collected: xdist reads the groups before other
    ``pytest_collection_modifyitems`` hooks run.)
    """
    module = item.nodeid.split('::')[0]
    if module.endswith('test_scheduler.py'):
        group = 'scheduler-' + getattr(item, 'originalname', item.name)
    else:
        group = 'files'
    item.add_marker(pytest.mark.xdist_group(group))
