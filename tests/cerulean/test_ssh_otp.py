"""Two-factor logins: a key, then a one-time code (keyboard-interactive).

Against the real one-time-code sshd of tests/servers/logins.sh, which asks
for a TOTP code through PAM's pam_oath after the key, and refuses a code
that was used before. The TOTP arithmetic is checked against RFC 6238's
examples and against ``oathtool``.
"""
from __future__ import annotations

import base64
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import cerulean
from cerulean import credential as credential_module
from tests.cerulean.terminal_helpers import otp_login_turn, sshd_session_pids
from tests.servers import settings as S


class Counting:
    """A responder that records the prompts it answers."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return str(self.answer(prompt))


def key_then(responder: Any) -> cerulean.InteractiveCredential:
    return cerulean.InteractiveCredential(
        S.USER, responder, first=cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY)))


def otp_terminal(credential: cerulean.Credential) -> cerulean.SshTerminal:
    return cerulean.SshTerminal(S.HOST, S.OTP_SSH_PORT, credential,
                                known_hosts=str(S.KNOWN_HOSTS))


@pytest.fixture(scope="module")
def otp_login() -> Iterator[tuple[cerulean.SshTerminal, Counting]]:
    """One terminal logged in with key + code for the module: every login
    spends a code, and the next one waits for the next 30 s period."""
    from tests.conftest import require_servers
    require_servers("ssh-otp")
    responder = Counting(cerulean.TotpResponder(S.OTP_SECRET_BASE32))
    with otp_login_turn():
        term = otp_terminal(key_then(responder))
    try:
        yield term, responder
    finally:
        term.close()


@pytest.fixture
def otp_term(otp_login: tuple[cerulean.SshTerminal, Counting]
             ) -> cerulean.SshTerminal:
    """The module's two-factor terminal, for tests that do not look at the
    responder."""
    return otp_login[0]


# --- TOTP codes ------------------------------------------------------------------

# RFC 6238, appendix B: (time, SHA-1 code, SHA-256 code, SHA-512 code), 8 digits.
RFC_6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
RFC_SECRETS = {  # the ASCII digits 1234567890 repeated to 20, 32 and 64 bytes
    algorithm: base64.b32encode((b"1234567890" * 7)[:size]).decode()
    for algorithm, size in (("sha1", 20), ("sha256", 32), ("sha512", 64))
}


@pytest.mark.parametrize("when", [row[0] for row in RFC_6238])
@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "sha512"])
def test_totp_codes_are_rfc_6238s(when: int, algorithm: str) -> None:
    row = next(r for r in RFC_6238 if r[0] == when)
    expected = row[1 + ["sha1", "sha256", "sha512"].index(algorithm)]
    totp = cerulean.TotpResponder(RFC_SECRETS[algorithm], digits=8, algorithm=algorithm)
    assert totp.code_at(when) == expected


def test_the_settings_secret_is_rfc_6238s() -> None:
    assert RFC_SECRETS["sha1"] == S.OTP_SECRET_BASE32
    assert base64.b32decode(S.OTP_SECRET_BASE32).hex() == S.OTP_SECRET_HEX


def test_totp_codes_agree_with_oathtool() -> None:
    totp = cerulean.TotpResponder(S.OTP_SECRET_BASE32)
    for when in (0, 1_700_000_000, 1_800_000_015):
        out = subprocess.run(
            ["oathtool", "--totp", "--now", f"@{when}", S.OTP_SECRET_HEX],
            check=True, capture_output=True, text=True).stdout.strip()
        assert totp.code_at(when) == out


def test_secret_may_be_lower_case_spaced_and_unpadded() -> None:
    spaced = " ".join(S.OTP_SECRET_BASE32.lower()[i:i + 4] for i in range(0, 32, 4))
    assert (cerulean.TotpResponder(spaced).code_at(59)
            == cerulean.TotpResponder(S.OTP_SECRET_BASE32).code_at(59) == "287082")
    sha256 = RFC_SECRETS["sha256"].rstrip("=")
    assert cerulean.TotpResponder(sha256, 8, algorithm="sha256").code_at(59) == "46119246"


@pytest.mark.parametrize(("args", "message"), [
    (("not base32!",), "not valid base32"),
    (("",), "empty"),
    ((S.OTP_SECRET_BASE32, 4), "digits"),
    ((S.OTP_SECRET_BASE32, 6, 0), "period"),
])
def test_bad_settings_are_refused_without_showing_the_secret(
        args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        cerulean.TotpResponder(*args)
    assert args[0] == "" or args[0] not in str(caught.value)


def test_repr_shows_no_secret() -> None:
    totp = cerulean.TotpResponder(S.OTP_SECRET_BASE32, password="s3cret")
    assert S.OTP_SECRET_BASE32 not in repr(totp)
    assert "s3cret" not in repr(totp)
    credential = key_then(totp)
    assert S.OTP_SECRET_BASE32 not in repr(credential)
    assert "TotpResponder" in repr(credential) and S.USER in repr(credential)


class FakeClock:
    """time.time and time.sleep of the credential module, without waiting."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_second_code_in_the_same_period_waits_for_the_next(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(1_111_111_111.0)  # 1 s into its 30 s period
    monkeypatch.setattr(credential_module, "time", clock)
    # A secret of its own, so that no other test's codes count as used.
    secret = "JBSWY3DPEHPK3PXP"
    first = cerulean.TotpResponder(secret)
    assert first.code() == first.code_at(1_111_111_111)
    assert clock.slept == []
    # Another responder with the same secret knows the code was spent too.
    second = cerulean.TotpResponder(" ".join([secret[:8], secret[8:]]).lower())
    assert second.code() == first.code_at(1_111_111_140)
    assert clock.slept == [29.0]  # until the next period began
    clock.now += 45  # well into a later period: no wait
    assert first.code() == first.code_at(clock.now)
    assert clock.slept == [29.0]


def test_prompts_get_a_code_the_password_or_a_refusal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(credential_module, "time", FakeClock(2_000_000_000.0))
    totp = cerulean.TotpResponder("MFRGGZDFMZTWQ2LK", password="s3cret")
    for prompt in (S.OTP_PROMPT, "Verification code: ", "Enter PASSCODE:",
                   "Duo token: "):
        assert totp(prompt).isdigit()
    assert totp("Password: ") == "s3cret"
    with pytest.raises(cerulean.AuthenticationError, match="give TotpResponder the password"):
        cerulean.TotpResponder("MFRGGZDFMZTWQ2LK")("Password: ")
    with pytest.raises(cerulean.AuthenticationError, match="does not recognise"):
        totp("Mother's maiden name: ")


def test_interactive_credential_checks_its_arguments() -> None:
    key = cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY))
    with pytest.raises(ValueError, match="for user"):
        cerulean.InteractiveCredential("someone-else", str, first=key)
    with pytest.raises(TypeError, match="callable"):
        cerulean.InteractiveCredential(S.USER, "123456", first=key)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot itself"):
        cerulean.InteractiveCredential(S.USER, str, first=key_then(str))


# --- logging in on the real one-time-code sshd ----------------------------------------

@pytest.mark.real_server("ssh-otp")
def test_login_with_key_and_code(
        otp_login: tuple[cerulean.SshTerminal, Counting]) -> None:
    term, responder = otp_login
    assert term.run(10.0, "whoami", []) == (0, f"{S.USER}\n", "")
    assert responder.prompts[0] == S.OTP_PROMPT


@pytest.mark.real_server("ssh-otp")
def test_the_key_alone_is_not_enough_and_says_so() -> None:
    with pytest.raises(cerulean.AuthenticationError,
                       match="partially.*keyboard-interactive.*InteractiveCredential"):
        otp_terminal(cerulean.PubKeyCredential(S.USER, str(S.RSA_KEY)))


@pytest.mark.real_server("ssh-otp")
def test_a_code_without_the_key_is_not_allowed() -> None:
    responder = Counting(lambda prompt: "000000")
    with pytest.raises(cerulean.AuthenticationError,
                       match="not allowed.*accepts: publickey.*first"):
        otp_terminal(cerulean.InteractiveCredential(S.USER, responder))
    assert responder.prompts == []


@pytest.mark.real_server("ssh-otp")
def test_a_wrong_code_is_refused_once_and_not_retried() -> None:
    totp = cerulean.TotpResponder(S.OTP_SECRET_BASE32)
    now = time.time()
    # A code that no period near now has (the server accepts neighbours).
    near = {totp.code_at(now + 30 * k) for k in range(-6, 7)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in near)
    responder = Counting(lambda prompt: wrong)
    with pytest.raises(cerulean.AuthenticationError) as caught:
        otp_terminal(key_then(responder))
    message = str(caught.value)
    assert f"{S.USER}@{S.HOST}:{S.OTP_SSH_PORT}" in message
    assert "refused the answers" in message and "One-time password" in message
    assert "not retried" in message
    assert responder.prompts == [S.OTP_PROMPT]  # asked once: no retry loop


@pytest.mark.real_server("ssh-otp")
def test_what_the_responder_raises_ends_the_login() -> None:
    def responder(prompt: str) -> str:
        raise KeyError("no code in the vault")
    with pytest.raises(KeyError, match="no code in the vault"):
        otp_terminal(key_then(responder))


@pytest.mark.real_server("ssh-otp")
def test_sftp_works_unchanged_on_a_two_factor_login(
        otp_term: cerulean.SshTerminal) -> None:
    name = f"{S.HOME}/test-otp-sftp-{os.getpid()}-{threading.get_ident()}"
    fs = cerulean.SftpFileSystem(otp_term)
    path = fs / name.lstrip("/")
    try:
        path.write_text("two factors\n")
        assert path.read_text() == "two factors\n"
        assert (fs / S.HOME.lstrip("/")).is_dir()
    finally:
        path.unlink()
        fs.close()
    assert otp_term.run(10.0, "true", [])[0] == 0  # fs.close() left the terminal open


@pytest.mark.real_server("ssh-otp")
def test_a_scheduler_works_unchanged_on_a_two_factor_login(
        otp_term: cerulean.SshTerminal) -> None:
    out = f"{S.HOME}/test-otp-job-{os.getpid()}.out"
    sched = cerulean.DirectGnuScheduler(otp_term)
    job = cerulean.JobDescription()
    job.command = "echo"
    job.arguments = ["job", "ran"]
    job.working_directory = S.HOME
    job.stdout_file = out
    try:
        assert sched.wait(sched.submit(job), time_out=60.0) == 0
        assert otp_term.run(10.0, "cat", [out]) == (0, "job ran\n", "")
    finally:
        otp_term.run(10.0, "rm", ["-f", out])


@pytest.mark.real_server("ssh-otp")
def test_a_reconnect_asks_the_responder_again(
        otp_login: tuple[cerulean.SshTerminal, Counting]) -> None:
    # Last in the module: the reconnect spends a second code, so it waits
    # for the next 30 s period.
    term, responder = otp_login
    asked = len(responder.prompts)
    generation = term.connection_generation
    transport = term.transport()
    for pid in sshd_session_pids(term):  # the connection drops at the server
        os.kill(pid, 15)
    give_up = time.monotonic() + 10.0
    while transport.is_active() and time.monotonic() < give_up:
        time.sleep(0.02)  # until the client has seen the drop
    with otp_login_turn():
        assert term.run(30.0, "whoami", [])[1] == f"{S.USER}\n"
    assert term.connection_generation == generation + 1
    assert responder.prompts[asked:] == [S.OTP_PROMPT]
