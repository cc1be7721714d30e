"""Plugins and the user configuration, as in neuro_sdk.

Packages extend the client through the ``neuro_api`` entry-point group (the
neuro command line registers its ``user.toml`` parameters and its version
checks there): each entry point is called with a :class:`PluginManager`.
The user configuration, ``user.toml`` in the configuration directory merged
with ``.neuro.toml`` of the project (the nearest directory from the current
one up that has it), is read and validated against what the plugins defined,
with neuro_sdk's rules (:func:`load_user_config`).
"""
from __future__ import annotations

import enum
import logging
import numbers
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Union, cast

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11
    import tomli as tomllib

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "neuro_api"
"""The entry-point group of plugins (neuro_sdk's)."""

USER_CONFIG_FILE_NAME = "user.toml"
PROJECT_CONFIG_FILE_NAME = ".neuro.toml"

_CMD_RE = re.compile("[A-Za-z][A-Za-z0-9-]*")


class ConfigScope(enum.Flag):
    """Where a user-configuration parameter may be set: ``GLOBAL``
    (``user.toml``), ``LOCAL`` (a project's ``.neuro.toml``) or ``ALL``."""

    GLOBAL = enum.auto()
    LOCAL = enum.auto()
    ALL = GLOBAL | LOCAL


_ParamType = Union[type, tuple[type, type]]


class ConfigBuilder:
    """Defines the parameters a plugin adds to the user configuration:
    ``define_<type>(section, name, scope=...)``."""

    def __init__(self) -> None:
        self._config_spec: dict[str, dict[str, tuple[_ParamType, ConfigScope]]] = {}

    def _define_param(self, section: str, name: str, type: _ParamType,
                      scope: ConfigScope) -> None:
        if section == "alias":
            raise ConfigError("Registering aliases is not supported yet.")
        if name in self._config_spec.get(section, {}):
            raise ConfigError(f"Config parameter {section}.{name} already registered")
        self._config_spec.setdefault(section, {})[name] = (type, scope)

    def _get_spec(self, scope: ConfigScope = ConfigScope.ALL
                  ) -> Mapping[str, Mapping[str, _ParamType]]:
        return {section: {name: val[0] for name, val in body.items() if val[1] & scope}
                for section, body in self._config_spec.items()}

    def define_int(self, section: str, name: str, *,
                   scope: ConfigScope = ConfigScope.ALL) -> None:
        """Define an integer parameter ``section.name``."""
        self._define_param(section, name, numbers.Integral, scope)

    def define_bool(self, section: str, name: str, *,
                    scope: ConfigScope = ConfigScope.ALL) -> None:
        """Define a boolean parameter ``section.name``."""
        self._define_param(section, name, bool, scope)

    def define_str(self, section: str, name: str, *,
                   scope: ConfigScope = ConfigScope.ALL) -> None:
        """Define a string parameter ``section.name``."""
        self._define_param(section, name, str, scope)

    def define_float(self, section: str, name: str, *,
                     scope: ConfigScope = ConfigScope.ALL) -> None:
        """Define a number parameter ``section.name``."""
        self._define_param(section, name, numbers.Real, scope)

    def define_int_list(self, section: str, name: str, *,
                        scope: ConfigScope = ConfigScope.ALL) -> None:
        """Define a parameter ``section.name`` holding a list of integers."""
        self._define_param(section, name, (list, numbers.Integral), scope)

    def define_bool_list(self, section: str, name: str, *,
                         scope: ConfigScope = ConfigScope.ALL) -> None:
        """Define a parameter ``section.name`` holding a list of booleans."""
        self._define_param(section, name, (list, bool), scope)

    def define_str_list(self, section: str, name: str, *,
                        scope: ConfigScope = ConfigScope.ALL) -> None:
        """Define a parameter ``section.name`` holding a list of strings."""
        self._define_param(section, name, (list, str), scope)

    def define_float_list(self, section: str, name: str, *,
                          scope: ConfigScope = ConfigScope.ALL) -> None:
        """Define a parameter ``section.name`` holding a list of numbers."""
        self._define_param(section, name, (list, numbers.Real), scope)


@dataclass(frozen=True)
class _VersionRecord:
    package: str
    update_text: Callable[[str, str], str]
    exclusive: bool
    delay: float


class VersionChecker:
    """Where plugins register the packages whose new releases a client
    announces (``PluginManager.version_checker``)."""

    def __init__(self) -> None:
        self._records: dict[str, _VersionRecord] = {}
        self._has_exclusive = False

    def register(self, package: str, update_text: Callable[[str, str], str], *,
                 exclusive: bool = False, delay: float = 0) -> None:
        """Register ``package``; ``update_text(current, new)`` says how to
        update. An ``exclusive`` record replaces all others."""
        record = _VersionRecord(package, update_text, exclusive, delay)
        if exclusive:
            if self._has_exclusive:
                package = next(iter(self._records))
                raise ConfigError(f"Exclusive record for package {package} already exists")
            self._records = {package: record}
            self._has_exclusive = True
        elif not self._has_exclusive:
            self._records[package] = record


class PluginManager:
    """What a ``neuro_api`` entry point receives: :attr:`config` to define
    user-configuration parameters, :attr:`version_checker` to register
    packages."""

    def __init__(self) -> None:
        self._config = ConfigBuilder()
        self._version_checker = VersionChecker()

    @property
    def config(self) -> ConfigBuilder:
        """The :class:`ConfigBuilder` of the user configuration."""
        return self._config

    @property
    def version_checker(self) -> VersionChecker:
        """The :class:`VersionChecker` registry."""
        return self._version_checker


def load_plugins() -> PluginManager:
    """A :class:`PluginManager` after calling every installed plugin.

    A plugin that cannot be imported is skipped with a warning: neuro-cli's
    imports ``neuro_sdk``, which outside ``neuro-hpc`` may not be installed,
    and that must not stop a script that never uses the CLI.
    """
    manager = PluginManager()
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            setup = entry_point.load()
        except ImportError as e:
            log.warning("plugin %s (%s) skipped: %s", entry_point.name, entry_point.value, e)
            continue
        setup(manager)
    return manager


class ClientVersionChecker:
    """``Client.version_checker``: reports no outdated package.

    neuro_sdk asks PyPI, in the background, for new releases of the
    registered packages. This package makes no network requests of its own,
    so nothing is ever reported outdated.
    """

    async def get_outdated(self) -> dict[str, str]:
        """Packages that can be updated, with how: always empty here."""
        return {}

    async def update(self) -> None:
        """Refresh the release information: nothing to do here."""


def find_project_root(path: Path | None = None) -> Path:
    """The nearest directory from ``path`` (default: the current one) up
    that holds ``.neuro.toml``.

    :raises ConfigError: if there is none.
    """
    start = Path.cwd() if path is None else path
    here = start
    while here.parent != here:
        if (here / PROJECT_CONFIG_FILE_NAME).exists():
            return here
        here = here.parent
    raise ConfigError(f"Project root is not found for {start}")


def load_user_config(plugins: PluginManager, config_dir: Path) -> Mapping[str, Any]:
    """The user configuration: ``config_dir/user.toml`` merged with the
    project's ``.neuro.toml`` (which wins), as neuro_sdk reads them.

    :raises ConfigError: if a file is not valid TOML, or sets a section or
        parameter no plugin defined, or a value of the wrong type; or if
        ``user.toml`` sets ``job.cluster-name`` or ``job.org-name`` (only a
        project file may).
    """
    filename = config_dir / USER_CONFIG_FILE_NAME
    config: Mapping[str, Any] = {}
    if filename.exists():
        if not filename.is_file():
            raise ConfigError(f"User config {filename} should be a regular file")
        config = _load_file(plugins, filename, local=False)
    try:
        project_root = find_project_root()
    except ConfigError:
        return config
    local = _load_file(plugins, project_root / PROJECT_CONFIG_FILE_NAME, local=True)
    return _merge(config, local)


def _load_file(plugins: PluginManager, filename: Path, *, local: bool) -> Mapping[str, Any]:
    try:
        with open(filename, "rb") as file:
            config = tomllib.load(file)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{filename}: {exc}") from exc
    _validate(plugins, config, filename, local=local)
    return config


def _merge(older: Mapping[str, Any], newer: Mapping[str, Any]) -> Mapping[str, Any]:
    """``newer`` over ``older``, nested tables merged key by key."""
    ret: dict[str, Any] = dict(older)
    for key, new_val in newer.items():
        val = older.get(key)
        if isinstance(new_val, Mapping) and isinstance(val, Mapping):
            ret[key] = _merge(val, new_val)
        else:
            ret[key] = new_val
    return ret


def _validate(plugins: PluginManager, config: Mapping[str, Any], filename: Path, *,
              local: bool) -> None:
    if not local:
        job = config.get("job", {})
        if "cluster-name" in job:
            raise ConfigError(
                f"{filename}: cluster name is not allowed in global user config file, "
                "use 'neuro config switch-cluster' for changing the default cluster name")
        if "org-name" in job:
            raise ConfigError(
                f"{filename}: org name is not allowed in global user config file, "
                "use 'neuro config switch-org' for changing the default org name")
    spec = plugins.config._get_spec(ConfigScope.ALL if local else ConfigScope.GLOBAL)
    valid = set(spec) | {"alias"}
    extra = config.keys() - valid
    if extra:
        raise ConfigError(f"{filename}: unsupported config sections: {extra!r}")
    for name in valid:
        section = config.get(name, {})
        if not isinstance(section, dict):
            raise ConfigError(f"{filename}: {name!r} should be a section, got {section!r}")
    for section_name, params in spec.items():
        section = config.get(section_name)
        if section is None:
            continue
        unknown = section.keys() - params.keys()
        if unknown:
            names = ", ".join(f"{section_name}.{name}" for name in sorted(unknown))
            raise ConfigError(f"{filename}: unknown parameters {names}")
        for name, validator in params.items():
            if section.get(name) is not None:
                _check_item(section[name], validator, f"{section_name}.{name}", filename)
    for key, value in config.get("alias", {}).items():
        if not _CMD_RE.fullmatch(key):
            raise ConfigError(f"{filename}: invalid alias name {key}")
        if not isinstance(value, dict):
            raise ConfigError(
                f"{filename}: invalid alias command type {type(value)}, run 'neuro help "
                "aliases' for getting info about specifying aliases in config files")


def _check_item(val: Any, validator: _ParamType, full_name: str, filename: Path) -> None:
    if isinstance(validator, tuple):
        container_type, item_type = validator
        if not isinstance(val, container_type):
            raise ConfigError(f"{filename}: invalid type for {full_name}, "
                              f"{container_type.__name__} is expected")
        for num, item in enumerate(cast("list[Any]", val)):
            _check_item(item, item_type, f"{full_name}[{num}]", filename)
    elif not isinstance(val, validator):
        raise ConfigError(
            f"{filename}: invalid type for {full_name}, {validator.__name__} is expected")
