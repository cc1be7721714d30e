"""Checking the arguments of Jobs calls before anything reaches a cluster.

neuro_sdk parameters that mean nothing on an HPC cluster are refused with
:class:`~neuro_compat.NotSupportedError` naming the parameter and saying why
(see :func:`refuse`), so none is ignored silently; names, tags, variables and
life spans that could not be stored or passed safely raise ``ValueError``.
"""
from __future__ import annotations

import math
import re
from typing import Any

from ..errors import NotSupportedError
from .cluster import Submission

_NAME = r"[a-z](?:-?[a-z0-9])*"

WHY = {
    # why each refused parameter has no meaning here
    "secret_env": "there is no secrets service on HPC clusters; pass values with env "
                  "or keep them in files on the storage",
    "secret_files": "there is no secrets service on HPC clusters; keep secret files "
                    "on the storage",
    "disk_volumes": "there are no platform disks on HPC clusters; use storage volumes",
    "tty": "batch jobs run without a terminal",
    "privileged": "jobs run as your own user on the cluster",
    "pass_config": "there is no platform configuration to pass into a job",
    "wait_for_jobs_quota": "there are no job quotas; the scheduler queues jobs anyway",
    "schedule_timeout": "the scheduler keeps a job queued until it can run; there is "
                        "no scheduling timeout",
    "restart_policy": "batch schedulers never restart a job here (only "
                      "JobRestartPolicy.NEVER)",
    "priority": "job priorities are not offered (only None or JobPriority.NORMAL)",
    "scheduler_enabled": "there is no round-robin scheduling of jobs",
    "org_name": "organizations do not exist on HPC clusters",
    "tpu_type": "HPC clusters here offer no TPUs",
    "tpu_software_version": "HPC clusters here offer no TPUs",
    "since": "the job's log has no timestamps to filter by",
    "timestamps": "the job's log has no timestamps",
    "debug": "there is no debug output of the log stream",
    "no_key_check": "host keys are always checked (configure known_hosts instead)",
}


def refuse(where: str, **given: tuple[Any, bool]) -> None:
    """Raise NotSupportedError for the first parameter given a non-default
    value (each value comes with whether it is the default)."""
    for name, (value, is_default) in given.items():
        if not is_default:
            raise NotSupportedError(f"{where}: {name}={value!r} is not supported: "
                                    f"{WHY[name]}")




def life_span(value: float | None, what: str = "life_span") -> float | None:
    """``value`` as seconds, checked to be positive (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive number of seconds, not {value!r}")
    return float(value)


def check_submission(sub: Submission) -> None:
    """Refuse names, tags and variables that could not be stored or passed."""
    if sub.name is not None and (not re.fullmatch(_NAME, sub.name)
                                 or not 3 <= len(sub.name) <= 40):
        raise ValueError(f"Invalid job name {sub.name!r}: 3 to 40 lowercase letters, "
                         "digits and single dashes, starting with a letter")
    for tag in sub.tags:
        if not isinstance(tag, str) or not tag or "\n" in tag or "\r" in tag:
            raise ValueError(f"Invalid job tag {tag!r}: a non-empty, one-line string")
    for var, value in sub.container.env.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):
            raise ValueError(f"Invalid environment variable name {var!r}")
        if not isinstance(value, str) or "\n" in value or "\r" in value or "\0" in value:
            raise ValueError(f"Environment variable {var}: the value must be a one-line "
                             "string")
    wd = sub.container.working_dir
    if wd is not None and (not wd.startswith("/") or "\n" in wd or "\0" in wd):
        raise ValueError(f"working_dir must be an absolute path, not {wd!r}")
