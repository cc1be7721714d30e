"""Reading the TOML tables of the cluster configuration: every getter checks
the value's type and range and raises :class:`~neuro_compat.ConfigError`
naming the file, the dotted key and the problem."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NoReturn

from ..errors import ConfigError


class TableReader:
    """Typed access to one TOML table, raising ConfigError with the key.

    :param origin: the file name (or a description), for messages.
    :param data: the table.
    :param prefix: the table's dotted name (``clusters.hpc.terminal``), for
        messages; ``""`` for the top level.
    """

    def __init__(self, origin: str, data: Mapping[str, Any], prefix: str) -> None:
        self.origin = origin
        self.data = data
        self.prefix = prefix

    def fail(self, key: str, problem: str) -> NoReturn:
        name = f"{self.prefix}.{key}" if key and self.prefix else key or self.prefix
        raise ConfigError(f"{self.origin}: {name or '<top level>'}: {problem}")

    def names(self) -> list[str]:
        return list(self.data)

    def only(self, *allowed: str) -> None:
        for key in self.data:
            if key not in allowed:
                if key == "password":
                    self.fail(key, "passwords are never stored in the configuration; "
                              "put it in an environment variable and name that "
                              "variable with password_env")
                self.fail(key, f"unknown key (known keys here: {', '.join(allowed)})")

    def _get(self, key: str, required: bool) -> Any:
        if key not in self.data:
            if required:
                self.fail(key, "required key is missing")
            return None
        return self.data[key]

    def table(self, key: str, required: bool = False) -> TableReader:
        value = self._get(key, required)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.fail(key, f"must be a table, not {type(value).__name__}")
        name = f"{self.prefix}.{key}" if self.prefix else key
        return TableReader(self.origin, value, name)

    def string(self, key: str, required: bool = False, allow_empty: bool = False) -> Any:
        value = self._get(key, required)
        if value is not None and (not isinstance(value, str)
                                  or not (value or allow_empty)):
            self.fail(key, f"must be a non-empty string, not {value!r}")
        return value

    def string_list(self, key: str) -> list[str]:
        value = self._get(key, False)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, f"must be a list of strings, not {value!r}")
        return list(value)

    def env_name(self, key: str) -> str | None:
        value: str | None = self.string(key)
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            self.fail(key, f"must name an environment variable, not '{value}'")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, not {value!r}")
        return bool(value)

    def integer(self, key: str, default: int | None, *, minimum: int,
                maximum: int | None = None, required: bool = False) -> Any:
        value = self._get(key, required)
        if value is None:
            return default
        if (not isinstance(value, int) or isinstance(value, bool) or value < minimum
                or (maximum is not None and value > maximum)):
            bound = f" and {maximum}" if maximum is not None else " or more"
            self.fail(key, f"must be an integer between {minimum}{bound}, not {value!r}"
                      if maximum is not None else
                      f"must be an integer, {minimum}{bound}, not {value!r}")
        return value

    def number(self, key: str, default: float | None, *, minimum: float,
               required: bool = False) -> Any:
        value = self._get(key, required)
        if value is None:
            return default
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < minimum:
            self.fail(key, f"must be a number, at least {minimum}, not {value!r}")
        return float(value)

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None,
               required: bool = False) -> Any:
        value = self._get(key, required)
        if value is None:
            return default
        if value not in choices:
            self.fail(key, f"must be one of {', '.join(repr(c) for c in choices)}, "
                      f"not {value!r}")
        return value
