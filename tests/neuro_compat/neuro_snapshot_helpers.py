"""The introspected neuro_sdk 22.7.1 snapshot that the API tests compare
neuro_compat against: its items, split into the Jobs names (checked by the
Jobs tests) and the rest, and the lookup of an item's path in neuro_compat."""
from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import neuro_compat

JOBS_NAMES = {"Jobs", "Container", "JobDescription", "JobStatus", "JobStatusHistory",
              "JobStatusItem", "JobTelemetry", "JobRestartPolicy", "JobPriority", "HTTPPort",
              "Resources", "StdStream", "Message"}


def snapshot_items(snapshot: Path, jobs: bool) -> dict[str, Any]:
    """The snapshot's items of the Jobs names (``jobs``) or of all other
    names; skips the test if there is no snapshot."""
    if not snapshot.exists():
        pytest.skip(f"no snapshot at {snapshot}")
    items: dict[str, Any] = json.loads(snapshot.read_text())["items"]
    return {k: v for k, v in items.items()
            if (k.split(".")[1].split("(")[0] in JOBS_NAMES) == jobs}


def resolve(path: list[str]) -> Any:
    """The object at an item's lookup path in neuro_compat (class attributes
    as stored, so properties and classmethods stay recognisable)."""
    obj: Any = neuro_compat
    for part in path:
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    return obj
