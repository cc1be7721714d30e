"""The Jobs API against the introspected neuro_sdk 22.7.1 snapshot: every
Jobs name exists with the same parameters (names, order, kinds, defaults,
including the underscore ones), the same kind of call, frozen dataclasses
with the same fields, enums with the same members and values, and the
documented helpers behave as neuro_sdk's."""
from __future__ import annotations

import dataclasses
import enum
import inspect
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from yarl import URL

import neuro_compat
from neuro_compat import JobStatus
from tests.neuro_compat.neuro_snapshot_helpers import (
    check_params,
    resolve,
    resolve_item,
    snapshot_items,
)


def test_every_jobs_name_has_its_shape() -> None:
    checked = 0
    for key, item in snapshot_items(jobs=True).items():
        obj = resolve_item(item) if item["type"] in ("class", "member") else None
        if item["type"] == "class":
            assert inspect.isclass(obj), key
            if item["dataclass"]:
                assert dataclasses.is_dataclass(obj), key
                assert obj.__dataclass_params__.frozen, key  # type: ignore[attr-defined]
                assert [f.name for f in dataclasses.fields(obj)] == [
                    p["name"] for p in item["constructor"]["params"]], key
                check_params(key, item["constructor"]["params"], obj)
            for base in item["bases"]:
                module, _, cls_name = base.rpartition(".")
                if module in ("builtins", "enum"):
                    source = enum if module == "enum" else __import__("builtins")
                    base_cls = getattr(source, cls_name, None)  # ReprEnum is 3.11+
                    assert base_cls is None or issubclass(obj, base_cls), key
        elif item["type"] == "member":
            if item.get("binding") == "property":
                assert isinstance(obj, property), f"{key} must be a property"
            elif item.get("binding") == "classmethod":
                assert isinstance(obj, classmethod), f"{key} must be a classmethod"
            elif "signature" in item and not item.get("defined_in_stdlib"):
                check_params(key, item["signature"]["params"], obj)
                kind = item["call"]["kind"]
                if kind == "coroutine":
                    assert inspect.iscoroutinefunction(obj), f"{key} must be a coroutine"
                elif kind == "async-cm":
                    assert not inspect.iscoroutinefunction(obj), key
        elif item["type"] == "enum_member":
            assert item["lookup"]["name"] in resolve(item["lookup"]["path"]).__members__
        elif item["type"] == "field":
            owner = resolve(item["lookup"]["path"])
            assert item["lookup"]["name"] in [f.name for f in dataclasses.fields(owner)]
        checked += 1
    assert checked > 100


def test_job_status_helpers_as_documented() -> None:
    assert JobStatus("running") is JobStatus.RUNNING and str(JobStatus.FAILED) == "failed"
    assert JobStatus.items() == set(JobStatus) - {JobStatus.UNKNOWN}
    assert JobStatus.active_items() == {JobStatus.PENDING, JobStatus.SUSPENDED,
                                        JobStatus.RUNNING}
    assert JobStatus.finished_items() == {JobStatus.SUCCEEDED, JobStatus.CANCELLED,
                                          JobStatus.FAILED}
    assert [s for s in JobStatus if s.is_pending] == [JobStatus.PENDING, JobStatus.SUSPENDED]
    assert [s for s in JobStatus if s.is_running] == [JobStatus.RUNNING]
    assert {s for s in JobStatus if s.is_finished} == JobStatus.finished_items()
    assert str(neuro_compat.JobRestartPolicy.ON_FAILURE) == "on-failure"
    assert neuro_compat.JobPriority.HIGH > neuro_compat.JobPriority.NORMAL


def test_dataclass_helpers() -> None:
    resources = neuro_compat.Resources(memory=3 * 2**20, cpu=0.5)
    assert resources.memory_mb == 3 and resources.shm is True
    telemetry = neuro_compat.JobTelemetry(cpu=0.5, memory_bytes=2**21, timestamp=1.0)
    assert telemetry.memory == 2.0 and telemetry.gpu_memory is None
    created = datetime(2022, 7, 1, tzinfo=timezone.utc)
    history = neuro_compat.JobStatusHistory(JobStatus.PENDING, "", "", created_at=created)
    assert history.changed_at == created
    container = neuro_compat.Container(neuro_compat.RemoteImage("ubuntu", "latest"),
                                       resources)
    assert (container.env, container.volumes, container.tty) == ({}, [], False)
    job = neuro_compat.JobDescription(
        id="job-x", owner="u", cluster_name="c", status=JobStatus.PENDING, history=history,
        container=container, scheduler_enabled=False, pass_config=False,
        uri=URL("job://c/u/job-x"), total_price_credits=Decimal(0),
        price_credits_per_hour=Decimal(0))
    assert job.http_url == URL("") and job.tags == () and job.life_span is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError, match="no public constructor"):
        neuro_compat.Jobs()
