"""SshTerminal against the real test sshd: logins, host keys, reconnects,
threads and resources. Behaviour shared with LocalTerminal is in
test_terminal.py."""
from __future__ import annotations

import os
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

import cerulean
from cerulean.ssh_terminal import (
    AuthenticationError,
    HostKeyChangedError,
    UnknownHostKeyError,
)
from tests.cerulean.terminal_helpers import (
    failed_logins,
    host_key_fingerprints,
    sshd_session_pids,
    unique_sleep,
    wait_until_gone,
)
from tests.conftest import make_ssh_terminal, remote_scratch
from tests.servers import settings as S

pytestmark = pytest.mark.real_server("ssh")


def other_host_key(tmp_path: Path) -> str:
    """``type base64`` of a fresh ed25519 key that the test sshd does not have."""
    key = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                   check=True)
    return " ".join(Path(f"{key}.pub").read_text().split()[:2])


def whoami(term: Any) -> str:
    code, out, err = term.run(10.0, "whoami", [])
    assert code == 0, err
    return str(out.strip())


@pytest.fixture
def remote_dir(ssh_terminal: Any) -> Iterator[str]:
    with remote_scratch(ssh_terminal) as path:
        yield path


# --- logging in ---------------------------------------------------------------

@pytest.mark.parametrize("credential", [
    cerulean.PasswordCredential(S.USER, S.PASSWORD),
    cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY)),
    cerulean.PubKeyCredential(S.USER, str(S.ED25519_KEY), S.ED25519_PASSPHRASE),
    cerulean.PubKeyCredential(S.USER, str(S.ECDSA_KEY)),
], ids=["password", "rsa", "ed25519-passphrase", "ecdsa"])
def test_logs_in_with_each_kind_of_credential(credential: Any) -> None:
    with make_ssh_terminal(credential) as term:
        assert whoami(term) == S.USER


def test_wrong_password_fails_once_with_a_clear_error() -> None:
    before = failed_logins()
    with pytest.raises(AuthenticationError, match=r"cerulean@127\.0\.0\.1:10022.*password"):
        make_ssh_terminal(cerulean.PasswordCredential(S.USER, "not-the-password"))
    # One attempt, no retry loop that could lock the account.
    time.sleep(0.2)  # let sshd write its log line
    assert failed_logins() - before == 1


def test_authentication_error_is_also_a_connection_error() -> None:
    # Cerulean 1.0 raised ConnectionError for a failed login.
    with pytest.raises(ConnectionError):
        make_ssh_terminal(cerulean.PasswordCredential(S.USER, "wrong"))


def test_wrong_key_passphrase_names_the_key_file() -> None:
    with pytest.raises(AuthenticationError, match="id_ed25519.*passphrase"):
        make_ssh_terminal(cerulean.PubKeyCredential(
            S.USER, str(S.ED25519_KEY), "not-heron"))


def test_missing_key_passphrase_says_so() -> None:
    with pytest.raises(AuthenticationError, match="encrypted: give its passphrase"):
        make_ssh_terminal(cerulean.PubKeyCredential(S.USER, str(S.ED25519_KEY)))


def test_missing_key_file_is_named() -> None:
    with pytest.raises(FileNotFoundError, match="no-such-key"):
        make_ssh_terminal(cerulean.PubKeyCredential(S.USER, "/nonexistent/no-such-key"))


def test_missing_credential_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="credential"):
        cerulean.SshTerminal(S.HOST, S.SSH_PORT, None)  # type: ignore[arg-type]


def test_unreachable_port_is_a_connection_error() -> None:
    with pytest.raises(ConnectionError, match="127.0.0.1:1"):
        cerulean.SshTerminal(S.HOST, 1, cerulean.PasswordCredential(S.USER, "x"),
                             known_hosts=str(S.KNOWN_HOSTS))


def test_agent_credential_uses_ssh_agent_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cerulean.credential import AgentCredential
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)],
                             stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.02)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        subprocess.run(["ssh-add", "-q", str(S.RSA_KEY)], check=True,
                       stderr=subprocess.DEVNULL)
        with make_ssh_terminal(AgentCredential(S.USER)) as term:
            assert whoami(term) == S.USER
    finally:
        agent.terminate()
        agent.wait()


def test_agent_credential_without_agent_fails_clearly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from cerulean.credential import AgentCredential
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(AuthenticationError, match="SSH_AUTH_SOCK"):
        make_ssh_terminal(AgentCredential(S.USER))


def test_default_keys_credential_finds_keys_in_home(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cerulean.credential import DefaultKeysCredential
    ssh_dir = tmp_path / ".ssh"
    ssh_dir.mkdir()
    shutil.copy(S.ED25519_KEY, ssh_dir / "id_rsa")  # locked: skipped
    shutil.copy(S.ECDSA_KEY, ssh_dir / "id_ecdsa")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with make_ssh_terminal(DefaultKeysCredential(S.USER)) as term:
        assert whoami(term) == S.USER


def test_default_keys_credential_with_explicit_files_and_passphrase() -> None:
    from cerulean.credential import DefaultKeysCredential
    credential = DefaultKeysCredential(
        S.USER, [str(S.ED25519_KEY)], S.ED25519_PASSPHRASE, use_agent=False)
    with make_ssh_terminal(credential) as term:
        assert whoami(term) == S.USER


# --- host keys ----------------------------------------------------------------

def connect(known_hosts: Path, policy: str = "strict") -> Any:
    return cerulean.SshTerminal(
        S.HOST, S.SSH_PORT, cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY)),
        known_hosts=str(known_hosts), host_key_policy=policy)


def test_unknown_host_is_refused_naming_host_and_fingerprint(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    with pytest.raises(UnknownHostKeyError) as caught:
        connect(known_hosts)
    message = str(caught.value)
    assert "[127.0.0.1]:10022" in message
    assert caught.value.fingerprint in message
    assert caught.value.fingerprint in host_key_fingerprints()
    assert not known_hosts.exists()


def test_changed_host_key_is_refused_even_with_accept_new(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:10022 {other_host_key(tmp_path)}\n")
    for policy in ("strict", "accept-new"):
        with pytest.raises(HostKeyChangedError, match=r"REFUSING.*\[127\.0\.0\.1\]:10022"):
            connect(known_hosts, policy)
    assert known_hosts.read_text().count("\n") == 1


def test_accept_new_records_the_key_then_strict_accepts_it(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    with connect(known_hosts, "accept-new") as term:
        assert whoami(term) == S.USER
    lines = known_hosts.read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("[127.0.0.1]:10022 ")
    with connect(known_hosts) as term:
        assert whoami(term) == S.USER


def test_hashed_known_hosts_entries_are_understood(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    shutil.copy(S.KNOWN_HOSTS, known_hosts)
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known_hosts)], check=True,
                   capture_output=True)
    assert "127.0.0.1" not in known_hosts.read_text()
    with connect(known_hosts) as term:
        assert whoami(term) == S.USER


def test_known_key_type_is_asked_for(tmp_path: Path) -> None:
    # Only the RSA host key is recorded; the server prefers ed25519 but must
    # be asked for RSA, or a known host would look unknown.
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("".join(
        line + "\n" for line in S.KNOWN_HOSTS.read_text().splitlines()
        if " ssh-rsa " in line))
    with connect(known_hosts) as term:
        assert whoami(term) == S.USER


def test_revoked_host_key_is_refused(tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    revoked = [f"@revoked * {line.split(' ', 1)[1]}"
               for line in S.KNOWN_HOSTS.read_text().splitlines()]
    known_hosts.write_text(S.KNOWN_HOSTS.read_text() + "\n".join(revoked) + "\n")
    with pytest.raises(HostKeyChangedError, match="revoked"):
        connect(known_hosts)


def test_default_known_hosts_is_the_users(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no ~/.ssh yet, accept-new makes it (0700) to record the key,
    as ssh does: the one directory ssh makes for itself."""
    monkeypatch.setenv("HOME", str(tmp_path))
    credential = cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY))
    with cerulean.SshTerminal(S.HOST, S.SSH_PORT, credential,
                              host_key_policy="accept-new") as term:
        assert whoami(term) == S.USER
    assert "[127.0.0.1]:10022" in (tmp_path / ".ssh" / "known_hosts").read_text()
    assert stat.S_IMODE((tmp_path / ".ssh").stat().st_mode) == 0o700


@pytest.mark.parametrize("where", ["no/such/known_hosts",
                                   "~/.ssh/sub/known_hosts"])
def test_accept_new_makes_no_missing_directory_but_warns_and_connects(
        tmp_path: Path, where: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """A known_hosts path in a missing directory (other than ~/.ssh
    itself): as OpenSSH's accept-new, the new host is trusted for this
    connection, the failure to record it is logged, and nothing is made,
    so the next strict connection still finds the host unknown."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    known_hosts = Path(os.path.expanduser(where))
    with caplog.at_level("WARNING", logger="cerulean._host_keys"), \
            connect(Path(where), "accept-new") as term:
        assert whoami(term) == S.USER
    assert sorted(os.listdir(tmp_path)) == []
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "cerulean._host_keys"]
    assert len(warnings) == 1
    assert "Failed to add" in warnings[0] and str(known_hosts) in warnings[0]
    assert "[127.0.0.1]:10022" in warnings[0]
    with pytest.raises(UnknownHostKeyError):
        connect(known_hosts)


def test_unknown_host_key_policy_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="'strict', 'accept-new'"):
        cerulean.SshTerminal(S.HOST, S.SSH_PORT,
                             cerulean.PasswordCredential(S.USER, S.PASSWORD),
                             host_key_policy="trust-me")


# --- speed levers -------------------------------------------------------------------

def test_connection_uses_tcp_nodelay_and_aes_gcm(ssh_terminal: Any) -> None:
    import socket
    transport = ssh_terminal.transport()
    assert transport.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert transport.local_cipher == "aes128-gcm@openssh.com"


# --- threads, SFTP and resources ------------------------------------------------

def test_sixteen_threads_share_one_connection(ssh_terminal: Any) -> None:
    transport = ssh_terminal.transport()
    results: dict[tuple[int, int], Any] = {}

    def work(thread: int) -> None:
        for i in range(20):
            results[thread, i] = ssh_terminal.run(
                30.0, "echo", [f"out-{thread}-{i};", "echo", f"err-{thread}-{i}", ">&2"])

    threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 16 * 20
    for (thread, i), result in results.items():
        assert result == (0, f"out-{thread}-{i}\n", f"err-{thread}-{i}\n")
    assert ssh_terminal.transport() is transport
    assert ssh_terminal.connection_generation == 1


def test_commands_run_concurrently(ssh_terminal: Any) -> None:
    # Four 1-second sleeps in parallel threads take about 1 s, not 4.
    started = time.monotonic()
    threads = [threading.Thread(target=ssh_terminal.run, args=(10.0, "sleep", ["1"]))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - started < 3.0


def test_open_sftp_borrows_the_connection(ssh_terminal: Any, remote_dir: str) -> None:
    ssh_terminal.run(10.0, "echo", ["hello", ">", f"{remote_dir}/f"])
    sftp = ssh_terminal.open_sftp()
    try:
        with sftp.open(f"{remote_dir}/f") as f:
            assert f.read() == b"hello\n"
        assert sftp.get_channel().get_transport() is ssh_terminal.transport()
    finally:
        sftp.close()
    assert ssh_terminal.run(10.0, "true", [])[0] == 0  # still connected


def test_close_is_idempotent_and_leaves_no_paramiko_thread() -> None:
    term = make_ssh_terminal()
    transport = term.transport()
    sftp = term.open_sftp()
    term.close()
    term.close()
    assert not transport.is_alive()
    assert not any(isinstance(t, paramiko.Transport) and t is transport
                   for t in threading.enumerate())
    sftp.close()


def test_terminals_to_the_same_account_are_equal() -> None:
    password = cerulean.PasswordCredential(S.USER, S.PASSWORD)
    with make_ssh_terminal() as a, make_ssh_terminal(password) as b:
        assert a == b
        assert hash(a) == hash(b)
        assert a != cerulean.LocalTerminal()


# --- reconnecting -------------------------------------------------------------

def test_reconnects_after_the_connection_is_cut(ssh_terminal: Any) -> None:
    old = ssh_terminal.transport()
    old.sock.shutdown(2)  # the socket dies underneath paramiko
    time.sleep(0.2)
    assert whoami(ssh_terminal) == S.USER
    assert ssh_terminal.transport() is not old
    assert ssh_terminal.connection_generation == 2


def test_open_sftp_reconnects_a_connection_that_died_idle(ssh_terminal: Any) -> None:
    for pid in sshd_session_pids(ssh_terminal):
        os.kill(pid, 15)
    time.sleep(0.3)
    sftp = ssh_terminal.open_sftp()
    try:
        assert sftp.listdir(S.HOME) is not None
    finally:
        sftp.close()
    assert ssh_terminal.connection_generation == 2


def test_session_killed_during_a_command_is_not_rerun(
        ssh_terminal: Any, remote_dir: str) -> None:
    marker = f"{remote_dir}/runs"
    duration = unique_sleep(30)
    outcome: dict[str, Any] = {}

    def long_command() -> None:
        try:
            outcome["result"] = ssh_terminal.run(
                60.0, "echo", ["ran", ">>", marker, ";", "sleep", duration])
        except Exception as e:  # noqa: BLE001 - the test inspects it
            outcome["error"] = e

    thread = threading.Thread(target=long_command)
    thread.start()
    for _ in range(100):  # wait until the command has started
        if os.path.exists(marker):
            break
        time.sleep(0.02)
    assert os.path.exists(marker), "the command did not start"
    for pid in sshd_session_pids(ssh_terminal):  # kill the session at sshd
        os.kill(pid, 15)
    thread.join(10)
    assert not thread.is_alive()

    error = outcome.get("error")
    assert isinstance(error, ConnectionError), outcome
    assert "echo ran >>" in str(error)
    assert "not run again" in str(error)
    # The next call reconnects by itself, and the command ran exactly once.
    assert ssh_terminal.run(10.0, "cat", [marker]) == (0, "ran\n", "")
    subprocess.run(["pkill", "-f", f"sleep {duration}"], check=False)


def test_reconnects_after_sshd_restart() -> None:
    term = make_ssh_terminal()
    try:
        assert whoami(term) == S.USER
        subprocess.run(["bash", str(S.REPO / "tests/servers/servers.sh"),
                        "restart-sshd"], check=True, capture_output=True)
        assert whoami(term) == S.USER
        assert term.connection_generation == 2
    finally:
        term.close()


def test_timeout_kill_over_ssh_leaves_no_process(ssh_terminal: Any) -> None:
    duration = unique_sleep()
    started = time.monotonic()
    assert ssh_terminal.run(1.0, "sleep", [duration]) == (None, "", "")
    assert time.monotonic() - started < 2.0
    assert wait_until_gone(f"sleep {duration}") == []
    # The connection stays usable.
    assert whoami(ssh_terminal) == S.USER
