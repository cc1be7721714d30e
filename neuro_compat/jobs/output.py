"""Following a job's output as it is written (``monitor`` and ``attach``)."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

from .cluster import ClusterJobs
from .registry import Entry

POLL_MIN = 0.05
"""Seconds between polls while the output grows."""
POLL_MAX = 1.0
"""Seconds between polls at most, while it does not."""
SCHEDULER_CHECK = 3.0
"""Seconds between scheduler checks for a job that ended without a trace."""


def output_size(jobs: ClusterJobs, job_id: str) -> int:
    """How many bytes of output the job has written so far (blocking)."""
    try:
        return jobs.session.host_fs()._size(jobs.registry.output(job_id))
    except FileNotFoundError:
        return 0  # not started yet


async def follow(jobs: ClusterJobs, entry: Entry, *, offset: int = 0
                 ) -> AsyncGenerator[bytes, None]:
    """The job's output as it is written, until the job has ended: all of
    it, or what it writes from ``offset`` on (with :func:`output_size`:
    from now on, as an attach to a container's streams sees it).

    Polls the output file (quickly while it grows, backing off to once a
    second while it does not), the wrapper's events for the command's exit,
    and every few seconds the scheduler, for a job that ended without its
    wrapper saying so. No worker thread is held between polls.
    """
    bridge = jobs.session.bridge
    job_id = entry.record.id
    over = entry.final is not None
    delay = POLL_MIN
    last_check = time.monotonic()
    while True:
        data = await bridge.run(jobs.read_output, job_id, offset)
        if data:
            offset += len(data)
            delay = POLL_MIN
            yield data
            continue
        if over:
            return  # ended, and everything it wrote has been read
        if await bridge.run(jobs.exited, job_id):
            over = True
            continue
        if time.monotonic() - last_check >= SCHEDULER_CHECK:
            last_check = time.monotonic()
            snap = await bridge.run(jobs.snapshot, entry)
            if snap.state.status.is_finished:
                over = True
                continue
        await asyncio.sleep(delay)
        delay = min(delay * 2, POLL_MAX)
