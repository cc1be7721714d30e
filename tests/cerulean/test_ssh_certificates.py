"""SSH user certificates: from beside the key, from ssh-agent, from
``CertificateFile`` in ``~/.ssh/config``.

The test sshd trusts the user CA that tests/servers/logins.sh made; the
certified keys are not in authorized_keys, so only a certificate lets them
in. Expired certificates are caught before they are offered.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import cerulean
from cerulean._ssh.auth import certificate_problem
from tests.servers import settings as S

pytestmark = pytest.mark.real_server("ssh")


def connect(credential: cerulean.Credential) -> cerulean.SshTerminal:
    return cerulean.SshTerminal(S.HOST, S.SSH_PORT, credential,
                                known_hosts=str(S.KNOWN_HOSTS))


def whoami(term: cerulean.SshTerminal) -> str:
    return term.run(10.0, "whoami", [])[1].strip()


def key_elsewhere(tmp_path: Path, key: Path, cert: Path) -> tuple[Path, Path]:
    """A copy of ``key`` whose certificate is not at ``<key>-cert.pub``."""
    key_copy = tmp_path / "key" / "id_work"
    cert_copy = tmp_path / "certs" / "work-certificate.pub"
    key_copy.parent.mkdir()
    cert_copy.parent.mkdir()
    shutil.copy(key, key_copy)
    key_copy.chmod(0o600)
    shutil.copy(cert, cert_copy)
    return key_copy, cert_copy


# --- beside the key ----------------------------------------------------------------

def test_a_certified_key_logs_in_with_its_certificate() -> None:
    with connect(cerulean.PubKeyCredential(S.USER, str(S.CERT_KEY))) as term:
        assert whoami(term) == S.USER


def test_without_its_certificate_the_key_is_refused(tmp_path: Path) -> None:
    # The control: the key itself is not authorised, only its certificate.
    bare = tmp_path / "id_cert"
    shutil.copy(S.CERT_KEY, bare)
    bare.chmod(0o600)
    with pytest.raises(cerulean.AuthenticationError, match="failed"):
        connect(cerulean.PubKeyCredential(S.USER, str(bare)))


def test_an_expired_certificate_is_named_with_its_end() -> None:
    with pytest.raises(cerulean.AuthenticationError) as caught:
        connect(cerulean.PubKeyCredential(S.USER, str(S.EXPIRED_CERT_KEY)))
    message = str(caught.value)
    assert str(S.EXPIRED_CERT_FILE) in message
    assert f"expired on {S.EXPIRED_CERT_UNTIL} 00:00:00 UTC" in message
    assert "not offered" in message


def test_certificate_problems_are_found_client_side() -> None:
    assert certificate_problem(S.CERT_FILE.read_bytes(), "valid") is None
    expired = certificate_problem(S.EXPIRED_CERT_FILE.read_bytes(), "old")
    assert expired is not None and expired.startswith("certificate old expired on 2020-01-02")
    plain = certificate_problem((S.CA_DIR / "id_cert.pub").read_bytes(), "plain")
    assert plain is not None and "not a certificate" in plain


# --- through ssh-agent ---------------------------------------------------------------

@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh ssh-agent of our own, its socket in SSH_AUTH_SOCK."""
    socket_path = str(tmp_path / "agent.sock")
    started = subprocess.run(["ssh-agent", "-a", socket_path, "-s"], check=True,
                             capture_output=True, text=True).stdout
    pid = int(started.split("SSH_AGENT_PID=")[1].split(";")[0])
    monkeypatch.setenv("SSH_AUTH_SOCK", socket_path)
    try:
        yield socket_path
    finally:
        os.kill(pid, 15)


def ssh_add(key: Path) -> str:
    """Add ``key`` and (as ssh-add does) its ``-cert.pub`` to the agent."""
    done = subprocess.run(["ssh-add", str(key)], check=True, capture_output=True,
                          text=True, env=dict(os.environ))
    return done.stderr


def test_ssh_agent_signs_with_the_certificate_it_holds(agent: str) -> None:
    assert "Certificate added" in ssh_add(S.CERT_KEY)
    with connect(cerulean.AgentCredential(S.USER)) as term:
        assert whoami(term) == S.USER


def test_an_expired_certificate_in_ssh_agent_is_named(agent: str) -> None:
    ssh_add(S.EXPIRED_CERT_KEY)
    with pytest.raises(cerulean.AuthenticationError,
                       match="cerulean-test-id_expired.*expired on 2020-01-02"):
        connect(cerulean.AgentCredential(S.USER))


def test_an_agent_key_gets_a_certificate_file(agent: str, tmp_path: Path) -> None:
    # The agent holds only the key; the certificate is a file elsewhere.
    key, cert = key_elsewhere(tmp_path, S.CERT_KEY, S.CERT_FILE)
    subprocess.run(["ssh-add", str(key)], check=True, capture_output=True)
    credential = cerulean.DefaultKeysCredential(
        S.USER, key_files=[], certificate_files=[str(cert)])
    with connect(credential) as term:
        assert whoami(term) == S.USER


# --- through ~/.ssh/config ------------------------------------------------------------

def config_for(tmp_path: Path, key: Path, cert: Path | None) -> str:
    lines = ["Host certified", f"  HostName {S.HOST}", f"  Port {S.SSH_PORT}",
             f"  User {S.USER}", f"  IdentityFile {key}", "  IdentitiesOnly yes",
             f"  UserKnownHostsFile {S.KNOWN_HOSTS}"]
    if cert is not None:
        lines.append(f"  CertificateFile {cert}")
    path = tmp_path / "ssh_config"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_certificate_file_of_the_ssh_config_is_used(tmp_path: Path) -> None:
    key, cert = key_elsewhere(tmp_path, S.CERT_KEY, S.CERT_FILE)
    with cerulean.SshTerminal.from_ssh_config(
            "certified", config_file=config_for(tmp_path, key, cert)) as term:
        assert whoami(term) == S.USER


def test_without_certificate_file_the_config_login_is_refused(tmp_path: Path) -> None:
    key, _ = key_elsewhere(tmp_path, S.CERT_KEY, S.CERT_FILE)
    with pytest.raises(cerulean.AuthenticationError, match="accepted none"):
        cerulean.SshTerminal.from_ssh_config(
            "certified", config_file=config_for(tmp_path, key, None))


def test_an_expired_certificate_file_of_the_config_is_named(tmp_path: Path) -> None:
    key, cert = key_elsewhere(tmp_path, S.EXPIRED_CERT_KEY, S.EXPIRED_CERT_FILE)
    with pytest.raises(cerulean.AuthenticationError,
                       match="work-certificate.pub expired on 2020-01-02"):
        cerulean.SshTerminal.from_ssh_config(
            "certified", config_file=config_for(tmp_path, key, cert))


def test_a_missing_certificate_file_is_named(tmp_path: Path) -> None:
    key, cert = key_elsewhere(tmp_path, S.CERT_KEY, S.CERT_FILE)
    cert.unlink()
    with pytest.raises(cerulean.AuthenticationError, match="does not exist"):
        cerulean.SshTerminal.from_ssh_config(
            "certified", config_file=config_for(tmp_path, key, cert))


def test_certificate_files_must_be_a_list() -> None:
    with pytest.raises(TypeError, match="list of paths"):
        cerulean.DefaultKeysCredential(S.USER, certificate_files="cert.pub")


# --- what is checked before offering, on certificates made here -------------------------

def signed(tmp_path: Path, *options: str) -> bytes:
    """A certificate for a fresh key, signed by a fresh CA with ``options``."""
    for name in ("ca", "key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        str(tmp_path / name)], check=True)
    subprocess.run(["ssh-keygen", "-q", "-s", str(tmp_path / "ca"), "-I", "test",
                    "-n", S.USER, *options, str(tmp_path / "key.pub")], check=True)
    return (tmp_path / "key-cert.pub").read_bytes()


def test_a_certificate_not_yet_valid_is_named(tmp_path: Path) -> None:
    problem = certificate_problem(signed(tmp_path, "-V", "20990101:20990201"), "later")
    # ssh-keygen reads the dates as local time; the message says UTC.
    assert problem is not None
    assert problem.startswith("certificate later is not valid before 209")
    assert problem.endswith(" UTC")


def test_a_host_certificate_is_not_a_user_certificate(tmp_path: Path) -> None:
    problem = certificate_problem(signed(tmp_path, "-h"), "host")
    assert problem is not None and "host certificate" in problem


def test_a_certificate_valid_forever_is_valid(tmp_path: Path) -> None:
    assert certificate_problem(signed(tmp_path), "forever") is None


def test_a_login_that_needs_no_second_factor_asks_nothing() -> None:
    # The main sshd takes the key alone: the responder is never called.
    asked: list[str] = []

    def responder(prompt: str) -> str:
        asked.append(prompt)
        return ""
    credential = cerulean.InteractiveCredential(
        S.USER, responder,
        first=cerulean.PubKeyCredential(S.USER, str(S.CERT_KEY)))
    with connect(credential) as term:
        assert whoami(term) == S.USER
    assert asked == []
