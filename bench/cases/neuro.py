"""neuro_compat benchmarks: what the asyncio layer costs on top of cerulean.

These cases only exist for our package (PyPI cerulean 1.0.0 has no
neuro_compat), so under 1.0.0 they report "not applicable". Each builds a
client from a cluster configuration written into the scratch directory,
pointing at the test sshd; storage lives in the remote scratch directory.

* ``upload_dir`` of 2,000 files of 4 KiB in 40 directories over SFTP, and
  the same tree through ``cerulean.copy`` in the same process; the ratio
  case divides the two (target: upload_dir at least 0.8 times as fast).
* The overhead of one awaited call: ``storage.stat`` against the core's
  ``Path.stat`` on the same file, per call (target: at most 0.3 ms), on SFTP
  and on the local file system.
"""
from __future__ import annotations

import asyncio
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench.cases.filesystem import write_small_files_tree
from bench.framework import Context, NotApplicable, case

_TREE = "neuro-tree"  # 40 directories of 50 files of 4 KiB: 2,000 files
_STATS = 2000


def _prepare_tree(ctx: Context) -> None:
    write_small_files_tree(os.path.join(ctx.data_dir, _TREE))


def _ours_only(ctx: Context) -> None:
    if not ctx.ours:
        raise NotApplicable("neuro_compat exists only in this package")


def _sftp_config(ctx: Context) -> Path:
    """A cluster configuration for the test sshd, storage in remote scratch."""
    s = ctx.settings
    config = Path(ctx.scratch) / "clusters.toml"
    config.write_text(f"""
[clusters.bench]
job_dir = "{ctx.remote_scratch}/jobs"
[clusters.bench.terminal]
type = "ssh"
host = "{s.HOST}"
port = {s.SSH_PORT}
user = "{s.USER}"
key_file = "{s.RSA_KEY}"
known_hosts = "{s.KNOWN_HOSTS}"
[clusters.bench.storage]
type = "sftp"
root = "{ctx.remote_scratch}/storage"
[clusters.bench.scheduler]
type = "directgnu"
""")
    return config


def _local_config(ctx: Context) -> Path:
    config = Path(ctx.scratch) / "clusters.toml"
    config.write_text(f"""
[clusters.here]
[clusters.here.terminal]
type = "local"
[clusters.here.storage]
type = "local"
root = "{ctx.scratch}/storage"
[clusters.here.scheduler]
type = "directgnu"
""")
    return config


async def _upload(config: Path, source: str, target: str) -> float:
    from yarl import URL

    import neuro_compat

    async with neuro_compat.get(path=config) as client:
        await client.storage.stat(URL("storage:"))  # log in before timing
        started = time.perf_counter()
        await client.storage.upload_dir(URL(Path(source).as_uri()), URL(target))
        return time.perf_counter() - started


def _copy(ctx: Context, source: str, target: str) -> float:
    import cerulean

    fs = ctx.sftp_fs()
    started = time.perf_counter()
    cerulean.copy(ctx.local_fs() / source.lstrip("/"), fs / target.lstrip("/"))
    return time.perf_counter() - started


@case("neuro upload_dir 2,000 files local -> SFTP", unit="s", repeats=3,
      prepare=_prepare_tree)
def upload_dir_tree(ctx: Context) -> float:
    _ours_only(ctx)
    source = os.path.join(ctx.data_dir, _TREE)
    return asyncio.run(_upload(_sftp_config(ctx), source, "storage:tree"))


@case("neuro upload_dir speed / cerulean.copy speed (2,000 files)", unit="x",
      better="higher", repeats=3, prepare=_prepare_tree)
def upload_dir_vs_copy(ctx: Context) -> float:
    _ours_only(ctx)
    source = os.path.join(ctx.data_dir, _TREE)
    config = _sftp_config(ctx)
    copy_seconds = _copy(ctx, source, f"{ctx.remote_scratch}/copied")
    upload_seconds = asyncio.run(_upload(config, source, "storage:tree"))
    return copy_seconds / upload_seconds


async def _stat_overhead(config: Path, core_path: Any, uri: str) -> float:
    from yarl import URL

    import neuro_compat

    async with neuro_compat.get(path=config) as client:
        target = URL(uri)
        await client.storage.create(target, b"x")
        for _ in range(50):  # warm up both paths
            await client.storage.stat(target)
            core_path.stat()
        # Interleaved rounds, so that load from elsewhere hits both sides alike;
        # the median of the per-round differences.
        rounds, per_round = 10, _STATS // 10
        differences = []
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(per_round):
                core_path.stat()
            core = time.perf_counter() - started
            started = time.perf_counter()
            for _ in range(per_round):
                await client.storage.stat(target)
            ours = time.perf_counter() - started
            differences.append((ours - core) / per_round * 1000)
    return statistics.median(differences)


@case("neuro storage.stat overhead over Path.stat, SFTP", unit="ms", repeats=3)
def stat_overhead_sftp(ctx: Context) -> float:
    _ours_only(ctx)
    config = _sftp_config(ctx)
    user = ctx.settings.USER
    core = ctx.sftp_fs() / f"{ctx.remote_scratch}/storage/{user}/statme".lstrip("/")
    return asyncio.run(_stat_overhead(config, core, "storage:statme"))


@case("neuro storage.stat overhead over Path.stat, local", unit="ms", repeats=3)
def stat_overhead_local(ctx: Context) -> float:
    _ours_only(ctx)
    import getpass

    config = _local_config(ctx)
    core = ctx.local_fs() / f"{ctx.scratch}/storage/{getpass.getuser()}/statme".lstrip("/")
    return asyncio.run(_stat_overhead(config, core, "storage:statme"))
