"""Every Path method, on every file system, over the standard tree."""
from __future__ import annotations

import errno
import time
from pathlib import PurePosixPath
from typing import Any

import pytest

import cerulean
from cerulean import EntryType, Permission
from tests.fs_helpers import (
    CONTENT,
    FS_KINDS,
    is_sftp,
    make_tree,
    relative,
    running_as_root,
    set_mtime,
    sha256,
)

pytestmark = pytest.mark.parametrize("filesystem", FS_KINDS, indirect=True)

FsBase = tuple[Any, Any]


@pytest.fixture
def tree(filesystem: FsBase) -> Any:
    _, base = filesystem
    return make_tree(base)


# --- Existence and kinds -------------------------------------------------

def test_exists_follows_links(tree: Any) -> None:
    for name in ("file", "empty", "dir", "abs_link", "rel_link", "dir_link",
                 "chain1", "fifo"):
        assert (tree / name).exists(), name
    for name in ("missing", "broken", "loop1", "file/below_a_file"):
        assert not (tree / name).exists(), name


def test_is_dir_and_is_file_follow_links(tree: Any) -> None:
    assert (tree / "dir").is_dir() and (tree / "dir_link").is_dir()
    assert not (tree / "file").is_dir() and not (tree / "missing").is_dir()
    for name in ("file", "empty", "abs_link", "rel_link", "chain1"):
        assert (tree / name).is_file(), name
    for name in ("dir", "fifo", "broken", "loop1", "missing"):
        assert not (tree / name).is_file(), name


def test_is_symlink_does_not_follow(tree: Any) -> None:
    for name in ("abs_link", "rel_link", "dir_link", "chain1", "broken",
                 "loop1"):
        assert (tree / name).is_symlink(), name
    for name in ("file", "dir", "fifo", "missing"):
        assert not (tree / name).is_symlink(), name


def test_entry_type(tree: Any) -> None:
    expected = {"file": EntryType.FILE, "dir": EntryType.DIRECTORY,
                "abs_link": EntryType.SYMBOLIC_LINK,
                "broken": EntryType.SYMBOLIC_LINK, "fifo": EntryType.FIFO}
    for name, kind in expected.items():
        assert (tree / name).entry_type() == kind, name
    with pytest.raises(FileNotFoundError):
        (tree / "missing").entry_type()


def test_stat_is_one_record(tree: Any) -> None:
    info = (tree / "file").stat()
    assert info.entry_type == EntryType.FILE
    assert info.size == len(CONTENT)
    assert info.mode == 0o644
    assert abs(info.mtime - time.time()) < 120
    assert info.uid == (tree / "file").uid() and info.gid == (tree / "file").gid()
    assert isinstance(info, cerulean.path.FileStat)
    assert (tree / "abs_link").stat().entry_type == EntryType.FILE
    assert (tree / "abs_link").lstat().entry_type == EntryType.SYMBOLIC_LINK
    assert (tree / "abs_link").stat(follow_symlinks=False).is_symlink()
    with pytest.raises(FileNotFoundError):
        (tree / "broken").stat()
    with pytest.raises(FileNotFoundError):
        (tree / "missing").stat()


def test_size_uid_gid(filesystem: FsBase, tree: Any) -> None:
    assert (tree / "file").size() == len(CONTENT)
    assert (tree / "empty").size() == 0
    assert (tree / "rel_link").size() == len(CONTENT)
    uid, gid = (tree / "file").uid(), (tree / "file").gid()
    assert isinstance(uid, int) and isinstance(gid, int)
    owner = "cerulean" if is_sftp(filesystem[0]) else "root"
    import pwd
    assert pwd.getpwuid(uid).pw_name == owner


# --- Permissions ---------------------------------------------------------

def test_has_permission(tree: Any) -> None:
    exe, private = tree / "exe", tree / "private"
    assert exe.has_permission(Permission.OWNER_EXECUTE)
    assert exe.has_permission(Permission.OTHERS_READ)
    assert private.has_permission(Permission.OWNER_READ)
    assert not private.has_permission(Permission.GROUP_READ)
    assert not private.has_permission(Permission.OTHERS_READ)
    assert not (tree / "missing").has_permission(Permission.OWNER_READ)


def test_set_permission_and_chmod(tree: Any) -> None:
    path = tree / "file"
    path.set_permission(Permission.OWNER_EXECUTE)
    assert path.stat().mode == 0o744
    path.set_permission(Permission.OTHERS_READ, False)
    assert path.stat().mode == 0o740
    path.set_permission(Permission.SGID)
    assert path.has_permission(Permission.SGID)
    path.chmod(0o4711)
    assert path.stat().mode == 0o4711
    assert path.has_permission(Permission.SUID)
    with pytest.raises(ValueError):
        path.chmod(0o10000)


def test_private_file_is_private(filesystem: FsBase, tree: Any) -> None:
    (tree / "private").chmod(0o000)
    if running_as_root() and not is_sftp(filesystem[0]):
        pytest.skip("root reads everything; SFTP runs as a normal user")
    with pytest.raises(PermissionError):
        (tree / "private").read_bytes()


# --- Directories ---------------------------------------------------------

def test_mkdir(filesystem: FsBase, tree: Any) -> None:
    new = tree / "new"
    new.mkdir()
    assert new.is_dir()
    with pytest.raises(FileExistsError):
        new.mkdir()
    new.mkdir(exists_ok=True)
    with pytest.raises(FileExistsError):
        (tree / "file").mkdir(exists_ok=True)
    with pytest.raises(FileNotFoundError):
        (tree / "a" / "b").mkdir()
    (tree / "a" / "b" / "c").mkdir(parents=True)
    assert (tree / "a" / "b" / "c").is_dir()
    (tree / "private_dir").mkdir(0o700)
    assert (tree / "private_dir").stat().mode == 0o700


def test_iterdir(tree: Any) -> None:
    names = {p.name for p in tree.iterdir()}
    assert names == {"file", "empty", "exe", "private", "dir", "abs_link",
                     "rel_link", "dir_link", "chain1", "chain2", "broken",
                     "loop1", "loop2", "fifo"}
    assert all(p.parent == tree for p in tree.iterdir())
    with pytest.raises(NotADirectoryError):
        list((tree / "file").iterdir())
    with pytest.raises(FileNotFoundError):
        list((tree / "missing").iterdir())


def test_walk_topdown_and_bottom_up(tree: Any) -> None:
    walked = list(tree.walk())
    top, dirnames, filenames = walked[0]
    assert top == tree
    # As os.walk: a link to a directory is listed with the directories.
    assert sorted(dirnames) == ["dir", "dir_link"]
    assert "fifo" in filenames and "broken" in filenames
    assert "loop1" in filenames and "file" in filenames
    assert [d for d, _, _ in walked] == [tree, tree / "dir",
                                         tree / "dir" / "deeper"]
    bottom_up = [d for d, _, _ in tree.walk(topdown=False)]
    assert bottom_up == [tree / "dir" / "deeper", tree / "dir", tree]


def test_walk_followlinks_and_pruning(tree: Any) -> None:
    followed = [d for d, _, _ in tree.walk(followlinks=True)]
    assert tree / "dir_link" in followed
    assert tree / "dir_link" / "deeper" in followed
    seen = []
    for dirpath, dirnames, _ in tree.walk():
        seen.append(dirpath)
        dirnames[:] = [n for n in dirnames if n != "dir"]
    assert seen == [tree]


def test_walk_onerror(tree: Any) -> None:
    errors: list[OSError] = []
    assert list((tree / "missing").walk(onerror=errors.append)) == []
    assert len(errors) == 1 and errors[0].filename == str(tree / "missing")
    assert list((tree / "missing").walk()) == []


def test_rmdir(tree: Any) -> None:
    (tree / "empty_dir").mkdir()
    (tree / "empty_dir").rmdir()
    assert not (tree / "empty_dir").exists()
    with pytest.raises(OSError) as info:
        (tree / "dir").rmdir()
    assert info.value.errno == errno.ENOTEMPTY
    with pytest.raises(NotADirectoryError):
        (tree / "file").rmdir()
    with pytest.raises(NotADirectoryError):
        (tree / "dir_link").rmdir(recursive=True)
    (tree / "dir" / "link_out").symlink_to(tree / "file")
    (tree / "dir").rmdir(recursive=True)
    assert not (tree / "dir").exists()
    assert (tree / "file").read_bytes() == CONTENT  # the link's target stays


def test_remove(tree: Any) -> None:
    (tree / "abs_link").remove()
    assert not (tree / "abs_link").is_symlink() and (tree / "file").exists()
    (tree / "broken").remove()
    (tree / "fifo").remove()
    (tree / "dir").remove()
    (tree / "missing").remove()
    (tree / "file").remove()
    assert {p.name for p in tree.iterdir()} == {
        "empty", "exe", "private", "rel_link", "dir_link", "chain1",
        "chain2", "loop1", "loop2"}


def test_unlink(tree: Any) -> None:
    (tree / "rel_link").unlink()
    assert not (tree / "rel_link").is_symlink()
    (tree / "file").unlink()
    assert not (tree / "file").exists()
    with pytest.raises(FileNotFoundError):
        (tree / "file").unlink()
    with pytest.raises(IsADirectoryError):
        (tree / "dir").unlink()


# --- Contents ------------------------------------------------------------

def test_read_and_write(tree: Any) -> None:
    assert (tree / "file").read_bytes() == CONTENT
    assert (tree / "rel_link").read_text() == CONTENT.decode()
    assert (tree / "empty").read_bytes() == b""
    (tree / "text").write_text("grüße", encoding="latin-1")
    assert (tree / "text").read_bytes() == "grüße".encode("latin-1")
    assert (tree / "text").read_text("latin-1") == "grüße"
    (tree / "text").write_bytes(b"shorter")
    assert (tree / "text").read_bytes() == b"shorter"
    with pytest.raises(FileNotFoundError):
        (tree / "missing").read_bytes()
    with pytest.raises(IsADirectoryError):
        (tree / "dir").read_bytes()
    with pytest.raises(IsADirectoryError):
        (tree / "dir").write_bytes(b"x")


def test_streaming(tree: Any) -> None:
    import os
    blocks = [os.urandom(100_000) for _ in range(30)] + [b"", b"tail"]
    (tree / "big").streaming_write(block for block in blocks)
    data = b"".join(blocks)
    chunks = list((tree / "big").streaming_read())
    assert b"".join(chunks) == data
    assert max(len(c) for c in chunks) < len(data)  # really streamed
    assert (tree / "big").size() == len(data)
    import hashlib
    assert sha256(tree / "big") == hashlib.sha256(data).hexdigest()
    # Stopping early releases the file; the next use still works.
    reader = (tree / "big").streaming_read()
    assert next(reader)
    reader.close()
    assert (tree / "big").size() == len(data)


def test_touch_creates_and_updates_mtime(tree: Any) -> None:
    (tree / "new").touch()
    assert (tree / "new").is_file() and (tree / "new").size() == 0
    set_mtime(tree / "file", 1_000_000_000)
    assert (tree / "file").stat().mtime == 1_000_000_000
    (tree / "file").touch()
    assert abs((tree / "file").stat().mtime - time.time()) < 60
    assert (tree / "file").read_bytes() == CONTENT


def test_rename(filesystem: FsBase, tree: Any) -> None:
    (tree / "file").rename(tree / "renamed")
    assert (tree / "renamed").read_bytes() == CONTENT
    assert not (tree / "file").exists()
    (tree / "renamed").rename(tree / "exe")  # overwrites
    assert (tree / "exe").read_bytes() == CONTENT
    (tree / "dir").rename(tree / "dir2")
    assert (tree / "dir2" / "sub").read_bytes() == b"sub"
    other = cerulean.LocalFileSystem() if is_sftp(filesystem[0]) else None
    if other is not None:
        with pytest.raises(ValueError):
            (tree / "exe").rename(other / "tmp" / "x")
    with pytest.raises(FileNotFoundError):
        (tree / "missing").rename(tree / "x")


# --- Links ---------------------------------------------------------------

def test_symlink_to_and_readlink(tree: Any) -> None:
    (tree / "new_link").symlink_to(tree / "dir")
    assert (tree / "new_link").is_dir()
    assert (tree / "new_link").readlink() == tree / "dir"
    with pytest.raises(FileExistsError):
        (tree / "file").symlink_to(tree / "dir")
    assert (tree / "rel_link").readlink() == relative(tree, "file")
    assert not (tree / "rel_link").readlink().is_absolute()
    assert (tree / "abs_link").readlink() == tree / "file"
    assert (tree / "chain1").readlink() == relative(tree, "chain2")
    assert (tree / "chain1").readlink(recursive=True) == tree / "file"
    assert (tree / "broken").readlink(recursive=True) == tree / "nothing_here"
    with pytest.raises(RuntimeError):
        (tree / "loop1").readlink(recursive=True)
    with pytest.raises(OSError):
        (tree / "file").readlink()


def test_awkward_names(tree: Any) -> None:
    for name in ("with space", "hash#tag", "per%20cent", "ünïcødé €", "a'b\"c"):
        (tree / name).write_text(name)
        assert (tree / name).read_text() == name
        assert (tree / name).exists()
    names = {p.name for p in tree.iterdir()}
    assert {"with space", "hash#tag", "per%20cent", "ünïcødé €"} <= names


# --- Pure path behaviour (file-system independent, checked once each) ----

def test_pure_parts(filesystem: FsBase) -> None:
    fs, _ = filesystem
    path = fs / "home" / "user" / "archive.tar.gz"
    assert str(path) == "/home/user/archive.tar.gz"
    assert path.parts == ("/", "home", "user", "archive.tar.gz")
    assert path.drive == "" and path.root == "/" and path.anchor == "/"
    assert path.name == "archive.tar.gz" and path.stem == "archive.tar"
    assert path.suffix == ".gz" and path.suffixes == [".tar", ".gz"]
    assert path.parent == fs / "home" / "user"
    assert path.parents == [fs / "home" / "user", fs / "home", fs.root()]
    assert path.as_posix() == "/home/user/archive.tar.gz"
    assert path.is_absolute() and not path.is_reserved()
    assert path.with_name("x.txt") == fs / "home/user/x.txt"
    assert path.with_suffix(".bz2") == fs / "home/user/archive.tar.bz2"
    assert path.relative_to(fs / "home") == relative(path, "user/archive.tar.gz")
    assert path.relative_to("/home/user") == relative(path, "archive.tar.gz")
    assert (fs / "home").joinpath("a", relative(path, "b")) == fs / "home/a/b"
    assert fs / "/home/" == fs / "home"
    assert fs / "home" / "/user" == fs / "home/user"
    assert fs.root() == fs / ""
    with pytest.raises(ValueError):
        path.relative_to(fs / "etc")


def test_equality_and_order(filesystem: FsBase) -> None:
    fs, _ = filesystem
    a, b = fs / "a", fs / "b"
    a2, b2 = fs / "a", fs / "b"
    assert a == a2 and a != b and a < b <= b2 and b > a >= a2
    assert hash(a) == hash(fs / "a")
    assert len({a, fs / "a", b}) == 2
    if is_sftp(fs):
        local = cerulean.LocalFileSystem() / "a"
        assert local != a
        with pytest.raises(TypeError):
            assert local < a
    assert cerulean.Path(fs, PurePosixPath("/a")) == a
    assert a != "/a"
