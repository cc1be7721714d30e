"""make_terminal and the factory's argument checks."""
from __future__ import annotations

from pathlib import Path

import pytest

import cerulean
from cerulean.factory import _host_port
from tests.servers import settings as S


def test_make_terminal_local() -> None:
    with cerulean.make_terminal("local") as term:
        assert isinstance(term, cerulean.LocalTerminal)
        assert term.run(10.0, "echo", ["hi"]) == (0, "hi\n", "")


@pytest.mark.real_server("ssh")
def test_make_terminal_ssh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # make_terminal has no known_hosts argument: it uses ~/.ssh/known_hosts.
    monkeypatch.setenv("HOME", str(tmp_path))
    ssh_dir = tmp_path / ".ssh"
    ssh_dir.mkdir()
    (ssh_dir / "known_hosts").write_text(S.KNOWN_HOSTS.read_text())
    credential = cerulean.PasswordCredential(S.USER, S.PASSWORD)
    with cerulean.make_terminal("ssh", f"{S.HOST}:{S.SSH_PORT}", credential) as term:
        assert isinstance(term, cerulean.SshTerminal)
        assert term.run(10.0, "whoami", []) == (0, f"{S.USER}\n", "")


def test_unknown_protocol_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="'telnet'.*'local' and 'ssh'"):
        cerulean.make_terminal("telnet", "host")


def test_ssh_without_credential_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="credential"):
        cerulean.make_terminal("ssh", "host:22")


def test_ssh_without_location_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="location"):
        cerulean.make_terminal("ssh", None, cerulean.PasswordCredential("u", "p"))


@pytest.mark.parametrize(("location", "expected"), [
    ("example.org", ("example.org", 22)),
    ("example.org:2222", ("example.org", 2222)),
    ("[::1]:2200", ("::1", 2200)),
    ("[::1]", ("::1", 22)),
])
def test_locations_are_split_into_host_and_port(
        location: str, expected: tuple[str, int]) -> None:
    assert _host_port("ssh", location) == expected


@pytest.mark.parametrize("location", ["example.org:http", "example.org:0",
                                      ":22", "[::1"])
def test_bad_locations_are_value_errors(location: str) -> None:
    with pytest.raises(ValueError, match="location|port|Port"):
        _host_port("ssh", location)


def test_unknown_file_system_protocol_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="'local', 'sftp' and 'webdav'"):
        cerulean.make_file_system("ftp")


def test_unknown_scheduler_lists_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="'directgnu', 'slurm', 'torque' and"
                                         r" 'sge' \(or 'gridengine'\)"):
        cerulean.make_scheduler("pbspro", cerulean.LocalTerminal())


@pytest.mark.parametrize("name", ["sge", "gridengine"])
def test_grid_engine_by_both_names(name: str) -> None:
    sched = cerulean.make_scheduler(name, cerulean.LocalTerminal(), "p; ")
    assert isinstance(sched, cerulean.GridEngineScheduler)
    assert sched._prefix == "p; "
    assert sched.parallel_environment is None
