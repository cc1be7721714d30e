"""The Terminal interface: run commands somewhere."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from cerulean._closing import Closing


class Terminal(Closing, ABC):
    """Interface for Terminals.

    This is a generic interface class that all terminals inherit from, so you
    can use it wherever any terminal will do.

    In order to do something useful, you'll want an actual terminal, like a
    LocalTerminal or an SshTerminal.

    Terminals may hold resources, so you should either use them with a with
    statement, or call close() on them when you are done with them.
    """

    def __eq__(self, other: object) -> bool:
        """Whether two terminals run commands in the same place.

        The base class compares by identity; subclasses refine this.
        """
        return self is other

    def __hash__(self) -> int:
        """Hash consistent with :meth:`__eq__`."""
        return id(self)

    def close(self) -> None:
        """Close the terminal.

        This closes any connections and frees resources associated with the
        terminal. LocalTerminal does not require this, but terminals that
        connect to remote machines do. You may want to always either close a
        Terminal, or use it as a context manager, to avoid problems if you
        ever change from a local terminal to a remote one.
        """

    @abstractmethod
    def run(self, timeout: float, command: str | Path, args: list[str],
            stdin_data: str | None = None,
            workdir: str | Path | None = None
            ) -> tuple[int | None, str, str]:
        """Run a shell command.

        The command will be run in the default shell, and arguments are not
        quoted automatically. If you have untrusted or unknown input, be sure
        to quote it using quote() from the shlex module of the Python
        standard library.

        If ``workdir`` cannot be entered, the command does not run; the
        failure shows in a non-zero exit code and in stderr. If the command
        does not finish within ``timeout`` seconds, its process group is
        terminated and ``(None, stdout so far, stderr so far)`` is returned.

        :param timeout: How long to wait for the result(s), in seconds.
        :param command: The command to run.
        :param args: A list of arguments to pass.
        :param stdin_data: Data to pass to standard input.
        :param workdir: Working directory to execute in.
        :returns: A tuple containing the exit code (None on timeout),
            standard output, and standard error output.
        """
