"""A job's status from its facts: the registry, the wrapper's events and the
scheduler's answer (pure functions, no I/O).

What the wrapper script recorded comes first, because it outlives the
scheduler's memory and says why a job ended; the scheduler is needed only
while the job has not exited, to tell queued from running, and to notice a
job that ended without its wrapper recording it (stopped by the scheduler,
its node lost).

========================================  ==========  ===================
facts                                     status      reason
========================================  ==========  ===================
exited after the life span ran out        FAILED      ``LifeSpanEnded``
exited after ``kill``                     CANCELLED   ``Cancelled``
exited with code 0                        SUCCEEDED   ``Completed``
exited with another code                  FAILED      ``Error``
scheduler done, no exit, life span ended  FAILED      ``LifeSpanEnded``
scheduler done, no exit, after ``kill``   CANCELLED   ``Cancelled``
scheduler done, no exit, started          FAILED      ``Killed``
scheduler done, never started             FAILED      ``NotStarted``
started                                   RUNNING
scheduler says running, not started yet   PENDING     ``Starting``
otherwise                                 PENDING     ``Scheduling``
========================================  ==========  ===================

A ``kill`` that came after the command had already exited does not make
the job CANCELLED: it ended by itself.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

from yarl import URL

import cerulean

from .record import JobRecord, JobState
from .registry import Progress
from .types import (
    HTTPPort,
    JobDescription,
    JobDescriptionInternal,
    JobStatus,
    JobStatusHistory,
    JobStatusItem,
)

# Clocks of client and node may differ a little; a kill this close to the
# exit counts as having caused it.
_CLOCK_SLACK = 1.0


def derive(record: JobRecord, progress: Progress,
           scheduler_status: cerulean.JobStatus | None, *, now: float,
           limit: float | None, scheduler_exit_code: int | None = None,
           scheduler_message: str = "") -> JobState:
    """The status of a job that has no final state yet.

    :param record: what was submitted.
    :param progress: the wrapper's events and the kill request, read after
        the scheduler was asked.
    :param scheduler_status: the scheduler's answer (None if not asked).
    :param now: the current time, for jobs found ended just now.
    :param limit: the life span in seconds as it stands, or None.
    :param scheduler_exit_code: the exit code the scheduler reports, used
        only when the wrapper recorded none.
    :param scheduler_message: the end of the scheduler's messages for the
        job, for the description of a job that ended unexpectedly.
    """
    ev = progress.events
    cancel = progress.cancel_at
    base = JobState(JobStatus.PENDING, started_at=ev.started_at, node=ev.node,
                    host=ev.host, pid=ev.pid)

    def ended(status: JobStatus, reason: str, text: str, exit_code: int | None,
              finished_at: float | None) -> JobState:
        return replace(base, status=status, reason=reason, description=text,
                       exit_code=exit_code, finished_at=finished_at)

    if ev.exit_code is not None:
        code, at = ev.exit_code, ev.finished_at
        if ev.timed_out_at is not None:
            return ended(JobStatus.FAILED, "LifeSpanEnded", _life_span_text(limit), code, at)
        if cancel is not None and (at is None or cancel <= at + _CLOCK_SLACK):
            return ended(JobStatus.CANCELLED, "Cancelled", _KILLED, code, at)
        if code == 0:
            return ended(JobStatus.SUCCEEDED, "Completed", "The command exited with code 0",
                         code, at)
        return ended(JobStatus.FAILED, "Error", f"The command exited with code {code}",
                     code, at)
    if scheduler_status == cerulean.JobStatus.DONE:
        sched_code = scheduler_exit_code
        message = f": {scheduler_message.strip()}" if scheduler_message.strip() else ""
        if ev.timed_out_at is not None:
            return ended(JobStatus.FAILED, "LifeSpanEnded", _life_span_text(limit), sched_code,
                         ev.timed_out_at)
        if cancel is not None:
            return ended(JobStatus.CANCELLED, "Cancelled", _KILLED, sched_code,
                         max(cancel, ev.started_at or cancel))
        if ev.started_at is None:
            return ended(JobStatus.FAILED, "NotStarted",
                         "The scheduler ended the job before its command started"
                         + message, sched_code, now)
        if limit is not None and now - ev.started_at >= limit:
            return ended(JobStatus.FAILED, "LifeSpanEnded", _life_span_text(limit), sched_code,
                         now)
        return ended(JobStatus.FAILED, "Killed",
                     "The job ended without its command reporting an exit code: the "
                     "scheduler stopped it (memory or time limit, node failure, or "
                     f"cancelled outside neuro_compat){message}", sched_code, now)
    if ev.started_at is not None:
        return replace(base, status=JobStatus.RUNNING)
    if scheduler_status == cerulean.JobStatus.RUNNING:
        # Running for the scheduler (prolog, setting up), but the command
        # has not started yet: nothing can be run beside it or sampled.
        return replace(base, reason="Starting", description=_STARTING)
    return replace(base, reason="Scheduling", description=_QUEUED)


_KILLED = "The job was killed (Jobs.kill)"
_QUEUED = "Waiting in the scheduler's queue"
_STARTING = "The scheduler has started the job; its command is starting"


def _life_span_text(limit: float | None) -> str:
    span = f" of {limit:g} s" if limit is not None else ""
    return f"The job ran longer than its life span{span} and was stopped"


def description(record: JobRecord, state: JobState, *, now: float) -> JobDescription:
    """The neuro_sdk JobDescription of a job in a given state.

    :param record: what was submitted.
    :param state: its status.
    :param now: the current time (run time of a running job).
    """
    created = _time(record.created_at)
    started = _time(state.started_at) if state.started_at is not None else None
    finished = _time(state.finished_at) if state.finished_at is not None else None
    transitions = [JobStatusItem(JobStatus.PENDING, created, "Scheduling")]
    if started is not None:
        transitions.append(JobStatusItem(JobStatus.RUNNING, started))
    if state.status.is_finished:
        transitions.append(JobStatusItem(state.status, finished or created, state.reason,
                                         state.description, state.exit_code))
    run_time = None
    if state.started_at is not None:
        end = state.finished_at if state.finished_at is not None else now
        run_time = max(0, int(end - state.started_at))
    history = JobStatusHistory(
        status=state.status, reason=state.reason, description=state.description,
        restarts=0, created_at=created, started_at=started, finished_at=finished,
        run_time_seconds=run_time, exit_code=state.exit_code, transitions=transitions)
    return JobDescription(
        id=record.id, owner=record.owner, cluster_name=record.cluster_name,
        status=state.status, history=history, container=record.container,
        scheduler_enabled=False, pass_config=False,
        uri=URL.build(scheme="job", host=record.cluster_name,
                      path=f"/{record.owner}/{record.id}"),
        total_price_credits=Decimal(0), price_credits_per_hour=Decimal(0),
        name=record.name, tags=record.tags, description=record.description,
        http_url=http_url(record.container.http, state),
        internal_hostname=state.node, life_span=state.life_span,
        preset_name=record.preset_name,
        _internal=JobDescriptionInternal(materialized=True))


def http_url(http: HTTPPort | None, state: JobState) -> URL:
    """Where a job's HTTP server is: ``http://<node>:<port>`` while it runs
    on a known node, reachable from the cluster's network (there is no
    ingress; from elsewhere, ``Jobs.port_forward``); an empty URL otherwise,
    as neuro_sdk has for a job without one."""
    if http is None or not state.status.is_running or not state.node:
        return URL()
    return URL.build(scheme="http", host=state.node, port=http.port)


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, timezone.utc)
