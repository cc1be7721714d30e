"""Planning a copy: what to create, replace, skip or refuse, before writing.

The planner looks at the source tree and at the parts of the target that
already exist, with one listing per directory and the attributes the
listings carry, and turns copy()'s rules into a list of actions. Nothing is
written while planning, so ``overwrite='raise'`` refuses before any change
and the progress total is known up front.
"""
from __future__ import annotations

import errno
import logging
import posixpath
from dataclasses import dataclass, field

from cerulean.file_system_impl import Capability, FileSystemImpl
from cerulean.path import MAX_LINK_DEPTH, FileStat, stat_or_none

logger = logging.getLogger("cerulean.copy_files")

OWNER_RWX = 0o700

NEW_FILE_DEFAULT = 0o666
"""The mode a new file is created with, before the umask: no execute bits."""


@dataclass
class FileJob:
    """Copy one file's content to a new file that lands atomically."""

    source: str
    target: str
    size: int
    mode: int | None
    exact_mode: int | None


@dataclass
class DirJob:
    """Make one directory; its final mode is set after its contents."""

    target: str
    mode: int | None
    final_mode: int | None
    """Exact mode to set at the end (copy_permissions, or to take away
    owner bits that were added so the copy could write inside)."""
    reduce_to: int | None
    """If set, at the end reduce the created mode to these bits."""
    create: bool


@dataclass
class Plan:
    """Everything a copy will do, in the order it will do it."""

    removals: list[str] = field(default_factory=list)
    dirs: list[DirJob] = field(default_factory=list)
    files: list[FileJob] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    """(target path, link text) of symbolic links to make."""

    @property
    def total(self) -> int:
        """The number of content bytes to copy."""
        return sum(job.size for job in self.files)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class Planner:
    """Turns copy()'s rules into a Plan; see :func:`cerulean.copy`."""

    def __init__(self, source_fs: FileSystemImpl, target_fs: FileSystemImpl,
                 overwrite: str, copy_permissions: bool) -> None:
        self.source_fs = source_fs
        self.target_fs = target_fs
        self.overwrite = overwrite
        self.copy_permissions = copy_permissions
        self.modes = source_fs._supports(Capability.PERMISSIONS) and (
            target_fs._supports(Capability.PERMISSIONS))
        self.links = target_fs._supports(Capability.SYMLINKS)
        self.plan = Plan()
        self.root = ""

    # --- Entry points ------------------------------------------------------

    def plan_copy(self, source: str, info: FileStat, target: str,
                  existing: FileStat | None) -> Plan:
        """Plan copying source (described by info, links followed) to target.

        :param existing: lstat() of target, or None if nothing is there.
        """
        self.root = posixpath.normpath(source)
        self._entry(source, info, target, existing, followed=())
        return self.plan

    # --- Conflicts ---------------------------------------------------------

    def _clear(self, target: str, existing: FileStat | None) -> bool:
        """Decide about an existing target entry; True means go ahead.

        For 'always' the caller replaces the entry; for 'never' the source
        entry is skipped; for 'raise' FileExistsError is raised now, before
        anything has been written.
        """
        if existing is None:
            return True
        if self.overwrite == "never":
            logger.debug("not overwriting %s", target)
            return False
        if self.overwrite == "raise":
            raise FileExistsError(errno.EEXIST, "Target path exists, not"
                                  " overwriting", target)
        return True

    # --- Kinds of entries --------------------------------------------------

    def _entry(self, source: str, info: FileStat, target: str,
               existing: FileStat | None, followed: tuple[str, ...]) -> None:
        if info.is_file():
            self._file(source, info, target, existing)
        elif info.is_dir():
            self._dir(source, info, target, existing, followed)
        else:
            logger.warning("copy: skipping %s, a %s, which cannot be copied",
                           source, info.entry_type.name.lower())

    def _file(self, source: str, info: FileStat, target: str,
              existing: FileStat | None) -> None:
        if not self._clear(target, existing):
            return
        if existing is not None and existing.is_dir():
            # A file cannot be renamed over a directory: remove it first.
            self.plan.removals.append(target)
        mode = exact = None
        if self.modes:
            # Without copy_permissions a new file gets the default mode (0o666
            # less umask, no execute bits) less what the source lacks, as in
            # Cerulean 1.0: an executable arrives as a plain file.
            mode = info.mode & NEW_FILE_DEFAULT
            if self.copy_permissions:
                exact = info.mode & 0o7777
        self.plan.files.append(FileJob(source, target, info.size, mode, exact))

    def _dir(self, source: str, info: FileStat, target: str,
             existing: FileStat | None, followed: tuple[str, ...]) -> None:
        create = True
        merge_into_existing = False
        if existing is not None:
            if not self._clear(target, existing):
                return
            target_info = existing
            if existing.is_symlink():
                target_info = stat_or_none(self.target_fs, target) or existing
            if target_info.is_dir():
                create = False
                merge_into_existing = True
            else:
                self.plan.removals.append(target)

        mode = final = reduce_to = None
        if self.modes:
            wanted = info.mode & 0o7777
            if create:
                # The copy must be able to write inside, whatever the source
                # allows; missing owner bits are taken away at the end.
                mode = (wanted & 0o777) | OWNER_RWX
                if self.copy_permissions:
                    final = wanted
                elif wanted & OWNER_RWX != OWNER_RWX:
                    reduce_to = wanted & 0o777
            elif self.copy_permissions:
                final = wanted
        self.plan.dirs.append(DirJob(target, mode, final, reduce_to, create))

        try:
            entries = self.source_fs._listdir(source)
        except OSError as error:
            logger.warning("copy: cannot list %s: %s", source, error)
            raise
        existing_entries: dict[str, FileStat] = {}
        if merge_into_existing:
            existing_entries = dict(self.target_fs._listdir(target))
        for name, entry in sorted(entries, key=lambda item: item[0]):
            self._child(posixpath.join(source, name), entry,
                        posixpath.join(target, name),
                        existing_entries.get(name), followed)

    def _child(self, source: str, entry: FileStat, target: str,
               existing: FileStat | None, followed: tuple[str, ...]) -> None:
        if not entry.is_symlink():
            self._entry(source, entry, target, existing, followed)
            return
        self._symlink(source, target, existing, followed)

    def _symlink(self, source: str, target: str, existing: FileStat | None,
                 followed: tuple[str, ...]) -> None:
        text = self.source_fs._readlink(source)
        resolved = posixpath.normpath(
            posixpath.join(posixpath.dirname(source), text))
        inside = _inside(resolved, self.root) and not followed
        if inside and self.links:
            # A link that points inside the tree is copied as a link, whether
            # or not it resolves: a dangling link or a loop inside the tree
            # is part of the tree as its owner made it (Cerulean 1.0 copies
            # them too), and a link is all there is to copy of it.
            if not self._clear(target, existing):
                return
            if existing is not None:
                self.plan.removals.append(target)
            if posixpath.isabs(text):
                # Re-aim at the same place in the target tree.
                text = posixpath.relpath(resolved, posixpath.dirname(source))
            self.plan.links.append((target, text))
            return
        info = stat_or_none(self.source_fs, source)
        if info is None:
            # Points outside (or the target has no links) and resolves to
            # nothing: there is nothing to copy in its place.
            logger.warning("copy: skipping broken symbolic link %s -> %s",
                           source, text)
            return
        # Points outside, or the target cannot hold links: copy what it
        # points to.
        if info.is_dir():
            if any(_inside(place, resolved) for place in followed + (
                    self.root, posixpath.dirname(source))) or (
                    len(followed) >= MAX_LINK_DEPTH):
                logger.warning("copy: skipping %s -> %s: following it would"
                               " copy a directory into itself", source, text)
                return
            followed = (*followed, resolved)
        self._entry(source, info, target, existing, followed)
