"""Build the shell line a terminal runs (shared by local and SSH)."""
from __future__ import annotations

import shlex
from pathlib import Path


def command_line(command: str | Path, args: list[str],
                 workdir: str | Path | None) -> str:
    """The shell line for ``command args`` run in ``workdir``.

    Arguments are appended unquoted, as documented: quoting is the caller's
    job. The workdir is a value *we* put into the line, so it is quoted, and
    ``&&`` makes sure the command never runs in the wrong directory.

    :raises TypeError: ``args`` is a string (which would otherwise be split
        into one argument per character).
    """
    if isinstance(args, (str, bytes)):
        raise TypeError(f"args must be a list of strings, not {type(args).__name__}"
                        f" ({args!r}); use [{args!r}] for a single argument")
    line = " ".join([str(command), *(str(arg) for arg in args)])
    if workdir is not None:
        line = f"cd -- {shlex.quote(str(workdir))} && {line}"
    return line
