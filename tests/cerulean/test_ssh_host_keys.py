"""Host key verification rules (unit tests; no server needed).

The end-to-end checks against the real sshd are in test_ssh_terminal.py.
"""
from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import paramiko
import pytest

from cerulean._ssh.host_keys import (
    HostKeyChangedError,
    HostKeyVerifier,
    UnknownHostKeyError,
    fingerprint,
    known_hosts_name,
)


@pytest.fixture(scope="module")
def key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


@pytest.fixture(scope="module")
def other_key() -> paramiko.PKey:
    return paramiko.ECDSAKey.generate()


def entry(names: str, key: paramiko.PKey, marker: str = "") -> str:
    prefix = f"{marker} " if marker else ""
    return f"{prefix}{names} {key.get_name()} {key.get_base64()}\n"


def verifier(tmp_path: Path, text: str, policy: str = "strict") -> HostKeyVerifier:
    path = tmp_path / "known_hosts"
    path.write_text(text)
    return HostKeyVerifier([str(path)], policy)


def test_fingerprint_is_the_one_ssh_keygen_prints(
        tmp_path: Path, key: paramiko.PKey) -> None:
    pub = tmp_path / "key.pub"
    pub.write_text(f"{key.get_name()} {key.get_base64()}\n")
    printed = subprocess.run(["ssh-keygen", "-lf", str(pub)], check=True,
                             capture_output=True, text=True).stdout.split()[1]
    assert fingerprint(key) == printed


def test_known_hosts_name_brackets_non_default_ports() -> None:
    assert known_hosts_name("example.org", 22) == "example.org"
    assert known_hosts_name("example.org", 2222) == "[example.org]:2222"


@pytest.mark.parametrize("names", [
    "[127.0.0.1]:10022",
    "other,[127.0.0.1]:10022",
    "[127.0.0.?]:10022",
    "*",
    "[127.0.0.1]:10022,!nothing-here",
])
def test_matching_entries_accept_the_key(
        tmp_path: Path, key: paramiko.PKey, names: str) -> None:
    verifier(tmp_path, entry(names, key)).verify("127.0.0.1", 10022, key)


def test_hostnames_match_case_insensitively(tmp_path: Path, key: paramiko.PKey) -> None:
    verifier(tmp_path, entry("Login.Example.ORG", key)).verify(
        "login.example.org", 22, key)


def test_hashed_entries_are_understood(tmp_path: Path, key: paramiko.PKey) -> None:
    hashed = paramiko.HostKeys.hash_host("[127.0.0.1]:10022")
    verifier(tmp_path, entry(hashed, key)).verify("127.0.0.1", 10022, key)


def test_negated_pattern_excludes_a_host(tmp_path: Path, key: paramiko.PKey) -> None:
    v = verifier(tmp_path, entry("*.example.org,!evil.example.org", key))
    v.verify("good.example.org", 22, key)
    with pytest.raises(UnknownHostKeyError):
        v.verify("evil.example.org", 22, key)


def test_port_must_match(tmp_path: Path, key: paramiko.PKey) -> None:
    with pytest.raises(UnknownHostKeyError):
        verifier(tmp_path, entry("[127.0.0.1]:2222", key)).verify("127.0.0.1", 10022, key)


def test_comments_and_malformed_lines_are_skipped(
        tmp_path: Path, key: paramiko.PKey) -> None:
    text = ("# a comment\n\nnot a valid line\nhost ssh-ed25519 !!!notbase64\n"
            + entry("host", key))
    verifier(tmp_path, text).verify("host", 22, key)


def test_unknown_host_error_names_host_fingerprint_and_file(
        tmp_path: Path, key: paramiko.PKey, other_key: paramiko.PKey) -> None:
    v = verifier(tmp_path, entry("someone-else", other_key))
    with pytest.raises(UnknownHostKeyError) as caught:
        v.verify("host", 2200, key)
    message = str(caught.value)
    assert "[host]:2200" in message
    assert fingerprint(key) in message
    assert str(tmp_path / "known_hosts") in message
    assert caught.value.host == "[host]:2200"


def test_changed_key_is_refused_under_both_policies(
        tmp_path: Path, key: paramiko.PKey, other_key: paramiko.PKey) -> None:
    for policy in ("strict", "accept-new"):
        v = verifier(tmp_path, entry("host", other_key), policy)
        with pytest.raises(HostKeyChangedError, match="REFUSING.*host"):
            v.verify("host", 22, key)
    assert (tmp_path / "known_hosts").read_text() == entry("host", other_key)


def test_revoked_key_is_refused_even_if_also_listed(
        tmp_path: Path, key: paramiko.PKey) -> None:
    v = verifier(tmp_path, entry("host", key) + entry("*", key, "@revoked"))
    with pytest.raises(HostKeyChangedError, match="revoked"):
        v.verify("host", 22, key)


def test_cert_authority_lines_do_not_count_as_host_keys(
        tmp_path: Path, key: paramiko.PKey) -> None:
    v = verifier(tmp_path, entry("host", key, "@cert-authority"))
    with pytest.raises(UnknownHostKeyError):
        v.verify("host", 22, key)


def test_accept_new_appends_a_line_and_keeps_the_file_private(
        tmp_path: Path, key: paramiko.PKey, other_key: paramiko.PKey) -> None:
    path = tmp_path / "known_hosts"
    v = HostKeyVerifier([str(path)], "accept-new")
    v.verify("host", 2200, key)
    assert path.read_text() == entry("[host]:2200", key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    v.verify("host", 2200, key)  # now known: nothing more is written
    assert path.read_text().count("\n") == 1
    with pytest.raises(HostKeyChangedError):
        v.verify("host", 2200, other_key)


def test_accept_new_keeps_an_unterminated_last_line_intact(
        tmp_path: Path, key: paramiko.PKey, other_key: paramiko.PKey) -> None:
    v = verifier(tmp_path, entry("other", other_key).rstrip("\n"), "accept-new")
    v.verify("host", 22, key)
    assert (tmp_path / "known_hosts").read_text() == (
        entry("other", other_key) + entry("host", key))


def test_accept_new_that_cannot_record_warns_and_accepts(
        tmp_path: Path, key: paramiko.PKey,
        caplog: pytest.LogCaptureFixture) -> None:
    """As ssh: a key that cannot be written (here the file's directory is
    a file) is accepted for this connection, with a warning; nothing is
    made."""
    (tmp_path / "a_file").write_text("")
    path = tmp_path / "a_file" / "known_hosts"
    v = HostKeyVerifier([str(path)], "accept-new")
    with caplog.at_level("WARNING", logger="cerulean._host_keys"):
        v.verify("host", 22, key)
    assert "Failed to add" in caplog.text and str(path) in caplog.text
    assert (tmp_path / "a_file").read_text() == ""
    with pytest.raises(UnknownHostKeyError):
        HostKeyVerifier([str(path)]).verify("host", 22, key)


def test_missing_file_counts_as_empty(tmp_path: Path, key: paramiko.PKey) -> None:
    with pytest.raises(UnknownHostKeyError):
        HostKeyVerifier([str(tmp_path / "absent")]).verify("host", 22, key)


def test_later_files_are_consulted_too(tmp_path: Path, key: paramiko.PKey) -> None:
    (tmp_path / "global").write_text(entry("host", key))
    HostKeyVerifier([str(tmp_path / "absent"), str(tmp_path / "global")]).verify(
        "host", 22, key)


def test_known_key_types_lists_types_recorded_for_the_host(
        tmp_path: Path, key: paramiko.PKey) -> None:
    v = verifier(tmp_path, entry("host", key) + entry("elsewhere", key))
    assert v.known_key_types("host", 22) == [key.get_name()]
    assert v.known_key_types("nowhere", 22) == []


def test_unknown_policy_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'strict', 'accept-new'"):
        HostKeyVerifier([str(tmp_path / "k")], "yes-please")
