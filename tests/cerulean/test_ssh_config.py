"""SshTerminal.from_ssh_config: ~/.ssh/config settings, ProxyJump, keys.

The jump tests hop through the test sshd to itself (its AllowTcpForwarding
is on), which exercises the same code as a real bastion host.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cerulean
from cerulean._ssh import config as ssh_config
from cerulean.ssh_terminal import SshTerminal, UnknownHostKeyError
from tests.servers import settings as S


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "ssh_config"
    path.write_text(text)
    return str(path)


def host_block(alias: str, *extra: str) -> str:
    lines = [f"Host {alias}", f"  HostName {S.HOST}", f"  Port {S.SSH_PORT}",
             f"  User {S.USER}", f"  IdentityFile {S.RSA_KEY}",
             "  IdentitiesOnly yes", f"  UserKnownHostsFile {S.KNOWN_HOSTS}",
             *(f"  {line}" for line in extra)]
    return "\n".join(lines) + "\n"


def client_port(term: Any) -> int:
    """The client port sshd saw for this terminal's connection."""
    code, out, _ = term.run(10.0, "echo", ["$SSH_CONNECTION"])
    assert code == 0
    return int(out.split()[1])


# --- unit: reading the config ---------------------------------------------------

def test_resolve_reads_the_supported_settings(tmp_path: Path) -> None:
    config = ssh_config.load(write_config(tmp_path, host_block(
        "cluster", "ProxyJump alice@bastion:2222,gw", "StrictHostKeyChecking accept-new",
        "ServerAliveInterval 15", "ConnectTimeout 7")))
    entry = ssh_config.resolve(config, "cluster")
    assert (entry.hostname, entry.port, entry.user) == (S.HOST, S.SSH_PORT, S.USER)
    assert entry.identity_files == (str(S.RSA_KEY),)
    assert entry.identities_only
    assert entry.proxy_jump == ("alice@bastion:2222", "gw")
    assert entry.known_hosts_files == (str(S.KNOWN_HOSTS),)
    assert entry.host_key_policy == "accept-new"
    assert (entry.keepalive_interval, entry.connect_timeout) == (15.0, 7.0)


def test_resolve_fills_in_openssh_defaults(tmp_path: Path) -> None:
    config = ssh_config.load(write_config(tmp_path, "Host other\n  Port 1\n"))
    entry = ssh_config.resolve(config, "plainhost")
    assert (entry.hostname, entry.port, entry.proxy_jump) == ("plainhost", 22, ())
    assert entry.user  # the local user name


@pytest.mark.parametrize(("spec", "expected"), [
    ("bastion", (None, "bastion", None)),
    ("alice@bastion", ("alice", "bastion", None)),
    ("alice@bastion:2222", ("alice", "bastion", 2222)),
    ("ssh://bob@gw.example.org:22", ("bob", "gw.example.org", 22)),
    ("[::1]:2200", (None, "::1", 2200)),
])
def test_parse_hop(spec: str, expected: tuple[Any, ...]) -> None:
    assert ssh_config.parse_hop(spec) == expected


@pytest.mark.parametrize("spec", ["[::1", "[::1]2200", "alice@", "gw:port"])
def test_malformed_hop_is_a_value_error(spec: str) -> None:
    with pytest.raises(ValueError, match="ProxyJump"):
        ssh_config.parse_hop(spec)


def test_proxy_command_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path, "Host h\n  ProxyCommand nc %h %p\n")
    with pytest.raises(ValueError, match="ProxyCommand"):
        SshTerminal.from_ssh_config("h", config_file=config)


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        SshTerminal.from_ssh_config("h", config_file=str(tmp_path / "nope"))


def test_bad_port_in_config_is_a_value_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, "Host h\n  Port http\n")
    with pytest.raises(ValueError, match="Port 'http'"):
        SshTerminal.from_ssh_config("h", config_file=config)


# --- against the real sshd ------------------------------------------------------

@pytest.mark.real_server("ssh")
def test_connects_with_host_port_user_and_identity_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, host_block("testhost"))
    with SshTerminal.from_ssh_config("testhost", config_file=config) as term:
        assert term.run(10.0, "whoami", []) == (0, f"{S.USER}\n", "")


@pytest.mark.real_server("ssh")
def test_command_shells_applies_to_the_configured_host(tmp_path: Path) -> None:
    config = write_config(tmp_path, host_block("testhost"))
    with SshTerminal.from_ssh_config("testhost", config_file=config,
                                     command_shells=0) as term:
        pids = {term.run(10.0, "echo", ["$$"])[1] for _ in range(2)}
    assert len(pids) == 2  # no shared shell: a session each
    with pytest.raises(ValueError, match="command_shells"):
        SshTerminal.from_ssh_config("testhost", config_file=config, command_shells=-1)


@pytest.mark.real_server("ssh")
def test_explicit_credential_wins_over_the_config(tmp_path: Path) -> None:
    config = write_config(tmp_path, host_block("testhost").replace(
        f"User {S.USER}", "User nobody-here"))
    credential = cerulean.PasswordCredential(S.USER, S.PASSWORD)
    with SshTerminal.from_ssh_config("testhost", credential=credential,
                                     config_file=config) as term:
        assert term.run(10.0, "whoami", [])[1] == f"{S.USER}\n"


@pytest.mark.real_server("ssh")
def test_known_hosts_from_the_config_is_verified(tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.touch()
    config = write_config(tmp_path, host_block("testhost").replace(
        str(S.KNOWN_HOSTS), str(empty)))
    with pytest.raises(UnknownHostKeyError):
        SshTerminal.from_ssh_config("testhost", config_file=config)


@pytest.mark.real_server("ssh")
def test_proxy_jump_through_the_sshd_to_itself(tmp_path: Path) -> None:
    config = write_config(tmp_path, host_block("target", "ProxyJump jumphost")
                          + host_block("jumphost"))
    term = SshTerminal.from_ssh_config("target", config_file=config)
    try:
        assert term.run(10.0, "whoami", []) == (0, f"{S.USER}\n", "")
        jump = term._via
        assert jump is not None
        # The jump connection comes from our socket; the target's from sshd
        # itself (the forwarded connection), so the client ports differ.
        jump_socket_port = jump.transport().sock.getsockname()[1]
        assert client_port(jump) == jump_socket_port
        assert client_port(term) != jump_socket_port
        jump_transport = jump.transport()
    finally:
        term.close()
    assert not jump_transport.is_alive()  # the jump closes with the target


@pytest.mark.real_server("ssh")
def test_proxy_jump_with_two_hops_and_inline_user(tmp_path: Path) -> None:
    config = write_config(tmp_path, host_block(
        "target", f"ProxyJump {S.USER}@hop1,hop2") + host_block("hop1")
        + host_block("hop2"))
    with SshTerminal.from_ssh_config("target", config_file=config) as term:
        assert term.run(10.0, "whoami", [])[1] == f"{S.USER}\n"
        assert term._via is not None and term._via._via is not None


@pytest.mark.real_server("ssh")
def test_jumped_terminal_reconnects_through_the_jump(tmp_path: Path) -> None:
    config = write_config(tmp_path, host_block("target", "ProxyJump jumphost")
                          + host_block("jumphost"))
    with SshTerminal.from_ssh_config("target", config_file=config) as term:
        term._via.transport().sock.shutdown(2)  # the jump connection dies
        assert term.run(10.0, "whoami", [])[1] == f"{S.USER}\n"
        assert term.connection_generation == 2
