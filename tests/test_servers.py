"""The real test servers themselves work, independent of our library.

If one of these fails, every backend test of that server is suspect; the
server logs are in .servers/logs.
"""
from __future__ import annotations

import shlex
import time
import uuid

import paramiko
import pytest
import requests

from tests.servers import settings as S


def ssh_run(command: str, timeout: float = 60.0) -> tuple[int, str, str]:
    """Run a command on the test sshd with plain paramiko, host key checked."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(S.KNOWN_HOSTS))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(S.HOST, S.SSH_PORT, S.USER, key_filename=str(S.RSA_KEY),
                   look_for_keys=False, allow_agent=False, timeout=10)
    try:
        _, stdout, stderr = client.exec_command(command, timeout=timeout)
        out = stdout.read().decode()
        err = stderr.read().decode()
        return stdout.channel.recv_exit_status(), out, err
    finally:
        client.close()


@pytest.mark.real_server("ssh")
def test_sshd_login_and_command_with_password_and_keys() -> None:
    code, out, _ = ssh_run("id -un; echo $HOME")
    assert code == 0
    assert out.split() == [S.USER, S.HOME]

    client = paramiko.SSHClient()
    client.load_host_keys(str(S.KNOWN_HOSTS))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(S.HOST, S.SSH_PORT, S.USER, password=S.PASSWORD,
                   look_for_keys=False, allow_agent=False)
    client.close()
    key = paramiko.Ed25519Key.from_private_key_file(
        str(S.ED25519_KEY), password=S.ED25519_PASSPHRASE)
    client = paramiko.SSHClient()
    client.load_host_keys(str(S.KNOWN_HOSTS))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(S.HOST, S.SSH_PORT, S.USER, pkey=key,
                   look_for_keys=False, allow_agent=False)
    client.close()


@pytest.mark.real_server("ssh")
def test_sshd_rejects_a_wrong_password() -> None:
    client = paramiko.SSHClient()
    client.load_host_keys(str(S.KNOWN_HOSTS))
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(S.HOST, S.SSH_PORT, S.USER, password="wrong",
                       look_for_keys=False, allow_agent=False)
    client.close()


def wait_for_output(command: str, predicate: object, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        _, out, _ = ssh_run(command)
        if predicate(out) or time.monotonic() > deadline:  # type: ignore[operator]
            return out
        time.sleep(0.5)


@pytest.mark.real_server("ssh", "slurm")
def test_slurm_sbatch_then_sacct_reports_the_exit_code() -> None:
    code, job_id, err = ssh_run("sbatch --parsable -p debug --wrap 'exit 3'")
    assert code == 0, err
    job_id = job_id.strip()
    out = wait_for_output(
        f"sacct -X -n -P -j {shlex.quote(job_id)} -o JobID,State,ExitCode",
        lambda o: "FAILED" in o or "COMPLETED" in o)
    assert out.strip() == f"{job_id}|FAILED|3:0"


@pytest.mark.real_server("ssh", "slurm")
def test_slurm_has_a_debug_and_a_batch_partition() -> None:
    code, out, _ = ssh_run("sinfo -h -o '%P %a'")
    assert code == 0
    assert set(out.split("\n")) >= {"debug* up", "batch up"}


@pytest.mark.real_server("ssh", "torque")
def test_pbs_qsub_then_qstat() -> None:
    script = f"{S.HOME}/qsub-{uuid.uuid4().hex[:8]}.sh"
    code, job_id, err = ssh_run(
        f"printf '#!/bin/sh\\necho hello\\n' > {script} && "
        f"qsub -N smoke -l walltime=00:01:00 -o {script}.out -e {script}.err {script}")
    assert code == 0, err
    job_id = job_id.strip()
    assert job_id.isdigit()
    out = wait_for_output(f"qstat -f {job_id}", lambda o: "job_state = C" in o)
    assert out.startswith(f"Job Id:\t{job_id}\n")
    assert "job_state = C" in out
    code, out, _ = ssh_run(f"cat {script}.out; rm -f {script}*")
    assert out == "hello\n"


def _webdav_roundtrip(url: str, **kwargs: object) -> None:
    name = f"smoke-{uuid.uuid4().hex[:8]} é#.txt"
    target = f"{url}/{requests.utils.quote(name)}"
    payload = uuid.uuid4().bytes * 1000
    put = requests.put(target, data=payload, timeout=10, **kwargs)  # type: ignore[arg-type]
    assert put.status_code in (201, 204), put.text
    get = requests.get(target, timeout=10, **kwargs)  # type: ignore[arg-type]
    assert get.status_code == 200
    assert get.content == payload
    assert requests.delete(target, timeout=10, **kwargs).status_code == 204  # type: ignore[arg-type]


@pytest.mark.real_server("webdav")
def test_webdav_private_share_needs_basic_auth() -> None:
    assert requests.get(S.WEBDAV_PRIVATE_URL + "/", timeout=10).status_code == 401
    _webdav_roundtrip(S.WEBDAV_PRIVATE_URL, auth=(S.USER, S.PASSWORD))


@pytest.mark.real_server("webdav")
def test_webdav_public_share_is_anonymous() -> None:
    _webdav_roundtrip(S.WEBDAV_PUBLIC_URL)


@pytest.mark.real_server("webdav-https")
def test_webdav_over_https_with_the_self_signed_ca() -> None:
    _webdav_roundtrip(S.WEBDAV_HTTPS_URL, auth=(S.USER, S.PASSWORD),
                      verify=str(S.WEBDAV_CA_CERT))
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(S.WEBDAV_HTTPS_URL, timeout=10)
