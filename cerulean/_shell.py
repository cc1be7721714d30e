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
    """
    line = " ".join([str(command), *args])
    if workdir is not None:
        line = f"cd -- {shlex.quote(str(workdir))} && {line}"
    return line

