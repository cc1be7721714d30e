"""WebdavFileSystem against the real wsgidav server (and, for statuses
wsgidav cannot be made to send, a tiny local HTTP server).

The private share's files live in S.WEBDAV_PRIVATE_DIR on this machine, so
the tests check what actually landed on the server's disk and look for
leftover temporary files.

Every Path method and the copy matrix run on WebDAV too, in
tests/test_path.py and tests/test_copy.py, which assert where WebDAV
differs by design (no links, no permissions or owners, one-second times).
This module has what only WebDAV has: how many requests each operation
costs, names in URLs, statuses, authentication, HTTPS, XML safety, and
atomic landing when an upload is aborted or its connection is cut.
"""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path as LocalPath
from typing import Any

import pytest
import requests

import cerulean
from cerulean import EntryType, Permission, UnsupportedOperationError
from tests.cerulean.webdav_helpers import (
    ROOT_PROPFIND,
    FaultServer,
    count_requests,
    fresh_dir,
    new_dir_name,
    on_disk,
    private_fs,
    proxied_fs,
    temp_files,
)
from tests.servers import settings as S

pytestmark = pytest.mark.real_server("webdav")

NAMES = ["with space", "hash#tag", "per%cent", "percent%20encoded",
         "unicode-é-ü-€-日本", "q?uestion", "plus+semi;colon", "amp&eq=",
         "quote'dq\"", "brackets[1](2){3}", "tilde~", "a:b@c", ".dotfile"]


@pytest.fixture
def dav() -> Iterator[tuple[Any, Any, LocalPath]]:
    """(fs, base, base's directory on the server's disk)."""
    with private_fs() as fs, fresh_dir(fs) as base:
        yield fs, base, on_disk(base)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunks(total: int, size: int = 1 << 20, seed: int = 1) -> Iterator[bytes]:
    block = hashlib.sha512(str(seed).encode()).digest() * (size // 64)
    sent = 0
    while sent < total:
        piece = block[:min(size, total - sent)]
        sent += len(piece)
        yield piece


# --- Metadata -------------------------------------------------------------------

def test_stat_is_one_propfind_and_reports_what_the_server_has(dav: Any) -> None:
    fs, base, disk = dav
    (disk / "f").write_bytes(b"x" * 1234)
    (disk / "d").mkdir()
    with count_requests(fs) as counts:
        info = (base / "f").stat()
    assert counts == {"PROPFIND": 1}
    assert info.entry_type == EntryType.FILE and info.is_file()
    assert info.size == 1234
    # By design: HTTP dates have whole seconds; a fraction is cut off.
    assert abs(info.mtime - (disk / "f").stat().st_mtime) < 1.0
    # By design: no owners on WebDAV, permissions emulated as private.
    assert (info.uid, info.gid, info.mode) == (None, None, 0o600)
    assert (base / "d").stat().entry_type == EntryType.DIRECTORY
    assert (base / "d").stat().mode == 0o700
    assert (base / "f").lstat() == info
    os.utime(disk / "f", (1_000_000_000.75, 1_000_000_000.75))
    assert (base / "f").stat().mtime == 1_000_000_000
    # Every metadata question is one round trip, answered or not.
    for question in (lambda: (base / "f").exists(),
                     lambda: (base / "d").is_dir(),
                     lambda: (base / "f").is_file(),
                     lambda: (base / "f").size(),
                     lambda: (base / "missing").exists(),
                     lambda: (base / "f").has_permission(
                         Permission.OWNER_READ)):
        with count_requests(fs) as counts:
            question()
        assert counts == {"PROPFIND": 1}
    # By design: no links on WebDAV, so is_symlink() need not ask.
    for name in ("f", "d", "missing"):
        with count_requests(fs) as counts:
            assert not (base / name).is_symlink()
        assert counts == {}


# --- Listings -------------------------------------------------------------------

def test_listing_is_one_propfind_with_attributes_reused(dav: Any) -> None:
    fs, base, disk = dav
    for i in range(60):
        (disk / f"file{i}").write_bytes(b"y" * i)
    (disk / "sub").mkdir()
    (disk / "sub" / "inner").write_bytes(b"z")
    with count_requests(fs) as counts:
        entries = dict(fs._listdir(str(base)))
    assert counts == {"PROPFIND": 1}
    assert set(entries) == {f"file{i}" for i in range(60)} | {"sub"}
    assert entries["file7"].size == 7 and entries["file7"].is_file()
    assert entries["sub"].is_dir()
    with count_requests(fs) as counts:
        names = sorted(p.name for p in base.iterdir())
    assert counts == {"PROPFIND": 1}
    assert names == sorted(entries)
    # walk: one listing per directory, nothing asked per entry.
    with count_requests(fs) as counts:
        walked = list(base.walk())
    assert counts == {"PROPFIND": 2}
    assert walked[0][0] == base and walked[0][1] == ["sub"]
    assert len(walked[0][2]) == 60
    assert walked[1] == (base / "sub", [], ["inner"])


# --- Names ----------------------------------------------------------------------

def test_awkward_names_round_trip(dav: Any) -> None:
    _, base, disk = dav
    for name in NAMES:
        (base / name).write_text(name)
        (base / f"dir {name}").mkdir()
        (base / f"dir {name}" / name).write_text("inner " + name)
    # Exactly these names arrived on the server's disk ...
    on_server = set(os.listdir(disk))
    assert on_server == set(NAMES) | {f"dir {n}" for n in NAMES}
    # ... and come back through listing, stat and reading.
    assert {p.name for p in base.iterdir()} == on_server
    for name in NAMES:
        assert (base / name).read_text() == name
        assert (disk / name).read_text() == name
        assert (base / f"dir {name}").is_dir()
        walked = list((base / f"dir {name}").walk())
        assert walked[0][2] == [name]
        assert (base / f"dir {name}" / name).read_text() == "inner " + name
    (base / "hash#tag").rename(base / "new #%é")
    assert (disk / "new #%é").read_text() == "hash#tag"
    (base / "dir per%cent").rmdir(recursive=True)
    assert not (disk / "dir per%cent").exists()


def test_names_made_on_the_server_are_listed_exactly(dav: Any) -> None:
    _, base, disk = dav
    for name in NAMES:
        (disk / name).write_text(name)
    assert {p.name for p in base.iterdir()} == set(NAMES)
    assert all((base / n).read_text() == n for n in NAMES)


def test_dot_dot_stays_inside_the_share(dav: Any) -> None:
    fs, base, disk = dav
    (disk / "f").write_text("here")
    assert (base / "sub" / ".." / "f").read_text() == "here"
    # As with a local root, ".." above the base URL is the base URL.
    assert (fs / ".." / ".." / base.name / "f").read_text() == "here"


# --- Directories ----------------------------------------------------------------

def test_removing_costs_a_request_or_two_whatever_the_size(dav: Any
                                                           ) -> None:
    """A tree goes with one DELETE (after one PROPFIND that checks it is a
    directory), not with a listing per directory and two requests per
    file; a file with a PROPFIND (a DELETE of a directory would delete
    the whole tree) and a DELETE."""
    fs, base, disk = dav
    for d in range(10):
        (disk / "tree" / f"d{d}" / "deeper").mkdir(parents=True)
        for i in range(30):
            (disk / "tree" / f"d{d}" / f"f{i}").write_bytes(b"1")
    (disk / "file").write_bytes(b"")
    with count_requests(fs) as counts:
        (base / "tree").rmdir(recursive=True)
    assert counts == {"PROPFIND": 1, "DELETE": 1}
    assert not (disk / "tree").exists()
    with count_requests(fs) as counts:
        (base / "file").unlink()
    assert counts == {"PROPFIND": 1, "DELETE": 1}
    (disk / "tree" / "a").mkdir(parents=True)
    with count_requests(fs) as counts:
        (base / "tree").remove()
    assert counts == {"PROPFIND": 1, "DELETE": 1}
    assert os.listdir(disk) == []
    # The base URL itself is never deleted: that would remove the share.
    with pytest.raises(OSError) as info:
        fs.root().rmdir(recursive=True)
    assert info.value.errno == errno.EBUSY


# --- Contents -------------------------------------------------------------------

def test_reading_and_writing_is_one_request(dav: Any) -> None:
    fs, base, disk = dav
    f = base / "f.txt"
    with count_requests(fs) as counts:
        f.write_text("héllo")
    assert counts == {"PUT": 1}
    assert (disk / "f.txt").read_bytes() == "héllo".encode()
    assert f.read_text() == "héllo"
    with count_requests(fs) as counts:
        assert f.read_text() == "héllo"
    assert counts == {"GET": 1}
    f.write_bytes(b"")
    with count_requests(fs) as counts:
        assert b"".join(f.streaming_read()) == b""
    assert counts == {"GET": 1}


# --- What WebDAV cannot do ------------------------------------------------------

def test_unsupported_methods_raise_by_default(dav: Any) -> None:
    fs, base, disk = dav
    (disk / "f").write_bytes(b"")
    calls: list[Callable[[], object]] = [
                 lambda: (base / "l").symlink_to(base / "f"),
                 lambda: (base / "f").chmod(0o644),
                 lambda: (base / "f").set_permission(Permission.OTHERS_READ),
                 lambda: (base / "d").mkdir(0o755)]
    for call in calls:
        with pytest.raises(UnsupportedOperationError) as info:
            call()
        assert "unsupported_methods_raise=False" in str(info.value)
    assert os.listdir(disk) == ["f"]
    assert not fs._supports(cerulean.file_system_impl.Capability.SYMLINKS)


def test_unsupported_methods_do_nothing_if_asked() -> None:
    name = new_dir_name()
    with private_fs(unsupported_methods_raise=False) as fs:
        base = fs / name
        base.mkdir()
        try:
            (base / "f").write_bytes(b"")
            (base / "l").symlink_to(base / "f")
            (base / "f").chmod(0o777)
            (base / "f").set_permission(Permission.OTHERS_WRITE, True)
            (base / "d").mkdir(0o700)  # made, with the server's permissions
            assert sorted(os.listdir(on_disk(base))) == ["d", "f"]
            assert (base / "f").stat().mode == 0o600
        finally:
            shutil.rmtree(on_disk(base), ignore_errors=True)


# --- Atomic landing -------------------------------------------------------------

class Abort(Exception):
    pass


def failing_after(count: int, size: int = 1 << 20) -> Iterator[bytes]:
    yield from chunks(count * size, size, seed=2)
    raise Abort("stop")


def test_aborted_write_leaves_old_target_and_no_temp_files(dav: Any) -> None:
    fs, base, disk = dav
    (disk / "target").write_bytes(b"old content")
    with pytest.raises(Abort):
        fs._write_atomic(str(base / "target"), failing_after(5))
    assert (disk / "target").read_bytes() == b"old content"
    assert os.listdir(disk) == ["target"]
    # And with nothing there before, nothing there after.
    with pytest.raises(Abort):
        fs._write_atomic(str(base / "fresh"), failing_after(3))
    assert os.listdir(disk) == ["target"]



def test_a_refused_upload_does_not_spoil_the_next_request(dav: Any) -> None:
    """wsgidav refuses a PUT into a missing directory (409) before it has
    read the body; the rest of a streamed body then waited in the kept-alive
    connection, and the next request on it (the PROPFIND that tells a
    missing parent from a file) got 400 Bad Request, about one time in five:
    OSError EIO instead of FileNotFoundError. A bounded loop of refusals,
    streamed and in memory, each followed by requests on the same pool."""
    fs, base, disk = dav
    (disk / "file").write_bytes(b"f")
    bodies: list[Callable[[], Iterable[bytes]]] = [
        lambda: chunks(1 << 20), lambda: [b"x" * (1 << 20)]]
    for _ in range(15):
        for body in bodies:
            with pytest.raises(FileNotFoundError):
                fs._write_stream(str(base / "missing" / "x"), body())
            with pytest.raises(NotADirectoryError):
                fs._write_atomic(str(base / "file" / "x"), body())
            assert (base / "file").read_bytes() == b"f"
    assert sorted(os.listdir(disk)) == ["file"]

def test_atomic_write_replaces_a_file_but_not_a_directory(dav: Any) -> None:
    fs, base, disk = dav
    (disk / "target").write_bytes(b"old")
    assert fs._write_atomic(str(base / "target"), chunks(3 << 20)) == 3 << 20
    assert (disk / "target").stat().st_size == 3 << 20
    (disk / "dir").mkdir()
    with pytest.raises(IsADirectoryError):
        fs._write_atomic(str(base / "dir"), [b"x"])
    assert sorted(os.listdir(disk)) == ["dir", "target"]
    with pytest.raises(UnsupportedOperationError):
        fs._write_atomic(str(base / "target"), [b"x"], exact_mode=0o644)
    assert (disk / "target").stat().st_size == 3 << 20


def test_connection_cut_mid_upload_leaves_old_target_and_no_temp_files(
        dav: Any) -> None:
    _, base, disk = dav
    (disk / "target").write_bytes(b"old content")
    with proxied_fs() as (fs, proxy):
        def data() -> Iterator[bytes]:
            for i, chunk in enumerate(chunks(64 << 20)):
                if i == 4:
                    proxy.cut()
                yield chunk
        with pytest.raises(ConnectionError):
            fs._write_atomic(f"/{base.name}/target", data())
        # The file system works again for the next call.
        assert (fs / base.name / "target").read_bytes() == b"old content"
    # At once: the server may still have been working on the broken PUT
    # when the temporary file was first deleted; _write_atomic looked again.
    assert temp_files(disk) == []
    assert os.listdir(disk) == ["target"]
    assert (disk / "target").read_bytes() == b"old content"


def test_connection_cut_mid_download_raises_connection_error(dav: Any) -> None:
    _, base, disk = dav
    (disk / "big").write_bytes(b"r" * (32 << 20))
    with proxied_fs() as (fs, proxy):
        stream = (fs / base.name / "big").streaming_read()
        next(stream)
        proxy.cut()
        with pytest.raises(ConnectionError):
            for _ in stream:
                pass


# --- Errors and authentication --------------------------------------------------

def test_wrong_password_raises_permission_error() -> None:
    with pytest.raises(PermissionError) as info:
        cerulean.WebdavFileSystem(S.WEBDAV_PRIVATE_URL,
                                  cerulean.PasswordCredential(S.USER, "wrong"))
    message = str(info.value)
    assert "401" in message and "PROPFIND" in message
    assert S.WEBDAV_PRIVATE_URL in message and "wrong" not in message


def test_anonymous_access() -> None:
    with pytest.raises(PermissionError):
        cerulean.WebdavFileSystem(S.WEBDAV_PRIVATE_URL)
    name = new_dir_name()
    with cerulean.WebdavFileSystem(S.WEBDAV_PUBLIC_URL) as fs:
        try:
            (fs / name).mkdir()
            (fs / name / "f").write_text("public")
            assert (S.WEBDAV_PUBLIC_DIR / name / "f").read_text() == "public"
            assert [p.name for p in (fs / name).iterdir()] == ["f"]
            (fs / name).rmdir(recursive=True)
            assert not (S.WEBDAV_PUBLIC_DIR / name).exists()
        finally:
            shutil.rmtree(S.WEBDAV_PUBLIC_DIR / name, ignore_errors=True)


@pytest.mark.real_server("webdav-https")
def test_https_with_the_ca_file_and_without() -> None:
    cred = cerulean.PasswordCredential(S.USER, S.PASSWORD)
    name = new_dir_name()
    with cerulean.WebdavFileSystem(S.WEBDAV_HTTPS_URL, cred,
                                   str(S.WEBDAV_CA_CERT)) as fs:
        try:
            (fs / name).mkdir()
            (fs / name / "f").streaming_write(chunks(2 << 20))
            assert (fs / name / "f").size() == 2 << 20
            assert sha256((fs / name / "f").read_bytes()) == sha256(
                b"".join(chunks(2 << 20)))
        finally:
            shutil.rmtree(S.WEBDAV_PRIVATE_DIR / name, ignore_errors=True)
    with pytest.raises(ConnectionError) as info:
        cerulean.WebdavFileSystem(S.WEBDAV_HTTPS_URL, cred)
    assert "host_ca_cert_file" in str(info.value)
    with pytest.raises(FileNotFoundError):
        cerulean.WebdavFileSystem(S.WEBDAV_HTTPS_URL, cred, "/no/such/ca.pem")


def test_bad_arguments() -> None:
    cred = cerulean.PasswordCredential(S.USER, S.PASSWORD)
    with pytest.raises(ValueError, match="http"):
        cerulean.WebdavFileSystem("ftp://127.0.0.1/private", cred)
    with pytest.raises(ValueError, match="PasswordCredential"):
        cerulean.WebdavFileSystem(
            f"http://{S.USER}:{S.PASSWORD}@127.0.0.1:18080/private")
    with pytest.raises(ValueError, match="PasswordCredential"):
        cerulean.WebdavFileSystem(S.WEBDAV_PRIVATE_URL,
                                  cerulean.PubKeyCredential(S.USER, "key"))
    with pytest.raises(FileNotFoundError):
        cerulean.WebdavFileSystem(S.WEBDAV_PRIVATE_URL + "/no-such-dir", cred)
    with pytest.raises(ConnectionError):
        cerulean.WebdavFileSystem("http://127.0.0.1:1/private", cred)


def test_locked_file_is_reported_with_method_url_and_status(dav: Any) -> None:
    fs, base, disk = dav
    (disk / "f").write_bytes(b"")
    url = fs._http.url(str(base / "f"))
    auth = (S.USER, S.PASSWORD)
    answer = requests.request(
        "LOCK", url, auth=auth, headers={"Content-Type": "application/xml"},
        data=b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope>'
             b"<D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
             b"</D:lockinfo>", timeout=10)
    assert answer.status_code == 200
    try:
        with pytest.raises(OSError) as info:
            (base / "f").write_bytes(b"x")
        assert info.value.errno == errno.EBUSY
        assert "PUT" in str(info.value) and url in str(info.value)
        assert "423" in str(info.value)
    finally:
        requests.request("UNLOCK", url, auth=auth, timeout=10, headers={
            "Lock-Token": answer.headers["Lock-Token"]})


@pytest.mark.parametrize("status,kind,err", [
    (401, PermissionError, errno.EACCES),
    (403, PermissionError, errno.EACCES),
    (404, FileNotFoundError, errno.ENOENT),
    (410, FileNotFoundError, errno.ENOENT),
    (500, OSError, errno.EIO),
    (502, OSError, errno.EIO),
    (507, OSError, errno.ENOSPC),
])
def test_status_mapping(status: int, kind: type[OSError], err: int) -> None:
    with FaultServer() as server, cerulean.WebdavFileSystem(server.url) as fs:
        for method, call in (
                ("PROPFIND", lambda: (fs / "x").stat()),
                ("GET", lambda: (fs / "x").read_bytes()),
                ("PUT", lambda: (fs / "x").write_bytes(b"1")),
                ("MKCOL", lambda: (fs / "x").mkdir())):
            server.answers[(method, "/dav/x")] = (status, b"")
            with pytest.raises(kind) as info:
                call()
            assert info.value.errno == err
            message = str(info.value)
            assert method in message and str(status) in message
            assert f"{server.url}/x" in message


def test_hostile_or_broken_xml_is_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b'<D:multistatus xmlns:D="DAV:"><D:response><D:href>&lol2;'
            b"</D:href></D:response></D:multistatus>")
    with FaultServer() as server, cerulean.WebdavFileSystem(server.url) as fs:
        for body in (bomb, b"<not xml", b"<D:x xmlns:D='DAV:'/>"):
            server.answers[("PROPFIND", "/dav/x")] = (207, body)
            with pytest.raises(OSError) as info:
                (fs / "x").stat()
            assert info.value.errno == errno.EPROTO


def test_removing_a_tree_reports_members_the_server_kept() -> None:
    """A DELETE of a collection may answer 207 Multi-Status, listing the
    members it could not delete; that is an error naming the first."""
    collection = ROOT_PROPFIND.replace(b"/dav/", b"/dav/dir/")
    kept = (b'<?xml version="1.0" encoding="utf-8"?><D:multistatus'
            b' xmlns:D="DAV:"><D:response><D:href>/dav/dir/locked</D:href>'
            b"<D:status>HTTP/1.1 423 Locked</D:status></D:response>"
            b"</D:multistatus>")
    with FaultServer() as server, cerulean.WebdavFileSystem(server.url) as fs:
        server.answers[("PROPFIND", "/dav/dir")] = (207, collection)
        server.answers[("DELETE", "/dav/dir")] = (207, kept)
        with pytest.raises(OSError) as info:
            (fs / "dir").rmdir(recursive=True)
        assert info.value.errno == errno.EBUSY
        assert "/dav/dir/locked" in str(info.value) and "423" in str(
            info.value)
        server.answers[("DELETE", "/dav/dir")] = (403, b"")
        with pytest.raises(PermissionError):
            (fs / "dir").rmdir(recursive=True)


def test_redirect_to_the_collection_url_is_followed_and_no_other() -> None:
    collection = ROOT_PROPFIND.replace(b"/dav/", b"/dav/dir/")
    with FaultServer() as server, cerulean.WebdavFileSystem(server.url) as fs:
        server.answers[("PROPFIND", "/dav/dir")] = (
            301, b"", {"Location": f"{server.url}/dir/"})
        server.answers[("PROPFIND", "/dav/dir/")] = (207, collection)
        assert (fs / "dir").is_dir()
        server.answers[("GET", "/dav/dir")] = (
            301, b"", {"Location": "/dav/dir/"})
        with pytest.raises(IsADirectoryError):
            (fs / "dir").read_bytes()
        server.answers[("PROPFIND", "/dav/away")] = (
            302, b"", {"Location": "http://example.com/dav/away/"})
        with pytest.raises(OSError) as info:
            (fs / "away").stat()
        assert "302" in str(info.value)


# --- The file system object -----------------------------------------------------

def test_file_system_object(dav: Any) -> None:
    fs, base, _ = dav
    with private_fs() as other:
        assert other == fs and hash(other) == hash(fs)
        assert other / base.name == base
    assert fs != cerulean.LocalFileSystem()
    assert fs.root() == fs / ""
    assert str(base) == f"/{base.name}"
    assert (base / "a b#").as_uri() == (
        f"{S.WEBDAV_PRIVATE_URL}/{base.name}/a%20b%23")
    made = cerulean.make_file_system(
        "webdav", S.WEBDAV_PRIVATE_URL,
        cerulean.PasswordCredential(S.USER, S.PASSWORD))
    with made:
        assert made == fs and (made / base.name).is_dir()
    with pytest.raises(ValueError, match="closed"):
        (made / base.name).exists()


def test_threads_share_one_file_system(dav: Any) -> None:
    _fs, base, disk = dav

    def work(i: int) -> bytes:
        path = base / f"f{i}"
        path.write_bytes(b"%d" % i * 1000)
        assert path.size() == len(b"%d" % i) * 1000
        data: bytes = path.read_bytes()
        return data

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(40)))
    assert results == [b"%d" % i * 1000 for i in range(40)]
    assert len(os.listdir(disk)) == 40
    assert threading.active_count() < 50


