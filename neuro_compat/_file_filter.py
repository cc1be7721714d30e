""":class:`FileFilter`: include/exclude patterns for ``upload_dir`` and
``download_dir`` filters, with neuro_sdk's matching rules (the neuro command
line builds one from ``--exclude``/``--include`` and ``.neuroignore``).

Patterns have ``.gitignore`` syntax: a pattern without ``/`` (other than a
trailing one) matches at any depth; ``*`` and ``?`` stay within a path
segment; ``**`` spans segments; a trailing ``/`` matches directories only
(the paths given to :meth:`FileFilter.match` end with ``/`` for
directories). The last matching pattern decides.
"""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

AsyncFilterFunc = Callable[[str], Awaitable[bool]]
"""An async predicate on a relative path: True to take the entry."""


async def _always_match(path: str) -> bool:
    return True


class FileFilter:
    """An ordered list of include and exclude patterns, then a default.

    :param default: decides for paths no pattern matches (default: take
        everything).
    """

    def __init__(self, default: AsyncFilterFunc = _always_match) -> None:
        self.filters: list[tuple[bool, str, str, Callable[[str], Any]]] = []
        self.default = default

    def read_from_buffer(self, data: bytes, prefix: str = "", prefix2: str = "") -> None:
        """Add the patterns of an ignore file's contents: one a line, ``#``
        comments, ``!pattern`` includes, every other line excludes.

        :param prefix: the patterns apply to paths under this relative
            directory (ending with ``/``), matched relative to it.
        :param prefix2: prepended to those relative paths before matching.
        """
        for raw in data.decode("utf-8-sig").split("\n"):
            line = raw.removesuffix("\r")
            if not line or line.startswith("#"):
                continue
            line = _strip_trailing_spaces(line)
            if line.startswith("!"):
                self.include(line[1:], prefix=prefix, prefix2=prefix2)
            else:
                self.exclude(line, prefix=prefix, prefix2=prefix2)

    def read_from_file(self, path: Path, prefix: str = "", prefix2: str = "") -> None:
        """Add the patterns of the ignore file at ``path``, as
        :meth:`read_from_buffer` does."""
        with open(path, "rb") as file:
            self.read_from_buffer(file.read(), prefix, prefix2)

    def append(self, exclude: bool, pattern: str, prefix: str = "", prefix2: str = "") -> None:
        """Add one pattern, excluding (``exclude=True``) or including what
        it matches; ``prefix`` and ``prefix2`` as in :meth:`read_from_buffer`.
        """
        if prefix and not prefix.endswith("/"):
            raise ValueError(f"prefix must end with '/': {prefix!r}")
        if prefix2 and not prefix2.endswith("/"):
            raise ValueError(f"prefix2 must end with '/': {prefix2!r}")
        if "/" not in pattern.rstrip("/"):
            pattern = "**/" + pattern
        else:
            pattern = pattern.lstrip("/")
        matcher = re.compile(translate(pattern), re.DOTALL).fullmatch
        self.filters.append((exclude, prefix, prefix2, matcher))

    def exclude(self, pattern: str, prefix: str = "", prefix2: str = "") -> None:
        """Exclude what ``pattern`` matches (see :meth:`append`)."""
        self.append(True, pattern, prefix=prefix, prefix2=prefix2)

    def include(self, pattern: str, prefix: str = "", prefix2: str = "") -> None:
        """Include what ``pattern`` matches, even if an earlier pattern
        excludes it (see :meth:`append`)."""
        self.append(False, pattern, prefix=prefix, prefix2=prefix2)

    async def match(self, path: str) -> bool:
        """True to take the relative ``path`` (``dir/`` for a directory):
        the last pattern that matches decides, else the default."""
        for exclude, prefix, prefix2, matcher in reversed(self.filters):
            if path.startswith(prefix) and matcher(prefix2 + path[len(prefix):]):
                return not exclude
        return await self.default(path)


def translate(pat: str) -> str:
    """Translate a pattern (see the module) to a regular expression, as
    neuro_sdk does."""
    i, n, res = 0, len(pat), ""
    while i < n:
        c = pat[i]
        i += 1
        if c == "*":
            if (not res or res[-1] == "/") and i < n and pat[i] == "*" and (
                    i + 1 == n or pat[i + 1] == "/"):
                # ** between slashes or at the ends of the pattern
                if i + 1 == n:
                    return res + ".*"
                res += "(?:.+/)?"
                i += 2
            else:
                res += "[^/]*"
        elif c == "?":
            res += "[^/]"
        elif c == "/":
            res += "/"
        elif c == "[":
            j = i
            if j < n and pat[j] == "!":
                j += 1
            if j < n and pat[j] == "]":
                j += 1
            while j < n and pat[j] != "]":
                j += 1
            if j >= n:
                res += "\\["
            else:
                res += _bracket(pat, i, j)
                i = j + 1
        else:
            if c == "\\" and i < n:
                c = pat[i]
                i += 1
            res += re.escape(c)
    if pat[-1:] != "/":
        res += "/?"
    return res


def _bracket(pat: str, i: int, j: int) -> str:
    """The character class for ``pat[i:j]`` (between ``[`` and ``]``), as
    :mod:`fnmatch` builds it; never matching ``/``."""
    stuff = pat[i:j]
    if "--" not in stuff:
        stuff = stuff.replace("\\", r"\\")
    else:
        chunks = []
        k = i + 2 if pat[i] == "!" else i + 1
        while True:
            k = pat.find("-", k, j)
            if k < 0:
                break
            chunks.append(pat[i:k])
            i = k + 1
            k = k + 3
        chunks.append(pat[i:j])
        # Escape backslashes and hyphens for set difference (--); hyphens
        # that make ranges stay.
        stuff = "-".join(s.replace("\\", r"\\").replace("-", r"\-") for s in chunks)
    stuff = re.sub(r"([&~|])", r"\\\1", stuff)  # set operations
    if stuff[0] == "!":
        stuff = "^" + stuff[1:]
    elif stuff[0] in ("^", "["):
        stuff = "\\" + stuff
    return f"[{stuff}](?<!/)"


def _strip_trailing_spaces(s: str) -> str:
    """Drop trailing spaces unless escaped with a backslash (Git's rule)."""
    last_space = None
    escaped = False
    for i, c in enumerate(s):
        if escaped:
            escaped = False
        else:
            escaped = c == "\\"
            if c != " ":
                last_space = None
            elif last_space is None:
                last_space = i
    return s if last_space is None else s[:last_space]
