"""What the neuro command line takes from neuro_sdk: every name it imports
exists here (checked against the list in tests/fixtures/neuro, made from neuro-cli
22.7.1's sources by tests/fixtures/neuro/gen_neuro_cli_imports.py), and the pieces it
relies on behave as neuro-sdk 22.7.1's: FileFilter, gen_trace_id, the user
configuration, the version checker, login refused."""
from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest
from yarl import URL

import neuro_compat as neuro
from neuro_compat._admin import ADMIN_NAMES
from tests.neuro_compat.neuro_helpers import run

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "neuro" / "neuro_cli_imports.txt"


def cli_names() -> list[tuple[str, str]]:
    lines = DATA.read_text(encoding="utf-8").splitlines()
    return [(m, n) for m, _, n in (line.partition(":") for line in lines
                                   if line and not line.startswith("#"))]


def test_the_list_is_the_cli_s() -> None:
    names = cli_names()
    # neuro-cli 22.7.1 imports only from the package itself, no submodule.
    assert {module for module, _ in names} == {"neuro_sdk"}
    assert ("neuro_sdk", "gen_trace_id") in names and len(names) > 80


@pytest.mark.parametrize("name", [n for _, n in cli_names()])
def test_every_name_the_cli_imports_exists(name: str) -> None:
    if name in ADMIN_NAMES:
        module, theirs = ADMIN_NAMES[name]
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{name} is {module}.{theirs}; {module} is not installed")
        assert getattr(neuro, name) is getattr(importlib.import_module(module), theirs)
    else:
        assert hasattr(neuro, name)
        assert name in neuro.__all__


def test_gen_trace_id_is_time_then_random() -> None:
    before = int(time.time())
    ids = {neuro.gen_trace_id() for _ in range(10)}
    assert len(ids) == 10
    for trace_id in ids:
        assert len(trace_id) == 32 and int(trace_id, 16) >= 0
        assert before <= int(trace_id, 16) >> 96 <= int(time.time())


async def matches(filt: neuro.FileFilter, *paths: str) -> list[bool]:
    return [await filt.match(path) for path in paths]


def test_file_filter_last_pattern_decides() -> None:
    filt = neuro.FileFilter()
    filt.exclude("*.txt")
    filt.include("keep.txt")
    filt.exclude("build/")
    filt.exclude("/top.py")
    assert run(matches(filt, "a.txt", "d/e/b.txt", "keep.txt", "d/keep.txt", "a.py",
                       "build/", "x/build/", "build", "top.py", "d/top.py")) == [
        False, False, True, True, True, False, False, True, False, True]


def test_file_filter_double_star_and_classes() -> None:
    filt = neuro.FileFilter()
    filt.exclude("a/**/z")
    filt.exclude("[!m]?.log")
    assert run(matches(filt, "a/z", "a/b/c/z", "b/a/z", "xy.log", "my.log", "x.log")) == [
        False, False, True, False, True, True]


def test_file_filter_default_and_prefix() -> None:
    async def nothing(path: str) -> bool:
        return False

    filt = neuro.FileFilter(nothing)
    filt.include("*.py", prefix="src/")
    assert run(matches(filt, "src/a.py", "a.py", "src/b.txt")) == [True, False, False]
    with pytest.raises(ValueError, match="prefix must end with '/'"):
        filt.include("*.py", prefix="src")


def test_file_filter_read_from_file(tmp_path: Path) -> None:
    ignore = tmp_path / ".neuroignore"
    ignore.write_bytes(b"\xef\xbb\xbf# a comment\r\n*.tmp\r\n\n!important.tmp\nspace\\ \n"
                       b"trailing   \n")
    filt = neuro.FileFilter()
    filt.read_from_file(ignore)
    assert run(matches(filt, "x.tmp", "important.tmp", "space ", "trailing", "# a comment",
                       "other")) == [False, True, False, False, True, True]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty configuration directory (embedded default) and a project."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    (tmp_path / "conf").mkdir()
    (tmp_path / "project" / "sub").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "project" / "sub")
    return tmp_path / "conf"


def test_user_config_merges_user_toml_and_project(config_dir: Path) -> None:
    (config_dir / "user.toml").write_text(
        '[alias.lsl]\ncmd = "ls -l"\n[alias.st]\ncmd = "status"\n')
    factory = neuro.Factory(config_dir)
    assert run(factory.load_user_config()) == {
        "alias": {"lsl": {"cmd": "ls -l"}, "st": {"cmd": "status"}}}
    (config_dir.parent / "project" / ".neuro.toml").write_text(
        '[alias.st]\ncmd = "ps"\n')

    async def both() -> object:
        async with neuro.get(path=config_dir) as client:
            return await client.config.get_user_config()

    expected = {"alias": {"lsl": {"cmd": "ls -l"}, "st": {"cmd": "ps"}}}
    assert run(factory.load_user_config()) == expected
    assert run(both()) == expected


def test_user_config_errors_as_neuro_sdk_s(config_dir: Path) -> None:
    factory = neuro.Factory(config_dir)
    user = config_dir / "user.toml"
    user.write_text("[no-such-section]\nx = 1\n")
    with pytest.raises(neuro.ConfigError, match="unsupported config sections"):
        run(factory.load_user_config())
    user.write_text('[job]\ncluster-name = "other"\n')
    with pytest.raises(neuro.ConfigError, match="cluster name is not allowed"):
        run(factory.load_user_config())
    user.write_text("[alias]\n9bad = {cmd = 'ls'}\n")
    with pytest.raises(neuro.ConfigError, match="invalid alias name 9bad"):
        run(factory.load_user_config())
    user.write_text("not toml = = \n")
    with pytest.raises(neuro.ConfigError, match="user.toml"):
        run(factory.load_user_config())
    user.unlink()
    user.mkdir()
    with pytest.raises(neuro.ConfigError, match="should be a regular file"):
        run(factory.load_user_config())


def test_plugins_define_what_the_user_config_may_hold(tmp_path: Path) -> None:
    manager = neuro.PluginManager()
    manager.config.define_str_list("ps", "columns", scope=neuro.ConfigScope.GLOBAL)
    manager.config.define_int("job", "lifespan", scope=neuro.ConfigScope.LOCAL)
    with pytest.raises(neuro.ConfigError, match="already registered"):
        manager.config.define_int("job", "lifespan")
    from neuro_compat._plugins import load_user_config

    (tmp_path / "user.toml").write_text('[ps]\ncolumns = ["id", 2]\n')
    cwd = os.getcwd()
    os.chdir(tmp_path)  # no .neuro.toml above tmp_path
    try:
        with pytest.raises(neuro.ConfigError, match=r"ps.columns\[1\], str is expected"):
            load_user_config(manager, tmp_path)
        (tmp_path / "user.toml").write_text("[job]\nlifespan = 3\n")
        with pytest.raises(neuro.ConfigError, match="unknown parameters job.lifespan"):
            load_user_config(manager, tmp_path)  # LOCAL only: not in user.toml
    finally:
        os.chdir(cwd)


def test_version_checker_reports_nothing_outdated(config_dir: Path) -> None:
    async def main() -> object:
        async with neuro.get(path=config_dir) as client:
            await client.version_checker.update()
            return await client.version_checker.get_outdated()

    assert run(main()) == {}


@pytest.mark.parametrize("call", ["login", "login_headless", "login_with_token",
                                  "login_with_passed_config", "logout"])
def test_login_and_logout_are_not_supported(config_dir: Path, call: str) -> None:
    method = getattr(neuro.Factory(config_dir), call)
    args = ("token",) if call in ("login", "login_headless", "login_with_token") else ()
    with pytest.raises(neuro.NotSupportedError, match=f"Factory.{call} is not supported"):
        run(method(*args))


def test_constants_are_neuro_sdk_s() -> None:
    assert neuro.CONFIG_ENV_NAME == "NEUROMATION_CONFIG"
    assert neuro.DEFAULT_CONFIG_PATH == "~/.neuro"
    assert neuro.PASS_CONFIG_ENV_NAME == "NEURO_PASSED_CONFIG"
    assert neuro.SCHEMES == ("storage", "image", "job", "secret", "disk", "blob", "flow")
    assert neuro.Tag("latest").size is None
    share = neuro.Share("bob", neuro.Permission(URL("storage:x"), neuro.Action.READ))
    assert share.permission.action is neuro.Action.READ
