"""Which names a storage call takes: ``glob`` patterns, and the ignore files
and ``filter`` chain of ``upload_dir``.

Glob patterns (``Storage.glob``, as neuro_sdk matches them)
----------------------------------------------------------
A pattern is matched one path segment at a time, like :mod:`glob`: ``*``,
``?`` and ``[...]`` match within a segment; a segment ``**`` matches the
directory itself and everything below it. Names starting with ``.`` are
matched only by a segment that starts with ``.`` too, and ``**`` does not
descend into them.

Ignore files (``upload_dir(ignore_file_names=...)``)
---------------------------------------------------
They have ``.gitignore`` semantics (matched by :mod:`pathspec`, which
implements Git's rules). As in neuro_sdk, filters form a chain: the user's
``filter`` is the last resort; each ignore file found adds a link in front
of it. The ignore files of the source directory's ancestors are read first
(so ``~/project/.gitignore`` applies to ``upload_dir("file:~/project/data")``),
then those found inside the tree as the walk reaches them; a deeper file has
the last word, as in Git. A path that no pattern matches goes to the next
link. Paths are relative to the uploaded directory, with a trailing ``/`` for
directories (so ``build/`` patterns match directories only).
"""
from __future__ import annotations

import fnmatch
import logging
import re
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import pathspec

log = logging.getLogger(__name__)


# --- Glob patterns ------------------------------------------------------------

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


# --- Ignore files and the filter chain ------------------------------------------

AsyncFilter = Callable[[str], Awaitable[bool]]
"""``filter(relative_path) -> keep?``, as ``upload_dir`` takes it."""


async def keep_all(path: str) -> bool:
    """The filter that keeps everything."""
    return True


class IgnoreFile:
    """One ignore file, as a link of the filter chain.

    :param spec: the patterns.
    :param fallback: the next link, asked when no pattern matches.
    :param prefix: the ignore file's directory relative to the uploaded
        one (``"sub/"``), or ``""``; paths outside it are passed on.
    :param ancestor_prefix: for an ignore file above the uploaded directory,
        the path from its directory down to the uploaded one (``"data/"``).
    """

    def __init__(self, spec: pathspec.PathSpec[Any], fallback: AsyncFilter, prefix: str = "",
                 ancestor_prefix: str = "") -> None:
        self._spec = spec
        self._fallback = fallback
        self._prefix = prefix
        self._ancestor_prefix = ancestor_prefix

    async def __call__(self, path: str) -> bool:
        """Keep ``path``? (The link is itself an async filter.)"""
        if path.startswith(self._prefix):
            relative = self._ancestor_prefix + path[len(self._prefix):]
            ignored = self._spec.check_file(relative).include
            if ignored is not None:
                return not ignored
        return await self._fallback(path)


def read_spec(file: Path) -> pathspec.PathSpec[Any]:
    """Read an ignore file (UTF-8, blank lines and ``#`` comments allowed)."""
    text = file.read_bytes().decode("utf-8-sig")
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())


def with_ancestor_ignore_files(fallback: AsyncFilter, names: AbstractSet[str],
                               directory: Path) -> AsyncFilter:
    """Add the ignore files of ``directory``'s ancestors to a filter chain.

    Blocking (reads files); run it in a worker thread.

    :param fallback: the chain so far (the user's filter).
    :param names: the ignore file names to look for.
    :param directory: the (resolved) directory being uploaded.
    """
    chain = fallback
    for ancestor in reversed(directory.parents):  # the farthest first
        below = directory.relative_to(ancestor).as_posix() + "/"
        for name in sorted(names):
            file = ancestor / name
            if file.is_file():
                log.debug("load ignore file %s", file)
                chain = IgnoreFile(read_spec(file), chain, "", below)
    return chain


def with_ignore_file(fallback: AsyncFilter, file: Path, rel_dir: str) -> AsyncFilter:
    """Add an ignore file found in the tree at ``rel_dir`` (``""`` or
    ``"sub/"``) to a filter chain. Blocking (reads the file)."""
    log.debug("load ignore file %s", file)
    return IgnoreFile(read_spec(file), fallback, rel_dir)
