"""Cerulean 1.0's FileSystemImpl extension protocol.

Two directions: a subclass written for Cerulean 1.0, implementing only
1.0's abstract methods, works with Path and copy(); and 1.0's protocol
methods (``_exists``, ``_mkdir``...) work on our own file systems, with
1.0's signatures and exceptions (here on LocalFileSystem, in tmp dirs;
the suite of 1.0 itself runs them on all three).
"""
from __future__ import annotations

import errno
import os
import pathlib
from collections.abc import Generator, Iterable
from typing import cast

import pytest

import cerulean
from cerulean import EntryType, LocalFileSystem, Path, Permission
from cerulean.file_system import FileSystem
from cerulean.file_system_impl import (
    AbstractPath,
    Capability,
    FileSystemImpl,
    NotADirectoryRuntimeError,
)
from cerulean.path import AbstractPath as PathAbstractPath


class OldStyleFileSystem(FileSystemImpl):
    """A file system written for Cerulean 1.0, as its LocalFileSystem is.

    It implements exactly 1.0's abstract methods (plus ``__eq__``,
    ``root`` and ``/``, as 1.0's own file systems do) and shows the tree
    under base as the whole file system, to keep the test in a tmp dir.
    """

    def __init__(self, base: pathlib.Path) -> None:
        self.base = base

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, OldStyleFileSystem)
                and other.base == self.base)

    def root(self) -> Path:
        return Path(self, pathlib.Path("/"))

    def __truediv__(self, segment: str) -> Path:
        return Path(self, pathlib.Path("/" + segment.strip("/")))

    def _real(self, path: AbstractPath) -> pathlib.Path:
        # 1.0 subclasses get their own path type back: check it.
        assert isinstance(path, pathlib.Path), repr(path)
        return self.base / path.relative_to("/")

    def _supports(self, feature: str) -> bool:
        if feature not in self._features:
            raise ValueError('Invalid argument for "feature"')
        return True

    def _exists(self, path: AbstractPath) -> bool:
        return self._real(path).exists()

    def _mkdir(self, path: AbstractPath, mode: int | None = None,
               parents: bool = False, exists_ok: bool = False) -> None:
        self._real(path).mkdir(0o777 if mode is None else mode, parents,
                               exists_ok)

    def _iterdir(self, path: AbstractPath
                 ) -> Generator[AbstractPath, None, None]:
        for entry in self._real(path).iterdir():
            yield cast(pathlib.Path, path) / entry.name

    def _rmdir(self, path: AbstractPath, recursive: bool = False) -> None:
        real = self._real(path)
        if not real.is_dir():
            raise RuntimeError("Path must refer to a directory")
        if recursive:
            for entry in self._iterdir(path):
                if self._is_symlink(entry) or not self._is_dir(entry):
                    self._unlink(entry)
                else:
                    self._rmdir(entry, True)
        real.rmdir()

    def _touch(self, path: AbstractPath) -> None:
        self._real(path).touch()

    def _streaming_read(self, path: AbstractPath
                        ) -> Generator[bytes, None, None]:
        with self._real(path).open("rb") as stream:
            yield from iter(lambda: stream.read(7), b"")

    def _streaming_write(self, path: AbstractPath,
                         data: Iterable[bytes]) -> None:
        with self._real(path).open("wb") as stream:
            for chunk in data:
                stream.write(chunk)

    def _rename(self, path: AbstractPath, target: AbstractPath) -> None:
        self._real(path).replace(self._real(target))

    def _unlink(self, path: AbstractPath) -> None:
        self._real(path).unlink()

    def _is_dir(self, path: AbstractPath) -> bool:
        return self._real(path).is_dir()

    def _is_file(self, path: AbstractPath) -> bool:
        return self._real(path).is_file()

    def _is_symlink(self, path: AbstractPath) -> bool:
        return self._real(path).is_symlink()

    def _entry_type(self, path: AbstractPath) -> EntryType:
        real = self._real(path)
        if real.is_symlink():
            return EntryType.SYMBOLIC_LINK
        if real.is_dir():
            return EntryType.DIRECTORY
        if real.is_file():
            return EntryType.FILE
        raise FileNotFoundError(str(path))

    def _size(self, path: AbstractPath) -> int:
        return self._real(path).stat().st_size

    def _uid(self, path: AbstractPath) -> int:
        return self._real(path).stat().st_uid

    def _gid(self, path: AbstractPath) -> int:
        return self._real(path).stat().st_gid

    def _has_permission(self, path: AbstractPath,
                        permission: Permission) -> bool:
        return bool(self._real(path).stat().st_mode & permission.value)

    def _set_permission(self, path: AbstractPath, permission: Permission,
                        value: bool = True) -> None:
        mode = self._real(path).stat().st_mode
        self._chmod(path, mode | permission.value if value
                    else mode & ~permission.value)

    def _chmod(self, path: AbstractPath, mode: int) -> None:
        self._real(path).chmod(mode)

    def _symlink_to(self, path: AbstractPath, target: AbstractPath) -> None:
        # Link texts are virtual paths; absolute ones point into base.
        text = str(target)
        if text.startswith("/"):
            text = str(self.base) + text
        self._real(path).symlink_to(text)

    def _readlink(self, path: AbstractPath, recursive: bool) -> Path:
        current = cast(pathlib.Path, path)
        while True:
            text = os.readlink(self._real(current))
            if text.startswith(str(self.base) + "/"):
                text = text[len(str(self.base)):]
            target = pathlib.Path(text)
            if not recursive or not self._is_symlink(current.parent / target):
                return Path(self, target)
            current = current.parent / target


@pytest.fixture
def old(tmp_path: pathlib.Path) -> OldStyleFileSystem:
    base = tmp_path / "old"
    base.mkdir()
    return OldStyleFileSystem(base)


def test_abstract_path_is_1_0s() -> None:
    assert AbstractPath is PathAbstractPath
    # FileSystem declares nothing abstract: a bare subclass instantiates.
    class Bare(FileSystem):
        pass
    with pytest.raises(NotImplementedError):
        Bare().root()


def test_old_style_subclass_works_with_path(old: OldStyleFileSystem) -> None:
    root = old / ""
    assert root == old.root() and root.is_dir()
    (root / "d" / "e").mkdir(parents=True)
    (root / "d" / "e").mkdir(parents=True, exists_ok=True)
    data = root / "d" / "file.txt"
    data.write_text("Hello World\n")
    assert data.read_text() == "Hello World\n"
    assert data.size() == 12 and data.is_file() and not data.is_dir()
    assert data.entry_type() == EntryType.FILE
    assert sorted(p.name for p in (root / "d").iterdir()) == ["e", "file.txt"]
    # Path keeps the subclass's own path type, where 1.0 kept it.
    # (getattr: the name 1.0's conftest reads, mangled outside the class)
    assert isinstance(getattr(data, "_Path__path"), pathlib.Path)  # noqa: B009

    link = root / "link"
    link.symlink_to(data)
    assert link.is_symlink() and link.exists() and link.is_file()
    assert link.entry_type() == EntryType.SYMBOLIC_LINK
    assert str(link.readlink()) == "/d/file.txt"
    assert link.read_text() == "Hello World\n"

    data.chmod(0o640)
    assert data.has_permission(Permission.GROUP_READ)
    assert not data.has_permission(Permission.OTHERS_READ)
    data.set_permission(Permission.OTHERS_READ)
    assert data.stat().mode == 0o644

    walked = [(str(top), dirs, files) for top, dirs, files in root.walk()]
    assert walked[0] == ("/", ["d"], ["link"])

    data.rename(root / "d" / "moved.txt")
    assert not data.exists() and (root / "d" / "moved.txt").exists()
    assert not link.exists() and link.is_symlink()  # now dangling
    link.remove()
    (root / "d").remove()
    assert list(root.iterdir()) == []


def test_old_style_subclass_with_copy(tmp_path: pathlib.Path,
                                      old: OldStyleFileSystem) -> None:
    local = LocalFileSystem()
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.txt").write_bytes(b"a" * 1000)
    (source / "run.sh").write_text("#!/bin/sh\n")
    (source / "run.sh").chmod(0o750)
    (source / "rel_link").symlink_to("run.sh")

    cerulean.copy(local / str(source), old / "copied",
                  copy_permissions=True)
    copied = old / "copied"
    assert (copied / "sub" / "a.txt").read_bytes() == b"a" * 1000
    assert (copied / "run.sh").stat().mode == 0o750
    assert (copied / "rel_link").is_symlink()
    assert str((copied / "rel_link").readlink()) == "run.sh"

    back = tmp_path / "back"
    cerulean.copy(copied, local / str(back))
    assert (back / "sub" / "a.txt").read_bytes() == b"a" * 1000
    assert os.readlink(back / "rel_link") == "run.sh"



def test_old_style_subclass_copy_into_itself_is_refused(
        old: OldStyleFileSystem) -> None:
    """A 1.0 subclass has no realpath of its own: the default resolves
    links one component after the other, so copy() sees a way into the
    source through a link, and keeps the missing rest as written."""
    fs: FileSystemImpl = old
    fs._mkdir("/src/d", parents=True)
    fs._symlink("/alias", "/src")  # absolute text
    fs._symlink("/src/d/up", "..")  # relative text
    fs._symlink("/loop", "loop")
    assert fs._real_path("/alias/d/up/./d//missing/../x") == "/src/d/x"
    assert fs._real_path("/alias/missing/../d") == "/src/d"  # lexical on
    with pytest.raises(OSError) as caught:
        fs._real_path("/loop/x")
    assert caught.value.errno == errno.ELOOP
    with pytest.raises(OSError) as caught:
        cerulean.copy(old / "src", old / "alias" / "d" / "up" / "sub")
    assert caught.value.errno == errno.EINVAL
    assert not (old / "src" / "sub").exists()
    cerulean.copy(old / "src" / "d", old / "elsewhere")
    assert (old / "elsewhere").is_dir()

def test_old_style_subclass_gets_our_calling_convention(
        old: OldStyleFileSystem) -> None:
    # Our own code calls the shared names with str paths and Capability
    # values; the 1.0 methods get their own types.
    fs: FileSystemImpl = old
    assert fs._supports(Capability.SYMLINKS)
    assert fs._supports(Capability.OWNERSHIP)
    assert fs._supports("devices")
    with pytest.raises(ValueError):
        fs._supports("teleport")
    fs._mkdir("/x", 0o700)
    fs._symlink("/x/l", "../y")
    assert fs._readlink("/x/l") == "../y"
    fs._unlink("/x/l")
    fs._rmdir("/x")
    assert not (old / "x").exists()


def test_neither_protocol_raises_not_recursion() -> None:
    class Empty(FileSystemImpl):
        pass
    with pytest.raises(NotImplementedError, match="_stat"):
        (Empty() / "x").exists()
    with pytest.raises(NotImplementedError, match="_make_dir"):
        (Empty() / "x").mkdir()


# --- 1.0's protocol on our LocalFileSystem ---------------------------------

@pytest.fixture
def tree(tmp_path: pathlib.Path) -> pathlib.PurePosixPath:
    """A small tree like 1.0's test_files (links made absolute)."""
    links = tmp_path / "links"
    links.mkdir()
    (links / "file0").write_text("Hello World\n")
    (links / "file1").touch()
    (links / "link0").symlink_to(links / "file0")
    (links / "link1").symlink_to(links / "link0")
    (links / "link2").symlink_to("/doesnotexist")
    (links / "link3").symlink_to(links / "link4")
    (links / "link4").symlink_to(links / "link3")
    return pathlib.PurePosixPath(tmp_path)


def test_local_1_0_protocol_metadata(tree: pathlib.PurePosixPath) -> None:
    fs = LocalFileSystem()
    links = tree / "links"
    assert fs._supports("symlinks") and fs._supports("permissions")
    with pytest.raises(ValueError):
        fs._supports("nonsense")
    assert fs._exists(tree) and fs._exists(links / "link0")
    assert not fs._exists(links / "link2") and not fs._exists(links / "link3")
    assert fs._is_dir(tree) and not fs._is_dir(links / "link0")
    assert fs._is_file(links / "link0") and not fs._is_file(links / "link2")
    assert fs._is_symlink(links / "link2")
    assert not fs._is_symlink(links / "file0")
    assert fs._entry_type(tree) == EntryType.DIRECTORY
    assert fs._entry_type(links / "link0") == EntryType.SYMBOLIC_LINK
    with pytest.raises(FileNotFoundError):
        fs._entry_type(tree / "missing")
    assert fs._size(links / "link0") == 12
    assert fs._uid(tree) == os.getuid() and fs._gid(tree) == os.getgid()
    assert sorted(entry.name for entry in fs._iterdir(links)) == [
        "file0", "file1", "link0", "link1", "link2", "link3", "link4"]
    assert all(str(entry).startswith(str(links))
               for entry in fs._iterdir(links))


def test_local_1_0_protocol_links(tree: pathlib.PurePosixPath) -> None:
    fs = LocalFileSystem()
    links = tree / "links"
    assert str(fs._readlink(links / "link1", False)) == str(links / "link0")
    assert str(fs._readlink(links / "link1", True)) == str(links / "file0")
    assert str(fs._readlink(links / "link2", True)) == "/doesnotexist"
    assert isinstance(fs._readlink(links / "link0", False), Path)
    with pytest.raises(RuntimeError):
        fs._readlink(links / "link3", True)
    fs._symlink_to(tree / "new", links / "file0")
    assert fs._is_symlink(tree / "new") and fs._is_file(tree / "new")
    fs._unlink(tree / "new")
    assert not fs._exists(tree / "new")


def test_local_1_0_protocol_changes(tree: pathlib.PurePosixPath) -> None:
    fs = LocalFileSystem()
    new_file = tree / "test.txt"
    fs._touch(new_file)
    assert fs._exists(new_file)
    fs._streaming_write(new_file, [b"Helo", b", world!"])
    assert b"".join(fs._streaming_read(new_file)) == b"Helo, world!"
    fs._write_text(new_file, "Hi")
    assert fs._read_text(new_file) == "Hi" and fs._read_bytes(new_file) == b"Hi"
    fs._write_bytes(new_file, b"x")
    fs._rename(new_file, tree / "moved")
    assert not fs._exists(new_file) and fs._exists(tree / "moved")
    fs._unlink(tree / "moved")

    deep = tree / "a" / "b"
    old_umask = os.umask(0o022)
    try:
        fs._mkdir(deep, mode=0o660, parents=True)
    finally:
        os.umask(old_umask)
    assert fs._has_permission(deep.parent, Permission.OTHERS_READ)
    assert not fs._has_permission(deep, Permission.OWNER_EXECUTE)
    assert fs._has_permission(deep, Permission.OWNER_WRITE)
    with pytest.raises(FileExistsError):
        fs._mkdir(deep)
    fs._mkdir(deep, exists_ok=True)
    fs._chmod(deep, 0o700)

    fs._set_permission(deep, Permission.GROUP_READ)
    assert fs._has_permission(deep, Permission.GROUP_READ)
    fs._set_permission(deep, Permission.GROUP_READ, False)
    assert not fs._has_permission(deep, Permission.GROUP_READ)

    with pytest.raises(OSError):
        fs._rmdir(deep.parent)  # not empty
    # 1.0 raised RuntimeError for a file, we NotADirectoryError: both.
    with pytest.raises(RuntimeError):
        fs._rmdir(tree / "links" / "file0")
    with pytest.raises(NotADirectoryRuntimeError):
        (fs / str(tree / "links" / "file0")).rmdir()
    fs._touch(deep / "f")
    fs._rmdir(deep.parent, recursive=True)
    assert not fs._exists(deep.parent)


def test_a_1_0_subclass_has_none_of_the_additions_but_ranges(
        old: OldStyleFileSystem) -> None:
    # Cerulean 1.0 has no name for them, and such a subclass has no
    # primitive for them; byte ranges are read through its streams.
    fs = old
    data = bytes(range(256)) * 1200
    (fs.base / "f").write_bytes(data)
    for capability in (Capability.WRITE_AT, Capability.DISK_USAGE):
        assert fs._can(capability) is False
        assert fs._supports(capability) is False
    assert b"".join(fs._read_range("/f", 131_000, 500)) == data[131_000:131_500]
    with pytest.raises(cerulean.UnsupportedOperationError):
        fs._write_at("/f", 0, [b"x"])
    with pytest.raises(cerulean.UnsupportedOperationError):
        fs._disk_usage("/")
