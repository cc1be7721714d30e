"""Every Path method, on every file system, over the standard tree.

Where WebDAV differs by design (no links or special files, no permissions
or owners, see tests/fs_helpers.py), the test asserts what WebDAV does
instead.
"""
from __future__ import annotations

import errno
import time
from pathlib import PurePosixPath
from typing import Any

import pytest

import cerulean
from cerulean import EntryType, Permission, UnsupportedOperationError
from cerulean.file_system_impl import Capability
from tests.cerulean.fs_helpers import (
    CONTENT,
    FS_KINDS,
    LINKS,
    PLAIN,
    can,
    expected_mode,
    is_local,
    is_sftp,
    made,
    make_tree,
    not_a_directory_error,
    relative,
    running_as_root,
    set_mtime,
    sha256,
    temp_files,
)

pytestmark = pytest.mark.parametrize("filesystem", FS_KINDS, indirect=True)

FsBase = tuple[Any, Any]


@pytest.fixture
def tree(filesystem: FsBase) -> Any:
    _, base = filesystem
    return make_tree(base)


# --- Existence and kinds -------------------------------------------------

def test_the_tree_holds_what_the_file_system_can(tree: Any) -> None:
    names = {p.name for p in tree.iterdir()}
    if can(tree, Capability.SYMLINKS):
        assert set(LINKS) <= names
    else:
        # By design (WebDAV): no links, and none can be made.
        assert not set(LINKS) & names
        with pytest.raises(UnsupportedOperationError):
            (tree / "link").symlink_to(tree / "file")
        assert not (tree / "link").exists()
    assert ("fifo" in names) == can(tree, Capability.SPECIAL_FILES)
    assert set(PLAIN) <= names


def test_exists_follows_links(tree: Any) -> None:
    for name in made(tree, "file", "empty", "dir", "abs_link", "rel_link",
                     "dir_link", "chain1", "fifo"):
        assert (tree / name).exists(), name
    for name in made(tree, "missing", "broken", "loop1", "file/below_a_file"):
        assert not (tree / name).exists(), name


def test_is_dir_and_is_file_follow_links(tree: Any) -> None:
    for name in made(tree, "dir", "dir_link"):
        assert (tree / name).is_dir(), name
    assert not (tree / "file").is_dir() and not (tree / "missing").is_dir()
    for name in made(tree, "file", "empty", "abs_link", "rel_link", "chain1"):
        assert (tree / name).is_file(), name
    for name in made(tree, "dir", "fifo", "broken", "loop1", "missing"):
        assert not (tree / name).is_file(), name


def test_is_symlink_does_not_follow(tree: Any) -> None:
    for name in made(tree, "abs_link", "rel_link", "dir_link", "chain1",
                     "broken", "loop1"):
        assert (tree / name).is_symlink(), name
    for name in made(tree, "file", "dir", "fifo", "missing"):
        assert not (tree / name).is_symlink(), name


def test_entry_type(tree: Any) -> None:
    expected = {"file": EntryType.FILE, "dir": EntryType.DIRECTORY,
                "abs_link": EntryType.SYMBOLIC_LINK,
                "broken": EntryType.SYMBOLIC_LINK, "fifo": EntryType.FIFO}
    for name in made(tree, *expected):
        assert (tree / name).entry_type() == expected[name], name
    with pytest.raises(FileNotFoundError):
        (tree / "missing").entry_type()


def test_stat_is_one_record(tree: Any) -> None:
    info = (tree / "file").stat()
    assert info.entry_type == EntryType.FILE
    assert info.size == len(CONTENT)
    assert info.mode == expected_mode(tree, 0o644)
    assert abs(info.mtime - time.time()) < 120
    assert info.uid == (tree / "file").uid() and info.gid == (tree / "file").gid()
    assert isinstance(info, cerulean.path.FileStat)
    assert (tree / "dir").stat().mode & 0o700 == 0o700
    assert (tree / "file").lstat() == info
    with pytest.raises(FileNotFoundError):
        (tree / "missing").stat()
    if not can(tree, Capability.SYMLINKS):
        return  # WebDAV: lstat() is stat(), checked above
    assert (tree / "abs_link").stat().entry_type == EntryType.FILE
    assert (tree / "abs_link").lstat().entry_type == EntryType.SYMBOLIC_LINK
    assert (tree / "abs_link").stat(follow_symlinks=False).is_symlink()
    with pytest.raises(FileNotFoundError):
        (tree / "broken").stat()


def test_size_uid_gid(filesystem: FsBase, tree: Any) -> None:
    assert (tree / "file").size() == len(CONTENT)
    assert (tree / "empty").size() == 0
    if can(tree, Capability.SYMLINKS):
        assert (tree / "rel_link").size() == len(CONTENT)
    uid, gid = (tree / "file").uid(), (tree / "file").gid()
    if not can(tree, Capability.OWNERSHIP):
        # By design (WebDAV): no owners. None, not Cerulean 1.0's 0, which
        # would claim that root owns everything.
        assert (uid, gid) == (None, None)
        assert (tree / "file").stat()[4:] == (None, None)
        return
    assert isinstance(uid, int) and isinstance(gid, int)
    owner = "cerulean" if is_sftp(filesystem[0]) else "root"
    import pwd
    assert pwd.getpwuid(uid).pw_name == owner


# --- Permissions ---------------------------------------------------------

def test_has_permission(tree: Any) -> None:
    exe, private = tree / "exe", tree / "private"
    if can(tree, Capability.PERMISSIONS):
        assert exe.has_permission(Permission.OWNER_EXECUTE)
        assert exe.has_permission(Permission.OTHERS_READ)
    else:
        # By design (WebDAV): every file reads as private, 0o600.
        assert not exe.has_permission(Permission.OWNER_EXECUTE)
        assert not exe.has_permission(Permission.OTHERS_READ)
        assert exe.has_permission(Permission.OWNER_WRITE)
        assert (tree / "dir").has_permission(Permission.OWNER_EXECUTE)
    for name, mode in (("exe", 0o755), ("private", 0o600), ("file", 0o644)):
        for permission in Permission:
            assert (tree / name).has_permission(permission) == bool(
                expected_mode(tree, mode) & permission.value), (name, permission)
    assert private.has_permission(Permission.OWNER_READ)
    assert not private.has_permission(Permission.GROUP_READ)
    assert not private.has_permission(Permission.OTHERS_READ)
    assert not (tree / "missing").has_permission(Permission.OWNER_READ)


def test_set_permission_and_chmod(tree: Any) -> None:
    path = tree / "file"
    with pytest.raises(ValueError):
        path.chmod(0o10000)
    if not can(tree, Capability.PERMISSIONS):
        # By design (WebDAV): permission writes raise (or, if the file
        # system was made with unsupported_methods_raise=False, do
        # nothing, see test_webdav.py).
        with pytest.raises(UnsupportedOperationError):
            path.set_permission(Permission.OWNER_EXECUTE)
        with pytest.raises(UnsupportedOperationError):
            path.chmod(0o4711)
        assert path.stat().mode == 0o600
        return
    path.set_permission(Permission.OWNER_EXECUTE)
    assert path.stat().mode == 0o744
    path.set_permission(Permission.OTHERS_READ, False)
    assert path.stat().mode == 0o740
    path.set_permission(Permission.SGID)
    assert path.has_permission(Permission.SGID)
    path.chmod(0o4711)
    assert path.stat().mode == 0o4711
    assert path.has_permission(Permission.SUID)


def test_private_file_is_private(filesystem: FsBase, tree: Any) -> None:
    if not can(tree, Capability.PERMISSIONS):
        # By design (WebDAV): nothing to take away; the server decides
        # (a refusal there is a PermissionError, see test_webdav.py).
        with pytest.raises(UnsupportedOperationError):
            (tree / "private").chmod(0o000)
        assert (tree / "private").read_text() == "secret"
        return
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
        (tree / "file").mkdir()
    with pytest.raises(FileExistsError):  # a file is not an existing dir
        (tree / "file").mkdir(exists_ok=True)
    with pytest.raises(not_a_directory_error(filesystem[0])):
        (tree / "file" / "sub").mkdir()
    with pytest.raises(FileNotFoundError):
        (tree / "a" / "b").mkdir()
    (tree / "a" / "b" / "c").mkdir(parents=True)
    assert (tree / "a" / "b" / "c").is_dir()
    (tree / "a" / "b").mkdir(parents=True, exists_ok=True)
    if can(tree, Capability.PERMISSIONS):
        (tree / "private_dir").mkdir(0o700)
        assert (tree / "private_dir").stat().mode == 0o700
    else:
        # By design (WebDAV): no modes; made without one, it reads 0o700.
        with pytest.raises(UnsupportedOperationError):
            (tree / "private_dir").mkdir(0o700)
        assert not (tree / "private_dir").exists()
        (tree / "private_dir").mkdir()
        assert (tree / "private_dir").stat().mode == 0o700


def test_iterdir(tree: Any) -> None:
    names = {p.name for p in tree.iterdir()}
    assert names == set(made(tree, *PLAIN, *LINKS, "fifo"))
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
    assert sorted(dirnames) == made(tree, "dir", "dir_link")
    assert sorted(filenames) == sorted(
        made(tree, "file", "empty", "exe", "private", "abs_link", "rel_link",
             "chain1", "chain2", "broken", "loop1", "loop2", "fifo"))
    assert walked[1] == (tree / "dir", ["deeper"], ["sub"])
    assert [d for d, _, _ in walked] == [tree, tree / "dir",
                                         tree / "dir" / "deeper"]
    bottom_up = [d for d, _, _ in tree.walk(topdown=False)]
    assert bottom_up == [tree / "dir" / "deeper", tree / "dir", tree]


def test_walk_followlinks_and_pruning(tree: Any) -> None:
    followed = [d for d, _, _ in tree.walk(followlinks=True)]
    if can(tree, Capability.SYMLINKS):
        assert tree / "dir_link" in followed
        assert tree / "dir_link" / "deeper" in followed
    else:
        assert followed == [tree, tree / "dir", tree / "dir" / "deeper"]
    seen = []
    for dirpath, dirnames, _ in tree.walk():
        seen.append(dirpath)
        dirnames[:] = [n for n in dirnames if n != "dir"]
    assert seen == [tree]


def test_walk_onerror(tree: Any) -> None:
    errors: list[OSError] = []
    assert list((tree / "missing").walk(onerror=errors.append)) == []
    assert len(errors) == 1 and errors[0].filename == str(tree / "missing")
    assert isinstance(errors[0], FileNotFoundError)
    assert list((tree / "missing").walk()) == []


def test_rmdir(tree: Any) -> None:
    (tree / "empty_dir").mkdir()
    (tree / "empty_dir").rmdir()
    assert not (tree / "empty_dir").exists()
    with pytest.raises(OSError) as info:
        (tree / "dir").rmdir()
    assert info.value.errno == errno.ENOTEMPTY
    assert (tree / "dir" / "deeper" / "x").exists()
    with pytest.raises(NotADirectoryError):
        (tree / "file").rmdir()
    with pytest.raises(NotADirectoryError):
        (tree / "file").rmdir(recursive=True)
    with pytest.raises(FileNotFoundError):
        (tree / "missing").rmdir()
    with pytest.raises(FileNotFoundError):
        (tree / "missing").rmdir(recursive=True)
    if can(tree, Capability.SYMLINKS):
        with pytest.raises(NotADirectoryError):
            (tree / "dir_link").rmdir(recursive=True)
        (tree / "dir" / "link_out").symlink_to(tree / "file")
    (tree / "dir").rmdir(recursive=True)
    assert not (tree / "dir").exists()
    assert (tree / "file").read_bytes() == CONTENT  # a link's target stays


def test_remove(tree: Any) -> None:
    if can(tree, Capability.SYMLINKS):
        (tree / "abs_link").remove()
        assert not (tree / "abs_link").is_symlink()
        assert (tree / "file").exists()
        (tree / "broken").remove()
    for name in made(tree, "fifo", "dir", "missing", "file"):
        (tree / name).remove()
    (tree / "file").remove()  # nothing there any more: no error
    assert {p.name for p in tree.iterdir()} == set(made(
        tree, "empty", "exe", "private", "rel_link", "dir_link", "chain1",
        "chain2", "loop1", "loop2"))


def test_unlink(tree: Any) -> None:
    if can(tree, Capability.SYMLINKS):
        (tree / "rel_link").unlink()
        assert not (tree / "rel_link").is_symlink()
    (tree / "file").unlink()
    assert not (tree / "file").exists()
    with pytest.raises(FileNotFoundError):
        (tree / "file").unlink()
    with pytest.raises(IsADirectoryError):
        (tree / "dir").unlink()
    # (On WebDAV, a DELETE of a directory would delete everything in it.)
    assert (tree / "dir" / "deeper" / "x").read_bytes() == b"x"


# --- Contents ------------------------------------------------------------

def test_read_and_write(filesystem: FsBase, tree: Any) -> None:
    assert (tree / "file").read_bytes() == CONTENT
    if can(tree, Capability.SYMLINKS):
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
    with pytest.raises(FileNotFoundError):
        (tree / "nodir" / "f").write_bytes(b"x")
    with pytest.raises(not_a_directory_error(filesystem[0])):
        (tree / "file" / "g").write_bytes(b"x")
    with pytest.raises(TypeError):
        (tree / "t").streaming_write(["text, not bytes"])  # type: ignore[list-item]


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
    # A whole second: WebDAV's times have a resolution of one second.
    set_mtime(tree / "file", 1_000_000_000)
    assert (tree / "file").stat().mtime == 1_000_000_000
    (tree / "file").touch()
    assert abs((tree / "file").stat().mtime - time.time()) < 60
    assert (tree / "file").read_bytes() == CONTENT
    # Directories too, without changing what is in them.
    set_mtime(tree / "dir", 1_000_000_000)
    (tree / "dir").touch()
    assert abs((tree / "dir").stat().mtime - time.time()) < 60
    assert {p.name for p in (tree / "dir").iterdir()} == {"sub", "deeper"}
    # (WebDAV cannot set a time: it rewrites the file, atomically.)
    assert temp_files(tree) == []
    with pytest.raises(FileNotFoundError):
        (tree / "nodir" / "f").touch()


def test_rename(filesystem: FsBase, tree: Any) -> None:
    (tree / "file").rename(tree / "renamed")
    assert (tree / "renamed").read_bytes() == CONTENT
    assert not (tree / "file").exists()
    (tree / "renamed").rename(tree / "exe")  # overwrites
    assert (tree / "exe").read_bytes() == CONTENT
    (tree / "dir").rename(tree / "dir2")
    assert (tree / "dir2" / "sub").read_bytes() == b"sub"
    (tree / "exe").rename(tree / "exe")  # onto itself: nothing happens
    assert (tree / "exe").read_bytes() == CONTENT
    if not is_local(filesystem[0]):
        with pytest.raises(ValueError):
            (tree / "exe").rename(cerulean.LocalFileSystem() / "tmp" / "x")
    with pytest.raises(FileNotFoundError):
        (tree / "missing").rename(tree / "x")
    with pytest.raises(FileNotFoundError):
        (tree / "exe").rename(tree / "nodir" / "x")


def test_rename_follows_posix_rules(filesystem: FsBase, tree: Any) -> None:
    """A file never replaces a directory, a directory only an empty one,
    and nothing is lost when a rename is refused. (WebDAV's MOVE would
    replace anything, so the WebDAV file system checks first.)"""
    exact = not is_sftp(filesystem[0])
    # SFTP version 3 reports these refusals as a bare "failure" (EIO), or
    # "no such file" where Linux says "not a directory".
    (tree / "empty_dir").mkdir()
    with pytest.raises(IsADirectoryError if exact else OSError):
        (tree / "file").rename(tree / "dir")
    with pytest.raises(OSError) as info:
        (tree / "empty_dir").rename(tree / "dir")
    assert info.value.errno == errno.ENOTEMPTY or not exact
    with pytest.raises(NotADirectoryError if exact else OSError):
        (tree / "dir").rename(tree / "file")
    with pytest.raises(OSError) as info:
        (tree / "dir").rename(tree / "dir" / "deeper" / "inside")
    assert info.value.errno == errno.EINVAL
    assert (tree / "file").read_bytes() == CONTENT
    assert (tree / "dir" / "deeper" / "x").read_bytes() == b"x"
    assert (tree / "empty_dir").is_dir()
    (tree / "dir").rename(tree / "empty_dir")  # replaces an empty dir
    assert (tree / "empty_dir" / "deeper" / "x").read_bytes() == b"x"
    assert not (tree / "dir").exists()


# --- Links ---------------------------------------------------------------

def test_symlink_to_and_readlink(tree: Any) -> None:
    with pytest.raises(FileNotFoundError):
        (tree / "missing").readlink()
    with pytest.raises(OSError) as info:
        (tree / "file").readlink()
    assert info.value.errno == errno.EINVAL
    with pytest.raises(OSError) as info:
        (tree / "file").readlink(recursive=True)
    assert info.value.errno == errno.EINVAL
    if not can(tree, Capability.SYMLINKS):
        # By design (WebDAV): no links (see also the first test).
        with pytest.raises(UnsupportedOperationError):
            (tree / "new_link").symlink_to(tree / "dir")
        return
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


def test_slash_appends_while_joinpath_replaces(filesystem: FsBase) -> None:
    """As in Cerulean 1.0 (checked against its 1.0.0 wheel): / with a
    string appends, leading slash or not; joinpath and / with a Path follow
    pathlib, where an absolute part replaces. The tutorial says so."""
    fs, _ = filesystem
    runs = fs / "data" / "runs"
    assert str(runs / "/etc") == "/data/runs/etc"
    assert str(runs / "etc/") == "/data/runs/etc"
    assert str(runs.joinpath("/etc")) == "/etc"
    assert str(runs.joinpath("etc", "/x", "y")) == "/x/y"
    assert str(runs / (fs / "etc")) == "/etc"
    assert str(runs.joinpath(fs / "etc")) == "/etc"


def test_equality_and_order(filesystem: FsBase) -> None:
    fs, _ = filesystem
    a, b = fs / "a", fs / "b"
    a2, b2 = fs / "a", fs / "b"
    assert a == a2 and a != b and a < b <= b2 and b > a >= a2
    assert hash(a) == hash(fs / "a")
    assert len({a, fs / "a", b}) == 2
    if not is_local(fs):
        local = cerulean.LocalFileSystem() / "a"
        assert local != a
        with pytest.raises(TypeError):
            assert local < a
    assert cerulean.Path(fs, PurePosixPath("/a")) == a
    assert a != "/a"
