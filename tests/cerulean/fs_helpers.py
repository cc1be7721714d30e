"""Helpers for the file system, Path and copy() tests.

The standard tree (see :func:`make_tree`) holds every kind of entry the
tests need: a file, an empty file, an executable, a private file, a
directory, absolute and relative links, a link chain, a link to a
directory, a broken link, a link loop and a FIFO, as far as the file system
can hold them.

Where WebDAV differs by design, the tests assert the difference rather than
skip: it has only files and directories (no links, no special files), no
permissions (``chmod`` and friends raise UnsupportedOperationError; modes
read as 0o600 for files and 0o700 for directories, see
:func:`expected_mode`), no owners (uid and gid are None), and modification
times in whole seconds.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import socket
import stat
from collections.abc import Iterator
from pathlib import Path as LocalPath
from typing import Any

import cerulean
from cerulean.file_system_impl import Capability
from tests.cerulean.webdav_helpers import (
    CuttableProxy,
    fresh_dir,
    on_disk,
    private_fs,
    proxied_fs,
)
from tests.conftest import (
    require_servers,
    ssh_scratch,
)

FS_KINDS = ["local", "sftp", "webdav"]

CONTENT = b"Hello, Cerulean!\n" * 10

LINKS = ("abs_link", "rel_link", "dir_link", "chain1", "chain2", "broken",
         "loop1", "loop2")
"""The symbolic links of the standard tree."""

PLAIN = ("file", "empty", "exe", "private", "dir")
"""The entries of the standard tree that every file system can hold."""

_PROXIES: dict[int, CuttableProxy] = {}
"""The proxy under each WebDAV file system made with cuttable=True, by
id() of the file system, for :func:`drop_connection`."""


@contextlib.contextmanager
def open_fs(kind: str, tmp_path: LocalPath,
            cuttable: bool = False) -> Iterator[tuple[Any, Any]]:
    """(fs, fresh empty directory on it) for 'local', 'sftp' or 'webdav'.

    :param cuttable: For 'webdav': talk to the server through a
        :class:`CuttableProxy`, so that :func:`drop_connection` can cut
        the connections in the middle of a transfer. (SFTP connections can
        always be cut, local ones never.)
    """
    if kind == "local":
        with cerulean.LocalFileSystem() as fs:
            base = fs / str(tmp_path).lstrip("/") / "fs"
            base.mkdir(parents=True)
            yield fs, base
        return
    if kind == "webdav":
        with _webdav_fs(cuttable) as fs, fresh_dir(fs) as base:
            yield fs, base
        return
    with ssh_scratch() as (term, scratch), cerulean.SftpFileSystem(term) as fs:
        yield fs, fs / scratch.lstrip("/")


@contextlib.contextmanager
def _webdav_fs(cuttable: bool) -> Iterator[Any]:
    require_servers("webdav")
    if not cuttable:
        with private_fs() as fs:
            yield fs
        return
    with proxied_fs() as (fs, proxy):
        _PROXIES[id(fs)] = proxy
        try:
            yield fs
        finally:
            del _PROXIES[id(fs)]


def drop_connection(fs: Any) -> None:
    """Cut the connection(s) under fs, as a network failure would.

    The next call opens a new connection (SFTP reconnects; a WebDAV file
    system made through :func:`open_fs` with cuttable=True opens new
    connections through its proxy).
    """
    if is_webdav(fs):
        _PROXIES[id(fs)].cut()
        return
    sock = fs._terminal.transport().sock
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def is_webdav(fs: Any) -> bool:
    return isinstance(fs, cerulean.WebdavFileSystem)


def is_local(fs: Any) -> bool:
    return isinstance(fs, cerulean.LocalFileSystem)


def can(path_or_fs: Any, capability: Capability) -> bool:
    """Whether the file system (of a Path) supports capability."""
    fs = getattr(path_or_fs, "filesystem", path_or_fs)
    return bool(fs._supports(capability))


def made(tree: Any, *names: str) -> list[str]:
    """Those of names that :func:`make_tree` made on tree's file system
    (it makes no links or FIFO where there are none), in order.

    Names of things the tree never holds (``missing``) are kept.
    """
    return [name for name in names
            if (name not in LINKS or can(tree, Capability.SYMLINKS))
            and (name != "fifo" or can(tree, Capability.SPECIAL_FILES))]


def expected_mode(path_or_fs: Any, mode: int, directory: bool = False) -> int:
    """The mode stat() reports for something made with mode on this fs.

    WebDAV has no permissions by design: it reports what the server lets
    us do, as for a private file (0o600) or directory (0o700).
    """
    if can(path_or_fs, Capability.PERMISSIONS):
        return mode
    from cerulean import webdav_file_system as W
    return W.DIRECTORY_MODE if directory else W.FILE_MODE


def not_a_directory_error(fs: Any) -> type[OSError]:
    """What a path through a file raises (mkdir, write) on fs.

    SFTP version 3 has no "not a directory" status: servers answer "no
    such file".
    """
    return FileNotFoundError if is_sftp(fs) else NotADirectoryError


def is_sftp(fs: Any) -> bool:
    return isinstance(fs, cerulean.SftpFileSystem)


def run_on(fs: Any, *command: str) -> str:
    """Run a command where fs's files are (locally, or over its SSH link)."""
    if is_sftp(fs):
        # Terminal.run does not quote arguments (as documented).
        code, out, err = fs._terminal.run(
            30.0, command[0], [shlex.quote(arg) for arg in command[1:]])
        assert code == 0, err
        return str(out)
    import subprocess
    return subprocess.run(command, check=True, capture_output=True,
                          text=True).stdout


def set_mtime(path: Any, seconds: int) -> None:
    """Set the modification time of path (a cerulean Path).

    WebDAV cannot set a time; the server keeps its files on this machine,
    so the time is set there.
    """
    if is_webdav(path.filesystem):
        os.utime(on_disk(path), (seconds, seconds))
        return
    run_on(path.filesystem, "touch", "-m", "-h", "-d", f"@{seconds}", str(path))


def make_fifo(path: Any) -> None:
    run_on(path.filesystem, "mkfifo", str(path))


def make_tree(base: Any, fifo: bool = True) -> Any:
    """Fill base (a cerulean Path to an empty directory); return base/'tree'.

    tree/
      file            CONTENT, 0o644
      empty           b'', 0o644
      exe             0o755
      private         0o600
      dir/sub         b'sub'
      dir/deeper/x    b'x'
      abs_link     -> <abs>/tree/file
      rel_link     -> file
      dir_link     -> dir
      chain1       -> chain2 -> file
      broken       -> nothing
      loop1        -> loop2 -> loop1
      fifo            (a FIFO)

    Only what the file system supports is made: no links without
    Capability.SYMLINKS, no modes without PERMISSIONS (the files keep the
    server's), no FIFO without SPECIAL_FILES. See :func:`made`.
    """
    tree = base / "tree"
    tree.mkdir()
    modes = {"file": 0o644, "empty": 0o644, "exe": 0o755, "private": 0o600}
    (tree / "file").write_bytes(CONTENT)
    (tree / "empty").write_bytes(b"")
    (tree / "exe").write_text("#!/bin/sh\necho hi\n")
    (tree / "private").write_text("secret")
    if can(base, Capability.PERMISSIONS):
        for name, mode in modes.items():
            (tree / name).chmod(mode)
    (tree / "dir").mkdir()
    (tree / "dir" / "sub").write_bytes(b"sub")
    (tree / "dir" / "deeper").mkdir()
    (tree / "dir" / "deeper" / "x").write_bytes(b"x")
    if can(base, Capability.SYMLINKS):
        (tree / "abs_link").symlink_to(tree / "file")
        (tree / "rel_link").symlink_to(relative(tree, "file"))
        (tree / "dir_link").symlink_to(relative(tree, "dir"))
        (tree / "chain1").symlink_to(relative(tree, "chain2"))
        (tree / "chain2").symlink_to(relative(tree, "file"))
        (tree / "broken").symlink_to(relative(tree, "nothing_here"))
        (tree / "loop1").symlink_to(relative(tree, "loop2"))
        (tree / "loop2").symlink_to(relative(tree, "loop1"))
    if fifo and can(base, Capability.SPECIAL_FILES):
        make_fifo(tree / "fifo")
    return tree


def relative(anchor: Any, text: str) -> Any:
    """A relative cerulean Path with the given text, on anchor's fs."""
    from pathlib import PurePosixPath
    return cerulean.Path(anchor.filesystem, PurePosixPath(text))


def sha256(path: Any) -> str:
    digest = hashlib.sha256()
    for chunk in path.streaming_read():
        digest.update(chunk)
    return digest.hexdigest()


def default_mode(base: Any, directory: bool = False) -> int:
    """The mode a new file (or directory) gets on base's fs (umask)."""
    probe = base / (".probe_dir" if directory else ".probe_file")
    if directory:
        probe.mkdir()
    else:
        probe.write_bytes(b"")
    mode = probe.stat().mode
    probe.remove()
    return mode


def temp_files(directory: Any) -> list[str]:
    """Names of cerulean temporary files anywhere under directory."""
    found = []
    for dirpath, _, filenames in directory.walk():
        found += [str(dirpath / n) for n in filenames if "cerulean-tmp" in n]
    return found


def mode_of(path: Any) -> int:
    return stat.S_IMODE(path.stat().mode)


def running_as_root() -> bool:
    return os.geteuid() == 0
