"""One-time codes for two-factor logins, as a cluster's ``[terminal]`` table
names them (``otp_command`` or ``otp_secret_env``).

Both become the responder of a :class:`cerulean.InteractiveCredential`,
which cerulean calls at every login, reconnects included, so every login
gets a code of its own: :class:`cerulean.TotpResponder` waits for the next
period rather than replaying a used code, and :class:`CommandResponder`
runs its command again (waiting while the command still prints the code
sent last).
"""
from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence

import cerulean
from cerulean.ssh_terminal import AuthenticationError

COMMAND_TIMEOUT = 30.0
"""Seconds an ``otp_command`` may take to print its code."""

FRESH_CODE_WAIT = 65.0
"""Seconds to wait for the command to print another code than the one sent
last: a TOTP period (30 s, sometimes 60 s) and a little more."""


class CommandResponder:
    """Answers one-time code prompts with the first line that a local
    command prints.

    The command runs on this machine, without a shell (``argv`` as given),
    with this process's environment, once per prompt. Prompts that do not
    ask for a code (see :attr:`cerulean.TotpResponder.CODE_WORDS`) are
    refused, so no code is sent where a password is asked for.

    :param argv: the command and its arguments.
    :param where: what the codes are for (``cluster 'hpc'``), for messages.
    """

    def __init__(self, argv: Sequence[str], where: str) -> None:
        self.argv = tuple(argv)
        self.where = where
        self._lock = threading.Lock()
        self._last: str | None = None

    def __call__(self, prompt: str) -> str:
        """The code for ``prompt``.

        :raises AuthenticationError: for a prompt that asks for no code, or
            a command that fails, prints nothing, or keeps printing the code
            used last.
        """
        text = prompt.lower()
        if not any(word in text for word in cerulean.TotpResponder.CODE_WORDS):
            raise AuthenticationError(
                f"{self.where}: the server asks {prompt!r}, which is not a one-time "
                "code prompt; otp_command only answers those")
        with self._lock:
            deadline = time.monotonic() + FRESH_CODE_WAIT
            code = self._run()
            # Servers refuse a code that was used already (pam_oath, most
            # TOTP servers): a reconnect within the same period waits for
            # the command's next code rather than failing with the old one.
            while code == self._last and time.monotonic() < deadline:
                time.sleep(1.0)
                code = self._run()
            if code == self._last:
                raise AuthenticationError(
                    f"{self.where}: otp_command printed the code it printed for the "
                    f"last login for {FRESH_CODE_WAIT:g} s; a code is good for one "
                    "login only")
            self._last = code
            return code

    def _run(self) -> str:
        name = self.argv[0]
        try:
            done = subprocess.run(self.argv, capture_output=True, timeout=COMMAND_TIMEOUT,
                                  stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise AuthenticationError(
                f"{self.where}: otp_command {name!r} could not run: {e}") from None
        if done.returncode != 0:
            # Its stderr, not stdout: stdout may hold a code.
            said = done.stderr.decode(errors="replace").strip()[:200]
            raise AuthenticationError(
                f"{self.where}: otp_command {name!r} exited with {done.returncode}"
                + (f": {said}" if said else ""))
        lines = done.stdout.decode(errors="replace").splitlines()
        code = lines[0].strip() if lines else ""
        if not code:
            raise AuthenticationError(
                f"{self.where}: otp_command {name!r} printed no code")
        return code

    def __repr__(self) -> str:
        """Show the command's name only: its arguments may hold a secret."""
        return f"CommandResponder({self.argv[0]!r}, ...)"
