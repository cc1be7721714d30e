"""The Scheduler interface (stub; full implementation follows)."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, Iterable, Optional

from cerulean.job_description import JobDescription
from cerulean.job_status import JobStatus


class Scheduler(ABC):
    """Interface for job schedulers."""

    @abstractmethod
    def submit(self, job_description: JobDescription) -> str:
        """Submit a job for execution."""

    @abstractmethod
    def get_status(self, job_id: str) -> JobStatus:
        """Look up the status of a job."""

    @abstractmethod
    def get_exit_code(self, job_id: str) -> Optional[int]:
        """Get the exit code of a finished job."""

    @abstractmethod
    def cancel(self, job_id: str) -> None:
        """Cancel a running job."""

    def get_statuses(self, job_ids: Iterable[str]) -> Dict[str, JobStatus]:
        """Look up the status of many jobs."""
        return {job_id: self.get_status(job_id) for job_id in job_ids}

    def wait(self, job_id: str, time_out: float = -1.0,
             interval: Optional[float] = None) -> Optional[int]:
        """Wait until the job is done."""
        raise NotImplementedError

    def wait_all(self, job_ids: Iterable[str], time_out: float = -1.0,
                 interval: Optional[float] = None) -> Dict[str, Optional[int]]:
        """Wait until all jobs are done."""
        raise NotImplementedError
