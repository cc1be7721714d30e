"""Pattern matching for ``Storage.glob``, as neuro_sdk does it.

A pattern is matched one path segment at a time, like :mod:`glob`: ``*``,
``?`` and ``[...]`` match within a segment; a segment ``**`` matches the
directory itself and everything below it. Names starting with ``.`` are
matched only by a segment that starts with ``.`` too, and ``**`` does not
descend into them.
"""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable

_MAGIC = re.compile(r"[*?[]")


def has_magic(text: str) -> bool:
    """True if ``text`` contains a wildcard."""
    return _MAGIC.search(text) is not None


def is_hidden(name: str) -> bool:
    """True for names that wildcards do not match by default."""
    return name.startswith(".")


def is_recursive(segment: str) -> bool:
    """True for the ``**`` segment."""
    return segment == "**"


def name_matcher(pattern: str) -> Callable[[str], bool]:
    """A predicate for names matching one segment pattern."""
    allow_hidden = is_hidden(pattern)
    match = re.compile(fnmatch.translate(pattern)).fullmatch

    def matches(name: str) -> bool:
        return (allow_hidden or not is_hidden(name)) and match(name) is not None

    return matches
