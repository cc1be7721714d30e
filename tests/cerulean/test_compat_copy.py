"""copy() on the tree Cerulean 1.0's own test suite copies, with its
expectations: links kept as links even when they resolve to nothing (a
link loop inside the tree arrives as the same two links), executables not
executable without copy_permissions, and the overwrite and copy_into modes
on a tree of links.

The tree is the one NaturalHPC's test images make (``test_files/links``),
with every link text absolute, as there::

    base/links/file0        b'Hello World\\n'
    base/links/file1        empty
    base/links/executable   0o744
    base/links/private      0o600
    base/links/link0     -> <abs>/links/file0
    base/links/link1     -> <abs>/links/link0
    base/links/link2     -> <abs>/doesnotexist   (outside the tree)
    base/links/link3     -> <abs>/links/link4
    base/links/link4     -> <abs>/links/link3

The matrix is local <-> SFTP <-> WebDAV; where WebDAV is on either side
there are no links and no modes, and the tests assert what copy() does
instead.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path as LocalPath
from typing import Any

import pytest

import cerulean
from cerulean.file_system_impl import Capability
from tests.cerulean.fs_helpers import FS_KINDS, can, default_mode, open_fs, temp_files

PAIRS = [(source, target) for source in FS_KINDS for target in FS_KINDS]
POSIX = [kind for kind in FS_KINDS if kind != "webdav"]
"""The file systems with links and modes."""
POSIX_PAIRS = [(source, target) for source in POSIX for target in POSIX]
LINK_SOURCES = [(source, target) for source in POSIX for target in FS_KINDS]
Pair = tuple[Any, Any]

HELLO = b"Hello World\n"


@contextmanager
def _dirs(kinds: tuple[str, str], tmp_path: LocalPath) -> Iterator[Pair]:
    source_kind, target_kind = kinds
    with open_fs(source_kind, tmp_path / "s") as (_, source), \
            open_fs(target_kind, tmp_path / "t") as (_, target):
        yield source, target


@pytest.fixture(params=PAIRS, ids=["->".join(p) for p in PAIRS])
def pair(request: pytest.FixtureRequest, tmp_path: LocalPath) -> Iterator[Pair]:
    """(source directory, target directory) on the two file systems."""
    with _dirs(request.param, tmp_path) as dirs:
        yield dirs


@pytest.fixture(params=POSIX_PAIRS, ids=["->".join(p) for p in POSIX_PAIRS])
def posix_pair(request: pytest.FixtureRequest, tmp_path: LocalPath
               ) -> Iterator[Pair]:
    """Like pair, both sides with links and modes (WebDAV has neither; what
    copy() does there is asserted in the tests that use pair)."""
    with _dirs(request.param, tmp_path) as dirs:
        yield dirs


@pytest.fixture(params=LINK_SOURCES, ids=["->".join(p) for p in LINK_SOURCES])
def link_source(request: pytest.FixtureRequest, tmp_path: LocalPath
                ) -> Iterator[Pair]:
    """Like pair, with a source that can hold links."""
    with _dirs(request.param, tmp_path) as dirs:
        yield dirs


def make_links_dir(base: Any) -> Any:
    """Make Cerulean 1.0's ``links`` directory under base; return it.

    Links and modes only where base's file system has them.
    """
    links = base / "links"
    links.mkdir()
    (links / "file0").write_bytes(HELLO)
    (links / "file1").write_bytes(b"")
    (links / "executable").write_text("#!/bin/sh\necho hi\n")
    (links / "private").write_text("secret")
    if can(base, Capability.PERMISSIONS):
        (links / "executable").chmod(0o744)
        (links / "private").chmod(0o600)
    if can(base, Capability.SYMLINKS):
        (links / "link0").symlink_to(links / "file0")
        (links / "link1").symlink_to(links / "link0")
        (links / "link2").symlink_to(base / "doesnotexist")
        (links / "link3").symlink_to(links / "link4")
        (links / "link4").symlink_to(links / "link3")
    return links


def both(source: Any, target: Any, capability: Capability) -> bool:
    return can(source, capability) and can(target, capability)


def assert_links_dir_copied(copied: Any, source: Any, target: Any) -> None:
    """What Cerulean 1.0's assert_dir_copied_correctly checks, and more."""
    assert copied.is_dir()
    assert (copied / "file0").read_bytes() == HELLO
    assert (copied / "file1").is_file() and (copied / "file1").size() == 0
    assert (copied / "executable").is_file()
    assert (copied / "private").is_file()
    if not can(source, Capability.SYMLINKS):
        return
    assert not (copied / "link2").exists()
    assert not (copied / "link2").is_symlink()
    if can(target, Capability.SYMLINKS):
        # Absolute texts inside the tree are re-aimed at the copy,
        # relatively; the loop is copied as the same two links.
        for name, text in (("link0", "file0"), ("link1", "link0"),
                           ("link3", "link4"), ("link4", "link3")):
            assert (copied / name).is_symlink(), name
            assert str((copied / name).readlink()) == text, name
        assert (copied / "link1").read_bytes() == HELLO
        assert not (copied / "link3").exists()
    else:
        # By design (WebDAV): no links, so those that resolve arrive as
        # what they point to, and the loop has nothing to copy.
        for name in ("link0", "link1"):
            assert not (copied / name).is_symlink(), name
            assert (copied / name).read_bytes() == HELLO, name
        for name in ("link3", "link4"):
            assert not (copied / name).exists(), name
    assert temp_files(copied) == []


def test_links_dir(pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    source, target = pair
    links = make_links_dir(source)
    with caplog.at_level(logging.WARNING, logger="cerulean.copy_files"):
        cerulean.copy(links, target / "testdir")
    assert_links_dir_copied(target / "testdir", source, target)
    if can(source, Capability.SYMLINKS):
        # The link out of the tree resolves to nothing: skipped, said so.
        assert str(links / "link2") in caplog.text
    if both(source, target, Capability.SYMLINKS):
        # The loop is copied, not reported as broken.
        assert str(links / "link3") not in caplog.text


def test_links_dir_overwrite_modes(pair: Pair) -> None:
    source, target = pair
    links = make_links_dir(source)
    copied = target / "testdir"
    cerulean.copy(links, copied, overwrite="raise")
    assert_links_dir_copied(copied, source, target)

    # 'raise' refuses the existing directory, before changing anything.
    (copied / "file0").unlink()
    with pytest.raises(FileExistsError):
        cerulean.copy(links, copied, overwrite="raise", copy_into=False)
    assert not (copied / "file0").exists()
    # 'never' leaves the existing directory alone.
    cerulean.copy(links, copied, overwrite="never", copy_into=False)
    assert not (copied / "file0").exists()
    # 'always' merges into it; the existing links are made again, the same.
    cerulean.copy(links, copied, overwrite="always", copy_into=False)
    assert_links_dir_copied(copied, source, target)

    # copy_into puts the tree inside an existing directory.
    cerulean.copy(links, copied, overwrite="always", copy_into=True)
    assert_links_dir_copied(copied / "links", source, target)


def test_kept_link_and_overwrite(posix_pair: Pair) -> None:
    source, target = posix_pair
    links = make_links_dir(source)
    copied = target / "testdir"
    copied.mkdir()
    # Something in the way of the loop's links: a directory and a file.
    (copied / "link3").mkdir()
    (copied / "link3" / "inside").write_bytes(b"x")
    (copied / "link4").write_bytes(b"old")
    cerulean.copy(links, copied, overwrite="never", copy_into=False)
    assert (copied / "link3" / "inside").read_bytes() == b"x"
    assert (copied / "link4").read_bytes() == b"old"
    with pytest.raises(FileExistsError):
        cerulean.copy(links, copied / "link3", overwrite="raise",
                      copy_into=False)
    cerulean.copy(links, copied, overwrite="always", copy_into=False)
    assert_links_dir_copied(copied, source, target)


def test_dangling_link_as_the_source(link_source: Pair,
                                     caplog: pytest.LogCaptureFixture
                                     ) -> None:
    """The source itself is followed; a dangling one copies nothing, as in
    Cerulean 1.0, and says so."""
    source, target = link_source
    links = make_links_dir(source)
    with caplog.at_level(logging.WARNING, logger="cerulean.copy_files"):
        cerulean.copy(links / "link3", target)
        cerulean.copy(links / "link2", target)
    assert list(target.iterdir()) == []
    assert str(links / "link3") in caplog.text
    # A link that resolves is copied as what it points to.
    cerulean.copy(links / "link1", target / "test.txt")
    assert not (target / "test.txt").is_symlink()
    assert (target / "test.txt").read_bytes() == HELLO


def test_no_copy_permissions(pair: Pair) -> None:
    """An executable copied without copy_permissions is not executable:
    the default for a new file (0o666 less umask) less what the source
    lacks. A replaced file gets the same, not the old file's mode."""
    source, target = pair
    links = make_links_dir(source)
    new_file = target / "test.txt"
    file_default = default_mode(target)
    carried = both(source, target, Capability.PERMISSIONS)

    cerulean.copy(links / "executable", new_file, copy_permissions=False)
    if not carried:
        # By design (WebDAV on either side): no modes to read or set.
        assert new_file.stat().mode == file_default
        return
    assert new_file.stat().mode == file_default & 0o744
    assert new_file.stat().mode & 0o111 == 0

    new_file.chmod(0o660)
    cerulean.copy(links / "executable", new_file, overwrite="always")
    assert new_file.stat().mode == file_default & 0o744

    cerulean.copy(links / "private", new_file, overwrite="always")
    assert new_file.stat().mode == file_default & 0o600


def test_copy_permissions(posix_pair: Pair) -> None:
    source, target = posix_pair
    links = make_links_dir(source)
    new_file = target / "test.txt"
    cerulean.copy(links / "executable", new_file, copy_permissions=True)
    assert new_file.stat().mode == 0o744
    new_file.chmod(0o644)
    cerulean.copy(links / "private", new_file, overwrite="always",
                  copy_permissions=True)
    assert new_file.stat().mode == 0o600
    cerulean.copy(links / "executable", new_file, overwrite="always",
                  copy_permissions=True)
    assert new_file.stat().mode == 0o744
