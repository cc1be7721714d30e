"""Every storage URI stays below the storage root: ``..`` (plain or
percent-encoded) is refused, absolute paths map below the root, and symbolic
links leading out of the root are refused where they would be followed."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from yarl import URL

import cerulean
import neuro_compat as neuro
from tests.neuro_compat.neuro_helpers import STORAGE_KINDS, Cluster, cluster_of, run, sshd_terminal

LINK_KINDS = [k for k in STORAGE_KINDS if k.values[0] != "webdav"]  # WebDAV has no links


@pytest.fixture(params=LINK_KINDS)
def link_cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster whose storage has symbolic links (WebDAV has none)."""
    with cluster_of(request.param, tmp_path) as c:
        yield c


def _shell(cluster: Cluster, script: str) -> None:
    """Run a shell script where the storage is (to make links by hand)."""
    if cluster.kind == "local":
        term: cerulean.Terminal = cerulean.LocalTerminal()
    else:
        term = sshd_terminal()
    try:
        code, _, err = term.run(30.0, "bash", ["-c", f"'{script}'"])
        assert code == 0, err
    finally:
        term.close()


TRAVERSALS = ["storage:../outside", "storage:a/../../outside", "storage:%2e%2e/outside",
              "storage:a/%2E%2E/%2e%2e/x", "storage://{cluster}/{user}/..%2f..%2fx",
              "storage:a/..%2F..%2Fx"]


def test_dot_dot_is_refused(cluster: Cluster) -> None:
    async def main() -> None:
        async with neuro.get(path=cluster.config_dir) as client:
            for text in TRAVERSALS:
                uri = URL(text.format(cluster=client.cluster_name, user=cluster.user))
                for call in (client.storage.stat(uri), client.storage.create(uri, b"x"),
                             client.storage.mkdir(uri, parents=True)):
                    with pytest.raises(neuro.StoragePathError, match=r"'\.\.'") as info:
                        await call
                    assert isinstance(info.value, PermissionError)
                    assert isinstance(info.value, ValueError)
            with pytest.raises(ValueError, match=r"'\.\.'"):
                client.parse.str_to_uri("storage:../../etc/passwd")
    run(main())


def test_absolute_paths_stay_below_the_root(cluster: Cluster) -> None:
    async def main() -> None:
        async with neuro.get(path=cluster.config_dir) as client:
            # storage:/etc/passwd is <root>/etc/passwd, not the system file
            with pytest.raises(FileNotFoundError):
                await client.storage.stat(URL("storage:/etc/passwd"))
            await client.storage.mkdir(URL("storage:/etc"))
            await client.storage.create(URL("storage:/etc/passwd"), b"mine")
            st = await client.storage.stat(URL("storage:/etc/passwd"))
            assert st.size == 4 and st.path == "/etc/passwd"
            # yarl resolves '..' of an absolute URI itself; the result stays below too
            st = await client.storage.stat(URL(f"storage://{client.cluster_name}/a/../etc"))
            assert st.is_dir()
    run(main())
    if cluster.kind == "local":
        assert cluster.local_root is not None
        assert (cluster.local_root / "etc" / "passwd").read_bytes() == b"mine"


def test_links_leading_out_are_refused(link_cluster: Cluster) -> None:
    cluster = link_cluster
    user_dir = f"{cluster.root}/{cluster.user}"
    outside = cluster.root.rsplit("/", 1)[0] + "/outside"

    async def main() -> None:
        async with neuro.get(path=cluster.config_dir) as client:
            s = client.storage
            await s.mkdir(URL("storage:inside"))
            await s.create(URL("storage:inside/ok.txt"), b"fine")
            _shell(cluster, f"mkdir -p {outside} && echo secret > {outside}/secret.txt && "
                   f"ln -s {outside} {user_dir}/out_dir && "
                   f"ln -s {outside}/secret.txt {user_dir}/out_file && "
                   f"ln -s {outside}/new.txt {user_dir}/out_dangling && "
                   f"ln -s inside {user_dir}/in_dir && "
                   f"ln -s inside/ok.txt {user_dir}/in_file")

            # the link itself can be seen and removed
            st = await s.stat(URL("storage:out_file"))
            assert st.is_symlink() and st.target == f"{outside}/secret.txt"
            names = {x.name: x for x in [x async for x in s.list(URL("storage:"))]}
            assert names["out_dir"].type == neuro.FileStatusType.SYMLINK

            # ... but never followed out of the root
            async def read(uri: str) -> bytes:
                async with s.open(URL(uri)) as it:
                    return b"".join([c async for c in it])
            refused = [
                read("storage:out_file"),
                read("storage:out_dir/secret.txt"),
                s.stat(URL("storage:out_dir/secret.txt")),
                s.create(URL("storage:out_file"), b"overwrite"),
                s.create(URL("storage:out_dir/new.txt"), b"x"),
                s.create(URL("storage:out_dangling"), b"x"),
                s.write(URL("storage:out_file"), b"x", 0),
                s.mkdir(URL("storage:out_dir/sub")),
                s.rm(URL("storage:out_dir/secret.txt")),
                s.mv(URL("storage:inside/ok.txt"), URL("storage:out_dir/moved.txt")),
            ]
            for call in refused:
                with pytest.raises(neuro.StoragePathError, match="outside the storage root"):
                    await call
            with pytest.raises(neuro.StoragePathError):
                async with s.list(URL("storage:out_dir")) as it:
                    [x async for x in it]

            # links that stay inside work
            assert await read("storage:in_file") == b"fine"
            assert [x.name async for x in s.list(URL("storage:in_dir"))] == ["ok.txt"]

            # removing the link removes the link, not the target
            await s.rm(URL("storage:out_file"))
            await s.rm(URL("storage:out_dir"))
            # recursive removal does not follow links either
            _shell(cluster, f"mkdir -p {user_dir}/tree && ln -s {outside} {user_dir}/tree/l")
            await s.rm(URL("storage:tree"), recursive=True)

            # download_dir does not follow a link out of the root
            _shell(cluster, f"ln -s {outside} {user_dir}/inside/escape")
            recorder: list[str] = []

            class Progress(neuro.AbstractRecursiveFileProgress):
                def start(self, data: neuro.StorageProgressStart) -> None: ...
                def step(self, data: neuro.StorageProgressStep) -> None: ...
                def complete(self, data: neuro.StorageProgressComplete) -> None: ...
                def enter(self, data: neuro.StorageProgressEnterDir) -> None: ...
                def leave(self, data: neuro.StorageProgressLeaveDir) -> None: ...

                def fail(self, data: neuro.StorageProgressFail) -> None:
                    recorder.append(data.src.name)
            local = Path(cluster.config_dir).parent / "down"
            await s.download_dir(URL("storage:inside"), URL(local.as_uri()),
                                 progress=Progress())
            assert recorder == ["escape"]
            assert sorted(p.name for p in local.iterdir()) == ["ok.txt"]
    try:
        run(main())
        _shell(cluster, f"test \"$(cat {outside}/secret.txt)\" = secret && "
               f"test ! -e {outside}/new.txt && test ! -e {outside}/sub && "
               f"test ! -e {outside}/moved.txt")
    finally:
        _shell(cluster, f"rm -rf {outside}")
