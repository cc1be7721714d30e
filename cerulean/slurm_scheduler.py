"""SlurmScheduler (stub; full implementation follows)."""
from __future__ import annotations

from typing import Optional

from cerulean.job_description import JobDescription
from cerulean.job_status import JobStatus
from cerulean.scheduler import Scheduler
from cerulean.terminal import Terminal


class SlurmScheduler(Scheduler):
    """SlurmScheduler (stub)."""

    def __init__(self, terminal: Terminal, prefix: str = "") -> None:
        """Create a scheduler talking through terminal."""
        self._terminal = terminal
        self._prefix = prefix

    def submit(self, job_description: JobDescription) -> str:
        """Submit a job for execution."""
        raise NotImplementedError

    def get_status(self, job_id: str) -> JobStatus:
        """Look up the status of a job."""
        raise NotImplementedError

    def get_exit_code(self, job_id: str) -> Optional[int]:
        """Get the exit code of a finished job."""
        raise NotImplementedError

    def cancel(self, job_id: str) -> None:
        """Cancel a running job."""
        raise NotImplementedError
