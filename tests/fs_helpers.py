"""Helpers for the file system, Path and copy() tests.

The standard tree (see :func:`make_tree`) holds every kind of entry the
tests need: a file, an empty file, an executable, a private file, a
directory, absolute and relative links, a link chain, a link to a
directory, a broken link, a link loop and a FIFO.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import stat
from collections.abc import Iterator
from pathlib import Path as LocalPath
from typing import Any

import pytest

import cerulean
from tests.conftest import make_ssh_terminal, remote_scratch_dir, remove_remote_dir

# The WebDAV backend is being written by another developer; they turn this
# parameter on (and fix what differs by design: no links, no permissions)
# when it lands.
WEBDAV = pytest.param("webdav", marks=pytest.mark.skip(
    reason="WebDAV backend not landed yet; its developer enables these"))
FS_KINDS = ["local", "sftp", WEBDAV]

CONTENT = b"Hello, Cerulean!\n" * 10


@contextlib.contextmanager
def open_fs(kind: str, tmp_path: LocalPath) -> Iterator[tuple[Any, Any]]:
    """(fs, fresh empty directory on it) for 'local' or 'sftp'."""
    if kind == "local":
        with cerulean.LocalFileSystem() as fs:
            base = fs / str(tmp_path).lstrip("/") / "fs"
            base.mkdir(parents=True)
            yield fs, base
        return
    term = make_ssh_terminal()
    scratch = remote_scratch_dir(term)
    try:
        with cerulean.SftpFileSystem(term) as fs:
            yield fs, fs / scratch.lstrip("/")
    finally:
        remove_remote_dir(term, scratch)
        term.close()


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
    """Set the modification time of path (a cerulean Path)."""
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
    """
    tree = base / "tree"
    tree.mkdir()
    (tree / "file").write_bytes(CONTENT)
    (tree / "file").chmod(0o644)
    (tree / "empty").write_bytes(b"")
    (tree / "empty").chmod(0o644)
    (tree / "exe").write_text("#!/bin/sh\necho hi\n")
    (tree / "exe").chmod(0o755)
    (tree / "private").write_text("secret")
    (tree / "private").chmod(0o600)
    (tree / "dir").mkdir()
    (tree / "dir" / "sub").write_bytes(b"sub")
    (tree / "dir" / "deeper").mkdir()
    (tree / "dir" / "deeper" / "x").write_bytes(b"x")
    (tree / "abs_link").symlink_to(tree / "file")
    (tree / "rel_link").symlink_to(relative(tree, "file"))
    (tree / "dir_link").symlink_to(relative(tree, "dir"))
    (tree / "chain1").symlink_to(relative(tree, "chain2"))
    (tree / "chain2").symlink_to(relative(tree, "file"))
    (tree / "broken").symlink_to(relative(tree, "nothing_here"))
    (tree / "loop1").symlink_to(relative(tree, "loop2"))
    (tree / "loop2").symlink_to(relative(tree, "loop1"))
    if fifo:
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
