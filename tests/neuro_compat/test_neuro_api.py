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

import neuro_compat
from tests.neuro_compat.neuro_snapshot_helpers import (
    check_params,
    resolve,
    resolve_item,
    snapshot_items,
)


def test_every_name_exists_with_its_shape() -> None:
    checked = 0
    for key, item in snapshot_items(jobs=False).items():
        if item["type"] in ("field", "enum_member", "instance_attr"):
            continue  # checked with their class below
        obj = resolve_item(item)
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
                check_params(key, item["constructor"]["params"], obj, underscored=False)
            if item["abstract_methods"]:
                assert sorted(obj.__abstractmethods__) == sorted(item["abstract_methods"])
        elif item["type"] == "callable":
            check_params(key, item["signature"]["params"], obj, underscored=False)
        elif item["type"] == "member":
            binding = item.get("binding")
            if binding == "property":
                assert isinstance(obj, property), f"{key} must be a property"
                continue
            if "signature" not in item or item.get("defined_in_stdlib"):
                continue
            func = obj.__func__ if isinstance(obj, (classmethod, staticmethod)) else obj
            check_params(key, item["signature"]["params"], func, underscored=False)
            kind = item["call"]["kind"]
            if kind == "coroutine":
                assert inspect.iscoroutinefunction(func), f"{key} must be a coroutine"
            elif kind == "async-cm":
                assert not inspect.iscoroutinefunction(func), \
                    f"{key} must return an async context manager"
    assert checked > 80


def test_enum_members_and_dataclass_fields() -> None:
    for key, item in snapshot_items(jobs=False).items():
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
