"""The public API against the introspected neuro_sdk 22.7.1 snapshot: every
name of the client, Storage, Parser, dataclasses, enums, progress classes and
errors exists, with the same parameters (names, order, kinds, defaults), the
same kind of call (coroutine or async context manager), frozen dataclasses
with the same fields, enums with the same members and errors with the same
bases. Jobs names are checked by the Jobs tests."""
from __future__ import annotations

import dataclasses
import enum
import importlib
import inspect
from pathlib import Path
from typing import Any

import neuro_compat
from tests.neuro_compat.neuro_snapshot_helpers import resolve, snapshot_items

# A copy of /work/shared/reference/snapshot-neuro-sdk-22.7.1.json (the
# introspected PyPI neuro-sdk 22.7.1), kept in the repository for CI.
SNAPSHOT = Path(__file__).resolve().parents[1] / "fixtures" / "neuro" / "snapshot-neuro-sdk-22.7.1.json"


def _items() -> dict[str, Any]:
    return snapshot_items(SNAPSHOT, jobs=False)


def _default_matches(expected: Any, actual: Any) -> bool:
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
    return True  # sentinels (org_name's) and factories: only presence matters


def _check_params(name: str, expected: list[dict[str, Any]], func: Any) -> None:
    params = [p for p in inspect.signature(func).parameters.values()
              if p.name not in ("self", "cls")]
    wanted = [p for p in expected if not p["name"].startswith("_")
              and not p["name"].startswith("trace_")]
    got = [p for p in params if not p.name.startswith("trace_")]
    assert [p.name for p in got] == [p["name"] for p in wanted], name
    for want, have in zip(wanted, got):
        assert have.kind.name == want["kind"], f"{name}({have.name}): kind"
        if want["default"] is None:
            assert have.default is inspect.Parameter.empty, f"{name}({have.name})"
        else:
            assert have.default is not inspect.Parameter.empty, f"{name}({have.name})"
            assert _default_matches(want["default"], have.default), \
                f"{name}({have.name}) = {have.default!r}, not {want['default']}"


def test_every_name_exists_with_its_shape() -> None:
    checked = 0
    for key, item in _items().items():
        path = item["lookup"]["path"]
        if item["type"] == "member":
            path = path + [item["lookup"]["name"]]
        elif item["type"] in ("field", "enum_member", "instance_attr"):
            continue  # checked with their class below
        obj = resolve(path)
        checked += 1
        if item["type"] == "class":
            assert inspect.isclass(obj), key
            for base in item["bases"]:
                module, _, cls_name = base.rpartition(".")
                if module == "builtins":
                    assert issubclass(obj, getattr(__import__("builtins"), cls_name)), key
                elif module == "enum":
                    assert issubclass(obj, getattr(enum, cls_name)), key
                elif module == "abc":
                    assert issubclass(obj, importlib.import_module("abc").ABC), key
            if item["dataclass"]:
                assert dataclasses.is_dataclass(obj), key
                params = dataclasses.fields(obj)
                assert obj.__dataclass_params__.frozen, f"{key} must be frozen"  # type: ignore[attr-defined]
                assert [f.name for f in params] == [
                    p["name"] for p in item["constructor"]["params"]], key
                _check_params(key, item["constructor"]["params"], obj)
            if item["abstract_methods"]:
                assert sorted(obj.__abstractmethods__) == sorted(item["abstract_methods"])
        elif item["type"] == "callable":
            _check_params(key, item["signature"]["params"], obj)
        elif item["type"] == "member":
            binding = item.get("binding")
            if binding == "property":
                assert isinstance(obj, property), f"{key} must be a property"
                continue
            if "signature" not in item or item.get("defined_in_stdlib"):
                continue
            func = obj.__func__ if isinstance(obj, (classmethod, staticmethod)) else obj
            _check_params(key, item["signature"]["params"], func)
            kind = item["call"]["kind"]
            if kind == "coroutine":
                assert inspect.iscoroutinefunction(func), f"{key} must be a coroutine"
            elif kind == "async-cm":
                assert not inspect.iscoroutinefunction(func), \
                    f"{key} must return an async context manager"
    assert checked > 80


def test_enum_members_and_dataclass_fields() -> None:
    for key, item in _items().items():
        owner = resolve(item["lookup"]["path"]) if item["type"] != "class" else None
        if item["type"] == "enum_member":
            assert item["lookup"]["name"] in owner.__members__, key
        elif item["type"] == "field":
            names = [f.name for f in dataclasses.fields(owner)]
            assert item["lookup"]["name"] in names, key


def test_values_of_enums_and_helpers() -> None:
    assert neuro_compat.Action("read") is neuro_compat.Action.READ
    assert neuro_compat.FileStatusType("SYMLINK") is neuro_compat.FileStatusType.SYMLINK
    assert neuro_compat.Action.WRITE == "write"  # a str enum, as in neuro_sdk
    assert neuro_compat.TagOption.DEFAULT.value == 3
    preset = neuro_compat.Preset(credits_per_hour=0, cpu=1, memory=2 * 2**20)  # type: ignore[arg-type]
    assert preset.memory_mb == 2
    error = neuro_compat.StdStreamError(3)
    assert error.exit_code == 3
