"""Uploads and downloads: files and trees, progress events in neuro_sdk's
order, update and continue_ with controlled modification times, filters and
ignore files, special files, failing callbacks, cancelling a large
upload part-way (then completing it with continue_), and the call after a
connection drop."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

import neuro_compat as neuro
from tests.cerulean.terminal_helpers import sshd_session_pids
from tests.neuro_compat.neuro_helpers import (
    Cluster,
    Recorder,
    cluster_of,
    make_tree,
    raises,
    read_tree,
    run_client,
    set_mtime,
    wait_no_workers,
)


def file_uri(path: Path) -> URL:
    return URL(path.as_uri())


async def read(client: neuro.Client, uri: str) -> bytes:
    async with client.storage.open(URL(uri)) as it:
        return b"".join([c async for c in it])


def check_file_events(events: list[tuple[str, Any]]) -> dict[str, list[str]]:
    """Per destination: start, then steps with growing ``current``, then
    complete; returns the kinds per file."""
    per_file: dict[str, list[str]] = {}
    last: dict[str, int] = {}
    for kind, data in events:
        if kind not in ("start", "step", "complete"):
            continue
        key = str(data.dst)
        kinds = per_file.setdefault(key, [])
        if kind == "start":
            assert not kinds, f"{key}: start after {kinds}"
        else:
            assert kinds and kinds[-1] != "complete", f"{key}: {kind} after {kinds}"
        if kind == "step":
            assert data.current >= last.get(key, 0) and data.current <= data.size
            last[key] = data.current
        kinds.append(kind)
    for key, kinds in per_file.items():
        assert kinds[-1] == "complete", f"{key}: {kinds}"
    return per_file


def check_dir_events(events: list[tuple[str, Any]]) -> None:
    """enter/leave nest properly, and each file's events lie between the
    enter and the leave of its directory."""
    open_dirs: list[str] = []
    for kind, data in events:
        if kind == "enter":
            open_dirs.append(str(data.dst))
        elif kind == "leave":
            assert str(data.dst) in open_dirs
            # everything below this directory is done before it is left
            assert not any(d.startswith(str(data.dst) + "/") for d in open_dirs)
            open_dirs.remove(str(data.dst))
        elif kind in ("start", "step", "complete", "fail"):
            assert str(data.dst).rsplit("/", 1)[0] in open_dirs
    assert open_dirs == []


def test_upload_and_download_file(cluster: Cluster, tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    data = os.urandom(3 * 1024 * 1024 + 17)
    src.write_bytes(data)

    async def main(client: neuro.Client) -> None:
        s = client.storage
        recorder = Recorder()
        await s.upload_file(file_uri(src), URL("storage:up.bin"), progress=recorder)
        assert await read(client, "storage:up.bin") == data
        kinds = check_file_events(recorder.events)
        (only,) = kinds.values()
        assert only[0] == "start" and only[-1] == "complete" and "step" in only
        start = recorder.events[0][1]
        assert start.src == file_uri(src) and start.size == len(data)
        assert start.dst == URL(
            f"storage://{client.cluster_name}/{cluster.user}/up.bin")
        assert recorder.events[-2][1].current == len(data)
        assert recorder.threads == {__import__("threading").get_ident()}

        down = tmp_path / "down.bin"
        recorder = Recorder()
        await s.download_file(URL("storage:up.bin"), file_uri(down), progress=recorder)
        assert down.read_bytes() == data
        check_file_events(recorder.events)
        assert recorder.events[-1] == ("complete", neuro.StorageProgressComplete(
            start.dst, file_uri(down), len(data)))

        # a relative file: URI is relative to the working directory
        os.chdir(tmp_path)
        await s.upload_file(URL("file:src.bin"), URL("storage:rel.bin"))
        await s.download_file(URL("storage:rel.bin"), URL("file:rel.bin"))
        assert (tmp_path / "rel.bin").read_bytes() == data

        # the error cases neuro_sdk raises
        await s.mkdir(URL("storage:dir"))
        await raises(FileNotFoundError,
                     s.upload_file(file_uri(tmp_path / "missing"), URL("storage:x")))
        await raises(IsADirectoryError, s.upload_file(file_uri(tmp_path), URL("storage:x")))
        await raises(IsADirectoryError, s.upload_file(file_uri(src), URL("storage:dir")))
        with pytest.raises(NotADirectoryError) as no_parent:  # as neuro_sdk 22.7
            await s.upload_file(file_uri(src), URL("storage:nodir/x"))
        assert no_parent.value.filename == \
            f"storage://{client.cluster_name}/{cluster.user}/nodir"
        await raises(NotADirectoryError, s.upload_file(file_uri(src), URL("storage:up.bin/x")))
        await raises(FileNotFoundError,
                     s.download_file(URL("storage:missing"), file_uri(tmp_path / "m")))
        await raises(IsADirectoryError,
                     s.download_file(URL("storage:dir"), file_uri(tmp_path / "m")))
        await raises(IsADirectoryError, s.download_file(URL("storage:up.bin"), file_uri(tmp_path)))
        await raises(ValueError, s.upload_file(URL("storage:up.bin"), URL("storage:x")))
    run_client(cluster, main)


def test_upload_and_download_dir(cluster: Cluster, tmp_path: Path) -> None:
    src = tmp_path / "tree"
    content = make_tree(src, dirs=4, files=5, size=300)
    (src / "d1" / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024 + 5))
    content["d1/big.bin"] = (src / "d1" / "big.bin").read_bytes()
    (src / "empty_dir").mkdir()
    (src / "empty.txt").write_bytes(b"")
    content["empty.txt"] = b""

    async def main(client: neuro.Client) -> None:
        s = client.storage
        recorder = Recorder()
        await s.upload_dir(file_uri(src), URL("storage:tree"), progress=recorder)
        check_dir_events(recorder.events)
        files = check_file_events(recorder.events)
        assert len(files) == len(content)
        assert recorder.events[0] == ("enter", neuro.StorageProgressEnterDir(
            file_uri(src), URL(f"storage://{client.cluster_name}/{cluster.user}/tree")))
        assert recorder.kinds()[-1] == "leave"
        assert (await s.stat(URL("storage:tree/empty_dir"))).is_dir()
        assert await read(client, "storage:tree/d1/big.bin") == content["d1/big.bin"]
        assert await read(client, "storage:tree/d3/f4.txt") == content["d3/f4.txt"]

        down = tmp_path / "down"
        recorder = Recorder()
        await s.download_dir(URL("storage:tree"), file_uri(down), progress=recorder)
        check_dir_events(recorder.events)
        assert len(check_file_events(recorder.events)) == len(content)
        assert read_tree(down) == content
        assert (down / "empty_dir").is_dir()

        # into an existing destination: merged, overwritten
        (src / "f0.txt").write_bytes(b"changed")
        await s.upload_dir(file_uri(src), URL("storage:tree"))
        assert await read(client, "storage:tree/f0.txt") == b"changed"

        # errors
        await raises(FileNotFoundError,
                     s.upload_dir(file_uri(tmp_path / "missing"), URL("storage:t2")))
        await raises(NotADirectoryError, s.upload_dir(file_uri(src / "f0.txt"), URL("storage:t2")))
        await raises(NotADirectoryError, s.upload_dir(file_uri(src), URL("storage:tree/f0.txt")))
        await raises(FileNotFoundError, s.upload_dir(file_uri(src), URL("storage:no/such/dir")))
        await raises(FileNotFoundError,
                     s.download_dir(URL("storage:missing"), file_uri(tmp_path / "x")))
        await raises(NotADirectoryError,
                     s.download_dir(URL("storage:tree/f0.txt"), file_uri(tmp_path / "x")))
        await raises(NotADirectoryError,
                     s.download_dir(URL("storage:tree"), file_uri(down / "f0.txt")))
    run_client(cluster, main)


def test_update_with_controlled_mtimes(cluster: Cluster, tmp_path: Path) -> None:
    src = tmp_path / "u"
    for rel in make_tree(src, dirs=2, files=3):
        set_mtime(src / rel, 7200)  # unchanged files: older than their uploads

    async def main(client: neuro.Client) -> None:
        s = client.storage
        await s.upload_dir(file_uri(src), URL("storage:u"))  # remote mtimes: now
        # older locally than remotely: update skips it; newer: update sends it
        (src / "f0.txt").write_bytes(b"older local")
        set_mtime(src / "f0.txt", 3600)
        (src / "d1" / "f1.txt").write_bytes(b"newer local")
        set_mtime(src / "d1" / "f1.txt", -3600)
        (src / "d1" / "new.txt").write_bytes(b"missing remotely")
        recorder = Recorder()
        await s.upload_dir(file_uri(src), URL("storage:u"), update=True,
                           progress=recorder)
        assert await read(client, "storage:u/f0.txt") != b"older local"
        assert await read(client, "storage:u/d1/f1.txt") == b"newer local"
        assert await read(client, "storage:u/d1/new.txt") == b"missing remotely"
        sent = {data.dst.path.split("/u/", 1)[1]
                for kind, data in recorder.events if kind == "start"}
        assert sent == {"d1/f1.txt", "d1/new.txt"}
        # update on a single file
        await s.upload_file(file_uri(src / "f0.txt"), URL("storage:u/f0.txt"),
                            update=True)
        assert await read(client, "storage:u/f0.txt") != b"older local"
        await s.upload_file(file_uri(src / "f0.txt"), URL("storage:u/f0.txt"))
        assert await read(client, "storage:u/f0.txt") == b"older local"

        # downloads: local files newer than remote ones are kept
        down = tmp_path / "down"
        await s.download_dir(URL("storage:u"), file_uri(down))
        for rel in read_tree(down):
            set_mtime(down / rel, -7200)  # unchanged files: newer than remote
        (down / "f1.txt").write_bytes(b"local edit, newer")
        set_mtime(down / "f1.txt", -3600)
        (down / "f2.txt").write_bytes(b"local edit, older")
        set_mtime(down / "f2.txt", 3600)
        (down / "d1" / "new.txt").unlink()
        recorder = Recorder()
        await s.download_dir(URL("storage:u"), file_uri(down), update=True,
                             progress=recorder)
        assert (down / "f1.txt").read_bytes() == b"local edit, newer"
        assert (down / "f2.txt").read_bytes() != b"local edit, older"
        assert (down / "d1" / "new.txt").read_bytes() == b"missing remotely"
        got = {data.dst.path[len(down.as_posix()) + 1:]
               for kind, data in recorder.events if kind == "start"}
        assert got == {"f2.txt", "d1/new.txt"}
        await s.download_file(URL("storage:u/f0.txt"), file_uri(down / "f1.txt"),
                              update=True)
        assert (down / "f1.txt").read_bytes() == b"local edit, newer"
    run_client(cluster, main)


def test_continue_appends_byte_exactly(cluster: Cluster, tmp_path: Path) -> None:
    data = os.urandom(2 * 1024 * 1024 + 333)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    set_mtime(src, 3600)  # the partial copy will be newer, as continue_ needs

    async def main(client: neuro.Client) -> None:
        s = client.storage
        # a partial upload: the first 1 MiB + 7 bytes
        await s.create(URL("storage:big.bin"), data[:1024 * 1024 + 7])
        recorder = Recorder()
        await s.upload_file(file_uri(src), URL("storage:big.bin"), continue_=True,
                            progress=recorder)
        assert await read(client, "storage:big.bin") == data
        if cluster.kind != "webdav":  # WebDAV cannot append: the whole file again
            assert recorder.events[1][0] == "step"
            assert recorder.events[1][1].current == 1024 * 1024 + 7
        # complete already: skipped
        recorder = Recorder()
        await s.upload_file(file_uri(src), URL("storage:big.bin"), continue_=True,
                            progress=recorder)
        assert recorder.events == []

        # downloads: a partial local file newer than the remote one
        await s.create(URL("storage:old.bin"), data)
        down = tmp_path / "partial.bin"
        down.write_bytes(data[:12345])
        set_mtime(down, -3600)
        recorder = Recorder()
        await s.download_file(URL("storage:old.bin"), file_uri(down), continue_=True,
                              progress=recorder)
        assert down.read_bytes() == data
        assert recorder.events[1][1].current == 12345
        # and in download_dir
        await s.mkdir(URL("storage:dir"))
        await s.create(URL("storage:dir/a.bin"), data)
        local = tmp_path / "ddir"
        local.mkdir()
        (local / "a.bin").write_bytes(data[:100])
        set_mtime(local / "a.bin", -3600)
        await s.download_dir(URL("storage:dir"), file_uri(local), continue_=True)
        assert (local / "a.bin").read_bytes() == data
    run_client(cluster, main)


def test_filter_and_ignore_files(cluster: Cluster, tmp_path: Path) -> None:
    project = tmp_path / "project"
    src = project / "data"
    for rel in ("a.txt", "a.log", "keep.log", "secret.key", "build/out.o",
                "sub/b.txt", "sub/b.tmp", "sub/build/x", "skipme/c.txt",
                "deep/er/build/y", "deep/er/z.txt"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(rel)
    (project / ".neuroignore").write_text("# the project's\nsecret.*\n")
    (src / ".neuroignore").write_text("*.log\n!keep.log\nbuild/\n")
    (src / "sub" / ".neuroignore").write_text("*.tmp\n!build/\n")
    seen: list[str] = []

    async def keep(path: str) -> bool:
        seen.append(path)
        await asyncio.sleep(0)
        return not path.startswith("skipme")

    async def main(client: neuro.Client) -> None:
        await client.storage.upload_dir(
            file_uri(src), URL("storage:up"), filter=keep,
            ignore_file_names={".neuroignore"})
        down = tmp_path / "down"
        await client.storage.download_dir(URL("storage:up"), file_uri(down))
        assert sorted(read_tree(down)) == [
            ".neuroignore", "a.txt", "deep/er/z.txt", "keep.log", "sub/.neuroignore",
            "sub/b.txt", "sub/build/x"]  # a deeper ignore file has the last word
        assert "skipme/" in seen  # directories are offered with a trailing '/'
        # download_dir's filter
        down2 = tmp_path / "down2"

        async def no_txt(path: str) -> bool:
            return not path.endswith(".txt")
        await client.storage.download_dir(URL("storage:up"), file_uri(down2),
                                          filter=no_txt)
        assert sorted(read_tree(down2)) == [".neuroignore", "keep.log",
                                            "sub/.neuroignore", "sub/build/x"]
    run_client(cluster, main)


def test_special_files_and_failing_callbacks(cluster: Cluster, tmp_path: Path) -> None:
    src = tmp_path / "s"
    src.mkdir()
    (src / "ok.txt").write_text("ok")
    os.mkfifo(src / "pipe")
    many = tmp_path / "many"  # several batches at once, all stopped by one failure
    for i in range(200):
        (many / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (many / f"d{i % 4}" / f"f{i}").write_text(str(i))

    class Boom(Recorder):
        def complete(self, data: Any) -> None:
            raise KeyError("callback failed")

    async def main(client: neuro.Client) -> None:
        recorder = Recorder()
        await client.storage.upload_dir(file_uri(src), URL("storage:s"),
                                        progress=recorder)
        fails = [data for kind, data in recorder.events if kind == "fail"]
        assert [f.src.name for f in fails] == ["pipe"]
        assert "not regular file" in fails[0].message
        with pytest.raises(KeyError, match="callback failed"):
            await client.storage.upload_dir(file_uri(src), URL("storage:s2"),
                                            progress=Boom())
        with pytest.raises(KeyError, match="callback failed"):
            await client.storage.upload_dir(file_uri(many), URL("storage:m"),
                                            progress=Boom())
        with pytest.raises(KeyError, match="callback failed"):
            await client.storage.download_dir(URL("storage:m"),
                                              file_uri(tmp_path / "m"), progress=Boom())
        with pytest.raises(KeyError, match="callback failed"):
            await client.storage.upload_file(file_uri(src / "ok.txt"),
                                             URL("storage:one"), progress=Boom())
    run_client(cluster, main)
    assert wait_no_workers() == []


@pytest.mark.parametrize("kind", [
    pytest.param("local"), pytest.param("sftp", marks=pytest.mark.real_server("ssh"))])
def test_cancel_a_large_upload_then_continue(kind: str, tmp_path: Path) -> None:
    data = os.urandom(64 * 1024 * 1024)
    src = tmp_path / "large.bin"
    src.write_bytes(data)
    set_mtime(src, 3600)

    class StopAfter(Recorder):
        """Cancels ``task`` once 8 MiB have gone."""

        task: asyncio.Future[Any] | None = None

        def step(self, data: Any) -> None:
            super().step(data)
            if data.current >= 8 * 1024 * 1024 and self.task is not None:
                self.task.cancel()

    async def main(client: neuro.Client) -> None:
        s = client.storage
        recorder = StopAfter()
        upload = asyncio.ensure_future(
            s.upload_file(file_uri(src), URL("storage:large.bin"),
                          progress=recorder))
        recorder.task = upload
        started = time.monotonic()
        await raises(asyncio.CancelledError, upload)
        assert time.monotonic() - started < 30
        assert "complete" not in recorder.kinds()
        partial = (await s.stat(URL("storage:large.bin"))).size
        assert 0 < partial < len(data)
        async with s.open(URL("storage:large.bin")) as it:
            prefix = b"".join([c async for c in it])
        assert prefix == data[:len(prefix)]  # a prefix, nothing else

        recorder = Recorder()
        await s.upload_file(file_uri(src), URL("storage:large.bin"), continue_=True,
                            progress=recorder)
        assert recorder.events[1][1].current == partial
        async with s.open(URL("storage:large.bin")) as it:
            assert b"".join([c async for c in it]) == data

    with cluster_of(kind, tmp_path) as cluster:
        run_client(cluster, main)
    assert wait_no_workers() == []


AFTER_A_DROP = ["stat", "list", "open", "write", "continue"]


@pytest.mark.real_server("ssh")
@pytest.mark.parametrize("next_call", AFTER_A_DROP)
def test_the_call_after_a_connection_drop_mid_upload_reconnects(next_call: str,
                                                                 tmp_path: Path) -> None:
    data = os.urandom(16 * 1024 * 1024)
    src = tmp_path / "large.bin"
    src.write_bytes(data)
    set_mtime(src, 3600)  # older than the partial upload: continue_ appends

    class DropAfter(Recorder):
        """Kills the sshd session serving ``term`` once 2 MiB have gone."""

        term: Any = None

        def step(self, data: Any) -> None:
            super().step(data)
            if data.current >= 2 * 1024 * 1024 and self.term is not None:
                for pid in sshd_session_pids(self.term):
                    os.kill(pid, signal.SIGTERM)
                self.term = None

    async def main(client: neuro.Client) -> None:
        s = client.storage
        await s.mkdir(URL("storage:d"))
        await s.create(URL("storage:d/small.txt"), b"0123456789")
        session = client._sessions.get()
        recorder = DropAfter()
        recorder.term = await session.bridge.run(session.terminal)
        with pytest.raises(ConnectionError):
            await s.upload_file(file_uri(src), URL("storage:d/large.bin"),
                                progress=recorder)
        assert recorder.term is None and "complete" not in recorder.kinds()
        # The next call, whatever it is, reconnects by itself.
        if next_call == "stat":
            assert (await s.stat(URL("storage:d/small.txt"))).size == 10
        elif next_call == "list":
            async with s.list(URL("storage:d")) as it:
                assert sorted([st.name async for st in it]) == ["large.bin",
                                                                "small.txt"]
        elif next_call == "open":
            async with s.open(URL("storage:d/small.txt"), offset=4, size=3) as it:
                assert b"".join([c async for c in it]) == b"456"
        elif next_call == "write":
            await s.write(URL("storage:d/small.txt"), b"ab", 8)
            assert await read(client, "storage:d/small.txt") == b"01234567ab"
        else:
            recorder = Recorder()
            await s.upload_file(file_uri(src), URL("storage:d/large.bin"),
                                continue_=True, progress=recorder)
            assert recorder.kinds()[-1] == "complete"
            assert await read(client, "storage:d/large.bin") == data

    with cluster_of("sftp", tmp_path) as cluster:
        run_client(cluster, main)
    assert wait_no_workers() == []
