"""File system benchmarks: bulk SFTP transfers, trees of small files, walk,
metadata latency and memory use.

Each case runs under our cerulean and under PyPI cerulean 1.0.0, so it uses
only the Cerulean 1.0 API (``copy``, ``Path.walk``, ``exists``, ``is_dir``),
except where it branches on ``ctx.ours`` (``Path.stat()`` is ours only).
The OpenSSH counterparts reuse one ControlMaster connection, as our side
reuses one SshTerminal; inputs are made once by the ``prepare`` functions,
locally in ``ctx.data_dir`` and on the server in ``~/.bench-data``.
"""
from __future__ import annotations

import os
import resource
import time
from typing import Any

from bench.framework import Context, NotApplicable, OpenSSH, case

_MIB = 1024 * 1024
_BIG_MIB = 256
_BIG = "fs-256M.bin"
_HUGE = "fs-2G.bin"
_TREE = "fs-tree"  # 40 directories of 50 files of 4 KiB: 2,000 files
_TREE_DIRS, _TREE_FILES = 40, 50
_WALK = "fs-walk"  # 100 directories of 99 files: 10,000 entries
_WALK_ENTRIES = 10_000
_STATME = "statme"
_STATS = 2000
_REMOTE_DATA = ".bench-data"  # in the test user's home, kept between runs

_MASTER_UP = "{ssh} -fNM -S {control} {target}"
_MASTER_DOWN = "{ssh} -S {control} -O exit {target}"
_SCP = "{scp} -q -o ControlPath={control}"
_SSH = "{ssh} -S {control} {target}"


def _master(command: str, value: Any) -> OpenSSH:
    """An OpenSSH counterpart that runs over one ControlMaster connection."""
    return OpenSSH(setup=_MASTER_UP, command=command, teardown=_MASTER_DOWN,
                   value=value)


# --- Inputs ----------------------------------------------------------------

def _remote_data(ctx: Context) -> str:
    return f"{ctx.settings.HOME}/{_REMOTE_DATA}"


def _run_remote(ctx: Context, script: str) -> None:
    """Run a fixed shell script (no values from outside) on the server."""
    code, _, err = ctx.ssh_terminal().run(600.0, "bash", ["-c", _quote(script)])
    if code != 0:
        raise RuntimeError(f"preparing benchmark data failed: {err}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _prepare_big_local(ctx: Context) -> None:
    path = os.path.join(ctx.data_dir, _BIG)
    os.makedirs(ctx.data_dir, exist_ok=True)
    size = os.path.getsize(path) if os.path.exists(path) else 0
    if size != _BIG_MIB * _MIB:
        with open(path, "wb") as out:
            out.writelines(os.urandom(_MIB) for _ in range(_BIG_MIB))


def _prepare_big_remote(ctx: Context) -> None:
    _run_remote(ctx, f"mkdir -p ~/{_REMOTE_DATA} && cd ~/{_REMOTE_DATA} &&"
                f" {{ test \"$(stat -c %s {_BIG} 2>/dev/null)\" = {_BIG_MIB * _MIB} ||"
                f" head -c {_BIG_MIB}M /dev/urandom > {_BIG}; }}")


def write_small_files_tree(root: str) -> None:
    """40 directories of 50 files of 4 KiB random bytes at ``root``, unless
    it exists (also the input of the neuro upload_dir cases)."""
    if os.path.isdir(root):
        return
    for d in range(_TREE_DIRS):
        os.makedirs(os.path.join(root, f"d{d:02}"))
        for f in range(_TREE_FILES):
            with open(os.path.join(root, f"d{d:02}", f"f{f:02}"), "wb") as out:
                out.write(os.urandom(4096))


def _prepare_tree_local(ctx: Context) -> None:
    write_small_files_tree(os.path.join(ctx.data_dir, _TREE))


def _prepare_tree_remote(ctx: Context) -> None:
    _run_remote(ctx, f"mkdir -p ~/{_REMOTE_DATA} && cd ~/{_REMOTE_DATA} &&"
                f" test -d {_TREE} || {{ for d in $(seq -w 0 {_TREE_DIRS - 1}); do"
                f" mkdir -p {_TREE}/d$d; for f in $(seq -w 0 {_TREE_FILES - 1}); do"
                f" head -c 4096 /dev/urandom > {_TREE}/d$d/f$f; done; done; }}")


def _prepare_walk_remote(ctx: Context) -> None:
    _run_remote(ctx, f"mkdir -p ~/{_REMOTE_DATA} && cd ~/{_REMOTE_DATA} &&"
                f" test -d {_WALK} || {{ mkdir {_WALK} && cd {_WALK} &&"
                " for d in $(seq 100); do mkdir d$d &&"
                " (cd d$d && touch $(seq -f f%g 99)); done; }")


def _prepare_stat_remote(ctx: Context) -> None:
    _run_remote(ctx, f"mkdir -p ~/{_REMOTE_DATA} && touch ~/{_REMOTE_DATA}/{_STATME}")


def _prepare_huge(ctx: Context) -> None:
    path = os.path.join(ctx.data_dir, _HUGE)
    os.makedirs(ctx.data_dir, exist_ok=True)
    with open(path, "ab") as out:  # sparse: fast to make and to read
        out.truncate(2048 * _MIB)
    _run_remote(ctx, f"mkdir -p ~/{_REMOTE_DATA} && truncate -s 2G ~/{_REMOTE_DATA}/{_HUGE}")


# --- Helpers ---------------------------------------------------------------

def _local(ctx: Context, path: str) -> Any:
    return ctx.local_fs() / path.lstrip("/")


def _remote(fs: Any, path: str) -> Any:
    return fs / path.lstrip("/")


def _timed_copy(source: Any, target: Any) -> float:
    import cerulean
    started = time.perf_counter()
    cerulean.copy(source, target)
    return time.perf_counter() - started


# --- Bulk transfers ----------------------------------------------------------

@case(f"copy {_BIG_MIB} MiB local -> SFTP", unit="MiB/s", better="higher",
      prepare=_prepare_big_local,
      openssh=_master(f"{_SCP} {{data_dir}}/{_BIG} {{target}}:{{remote_scratch}}/",
                      lambda seconds: _BIG_MIB / seconds))
def upload_256m(ctx: Context) -> float:
    """Throughput of one large file uploaded with copy(), against scp."""
    fs = ctx.sftp_fs()
    target = _remote(fs, ctx.remote_scratch)
    return _BIG_MIB / _timed_copy(_local(ctx, os.path.join(ctx.data_dir, _BIG)),
                                  target)


@case(f"copy {_BIG_MIB} MiB SFTP -> local", unit="MiB/s", better="higher",
      prepare=_prepare_big_remote,
      openssh=_master(f"{_SCP} {{target}}:{_REMOTE_DATA}/{_BIG} {{scratch}}/",
                      lambda seconds: _BIG_MIB / seconds))
def download_256m(ctx: Context) -> float:
    """Throughput of one large file downloaded with copy(), against scp."""
    fs = ctx.sftp_fs()
    source = _remote(fs, f"{_remote_data(ctx)}/{_BIG}")
    return _BIG_MIB / _timed_copy(source, _local(ctx, ctx.scratch))


@case(f"copy {_BIG_MIB} MiB SFTP -> same SFTP (vs ssh cp)", unit="MiB/s",
      better="higher", prepare=_prepare_big_remote,
      openssh=_master(f"{_SSH} cp {_REMOTE_DATA}/{_BIG} {{remote_scratch}}/cp-{_BIG}",
                      lambda seconds: _BIG_MIB / seconds))
def copy_within_sftp(ctx: Context) -> float:
    """Throughput of copy() from one path to another on the same SFTP
    server (ours: on the server, with copy-data), against ``cp`` run there
    over ssh."""
    import cerulean
    fs = ctx.sftp_fs()
    source = _remote(fs, f"{_remote_data(ctx)}/{_BIG}")
    target = _remote(fs, f"{ctx.remote_scratch}/copy-{_BIG}")
    started = time.perf_counter()
    cerulean.copy(source, target, overwrite="always")  # the same name each repeat
    return _BIG_MIB / (time.perf_counter() - started)


# The same copy against what it guarantees: copy() lands the bytes under a
# temporary name, fsyncs them and renames (issue 15), where a bare cp leaves
# them in the page cache; the fsync is most of the time on this disk.
_CP_SYNC_MV = (f"cp {_REMOTE_DATA}/{_BIG} {{remote_scratch}}/cp-{_BIG}.tmp"
               f" && sync {{remote_scratch}}/cp-{_BIG}.tmp"
               f" && mv {{remote_scratch}}/cp-{_BIG}.tmp {{remote_scratch}}/cp-{_BIG}")


@case(f"copy {_BIG_MIB} MiB SFTP -> same SFTP (vs cp+sync+mv)", unit="MiB/s",
      better="higher", prepare=_prepare_big_remote,
      openssh=_master(f"{_SSH} '{_CP_SYNC_MV}'", lambda seconds: _BIG_MIB / seconds))
def copy_within_sftp_durable(ctx: Context) -> float:
    """copy_within_sftp, against ``cp``, ``sync`` of the copy and ``mv`` run
    there over ssh: the same atomic, durable result."""
    return copy_within_sftp(ctx)


# --- Trees of small files -----------------------------------------------------

_TREE_NAME = "tree 2,000 x 4 KiB"  # the report shows 48 characters of a name


@case(f"{_TREE_NAME} local->SFTP (vs scp -r)", unit="s", repeats=3,
      prepare=_prepare_tree_local,
      openssh=_master(f"{_SCP} -r {{data_dir}}/{_TREE} {{target}}:{{remote_scratch}}/",
                      lambda seconds: seconds))
def tree_upload(ctx: Context) -> float:
    """Wall time to upload the tree with copy(), against scp -r."""
    fs = ctx.sftp_fs()
    return _timed_copy(_local(ctx, os.path.join(ctx.data_dir, _TREE)),
                       _remote(fs, ctx.remote_scratch))


@case(f"{_TREE_NAME} local->SFTP (vs tar|ssh)", unit="s", repeats=3,
      prepare=_prepare_tree_local,
      openssh=_master(f"tar -C {{data_dir}} -cf - {_TREE} |"
                      f" {_SSH} tar -C {{remote_scratch}} -xf -",
                      lambda seconds: seconds))
def tree_upload_vs_tar(ctx: Context) -> float:
    """The same upload, against the fastest OpenSSH way: tar over ssh."""
    if not ctx.ours:
        raise NotApplicable("measured in the scp -r case")
    return tree_upload(ctx)


@case(f"{_TREE_NAME} SFTP->local (vs scp -r)", unit="s", repeats=3,
      prepare=_prepare_tree_remote,
      openssh=_master(f"{_SCP} -r {{target}}:{_REMOTE_DATA}/{_TREE} {{scratch}}/",
                      lambda seconds: seconds))
def tree_download(ctx: Context) -> float:
    """Wall time to download the tree with copy(), against scp -r."""
    fs = ctx.sftp_fs()
    return _timed_copy(_remote(fs, f"{_remote_data(ctx)}/{_TREE}"),
                       _local(ctx, ctx.scratch))


@case(f"{_TREE_NAME} SFTP->local (vs ssh|tar)", unit="s", repeats=3,
      prepare=_prepare_tree_remote,
      openssh=_master(f"{_SSH} tar -C {_REMOTE_DATA} -cf - {_TREE} |"
                      " tar -C {scratch} -xf -",
                      lambda seconds: seconds))
def tree_download_vs_tar(ctx: Context) -> float:
    """The same download, against tar over ssh."""
    if not ctx.ours:
        raise NotApplicable("measured in the scp -r case")
    return tree_download(ctx)


# --- Walk and metadata ------------------------------------------------------

@case("walk() over 10,000 entries on SFTP", unit="ms", repeats=3,
      prepare=_prepare_walk_remote,
      openssh=_master(f"{_SSH} find {_REMOTE_DATA}/{_WALK} > /dev/null",
                      lambda seconds: seconds * 1000))
def walk_10000(ctx: Context) -> float:
    """Time to walk the tree and count its entries, against find over ssh."""
    fs = ctx.sftp_fs()
    top = _remote(fs, f"{_remote_data(ctx)}/{_WALK}")
    started = time.perf_counter()
    count = sum(len(dirs) + len(files) for _, dirs, files in top.walk())
    elapsed = time.perf_counter() - started
    if count != _WALK_ENTRIES:
        raise RuntimeError(f"walk found {count} entries, not {_WALK_ENTRIES}")
    return elapsed * 1000


def _sftp_batch(command: str) -> OpenSSH:
    """sftp -b with _STATS lines of one command: one SFTP round trip each."""
    return _master(
        f"yes {command} | head -n {_STATS} > {{scratch}}/batch &&"
        " {sftp} -o ControlPath={control} -b {scratch}/batch {target} > /dev/null",
        lambda seconds: seconds / _STATS * 1e6)


def _latency(ctx: Context, call: Any) -> float:
    """Mean microseconds of call(path) on the prepared remote file."""
    fs = ctx.sftp_fs()
    path = _remote(fs, f"{_remote_data(ctx)}/{_STATME}")
    for _ in range(50):
        call(path)
    started = time.perf_counter()
    for _ in range(_STATS):
        call(path)
    return (time.perf_counter() - started) / _STATS * 1e6


_STAT_LS = f"'ls {_REMOTE_DATA}/{_STATME}'"


@case("Path.stat() on SFTP (vs sftp -b ls)", unit="us",
      prepare=_prepare_stat_remote, openssh=_sftp_batch(_STAT_LS))
def stat_latency(ctx: Context) -> float:
    """Latency of the one-round-trip Path.stat(), ours only."""
    if not ctx.ours:
        raise NotApplicable("Cerulean 1.0 has no Path.stat()")
    return _latency(ctx, lambda path: path.stat())


@case("Path.exists() on SFTP (vs sftp -b ls)", unit="us",
      prepare=_prepare_stat_remote, openssh=_sftp_batch(_STAT_LS))
def exists_latency(ctx: Context) -> float:
    """Latency of Path.exists()."""
    return _latency(ctx, lambda path: path.exists())


@case("Path.is_dir() on SFTP (vs sftp -b ls)", unit="us",
      prepare=_prepare_stat_remote, openssh=_sftp_batch(_STAT_LS))
def is_dir_latency(ctx: Context) -> float:
    """Latency of Path.is_dir()."""
    return _latency(ctx, lambda path: path.is_dir())


# --- Memory ------------------------------------------------------------------

def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@case("RSS growth copying 2 GiB up and down", unit="MiB", repeats=2,
      prepare=_prepare_huge)
def memory_2g(ctx: Context) -> float:
    """Growth of peak RSS while copying a 2 GiB file to SFTP and back.

    A streaming copy stays at a few MiB of buffers whatever the file size.
    """
    fs = ctx.sftp_fs()
    remote = _remote(fs, ctx.remote_scratch)
    before = _peak_rss_mib()
    _timed_copy(_local(ctx, os.path.join(ctx.data_dir, _HUGE)), remote)
    _timed_copy(_remote(fs, f"{_remote_data(ctx)}/{_HUGE}"),
                _local(ctx, ctx.scratch))
    return _peak_rss_mib() - before
