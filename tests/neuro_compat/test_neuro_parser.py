"""The Parser: URIs as neuro_sdk normalises them, volumes, images and
environment variables (with env files)."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from yarl import URL

import neuro_compat as neuro
from tests.neuro_compat.neuro_helpers import cluster_section, run


@pytest.fixture
def client(tmp_path: Path) -> Iterator[neuro.Client]:
    config = tmp_path / "clusters.toml"
    config.write_text(
        cluster_section("main", username="alice", registry="registry.main.org",
                        storage={"type": "local", "root": tmp_path / "root"})
        + cluster_section("other", username="alice",
                          storage={"type": "local", "root": tmp_path / "root2"}))
    c = run(neuro.get(path=config))
    yield c
    run(c.close())


def test_str_to_uri(client: neuro.Client, tmp_path: Path,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    p = client.parse
    assert p.str_to_uri("storage:folder/file.txt") == URL(
        "storage://main/alice/folder/file.txt")
    assert p.str_to_uri("storage:/bob/data") == URL("storage://main/bob/data")
    assert p.str_to_uri("storage://other/bob/x") == URL("storage://other/bob/x")
    assert p.str_to_uri("storage:") == URL("storage://main/alice")
    assert p.str_to_uri("storage:x", cluster_name="other") == URL("storage://other/alice/x")
    assert p.str_to_uri("storage:a%20b") == URL("storage://main/alice/a%20b")
    assert p.str_to_uri("storage:folder/file.txt", short=True) == URL(
        "storage:folder/file.txt")
    assert str(p.str_to_uri("storage://main/alice/x/", short=True)) == "storage:x"
    assert str(p.str_to_uri("storage://other/alice/x", short=True)) == \
        "storage://other/alice/x"
    monkeypatch.chdir(tmp_path)
    assert p.str_to_uri("rel/file.txt") == URL((tmp_path / "rel/file.txt").as_uri())
    assert p.str_to_uri("/abs/path") == URL("file:///abs/path")
    assert p.str_to_uri("file:rel") == URL((tmp_path / "rel").as_uri())
    assert p.str_to_uri("~/x") == URL((Path.home() / "x").as_uri())
    with pytest.raises(ValueError, match="only 'storage:' is allowed"):
        p.str_to_uri("file:/x", allowed_schemes=("storage",))
    with pytest.raises(ValueError, match="Fragment"):
        p.str_to_uri("storage:a#b")
    with pytest.raises(ValueError, match="Query"):
        p.str_to_uri("storage:a?b")
    with pytest.raises(ValueError, match="Cannot expand user"):
        p.str_to_uri("storage:~/x")
    with pytest.raises(ValueError, match="Port is not allowed"):
        p.str_to_uri("storage://main:22/x")
    with pytest.raises(neuro.StoragePathError, match=r"'\.\.'"):
        p.str_to_uri("storage:a/../../b")
    with pytest.raises(neuro.StoragePathError, match=r"'\.\.'"):
        p.str_to_uri("storage:%2e%2e/b")
    with pytest.raises(ValueError, match="Organizations"):
        p.str_to_uri("storage:x", org_name="acme")


def test_normalize_uri_and_paths(client: neuro.Client, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    p = client.parse
    assert p.normalize_uri(URL("storage:a")) == URL("storage://main/alice/a")
    assert p.normalize_uri(URL("storage:/a")) == URL("storage://main/a")
    assert p.normalize_uri(URL("storage:a"), cluster_name="other") == URL(
        "storage://other/alice/a")
    assert str(p.normalize_uri(URL("storage://main/alice/a"), short=True)) == "storage:a"
    assert p.normalize_uri(URL("job:abc")) == URL("job://main/alice/abc")
    with pytest.raises(ValueError):
        p.normalize_uri(URL("storage:a"), allowed_schemes=("file",))
    with pytest.raises(ValueError, match=r"'\.\.'"):
        p.normalize_uri(URL("storage:../a"))
    monkeypatch.chdir(tmp_path)
    assert p.normalize_uri(URL("file:x")) == URL((tmp_path / "x").as_uri())
    assert p.uri_to_str(URL("storage://main/alice/a")) == "storage://main/alice/a"
    assert p.uri_to_path(URL("file:///tmp/a%20b")) == Path("/tmp/a b")
    assert p.uri_to_path(URL("file:x")) == tmp_path / "x"
    with pytest.raises(ValueError, match="only 'file:'"):
        p.uri_to_path(URL("storage:x"))
    assert p.path_to_uri(Path("/tmp/a b")) == URL("file:///tmp/a%20b")
    assert p.path_to_uri(Path("rel")) == URL((tmp_path / "rel").as_uri())


def test_volumes(client: neuro.Client) -> None:
    p = client.parse
    assert p.volume("storage:folder:/var/data") == neuro.Volume(
        URL("storage://main/alice/folder"), "/var/data", False)
    assert p.volume("storage:neuro/public:/mnt/public:ro") == neuro.Volume(
        URL("storage://main/alice/neuro/public"), "/mnt/public", True)
    assert p.volume("storage://other/bob/d:/d:rw").read_only is False
    assert p.volume("storage:d:/d", cluster_name="other").storage_uri == URL(
        "storage://other/alice/d")
    for bad in ("storage:folder", "storage:a:/b:xx", "a:b:c:d:e", "file:/x:/y"):
        with pytest.raises(ValueError):
            p.volume(bad)
    result = p.volumes(["storage:a:/a", "secret:key:/etc/key", "disk:d1:/data:ro",
                        "storage:b:/b:ro"])
    assert [v.container_path for v in result.volumes] == ["/a", "/b"]
    assert result.secret_files == [neuro.SecretFile(URL("secret://main/alice/key"),
                                                    "/etc/key")]
    assert result.disk_volumes == [neuro.DiskVolume(URL("disk://main/alice/d1"), "/data",
                                                    True)]
    with pytest.raises(ValueError, match="HOME"):
        p.volumes(["HOME"])


def test_images(client: neuro.Client) -> None:
    p = client.parse
    img = p.remote_image("ubuntu:latest")
    assert img == neuro.RemoteImage(name="ubuntu", tag="latest")
    assert str(img) == "ubuntu:latest" and img.as_docker_url() == "ubuntu:latest"
    assert p.remote_image("ubuntu").tag == "latest"
    assert p.remote_image("ubuntu", tag_option=neuro.TagOption.ALLOW).tag is None
    with pytest.raises(ValueError, match="tag is not allowed"):
        p.remote_image("ubuntu:22.04", tag_option=neuro.TagOption.DENY)
    local_registry = p.remote_image("localhost:5000/team/app:1.0")
    assert (local_registry.registry, local_registry.name, local_registry.tag) == (
        "localhost:5000", "team/app", "1.0")
    assert p.remote_image("library/python:3.11").name == "library/python"
    mine = p.remote_image("image:my-image:v1")
    assert (mine.owner, mine.cluster_name, mine.registry, mine.tag) == (
        "alice", "main", "registry.main.org", "v1")
    assert str(mine) == "image://main/alice/my-image:v1"
    assert mine.as_docker_url() == "registry.main.org/alice/my-image:v1"
    assert mine.as_docker_url(with_scheme=True).startswith("https://")
    assert p.remote_image("image://main/bob/x").owner == "bob"
    with pytest.raises(neuro.NotSupportedError, match="registry"):
        p.remote_image("image:x", cluster_name="other")
    for bad in ("", "-x", "ubuntu:", ":latest", "a:b:c", "image:latest", "a b"):
        with pytest.raises(ValueError):
            p.remote_image(bad)
    assert p.local_image("ubuntu") == neuro.LocalImage("ubuntu", "latest")
    assert str(p.local_image("py:3")) == "py:3"
    with pytest.raises(ValueError):
        p.local_image("image:x")
    assert neuro.RemoteImage.new_external_image("ubuntu", tag="1") == neuro.RemoteImage(
        "ubuntu", "1")
    with pytest.raises(ValueError):
        neuro.RemoteImage(name="x", owner="alice")


def test_envs(client: neuro.Client, tmp_path: Path,
              monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / "vars.env"
    env_file.write_text("\ufeff# comment\n\nA=from file\n  B=2\nFROM_HOST\nS=secret:pw\n",
                        encoding="utf-8")
    monkeypatch.setenv("FROM_HOST", "host value")
    monkeypatch.delenv("UNSET_VAR", raising=False)
    result = client.parse.envs(["B=3", "C=x=y", "UNSET_VAR", "D="], [str(env_file)])
    assert result.env == {"A": "from file", "B": "3", "FROM_HOST": "host value",
                          "C": "x=y", "UNSET_VAR": "", "D": ""}
    assert result.secret_env == {"S": URL("secret://main/alice/pw")}
    with pytest.raises(ValueError):
        client.parse.envs(["=value"])
    with pytest.raises(FileNotFoundError):
        client.parse.envs([], [str(tmp_path / "missing.env")])
    assert os.environ["FROM_HOST"] == "host value"
