"""get(), Factory, Client and Config: the embedded local default, the cluster
configuration file and its errors, switching clusters, closing, and the
subsystems that do not exist here."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from yarl import URL

import neuro_compat as neuro
from neuro_compat.config import DEFAULT_CONFIG, parse_clusters
from tests.neuro_compat.neuro_helpers import (
    cluster_section,
    local_cluster,
    remove_cluster,
    run,
    sftp_cluster,
    wait_no_workers,
)
from tests.servers import settings as S


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty XDG_DATA_HOME and no configuration anywhere (a configuration
    directory without clusters.toml)."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    (tmp_path / "no-config").mkdir()
    monkeypatch.setenv("NEUROMATION_CONFIG", str(tmp_path / "no-config"))
    return tmp_path / "xdg"


def test_embedded_default_works_offline(data_home: Path) -> None:
    async def main() -> None:
        client = await neuro.get()  # the awaitable form
        try:
            assert client.cluster_name == "local"
            assert client.config.cluster_name == "local"
            assert list(client.config.clusters) == ["local"]
            assert client.username and client.username == client.config.username
            assert {"cpu-small", "cpu-medium", "cpu-large"} <= set(client.presets)
            small = client.presets["cpu-small"]
            assert isinstance(small, neuro.Preset)
            assert (small.cpu, small.memory_mb) == (1.0, 1024)
            assert client.config.presets == client.presets
            cluster = client.config.clusters["local"]
            assert cluster.config.runtime == "host"
            assert cluster.config.scheduler.type == "directgnu"
            assert cluster.config.terminal.type == "local"
            assert "embedded" in client.config.source
            await client.storage.create(URL("storage:hello.txt"), b"hi")
        finally:
            await client.close()
        assert client.closed
    run(main())
    stored = data_home / "neuro-compat" / "storage"
    (user_dir,) = stored.iterdir()
    assert (user_dir / "hello.txt").read_bytes() == b"hi"
    assert "runtime = \"host\"" in DEFAULT_CONFIG  # says so in its configuration


def test_factory_path_and_environment(tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = local_cluster(tmp_path)
    monkeypatch.setenv("NEUROMATION_CONFIG", str(cluster.config_dir))
    factory = neuro.Factory()
    assert factory.path == cluster.config_dir
    assert factory.is_config_present
    assert neuro.Factory(Path("~/x")).path == Path.home() / "x"
    assert not neuro.Factory(tmp_path / "empty").is_config_present
    # a .toml file may be named directly
    assert neuro.Factory(cluster.config_dir / "clusters.toml").is_config_present

    async def main() -> None:
        async with neuro.get() as client:  # the async-with form, from the variable
            assert client.cluster_name == "here"
            assert client.username == "tester"
        async with neuro.get(path=cluster.config_dir / "clusters.toml") as client:
            assert client.cluster_name == "here"
        client = await factory.get()
        assert client.cluster_name == "here"
        await client.close()
        with pytest.raises(neuro.ConfigError, match="does not exist"):
            await neuro.get(path=tmp_path / "missing.toml")
    run(main())


def test_a_missing_configuration_directory_is_refused_unless_it_is_the_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.neuro either
    mistyped = tmp_path / "neuor"
    monkeypatch.setenv("NEUROMATION_CONFIG", str(mistyped))

    async def main() -> None:
        # A mistyped name must not quietly run "cluster" jobs on this machine.
        with pytest.raises(neuro.ConfigError) as refused:
            await neuro.get()
        assert str(refused.value).startswith(f"{mistyped}: the configuration directory "
                                             "named by the environment variable "
                                             "NEUROMATION_CONFIG does not exist")
        with pytest.raises(neuro.ConfigError, match="named by the path argument"):
            await neuro.get(path=tmp_path / "elsewhere")
        assert not (tmp_path / "xdg").exists()  # nothing was started or stored
        # A directory that exists but holds no clusters.toml: the default.
        mistyped.mkdir()
        async with neuro.get() as client:
            assert client.cluster_name == "local"
        # Nothing named, and no ~/.neuro: the embedded default, as documented.
        monkeypatch.delenv("NEUROMATION_CONFIG")
        async with neuro.get() as client:
            assert client.cluster_name == "local"
            assert "embedded" in client.config.source
    run(main())


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    cluster = local_cluster(tmp_path)

    async def main() -> None:
        client = await neuro.get(path=cluster.config_dir)
        await client.storage.mkdir(URL("storage:d"))
        await client.close()
        await client.close()
        assert client.closed
        with pytest.raises(neuro.ClientError, match="closed"):
            await client.storage.stat(URL("storage:d"))
    run(main())
    assert wait_no_workers() == []


def test_no_public_constructors_and_out_of_scope_subsystems(tmp_path: Path) -> None:
    cluster = local_cluster(tmp_path)
    for cls in (neuro.Client, neuro.Storage, neuro.Parser, neuro.Config):
        with pytest.raises(TypeError):
            cls()

    async def main() -> None:
        async with neuro.get(path=cluster.config_dir) as client:
            # Client.users is served (quotas: none), so it is not among them.
            for name, words in [("images", "Images"), ("secrets", "Secrets"), ("disks", "Disks"),
                                ("buckets", "Buckets"), ("blob_storage", "Blob"),
                                ("service_accounts", "Service accounts")]:
                with pytest.raises(neuro.NotSupportedError, match=words) as info:
                    getattr(client, name)
                assert isinstance(info.value, NotImplementedError)
                assert name in str(info.value)
            with pytest.raises(AttributeError):
                client.no_such_thing  # noqa: B018
            with pytest.raises(neuro.NotSupportedError):
                await client.config.switch_org("org")
            await client.config.switch_org(None)
            assert client.config.org_name is None
            with pytest.raises(neuro.NotSupportedError, match="registry"):
                client.config.registry_url  # noqa: B018
    run(main())


def test_switch_cluster_is_remembered(tmp_path: Path) -> None:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "clusters.toml").write_text(
        'default_cluster = "one"\n'
        + cluster_section("one", username="u1", storage={"type": "local", "root": tmp_path / "r1"},
                          presets={"p1": {"cpu": 1, "memory_mb": 100}})
        + cluster_section("two", username="u2", storage={"type": "local", "root": tmp_path / "r2"},
                          scheduler="slurm",
                          presets={"p2": {"cpu": 2, "memory_mb": 200, "partition": "batch",
                                          "time": "1-00:00:00"}}))

    async def main() -> None:
        async with neuro.get(path=config_dir) as client:
            assert (client.cluster_name, client.username) == ("one", "u1")
            assert list(client.presets) == ["p1"]
            await client.storage.create(URL("storage:f"), b"1")
            with pytest.raises(RuntimeError, match="three"):
                await client.config.switch_cluster("three")
            await client.config.switch_cluster("two")
            assert (client.cluster_name, client.username) == ("two", "u2")
            assert list(client.presets) == ["p2"]
            p2 = client.config.cluster_config().presets["p2"]
            assert (p2.partition, p2.time_limit) == ("batch", 86400)
            # relative URIs follow the current cluster; absolute ones name theirs
            await client.storage.create(URL("storage:f"), b"2")
            st = await client.storage.stat(URL("storage://one/u1/f"))
            assert st.size == 1
            with pytest.raises(ValueError, match="cross-cluster"):
                await client.storage.mv(URL("storage://one/u1/f"), URL("storage:g"))
            assert client.parse.str_to_uri("storage:x") == URL("storage://two/u2/x")
        async with neuro.get(path=config_dir) as client:
            assert client.cluster_name == "two"  # remembered
    run(main())
    assert (config_dir / "current-cluster").read_text().strip() == "two"
    assert (tmp_path / "r1" / "u1" / "f").read_bytes() == b"1"
    assert (tmp_path / "r2" / "u2" / "f").read_bytes() == b"2"


BASE = cluster_section("c", job_dir="/jobs",
                       terminal={"type": "ssh", "host": "h", "user": "u", "key_file": "/k"},
                       storage={"type": "sftp", "root": "/storage"}, scheduler="slurm")
KEY_FILE = 'key_file = "/k"'
JOB_DIR = 'job_dir = "/jobs"'
PRESET = BASE + "[clusters.c.presets.p]\ncpu = 1\n"


def _after(line: str, added: str) -> str:
    """BASE with the line ``added`` after its ``line``."""
    return BASE.replace(line, f"{line}\n{added}")


@pytest.mark.parametrize("text, key, problem", [
    ("this is [not toml", "", "not valid TOML"),
    ("", "clusters", "required"),
    ("[clusters]", "clusters", "at least one cluster"),
    (BASE + "colour = 1\n", "clusters.c.scheduler.colour", "unknown key"),
    (_after(KEY_FILE, 'password = "x"'), "clusters.c.terminal.password", "never stored"),
    (_after(KEY_FILE, 'port = "22"'), "clusters.c.terminal.port", "integer"),
    (_after(KEY_FILE, 'port = 70000'), "clusters.c.terminal.port", "between 1 and 65535"),
    (BASE.replace('host = "h"\n', ""), "clusters.c.terminal.host", "required"),
    (_after(KEY_FILE, 'agent = true'), "clusters.c.terminal", "exactly one way to log in"),
    (BASE.replace('key_file = "/k"', 'password_env = "not a name"'),
     "clusters.c.terminal.password_env", "environment variable"),
    (BASE.replace('type = "sftp"', 'type = "nfs"'), "clusters.c.storage.type",
     "must be one of"),
    (BASE.replace('type = "sftp"', 'type = "local"'), "clusters.c.storage.type",
     "local terminal"),
    (BASE.replace('root = "/storage"', 'root = "storage"'), "clusters.c.storage.root",
     "absolute"),
    (BASE.replace('job_dir = "/jobs"\n', ""), "clusters.c.job_dir", "required"),
    (BASE.replace('type = "slurm"', 'type = "pbs"'), "clusters.c.scheduler.type",
     "'directgnu', 'slurm', 'torque'"),
    ('default_cluster = "x"\n' + BASE, "default_cluster", "not one of the clusters"),
    (PRESET, "clusters.c.presets.p.memory_mb", "required"),
    (PRESET + 'memory_mb = 1\ntime = "25:99:00"\n', "clusters.c.presets.p.time", "time limit"),
    (PRESET + 'memory_mb = 1\npartition = "a"\nqueue = "b"\n', "clusters.c.presets.p.queue",
     "not both"),
    (_after(JOB_DIR, 'runtime = "lxc"'), "clusters.c.runtime", "'host', 'apptainer'"),
    (_after(JOB_DIR, 'workers = 0'), "clusters.c.workers", "between 1"),
    (_after(KEY_FILE, 'command_shells = -1'),
     "clusters.c.terminal.command_shells", "between 0 and 64"),
    (BASE.replace("[clusters.c]", "[clusters.\"bad name\"]").replace(
        "clusters.c.", "clusters.\"bad name\"."), "clusters.bad name", "cluster name"),
])
def test_bad_configuration_names_file_key_and_problem(
        tmp_path: Path, text: str, key: str, problem: str) -> None:
    file = tmp_path / "clusters.toml"
    file.write_text(text)
    with pytest.raises(neuro.ConfigError) as info:
        run(neuro.get(path=file))
    message = str(info.value)
    assert message.startswith(f"{file}: "), message
    assert key in message and problem in message, message


def test_a_good_configuration_file_parses(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "docs" / "examples" / "neuro-cluster.toml"
    clusters = parse_clusters(example.read_text(), example)
    assert set(clusters.clusters) == {"hpc", "laptop"}
    hpc = clusters.clusters["hpc"]
    assert (hpc.terminal.host, hpc.terminal.port, hpc.storage.type) == (
        "login.example.org", 22, "sftp")
    assert hpc.presets["gpu-small"].gpu == 1
    assert hpc.terminal.command_shells == 4  # the default
    shells_off = parse_clusters(_after(KEY_FILE, "command_shells = 0"), example)
    assert shells_off.clusters["c"].terminal.command_shells == 0


@pytest.mark.real_server("ssh")
def test_ssh_cluster_errors_show_on_first_use(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              request: pytest.FixtureRequest) -> None:
    cluster = sftp_cluster(tmp_path)
    request.addfinalizer(lambda: remove_cluster(cluster))
    file = cluster.config_dir / "clusters.toml"
    text = file.read_text()
    file.write_text(text.replace(f'key_file = "{S.RSA_KEY}"',
                                 'password_env = "NEURO_TEST_PASSWORD"'))

    async def attempt() -> None:
        async with neuro.get(path=cluster.config_dir) as client:
            await client.storage.stat(URL("storage:"))

    monkeypatch.delenv("NEURO_TEST_PASSWORD", raising=False)
    with pytest.raises(neuro.ConfigError, match="NEURO_TEST_PASSWORD is not set"):
        run(attempt())
    monkeypatch.setenv("NEURO_TEST_PASSWORD", "wrong")
    with pytest.raises(neuro.AuthenticationError):
        run(attempt())
    monkeypatch.setenv("NEURO_TEST_PASSWORD", S.PASSWORD)
    run(attempt())  # and the right one works
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    file.write_text(text.replace(str(S.KNOWN_HOSTS), str(empty)))
    with pytest.raises(neuro.ServerNotAvailable, match="host key"):
        run(attempt())


def test_closing_with_an_open_iterator(tmp_path: Path) -> None:
    cluster = local_cluster(tmp_path)

    async def main() -> None:
        client = await neuro.get(path=cluster.config_dir)
        await client.storage.create(URL("storage:big"), b"x" * (8 * 1024 * 1024))
        reader = client.storage.open(URL("storage:big"))
        assert len(await reader.__anext__()) > 0
        await client.close()  # the iterator is still open
        with pytest.raises(RuntimeError, match="closed"):
            async for _ in reader:
                pass
    run(main())
    assert wait_no_workers() == []


@pytest.mark.real_server("ssh")
def test_ssh_agent_and_key_passphrase_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> None:
    import re
    import signal
    import subprocess

    cluster = sftp_cluster(tmp_path)
    request.addfinalizer(lambda: remove_cluster(cluster))
    file = cluster.config_dir / "clusters.toml"
    text = file.read_text()

    async def attempt() -> None:
        async with neuro.get(path=cluster.config_dir) as client:
            assert (await client.storage.stat(URL("storage:"))).is_dir()

    # an encrypted key, its passphrase in a variable
    file.write_text(text.replace(
        f'key_file = "{S.RSA_KEY}"',
        f'key_file = "{S.ED25519_KEY}"\nkey_passphrase_env = "NEURO_TEST_PASSPHRASE"'))
    monkeypatch.setenv("NEURO_TEST_PASSPHRASE", S.ED25519_PASSPHRASE)
    run(attempt())

    # the keys of a running ssh-agent
    out = subprocess.run(["ssh-agent", "-s"], check=True, capture_output=True,
                         text=True).stdout
    sock = re.search(r"SSH_AUTH_SOCK=([^;]+);", out)
    pid = re.search(r"SSH_AGENT_PID=(\d+);", out)
    assert sock and pid
    try:
        monkeypatch.setenv("SSH_AUTH_SOCK", sock.group(1))
        subprocess.run(["ssh-add", "-q", str(S.ECDSA_KEY)], check=True,
                       capture_output=True)
        file.write_text(text.replace(f'key_file = "{S.RSA_KEY}"', "agent = true"))
        run(attempt())
    finally:
        os.kill(int(pid.group(1)), signal.SIGTERM)
