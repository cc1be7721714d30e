"""Tree traversal written once on the listing primitive.

Each directory costs one ``_listdir`` exchange; the lstat records that come
with the listing decide what is a directory, so only symbolic links need
one more request (to see whether they point to a directory).
"""
from __future__ import annotations

import posixpath
from collections.abc import Callable, Generator
from typing import (
    TYPE_CHECKING,
)

if TYPE_CHECKING:
    from cerulean.file_system_impl import DirEntry, FileSystemImpl
    from cerulean.path import Path


def _points_to_dir(fs: FileSystemImpl, path: str) -> bool:
    try:
        return fs._stat(path).is_dir()
    except OSError:
        return False  # dangling, a loop, or unreadable: not a directory


def walk(top: Path, topdown: bool,
         onerror: Callable[[OSError], None] | None,
         followlinks: bool
         ) -> Generator[tuple[Path, list[str], list[str]], None, None]:
    """os.walk() on a cerulean Path; see :meth:`cerulean.Path.walk`."""
    try:
        entries = top.filesystem._listdir(str(top))
    except OSError as error:
        _report(error, top, onerror)
        return
    yield from _walk_listed(top, entries, topdown, onerror, followlinks)


def _report(error: OSError, path: Path,
            onerror: Callable[[OSError], None] | None) -> None:
    if error.filename is None:
        error.filename = str(path)
    if onerror is not None:
        onerror(error)


def _walk_listed(top: Path, entries: list[DirEntry], topdown: bool,
                 onerror: Callable[[OSError], None] | None, followlinks: bool
                 ) -> Generator[tuple[Path, list[str], list[str]], None, None]:
    fs = top.filesystem
    dirnames: list[str] = []
    filenames: list[str] = []
    links: set[str] = set()
    for name, info in sorted(entries, key=lambda entry: entry[0]):
        if info.is_dir():
            dirnames.append(name)
        elif info.is_symlink() and _points_to_dir(
                fs, posixpath.join(str(top), name)):
            dirnames.append(name)
            links.add(name)
        else:
            filenames.append(name)

    if topdown:
        yield top, dirnames, filenames  # the caller may prune dirnames
    descend = [name for name in dirnames if name not in links or followlinks]
    # All subdirectories are listed at once, so a backend can have the
    # listings in flight together instead of one round trip after another.
    listings = fs._listdirs([str(top / name) for name in descend])
    for name, listing in zip(descend, listings):
        if isinstance(listing, OSError):
            _report(listing, top / name, onerror)
            continue
        yield from _walk_listed(top / name, listing, topdown, onerror,
                                followlinks)
    if not topdown:
        yield top, dirnames, filenames


def remove_tree(fs: FileSystemImpl, path: str) -> None:
    """Remove the directory at path and everything in it.

    Symbolic links are removed themselves, never followed. The entries of
    a directory are removed with one batch call and its subdirectories are
    listed with another, so a backend can pipeline both.
    """
    _remove_listed(fs, path, fs._listdir(path))


def _remove_listed(fs: FileSystemImpl, path: str,
                   entries: list[DirEntry]) -> None:
    subdirs = [posixpath.join(path, name) for name, info in entries
               if info.is_dir()]
    others = [posixpath.join(path, name) for name, info in entries
              if not info.is_dir()]
    for error in fs._unlink_many(others):
        if error is not None and not isinstance(error, FileNotFoundError):
            raise error
    for subdir, listing in zip(subdirs, fs._listdirs(subdirs)):
        if isinstance(listing, OSError):
            raise listing
        _remove_listed(fs, subdir, listing)
    fs._remove_dir(path)
