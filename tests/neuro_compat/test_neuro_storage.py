"""Storage operations on single paths, on the local default, SFTP and WebDAV:
every method and its error cases, glob patterns, 64 operations at once."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from yarl import URL

import neuro_compat as neuro
from tests.neuro_compat.neuro_helpers import (
    Cluster,
    Recorder,
    cluster_of,
    raises,
    run_client,
)


async def _collect(cm: neuro.storage.AsyncIteratorContext) -> list:  # type: ignore[name-defined]
    async with cm as it:
        return [x async for x in it]


def test_mkdir_stat_list(cluster: Cluster) -> None:
    async def main(client: neuro.Client) -> None:
        s = client.storage
        await s.mkdir(URL("storage:a"))
        await raises(FileExistsError, s.mkdir(URL("storage:a")))
        await s.mkdir(URL("storage:a"), exist_ok=True)
        await raises(FileNotFoundError, s.mkdir(URL("storage:x/y/z")))
        await s.mkdir(URL("storage:x/y/z"), parents=True)
        await s.mkdir(URL("storage:x/y/z"), parents=True, exist_ok=True)
        await s.create(URL("storage:a/file.txt"), b"0123456789")
        await raises(FileExistsError, s.mkdir(URL("storage:a/file.txt"), exist_ok=True))
        await raises(NotADirectoryError, s.mkdir(URL("storage:a/file.txt/sub"), parents=True))

        st = await s.stat(URL("storage:a/file.txt"))
        cluster_name = client.config.cluster_name
        assert st.is_file() and not st.is_dir() and not st.is_symlink()
        assert st.type == neuro.FileStatusType.FILE
        assert (st.size, st.name) == (10, "file.txt")
        assert st.path == f"/{cluster.user}/a/file.txt"
        assert st.uri == URL(f"storage://{cluster_name}/{cluster.user}/a/file.txt")
        assert st.permission == neuro.Action.MANAGE
        assert isinstance(st.modification_time, int)
        assert abs(st.modification_time - time.time()) < 60
        assert (await s.stat(URL("storage:a"))).is_dir()
        assert (await s.stat(URL(f"storage:/{cluster.user}/a"))).is_dir()

        await raises(FileNotFoundError, s.stat(URL("storage:missing")))
        with pytest.raises(neuro.ResourceNotFound):  # as neuro_sdk raised it
            await s.stat(URL("storage:missing"))

        await s.create(URL("storage:a/b.bin"), b"")
        statuses = await _collect(s.list(URL("storage:a")))
        assert [x.name for x in statuses] == ["b.bin", "file.txt"]
        assert [x.path for x in statuses] == ["b.bin", "file.txt"]
        assert statuses[1].uri == URL(
            f"storage://{cluster_name}/{cluster.user}/a/file.txt")
        assert [x.size for x in statuses] == [0, 10]
        await raises(FileNotFoundError, _collect(s.list(URL("storage:missing"))))
        await raises(NotADirectoryError, _collect(s.list(URL("storage:a/file.txt"))))
        # the user's directory and the root can be listed
        names = [x.name for x in await _collect(s.list(URL("storage:")))]
        assert names == ["a", "x"]
        root = [x.name for x in await _collect(s.list(URL(f"storage://{cluster_name}/")))]
        assert cluster.user in root
    run_client(cluster, main)


def test_create_open_write(cluster: Cluster) -> None:
    async def main(client: neuro.Client) -> None:
        s = client.storage
        f = URL("storage:f.bin")
        await s.create(f, b"hello world")

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(10):
                yield str(i).encode() * 1000
                await asyncio.sleep(0)
        await s.create(URL("storage:g.bin"), chunks())
        assert (await s.stat(URL("storage:g.bin"))).size == 10000

        async def read(uri: URL, offset: int = 0, size: int | None = None) -> bytes:
            async with s.open(uri, offset, size) as it:
                return b"".join([c async for c in it])
        assert await read(f) == b"hello world"
        assert await read(f, 6) == b"world"
        assert await read(f, 2, 3) == b"llo"
        assert await read(f, 0, 0) == b""
        assert await read(f, 100) == b""
        assert await read(URL("storage:g.bin"), 9995, 10) == b"99999"
        await raises(ValueError, read(f, -1))
        await raises(ValueError, read(f, 0, -1))
        await raises(FileNotFoundError, read(URL("storage:missing")))
        await s.mkdir(URL("storage:d"))
        await raises(IsADirectoryError, read(URL("storage:d")))

        # create replaces; errors
        await s.create(f, b"HELLO world")
        assert await read(f) == b"HELLO world"
        await raises(FileNotFoundError, s.create(URL("storage:nodir/f"), b"x"))
        await raises(IsADirectoryError, s.create(URL("storage:d"), b"x"))

        async def failing() -> AsyncIterator[bytes]:
            yield b"partial"
            raise RuntimeError("source failed")
        await raises(RuntimeError,
                     s.create(URL("storage:half.bin"), failing()), match="source failed")
        with pytest.raises(FileNotFoundError):  # nothing half-written
            await s.stat(URL("storage:half.bin"))

        await raises(ValueError, s.write(f, b"", 0))
        if cluster.kind == "webdav":
            await raises(neuro.NotSupportedError, s.write(f, b"J", 0))
            return
        await s.write(f, b"W", 6)
        assert await read(f) == b"HELLO World"
        await s.write(f, b"!!", 11)
        assert await read(f) == b"HELLO World!!"
        await raises(FileNotFoundError, s.write(URL("storage:missing"), b"x", 0))
        await raises(IsADirectoryError, s.write(URL("storage:d"), b"x", 0))
    run_client(cluster, main)


def test_rm_and_mv(cluster: Cluster) -> None:
    async def main(client: neuro.Client) -> None:
        s = client.storage
        await s.mkdir(URL("storage:t/sub"), parents=True)
        for name in ("t/a", "t/sub/b", "t/sub/c"):
            await s.create(URL(f"storage:{name}"), name.encode())

        await raises(IsADirectoryError, s.rm(URL("storage:t")))
        recorder = Recorder()
        await s.rm(URL("storage:t/sub"), recursive=True, progress=recorder)
        deleted = [(str(e.uri).rsplit("/", 2)[-2:], e.is_dir) for _, e in recorder.events]
        assert sorted(deleted[:2]) == [(["sub", "b"], False), (["sub", "c"], False)]
        assert deleted[2] == (["t", "sub"], True)  # the directory after its content
        assert recorder.kinds() == ["delete"] * 3
        await raises(FileNotFoundError, s.stat(URL("storage:t/sub")))
        await s.rm(URL("storage:t/a"))
        await raises(FileNotFoundError, s.rm(URL("storage:t/a")))
        await raises(neuro.IllegalArgumentError,
                     s.rm(URL(f"storage://{client.cluster_name}/"), recursive=True))

        await s.create(URL("storage:t/x"), b"x")
        await s.mv(URL("storage:t/x"), URL("storage:t/y"))
        assert (await s.stat(URL("storage:t/y"))).size == 1
        await raises(FileNotFoundError, s.stat(URL("storage:t/x")))
        await s.mv(URL("storage:t"), URL("storage:u"))
        assert (await s.stat(URL("storage:u/y"))).is_file()
        await raises(FileNotFoundError, s.mv(URL("storage:missing"), URL("storage:z")))
        await raises(FileNotFoundError, s.mv(URL("storage:u/y"), URL("storage:nodir/y")))
        await raises(OSError, s.mv(URL("storage:u"), URL("storage:u/inside")))
    run_client(cluster, main)


def test_glob(cluster: Cluster) -> None:
    async def main(client: neuro.Client) -> None:
        s = client.storage
        for d in ("g/a", "g/b/c", "g/.hidden"):
            await s.mkdir(URL(f"storage:{d}"), parents=True)
        for f in ("g/x.py", "g/y.txt", "g/.h.py", "g/a/z.py", "g/b/c/w.py",
                  "g/.hidden/v.py", "g/a1.py"):
            await s.create(URL(f"storage:{f}"), b"")

        async def glob(pattern: str, dironly: bool = False) -> list[str]:
            uris = await _collect(s.glob(URL(f"storage:{pattern}"), dironly=dironly))
            return sorted(str(u) for u in uris)

        assert await glob("g/*.py") == ["storage:g/a1.py", "storage:g/x.py"]
        assert await glob("g/.*.py") == ["storage:g/.h.py"]
        assert await glob("g/%3F.py") == ["storage:g/x.py"]  # "?" is "%3F" in a URI
        assert await glob("g/[xy].*") == ["storage:g/x.py", "storage:g/y.txt"]
        assert await glob("g/**/*.py") == [
            "storage:g/a/z.py", "storage:g/a1.py", "storage:g/b/c/w.py",
            "storage:g/x.py"]
        assert await glob("g/**") == [
            "storage:g", "storage:g/a", "storage:g/a/z.py", "storage:g/a1.py",
            "storage:g/b", "storage:g/b/c", "storage:g/b/c/w.py", "storage:g/x.py",
            "storage:g/y.txt"]
        assert await glob("g/**", dironly=True) == [
            "storage:g", "storage:g/a", "storage:g/b", "storage:g/b/c"]
        assert await glob("g/*", dironly=True) == ["storage:g/a", "storage:g/b"]
        assert await glob("g/*/z.py") == ["storage:g/a/z.py"]
        assert await glob("g/*/missing") == []
        assert await glob("nothing/*") == []
        # no wildcard: the URI itself, as neuro_sdk does
        assert await glob("g/x.py") == ["storage:g/x.py"]
    run_client(cluster, main)


def test_disk_usage(cluster: Cluster) -> None:
    async def main(client: neuro.Client) -> None:
        if cluster.kind == "webdav":
            await raises(neuro.NotSupportedError, client.storage.disk_usage())
            return
        usage = await client.storage.disk_usage()
        assert usage.cluster_name == client.cluster_name
        assert usage.total > 0 and 0 <= usage.free <= usage.total
        assert usage.used > 0
        assert usage.org_name is None
        again = await client.storage.disk_usage(client.cluster_name,
                                                uri=URL("storage:"))
        assert again.total == usage.total
        await raises(ValueError, client.storage.disk_usage(org_name="some-org"))
    run_client(cluster, main)


def test_64_operations_at_once(cluster: Cluster) -> None:
    async def main(client: neuro.Client) -> None:
        s = client.storage
        await s.mkdir(URL("storage:many"))
        names = [f"many/f{i:02d}" for i in range(64)]
        await asyncio.gather(*(s.create(URL(f"storage:{n}"), n.encode() * (i + 1))
                               for i, n in enumerate(names)))
        stats = await asyncio.gather(*(s.stat(URL(f"storage:{n}")) for n in names))
        assert [st.size for st in stats] == [len(n) * (i + 1)
                                              for i, n in enumerate(names)]

        async def read(n: str) -> bytes:
            async with s.open(URL(f"storage:{n}")) as it:
                return b"".join([c async for c in it])
        contents = await asyncio.gather(*(read(n) for n in names))
        assert contents == [n.encode() * (i + 1) for i, n in enumerate(names)]
        listing = await _collect(s.list(URL("storage:many")))
        assert [x.name for x in listing] == [n.split("/")[1] for n in names]
        await asyncio.gather(*(s.rm(URL(f"storage:{n}")) for n in names))
        assert await _collect(s.list(URL("storage:many"))) == []
    run_client(cluster, main)


def test_unknown_cluster_and_wrong_scheme(cluster: Cluster) -> None:
    async def main(client: neuro.Client) -> None:
        await raises(neuro.IllegalArgumentError,
                     client.storage.stat(URL("storage://nosuch/user/x")), match="nosuch")
        await raises(ValueError, client.storage.stat(URL("file:///etc/passwd")), match="storage")
        await raises(ValueError, client.storage.stat(URL("storage:a#b")), match="Fragment")
    run_client(cluster, main)


def test_mv_errors_name_the_storage_uris(cluster: Cluster) -> None:
    async def main(client: neuro.Client) -> None:
        s = client.storage
        await s.mkdir(URL("storage:a/sub"), parents=True)
        await s.mkdir(URL("storage:full/x"), parents=True)
        await s.create(URL("storage:f"), b"x")
        base = f"storage://{client.cluster_name}/{cluster.user}"
        # The same error on every storage, naming both URIs as mv(1)
        # and os.rename do, never a path on the storage's file system.
        for src, dst, error, text in [
                ("a", "full", OSError, "Directory not empty"),
                ("f", "full", IsADirectoryError, "Is a directory"),
                ("a", "f", NotADirectoryError, "Not a directory")]:
            with pytest.raises(error) as raised:
                await s.mv(URL(f"storage:{src}"), URL(f"storage:{dst}"))
            assert str(raised.value).endswith(
                f"{text}: '{base}/{src}' -> '{base}/{dst}'"), raised.value
            assert (raised.value.filename, raised.value.filename2) == (
                f"{base}/{src}", f"{base}/{dst}")
        # Nothing moved.
        assert [st.name for st in await _collect(s.list(URL("storage:")))] == [
            "a", "f", "full"]
        with pytest.raises(FileNotFoundError) as missing:
            await s.mv(URL("storage:f"), URL("storage:nodir/y"))
        assert cluster.root not in str(missing.value)
    run_client(cluster, main)


@pytest.mark.real_server("ssh")
def test_permission_errors_name_the_storage_uri(tmp_path: Path) -> None:
    # On SFTP: the test user cannot write a 0500 directory (locally, as
    # root, anybody can; WebDAV has no permissions).
    src = tmp_path / "a.txt"
    src.write_text("a")

    async def main(client: neuro.Client) -> None:
        s = client.storage
        await s.mkdir(URL("storage:ro"))
        await s.create(URL("storage:ro/old"), b"x")
        session = client._sessions.get()
        fs = session.host_fs()
        ro = f"{cluster.root}/{cluster.user}/ro"
        await session.bridge.run(fs._set_mode, ro, 0o500)
        base = f"storage://{client.cluster_name}/{cluster.user}"
        try:
            calls: list[tuple[Callable[[], Awaitable[None]], str]] = [
                (lambda: s.upload_file(URL(src.as_uri()), URL("storage:ro/a.txt")),
                 f"'{base}/ro/a.txt'"),
                (lambda: s.create(URL("storage:ro/b.txt"), b"b"), f"'{base}/ro/b.txt'"),
                (lambda: s.mkdir(URL("storage:ro/d")), f"'{base}/ro/d'"),
                (lambda: s.rm(URL("storage:ro/old")), f"'{base}/ro/old'"),
                (lambda: s.mv(URL("storage:ro/old"), URL("storage:new")),
                 f"'{base}/ro/old' -> '{base}/new'")]
            for call, named in calls:
                with pytest.raises(PermissionError) as refused:
                    await call()
                assert str(refused.value) == f"[Errno 13] Permission denied: {named}"
        finally:
            await session.bridge.run(fs._set_mode, ro, 0o700)

    with cluster_of("sftp", tmp_path) as cluster:
        run_client(cluster, main)
