"""The cerulean module is the main API for Cerulean.

This module contains all the functions you need to use Cerulean: terminals
to run commands locally or over SSH, file systems and paths to work with
local, SFTP and WebDAV files, ``copy()`` to move data between them, and
schedulers to run jobs directly, on Slurm or on Torque/PBS.
"""
import logging

__version__ = "1.1.0.dev0"

logger = logging.getLogger(__name__)
"""The Cerulean root logger. Use this to set Cerulean's log level."""

from cerulean.credential import (  # noqa: E402
    AgentCredential,
    Credential,
    DefaultKeysCredential,
    PasswordCredential,
    PubKeyCredential,
)
from cerulean.terminal import Terminal  # noqa: E402
from cerulean.local_terminal import LocalTerminal  # noqa: E402
from cerulean.ssh_terminal import (  # noqa: E402
    AuthenticationError,
    HostKeyChangedError,
    HostKeyError,
    SshTerminal,
    UnknownHostKeyError,
)
from cerulean.file_system import FileSystem, UnsupportedOperationError  # noqa: E402
from cerulean.path import EntryType, FileStat, Path, Permission  # noqa: E402
from cerulean.local_file_system import LocalFileSystem  # noqa: E402
from cerulean.sftp_file_system import SftpFileSystem  # noqa: E402
from cerulean.webdav_file_system import WebdavFileSystem  # noqa: E402
from cerulean.copy_files import CopyCallback, copy  # noqa: E402
from cerulean.job_description import JobDescription  # noqa: E402
from cerulean.job_status import JobStatus  # noqa: E402
from cerulean.scheduler import Scheduler  # noqa: E402
from cerulean.direct_gnu_scheduler import DirectGnuScheduler  # noqa: E402
from cerulean.slurm_scheduler import SlurmScheduler  # noqa: E402
from cerulean.torque_scheduler import TorqueScheduler  # noqa: E402
from cerulean.factory import make_file_system, make_scheduler, make_terminal  # noqa: E402

__all__ = [
    "__version__",
    "logger",
    "Credential",
    "PasswordCredential",
    "PubKeyCredential",
    "AgentCredential",
    "DefaultKeysCredential",
    "Terminal",
    "LocalTerminal",
    "SshTerminal",
    "AuthenticationError",
    "HostKeyError",
    "UnknownHostKeyError",
    "HostKeyChangedError",
    "FileSystem",
    "UnsupportedOperationError",
    "EntryType",
    "FileStat",
    "Path",
    "Permission",
    "LocalFileSystem",
    "SftpFileSystem",
    "WebdavFileSystem",
    "CopyCallback",
    "copy",
    "JobDescription",
    "JobStatus",
    "Scheduler",
    "DirectGnuScheduler",
    "SlurmScheduler",
    "TorqueScheduler",
    "make_file_system",
    "make_scheduler",
    "make_terminal",
]
