"""The cerulean module is the main API for Cerulean.

This module contains all the functions you need to use Cerulean: terminals
to run commands locally or over SSH, file systems and paths to work with
local, SFTP and WebDAV files, ``copy()`` to move data between them, and
schedulers to run jobs directly, on Slurm, on Torque/PBS or on Grid Engine.
"""
import logging

__version__ = "1.1.0.dev0"

logger = logging.getLogger(__name__)
"""The Cerulean root logger. Use this to set Cerulean's log level."""

from cerulean.copy_files import CopyCallback, copy
from cerulean.credential import (
    AgentCredential,
    Credential,
    DefaultKeysCredential,
    InteractiveCredential,
    PasswordCredential,
    PubKeyCredential,
    TotpResponder,
)
from cerulean.direct_gnu_scheduler import DirectGnuScheduler
from cerulean.factory import make_file_system, make_scheduler, make_terminal
from cerulean.file_system import FileSystem, UnsupportedOperationError
from cerulean.grid_engine_scheduler import GridEngineScheduler
from cerulean.job_description import JobDescription
from cerulean.job_status import JobStatus
from cerulean.local_file_system import LocalFileSystem
from cerulean.local_terminal import LocalTerminal
from cerulean.path import EntryType, FileStat, Path, Permission
from cerulean.scheduler import Scheduler, SchedulerError
from cerulean.sftp_file_system import SftpFileSystem
from cerulean.slurm_scheduler import SlurmScheduler
from cerulean.ssh_terminal import (
    AuthenticationError,
    HostKeyChangedError,
    HostKeyError,
    SshTerminal,
    UnknownHostKeyError,
)
from cerulean.terminal import Terminal
from cerulean.torque_scheduler import TorqueScheduler
from cerulean.webdav_file_system import WebdavFileSystem

__all__ = [
    "AgentCredential",
    "AuthenticationError",
    "CopyCallback",
    "Credential",
    "DefaultKeysCredential",
    "DirectGnuScheduler",
    "EntryType",
    "FileStat",
    "FileSystem",
    "GridEngineScheduler",
    "HostKeyChangedError",
    "HostKeyError",
    "InteractiveCredential",
    "JobDescription",
    "JobStatus",
    "LocalFileSystem",
    "LocalTerminal",
    "PasswordCredential",
    "Path",
    "Permission",
    "PubKeyCredential",
    "Scheduler",
    "SchedulerError",
    "SftpFileSystem",
    "SlurmScheduler",
    "SshTerminal",
    "Terminal",
    "TorqueScheduler",
    "TotpResponder",
    "UnknownHostKeyError",
    "UnsupportedOperationError",
    "WebdavFileSystem",
    "__version__",
    "copy",
    "logger",
    "make_file_system",
    "make_scheduler",
    "make_terminal",
]
