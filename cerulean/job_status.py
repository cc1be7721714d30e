"""The states a job can be in, as a scheduler reports them."""
from __future__ import annotations

import enum


class JobStatus(enum.Enum):
    """The state of a job: waiting in a queue, running, or done.

    DONE covers every way a job can end (finished, failed, cancelled, killed
    at its time limit, lost with its node); the exit code tells them apart
    where the scheduler knows it.
    """

    WAITING = 1
    """The job is in the queue, waiting to start."""
    RUNNING = 2
    """The job is running."""
    DONE = 3
    """The job has finished, whether successfully or not."""
