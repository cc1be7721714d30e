"""The introspected neuro_sdk 22.7.1 snapshot that the API tests compare
neuro_compat against: its items, split into the Jobs names (checked by the
Jobs tests) and the rest, the lookup of an item's path in neuro_compat, and
the check of a signature against an item's parameters."""
from __future__ import annotations

import enum
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import neuro_compat

JOBS_NAMES = {"Jobs", "Container", "JobDescription", "JobStatus", "JobStatusHistory",
              "JobStatusItem", "JobTelemetry", "JobRestartPolicy", "JobPriority", "HTTPPort",
              "Resources", "StdStream", "Message"}


SNAPSHOT = Path(__file__).resolve().parents[1] / "fixtures" / "neuro" / "snapshot-neuro-sdk-22.7.1.json"
"""A copy of /work/shared/reference/snapshot-neuro-sdk-22.7.1.json (the
introspected PyPI neuro-sdk 22.7.1), kept in the repository for CI."""


def snapshot_items(jobs: bool) -> dict[str, Any]:
    """The snapshot's items of the Jobs names (``jobs``) or of all other
    names; skips the test if there is no snapshot."""
    if not SNAPSHOT.exists():
        pytest.skip(f"no snapshot at {SNAPSHOT}")
    items: dict[str, Any] = json.loads(SNAPSHOT.read_text())["items"]
    return {k: v for k, v in items.items()
            if (k.split(".")[1].split("(")[0] in JOBS_NAMES) == jobs}


def resolve(path: list[str]) -> Any:
    """The object at an item's lookup path in neuro_compat (class attributes
    as stored, so properties and classmethods stay recognisable)."""
    obj: Any = neuro_compat
    for part in path:
        obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
    return obj



def resolve_item(item: dict[str, Any]) -> Any:
    """The object in neuro_compat that an item names (a member by its own
    name in its owner, anything else by its lookup path)."""
    path = item["lookup"]["path"]
    if item["type"] == "member":
        path = path + [item["lookup"]["name"]]
    return resolve(path)

def default_matches(expected: dict[str, Any], actual: Any) -> bool:
    """Whether a default value is the one the snapshot describes.

    Literals, tuples, frozensets and enum members are compared; a client
    timeout by its repr; anything else (sentinels, factories,
    platform-internal values) only needs to be there.
    """
    if "literal" in expected:
        return bool(actual == expected["literal"])
    if expected.get("container") == "tuple":
        return bool(actual == tuple(expected["items"]))
    if expected.get("container") == "frozenset":
        return bool(actual == frozenset(expected["items"]))
    if "enum" in expected:
        return isinstance(actual, enum.Enum) and actual.name == expected["member"]
    if expected.get("type", "").endswith("ClientTimeout"):
        return repr(actual) == expected["repr"]
    return True


def check_params(name: str, expected: list[dict[str, Any]], func: Any, *,
                 underscored: bool = True) -> None:
    """Assert that ``func`` takes the snapshot's parameters: names, order,
    kinds and defaults (``self`` and ``cls`` aside).

    :param underscored: check the parameters whose names start with ``_``
        too; without it they, and neuro_sdk's ``trace_*`` ones, are left out.
    """
    left_out: tuple[str, ...] = () if underscored else ("_", "trace_")
    wanted = [p for p in expected if not p["name"].startswith(left_out)]
    # neuro_compat has no underscored parameters of its own to leave out.
    got = [p for p in inspect.signature(func).parameters.values()
           if p.name not in ("self", "cls") and not (left_out and p.name.startswith("trace_"))]
    assert [p.name for p in got] == [p["name"] for p in wanted], name
    for want, have in zip(wanted, got):
        assert have.kind.name == want["kind"], f"{name}({have.name}): kind"
        if want["default"] is None:
            assert have.default is inspect.Parameter.empty, f"{name}({have.name})"
        else:
            assert have.default is not inspect.Parameter.empty, f"{name}({have.name})"
            assert default_matches(want["default"], have.default), \
                f"{name}({have.name}) = {have.default!r}, not {want['default']}"
