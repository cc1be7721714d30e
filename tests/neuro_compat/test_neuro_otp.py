"""neuro_compat clusters behind a two-factor login: a key, then a one-time
code, from ``otp_command`` or ``otp_secret_env`` in the cluster's
``[terminal]`` table.

Against the real one-time-code sshd of tests/servers/logins.sh (PAM's
pam_oath, TOTP, 6 digits, 30 s; a code is refused once used). Every login
spends a code, so logins take turns with the other test processes and wait
for a period no login has used (:func:`otp_login_turn`).
"""
from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from yarl import URL

import cerulean
import neuro_compat
from neuro_compat import AuthenticationError, ConfigError, JobStatus
from neuro_compat._cluster import otp as otp_module
from neuro_compat._cluster.otp import CommandResponder
from neuro_compat.config import parse_clusters
from tests.cerulean.terminal_helpers import otp_login_turn, sshd_session_pids
from tests.conftest import require_servers
from tests.neuro_compat.neuro_helpers import cluster_section, remove_on_sshd, run
from tests.neuro_compat.neuro_jobs_helpers import start, wait_for, wait_output
from tests.servers import settings as S

pytestmark = [pytest.mark.timeout(240), pytest.mark.real_server("ssh", "ssh-otp")]

SECRET_ENV = "NEURO_COMPAT_TEST_TOTP_SECRET"
HOLDS_NO_SECRET = f"the environment variable {SECRET_ENV} does not hold a TOTP secret"


@contextmanager
def otp_cluster(tmp: Path, otp: Mapping[str, str]) -> Iterator[Path]:
    """The configuration directory of a cluster on the one-time-code sshd
    (key, then code), with SFTP storage and DirectGnu jobs; its directory on
    the server removed afterwards."""
    require_servers("ssh", "ssh-otp")
    base = f"{S.HOME}/test-neuro-otp-{uuid.uuid4().hex[:12]}"
    config_dir = tmp / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "clusters.toml").write_text(cluster_section(
        "otp", storage={"type": "sftp", "root": f"{base}/storage"},
        terminal={"type": "ssh", "host": S.HOST, "port": S.OTP_SSH_PORT,
                  "user": S.USER, "key_file": S.RSA_KEY,
                  "known_hosts": S.KNOWN_HOSTS, **otp},
        presets={"cpu-small": {"cpu": 1, "memory_mb": 100}},
        job_dir=f"{base}/jobs"))
    try:
        yield config_dir
    finally:
        remove_on_sshd(base)  # over the main sshd: no code to spend


async def storage_and_job(client: neuro_compat.Client, tag: str) -> None:
    """A storage round trip and a job, through the client's one login."""
    uri = URL(f"storage:otp-{tag}/greeting.txt")
    await client.storage.mkdir(uri.parent, parents=True, exist_ok=True)
    await client.storage.create(uri, f"hello {tag}\n".encode())
    assert (await client.storage.stat(uri)).size == len(f"hello {tag}\n")
    job = await start(client, f"cat otp-{tag}/greeting.txt")
    done = await wait_for(client, job.id, timeout=60)
    assert done.status == JobStatus.SUCCEEDED, done.history
    assert await wait_output(client, job.id, b"\n") == f"hello {tag}\n".encode()


def drop_the_connection(client: neuro_compat.Client) -> None:
    """End the client's SSH connection at the server, and wait until the
    client has seen it end."""
    terminal = client.jobs._on(None).session.terminal()
    transport = terminal.transport()  # type: ignore[attr-defined]
    for pid in sshd_session_pids(terminal):
        os.kill(pid, 15)
    give_up = time.monotonic() + 10.0
    while transport.is_active() and time.monotonic() < give_up:
        time.sleep(0.02)
    assert not transport.is_active()


def test_otp_command_logs_in_and_a_reconnect_runs_it_again(tmp_path: Path) -> None:
    # A command of our own around oathtool, which counts its runs.
    runs = tmp_path / "runs"
    command = tmp_path / "code.sh"
    command.write_text(f"#!/bin/sh\necho run >>{runs}\n"
                       f"exec oathtool --totp {S.OTP_SECRET_HEX}\n")
    command.chmod(0o700)

    async def main() -> None:
        with otp_cluster(tmp_path, {"otp_command": f"{command} --unused-argument"}) \
                as config_dir:
            async with neuro_compat.get(path=config_dir) as client:
                with otp_login_turn():
                    await client.storage.mkdir(URL("storage:"), exist_ok=True)
                assert runs.read_text() == "run\n"
                await storage_and_job(client, "command")
                assert runs.read_text() == "run\n"  # one login served it all
                drop_the_connection(client)
                with otp_login_turn():
                    listed = [s.name async for s in client.storage.list(URL("storage:"))]
                assert "otp-command" in listed
                # The reconnect asked for a code again, and got a fresh one.
                assert runs.read_text() == "run\nrun\n"
                job = await start(client, "echo after the reconnect")
                assert (await wait_for(client, job.id)).status == JobStatus.SUCCEEDED
    run(main(), timeout=200)


def test_otp_secret_env_logs_in_with_totp_codes(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Lower case and spaced, as centres show secrets: the same secret.
    spaced = " ".join(re.findall(".{1,4}", S.OTP_SECRET_BASE32.lower()))
    monkeypatch.setenv(SECRET_ENV, spaced)

    async def main() -> None:
        with otp_cluster(tmp_path, {"otp_secret_env": SECRET_ENV}) as config_dir:
            async with neuro_compat.get(path=config_dir) as client:
                with otp_login_turn():
                    await client.storage.mkdir(URL("storage:"), exist_ok=True)
                await storage_and_job(client, "secret")
    run(main(), timeout=200)


def test_a_wrong_code_is_an_authentication_error(tmp_path: Path) -> None:
    command = tmp_path / "wrong.sh"
    # A code of the secret a year ago: six digits, refused.
    command.write_text(f"#!/bin/sh\nexec oathtool --totp -N '1 year ago' "
                       f"{S.OTP_SECRET_HEX}\n")
    command.chmod(0o700)

    async def main() -> None:
        with otp_cluster(tmp_path, {"otp_command": str(command)}) as config_dir:
            async with neuro_compat.get(path=config_dir) as client:
                with pytest.raises(AuthenticationError) as refused:
                    await client.storage.mkdir(URL("storage:"), exist_ok=True)
                message = str(refused.value)
                assert "cluster 'otp'" in message and "refused" in message
                assert "not retried" in message
    run(main(), timeout=200)


@pytest.mark.parametrize(("value", "problem"), [
    (None, "the environment variable NEURO_COMPAT_TEST_TOTP_SECRET is not set"),
    ("not base32!", f"{HOLDS_NO_SECRET}: The TOTP secret is not valid base32"),
    ("", f"{HOLDS_NO_SECRET}: The TOTP secret is empty"),
])
def test_a_missing_or_bad_secret_is_a_config_error_at_connect_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None,
        problem: str) -> None:
    if value is None:
        monkeypatch.delenv(SECRET_ENV, raising=False)
    else:
        monkeypatch.setenv(SECRET_ENV, value)

    async def main() -> None:
        with otp_cluster(tmp_path, {"otp_secret_env": SECRET_ENV}) as config_dir:
            async with neuro_compat.get(path=config_dir) as client:  # not yet needed
                with pytest.raises(ConfigError) as refused:
                    await client.storage.mkdir(URL("storage:"), exist_ok=True)
                assert f"clusters.otp.terminal.otp_secret_env: {problem}" in \
                    str(refused.value)
                assert "not base32!" not in str(refused.value)
    run(main())


# --- the configuration ------------------------------------------------------------

def _terminal(lines: str) -> neuro_compat.config.TerminalConfig:
    return parse_clusters(f"""
[clusters.c]
job_dir = "/jobs"
[clusters.c.terminal]
type = "ssh"
host = "h"
user = "u"
{lines}
[clusters.c.storage]
type = "sftp"
root = "/storage"
[clusters.c.scheduler]
type = "directgnu"
""", Path("clusters.toml")).clusters["c"].terminal


def test_otp_command_is_split_as_argv_without_a_shell() -> None:
    term = _terminal('key_file = "/k"\notp_command = "oathtool --totp -b \'AB CD\' $X"')
    assert term.otp_command == ("oathtool", "--totp", "-b", "AB CD", "$X")
    assert term.otp_secret_env is None and term.one_time_codes
    # Codes alone may be the whole login.
    alone = _terminal('otp_secret_env = "SECRET"')
    assert (alone.key_file, alone.otp_secret_env, alone.otp_command) == (
        None, "SECRET", None)
    assert not _terminal('key_file = "/k"').one_time_codes


@pytest.mark.parametrize(("lines", "message"), [
    ('key_file = "/k"\notp_command = "x"\notp_secret_env = "S"',
     "otp_command: give otp_command or otp_secret_env, not both"),
    ('key_file = "/k"\notp_command = ""', "otp_command: must be a non-empty string"),
    ('key_file = "/k"\notp_command = "  "', "otp_command: names no command"),
    ('key_file = "/k"\notp_command = "a\\nb"', "otp_command: must be one line"),
    ('key_file = "/k"\notp_command = "a \'b"', "otp_command: cannot be split"),
    ('key_file = "/k"\notp_command = ["oathtool"]', "otp_command: must be a non-empty"),
    ('key_file = "/k"\notp_secret_env = "NOT-A-NAME"',
     "otp_secret_env: must name an environment variable"),
    ('key_file = "/k"\notp_secret_env = ""', "otp_secret_env: must be a non-empty"),
    ('key_file = "/k"\nagent = true\notp_secret_env = "S"',
     "give exactly one way to log in"),
    ("", "give exactly one way to log in"),
])
def test_bad_one_time_code_settings(lines: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        _terminal(lines)


# --- the command responder --------------------------------------------------------

def _script(tmp: Path, body: str) -> str:
    path = tmp / "otp.sh"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o700)
    return str(path)


@pytest.mark.parametrize(("body", "message"), [
    ("echo no secret here >&2; exit 2", "otp_command 'otp.sh' exited with 2: no secret here"),
    ("echo; echo 123456", "otp_command 'otp.sh' printed no code"),
    ("exec /nonexistent/oathtool", "otp_command 'otp.sh' exited with"),
])
def test_a_failing_command_is_an_authentication_error(tmp_path: Path, body: str,
                                                      message: str) -> None:
    script = _script(tmp_path, body)
    responder = CommandResponder([script], "cluster 'c'")
    with pytest.raises(cerulean.ssh_terminal.AuthenticationError) as refused:
        responder("Verification code: ")
    assert str(refused.value).startswith("cluster 'c': ")
    assert message.replace("'otp.sh'", repr(script)) in str(refused.value)


def test_the_command_responder_answers_only_code_prompts_and_never_replays(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Prints 111111 twice, then 222222: the second login waits for the new one.
    runs = tmp_path / "runs"
    script = _script(tmp_path, f'echo x >>{runs}; n=$(wc -l <{runs}); '
                               'if [ "$n" -le 2 ]; then echo 111111; else echo 222222; fi')
    responder = CommandResponder([script], "cluster 'c'")
    with pytest.raises(cerulean.ssh_terminal.AuthenticationError, match="not a one-time"):
        responder("Password: ")
    assert not runs.exists()  # nothing ran for a password prompt
    assert responder("One-time password (OATH) for `cerulean': ") == "111111"
    assert responder("Verification code: ") == "222222"
    assert runs.read_text().count("x") == 3
    monkeypatch.setattr(otp_module, "FRESH_CODE_WAIT", 1.5)
    stuck = CommandResponder(["echo", "333333"], "cluster 'c'")
    assert stuck("code: ") == "333333"
    with pytest.raises(cerulean.ssh_terminal.AuthenticationError,
                       match="printed the code it printed for the last login"):
        stuck("code: ")
    assert repr(stuck) == "CommandResponder('echo', ...)"  # no arguments: secrets


def test_a_command_that_does_not_exist_cannot_run() -> None:
    responder = CommandResponder(["/nonexistent/oathtool", "--totp"], "cluster 'c'")
    with pytest.raises(cerulean.ssh_terminal.AuthenticationError,
                       match="cluster 'c': otp_command '/nonexistent/oathtool' could not "
                             "run"):
        responder("code: ")
