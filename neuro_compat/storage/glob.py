"""The walk behind ``Storage.glob``: a pattern expanded one path segment at
a time over the remote tree (the patterns themselves are read by
:mod:`~neuro_compat.storage.filters`).

The walk knows nothing of clusters or threads: it asks two callables of
:class:`~neuro_compat.storage.api.Storage`, whether a URI exists and what a
directory holds, so it reads as the algorithm alone.
"""
from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable

from yarl import URL

from .._utils import AsyncIteratorContext
from .filters import has_magic, is_hidden, is_recursive, name_matcher
from .types import FileStatus

Exists = Callable[[URL], Awaitable[bool]]
"""Whether a URI names an entry (of any kind)."""

Entries = Callable[[URL, bool], Awaitable[list[FileStatus]]]
"""The entries of a directory (only directories if the flag is set); empty
for a URI that is missing or not a directory."""


async def expand(uri: URL, dironly: bool, exists: Exists,
                 entries: Entries) -> AsyncGenerator[URL, None]:
    """Yield the URIs matching the pattern *uri*; a *uri* without wildcards
    is yielded as is.

    :param uri: the pattern.
    :param dironly: match directory names only.
    :param exists: tells whether a URI exists.
    :param entries: lists a directory.
    """
    if not has_magic(uri.path):
        yield uri
        return
    basename = uri.name
    async with AsyncIteratorContext(expand(uri.parent, True, exists, entries)) as parents:
        async for parent in parents:
            if not has_magic(basename):
                candidate = parent / basename
                if await exists(candidate):
                    yield candidate
            elif not is_recursive(basename):
                matches = name_matcher(basename)
                for status in await entries(parent, dironly):
                    if matches(status.name):
                        yield parent / status.name
            else:
                yield parent
                async for x in _descendants(parent, dironly, entries):
                    yield x


async def _descendants(uri: URL, dironly: bool, entries: Entries) -> AsyncIterator[URL]:
    for status in await entries(uri, dironly):
        if not is_hidden(status.name):
            child = uri / status.name
            yield child
            if status.is_dir():
                async for x in _descendants(child, dironly, entries):
                    yield x
