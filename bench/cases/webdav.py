"""WebDAV benchmarks: 64 MiB up and down, and a 500-entry listing.

The command-line counterpart is curl, not OpenSSH (the runner times any
shell command in the ``OpenSSH`` slot; the case names say "vs curl"). Each
case runs under our cerulean and under PyPI cerulean 1.0.0 with the
Cerulean 1.0 API only (``WebdavFileSystem``, ``copy``, ``iterdir``).

Timing: our side times the operation on an already connected file system;
curl's time includes starting curl and connecting, a few milliseconds, so
the listing is timed over several URLs in one curl run (one keep-alive
connection, as ours). The inputs live on the private share under
``bench-data/`` and are made once by the ``prepare`` functions.
"""
from __future__ import annotations

import os
import time
import uuid
from typing import Any

from bench.framework import Context, OpenSSH, case
from tests.servers import settings as S

_MIB = 1024 * 1024
_SIZE_MIB = 64
_LOCAL_FILE = "webdav-64M.bin"
_SHARE_DATA = "bench-data"  # on the private share, kept between runs
_REMOTE_FILE = f"{_SHARE_DATA}/webdav-64M.bin"
_LISTING = f"{_SHARE_DATA}/webdav-list500"
_ENTRIES = 500
_LISTINGS = 5  # timed listings per run, after one warm-up

_CURL = (f"curl -s -f -u {S.USER}:{S.PASSWORD}")
_URL = S.WEBDAV_PRIVATE_URL
_CURL_UPLOAD_TARGET = f"{_URL}/bench-curl-upload.bin"


# --- Inputs ---------------------------------------------------------------------

def _prepare_local_file(ctx: Context) -> None:
    path = os.path.join(ctx.data_dir, _LOCAL_FILE)
    os.makedirs(ctx.data_dir, exist_ok=True)
    if os.path.exists(path) and os.path.getsize(path) == _SIZE_MIB * _MIB:
        return
    with open(path, "wb") as stream:
        stream.writelines(os.urandom(_MIB) for _ in range(_SIZE_MIB))


def _prepare_remote_file(ctx: Context) -> None:
    import cerulean
    _prepare_local_file(ctx)
    fs = ctx.webdav_fs()
    (fs / _SHARE_DATA).mkdir(exists_ok=True)
    remote = fs / _REMOTE_FILE
    if remote.exists() and remote.size() == _SIZE_MIB * _MIB:
        return
    local = ctx.local_fs() / os.path.join(ctx.data_dir, _LOCAL_FILE).lstrip("/")
    cerulean.copy(local, remote, overwrite="always")


def _prepare_listing(ctx: Context) -> None:
    fs = ctx.webdav_fs()
    directory = fs / _LISTING
    directory.mkdir(parents=True, exists_ok=True)
    have = {p.name for p in directory.iterdir()}
    for i in range(_ENTRIES):
        name = f"entry-{i:04d}.txt"
        if name not in have:
            (directory / name).write_text(f"entry {i}\n")


def _scratch_dir(fs: Any) -> Any:
    directory = fs / f"bench-{uuid.uuid4().hex[:12]}"
    directory.mkdir()
    return directory


# --- Cases ----------------------------------------------------------------------

@case("WebDAV upload 64 MiB, copy() (vs curl -T)", unit="MiB/s",
      better="higher", prepare=_prepare_local_file,
      openssh=OpenSSH(
          command=f"{_CURL} -o /dev/null -T {{data_dir}}/{_LOCAL_FILE}"
                  f" {_CURL_UPLOAD_TARGET}",
          teardown=f"{_CURL} -X DELETE {_CURL_UPLOAD_TARGET}",
          value=lambda seconds: _SIZE_MIB / seconds))
def webdav_upload(ctx: Context) -> float:
    """Throughput of copy() from a local 64 MiB file to the private share.

    Ours streams one PUT to a temporary name and MOVEs it into place.
    """
    import cerulean
    fs = ctx.webdav_fs()
    local = ctx.local_fs() / os.path.join(ctx.data_dir, _LOCAL_FILE).lstrip("/")
    target = _scratch_dir(fs)
    try:
        started = time.perf_counter()
        cerulean.copy(local, target / "upload.bin")
        seconds = time.perf_counter() - started
    finally:
        target.rmdir(recursive=True)
    return _SIZE_MIB / seconds


@case("WebDAV download 64 MiB, copy() (vs curl -o)", unit="MiB/s",
      better="higher", prepare=_prepare_remote_file,
      openssh=OpenSSH(
          command=f"{_CURL} -o {{scratch}}/download.bin {_URL}/{_REMOTE_FILE}",
          value=lambda seconds: _SIZE_MIB / seconds))
def webdav_download(ctx: Context) -> float:
    """Throughput of copy() from the private share to a local file."""
    import cerulean
    fs = ctx.webdav_fs()
    target = ctx.local_fs() / os.path.join(ctx.scratch, "download.bin").lstrip("/")
    started = time.perf_counter()
    cerulean.copy(fs / _REMOTE_FILE, target)
    seconds = time.perf_counter() - started
    os.remove(str(target))
    return _SIZE_MIB / seconds


_PROPFIND_URLS = " ".join([f"{_URL}/{_LISTING}/"] * _LISTINGS)


@case("WebDAV list 500 entries (vs curl PROPFIND Depth 1)", unit="ms",
      better="lower", prepare=_prepare_listing,
      openssh=OpenSSH(
          command=f"{_CURL} -X PROPFIND -H 'Depth: 1' {_PROPFIND_URLS}"
                  " > /dev/null",
          value=lambda seconds: seconds / _LISTINGS * 1000))
def webdav_list(ctx: Context) -> float:
    """Mean time of ``list(directory.iterdir())`` over 500 files.

    Ours sends one PROPFIND (Depth 1) asking for three properties; curl
    asks for all of them, as a plain ``PROPFIND`` does.
    """
    fs = ctx.webdav_fs()
    directory = fs / _LISTING
    assert len(list(directory.iterdir())) == _ENTRIES  # and warm up
    started = time.perf_counter()
    for _ in range(_LISTINGS):
        list(directory.iterdir())
    return (time.perf_counter() - started) / _LISTINGS * 1000
