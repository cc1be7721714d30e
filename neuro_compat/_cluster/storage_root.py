"""Confinement of storage paths to the storage root.

:func:`neuro_compat._uri.storage_relpath` already refuses ``..``; what is left
are symbolic links inside the storage root that lead out of it (made by a
job, or by hand on the cluster). Before a path is used, the directory it is
in is resolved with ``realpath`` and must lie inside the (resolved) storage
root; operations that follow a final link (reading, writing, listing)
resolve the whole path. Operations then work on the resolved path, so a
link swapped in afterwards is not followed by a later step of the same
operation.

Two anchors are resolved once per session and trusted afterwards: the
storage root and the user's directory in it (neuro_compat creates both).
Everything below them is checked on every call.
"""
from __future__ import annotations

import posixpath
from pathlib import PurePosixPath

from ..errors import StoragePathError
from .backend import Backend


class StorageRoot:
    """The storage root of one cluster, and the checks that keep paths in it.

    Use :meth:`open` to make one.

    :param backend: the storage operations.
    :param root: the configured root (absolute).
    :param real_root: the root with links resolved.
    :param anchors: resolved directories trusted without a new check, by
        their path below the root.
    :ivar owner_uid: our user id on the storage, or None if unknown.
    """

    def __init__(self, backend: Backend, root: str, real_root: str,
                 anchors: dict[PurePosixPath, str]) -> None:
        self.backend = backend
        self.root = root
        self.real_root = real_root
        self._anchors = anchors
        self.owner_uid: int | None = None

    @classmethod
    def open(cls, backend: Backend, root: str, username: str, cluster: str) -> StorageRoot:
        """Make the root and the user's directory if missing, resolve them.

        :raises StoragePathError: if the user's directory leads out of the
            root.
        """
        user_dir = posixpath.join(root, username)
        makedirs(backend, user_dir)
        real_root = backend.realpath(root)
        real_user = backend.realpath(user_dir)
        here = cls(backend, root, real_root, {})
        if not here.inside(real_user):
            raise StoragePathError(f"storage://{cluster}/{username}",
                                   f"the user directory {user_dir} is a link leading out "
                                   f"of the storage root {root}")
        here._anchors = {PurePosixPath("."): real_root,
                         PurePosixPath(username): real_user}
        here.owner_uid = backend.stat(real_user).uid
        return here

    def inside(self, real: str) -> bool:
        """True if a resolved path is the root or below it."""
        base = self.real_root.rstrip("/")
        return real == self.real_root or real.startswith(base + "/")

    def unchecked(self, rel: PurePosixPath) -> str:
        """The path of ``rel`` on the file system, with no link checks."""
        return self.root if str(rel) == "." else posixpath.join(self.root, str(rel))

    def resolve(self, rel: PurePosixPath, uri: object, *, follow: bool) -> str:
        """The checked path to operate on for ``rel`` (a path below the root).

        :param rel: the path below the storage root.
        :param uri: the URI, for messages.
        :param follow: resolve a final symbolic link too (for operations
            that act on what a link points to: read, write, list), or leave
            it (stat, remove, rename act on the link itself).
        :raises StoragePathError: if the path leads out of the root, or
            follows a link that points nowhere.
        :raises FileNotFoundError: if a directory on the way is missing
            (some servers only).
        """
        if str(rel) == ".":
            return self.real_root
        if not self.backend.symlinks:
            return self.unchecked(rel)
        if follow:
            try:
                real = self.backend.realpath(self.unchecked(rel))
            except FileNotFoundError:
                pass  # nothing there yet (or a dangling link): check the parent
            else:
                self._check(real, uri)
                return real
        candidate = posixpath.join(self.real_dir(rel.parent, uri), rel.name)
        if follow:
            self._refuse_dangling_link(candidate, uri)
        return candidate

    def real_dir(self, rel: PurePosixPath, uri: object) -> str:
        """The resolved, checked path of the directory ``rel``."""
        anchor = self._anchors.get(rel)
        if anchor is not None:
            return anchor
        real = self.backend.realpath(self.unchecked(rel))
        self._check(real, uri)
        return real

    def _check(self, real: str, uri: object) -> None:
        if not self.inside(real):
            raise StoragePathError(uri, "it leads through a symbolic link to "
                                   f"{real}, outside the storage root")

    def _refuse_dangling_link(self, path: str, uri: object) -> None:
        try:
            st = self.backend.lstat(path)
        except FileNotFoundError:
            return
        if st.is_symlink():
            target = self.backend.readlink(path)
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if not self.inside(resolved):
                raise StoragePathError(uri, f"it is a symbolic link to {target}, "
                                       "outside the storage root")
            raise StoragePathError(uri, f"it is a symbolic link to {target}, which "
                                   "does not exist")


def makedirs(backend: Backend, path: str) -> None:
    """Make a directory and its missing parents (like ``mkdir -p``)."""
    try:
        backend.mkdir(path)
    except FileExistsError:
        if not backend.stat(path).is_dir():
            raise
    except FileNotFoundError:
        parent = posixpath.dirname(path)
        if parent == path:
            raise
        makedirs(backend, parent)
        try:
            backend.mkdir(path)
        except FileExistsError:
            if not backend.stat(path).is_dir():
                raise

