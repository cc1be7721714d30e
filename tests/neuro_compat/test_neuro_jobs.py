"""neuro_compat Jobs on real schedulers: DirectGnu on this machine, and over
SSH to the test sshd DirectGnu, Slurm and the PBS wrappers on Slurm.

Each test runs its own coroutine (see tests.neuro_compat.neuro_helpers.run); independent
jobs of a test run at once to keep the suite short.
"""
from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from yarl import URL

import neuro_compat
from neuro_compat import (
    IllegalArgumentError,
    JobStatus,
    NotSupportedError,
    ResourceNotFound,
    StdStreamError,
)
from tests.neuro_compat.neuro_helpers import cluster_of, run
from tests.neuro_compat.neuro_jobs_helpers import (
    ECHO_SERVER,
    GPU_PRESETS,
    KINDS,
    TOO_LARGE_PRESETS,
    free_port,
    image,
    jobs_cluster,
    quiet_capacity,
    run_jobs,
    scheduler_id,
    start,
    wait_for,
    wait_output,
)
from tests.servers import settings as S

pytestmark = pytest.mark.timeout(180)

SSH_KINDS = ["directgnu-ssh", "slurm", "torque"]
LOCAL_AND_SLURM = ["local", "slurm"]


def _finished(status: JobStatus) -> bool:
    return status.is_finished


@pytest.mark.parametrize("kind", KINDS)
def test_start_monitor_succeeds_with_output(kind: str, tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster(kind, tmp_path) as cluster:
            async with cluster.client() as client:
                job = await start(client, "echo hello; echo to-stderr >&2; echo $GREETING",
                                  env={"GREETING": "it's a \"quoted\" $value"},
                                  name="greeter", tags=["t1"], description="says hello")
                assert job.id.startswith("job-") and len(job.id) == 40
                assert str(job.uri) == f"job://test/{client.username}/{job.id}"
                assert job.owner == client.username and job.cluster_name == "test"
                assert job.preset_name == "cpu-small" and job.status == JobStatus.PENDING
                assert str(job.container.image) == "ubuntu:latest"
                output = b""
                async with client.jobs.monitor(job.id) as it:
                    async for chunk in it:
                        output += chunk
                assert output == b"hello\nto-stderr\nit's a \"quoted\" $value\n"
                done = await wait_for(client, job.id)
                assert done.status == JobStatus.SUCCEEDED, done.history
                h = done.history
                assert h.exit_code == 0 and h.reason == "Completed"
                assert h.created_at is not None and h.started_at is not None
                assert h.finished_at is not None and h.created_at <= h.finished_at
                assert h.started_at <= h.finished_at
                assert [t.status for t in h.transitions] == [
                    JobStatus.PENDING, JobStatus.RUNNING, JobStatus.SUCCEEDED]
                assert (done.name, done.tags, done.description) == (
                    "greeter", ("t1",), "says hello")
                # The output stays in the job's directory on the cluster.
                jobs = client.jobs._on(None)
                log = await jobs.session.bridge.run(
                    jobs.registry.read_optional, jobs.registry.output(job.id))
                assert log == output
                # A finished job's log can be read again, at once.
                async with client.jobs.monitor(job.id) as it:
                    again = b"".join([chunk async for chunk in it])
                assert again == output
    run(main())


@pytest.mark.parametrize("kind", KINDS)
def test_failing_command_is_failed_and_kill_cancels(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        failing, sleeper = await asyncio.gather(
            start(client, "echo oops; exit 3"), start(client, "sleep 60"))
        await wait_for(client, sleeper.id, lambda s: s.is_running)
        await client.jobs.kill(sleeper.id)
        failed, killed = await asyncio.gather(
            wait_for(client, failing.id), wait_for(client, sleeper.id, timeout=30))
        assert failed.status == JobStatus.FAILED
        assert failed.history.exit_code == 3
        assert failed.history.reason == "Error"
        assert "code 3" in failed.history.description
        assert killed.status == JobStatus.CANCELLED, killed.history
        assert killed.history.finished_at is not None
        # Killing a finished job changes nothing.
        await client.jobs.kill(failing.id)
        assert (await client.jobs.status(failing.id)).status == JobStatus.FAILED
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", LOCAL_AND_SLURM)
def test_monitor_of_a_silent_job_ends_with_the_job(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        job = await start(client, "sleep 1")
        t0 = time.monotonic()
        async with client.jobs.monitor(job.id) as it:
            chunks = [chunk async for chunk in it]
        assert chunks == []
        assert time.monotonic() - t0 < 30
        assert (await client.jobs.status(job.id)).status == JobStatus.SUCCEEDED
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", LOCAL_AND_SLURM)
def test_life_span_exceeded_is_failed_with_a_reason(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        job = await start(client, "echo started; sleep 60", life_span=2)
        assert job.life_span == 2
        t0 = time.monotonic()
        done = await wait_for(client, job.id, timeout=40)
        assert time.monotonic() - t0 < 30
        assert done.status == JobStatus.FAILED
        assert done.history.reason == "LifeSpanEnded"
        assert "life span of 2 s" in done.history.description
        assert done.history.run_time_seconds is not None
        assert 2 <= done.history.run_time_seconds <= 20
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", LOCAL_AND_SLURM)
def test_list_filters(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        before = datetime.now(timezone.utc) - timedelta(seconds=5)
        first = await start(client, "true", name="alpha", tags=["a", "b"])
        second = await start(client, "exit 1", name="beta", tags=["b"])
        third = await start(client, "sleep 60", tags=["c"])
        await asyncio.gather(wait_for(client, first.id), wait_for(client, second.id),
                             wait_for(client, third.id, lambda s: s.is_running))

        async def ids(**kwargs: Any) -> list[str]:
            async with client.jobs.list(**kwargs) as it:
                return [job.id async for job in it]

        everything = [first.id, second.id, third.id]
        assert await ids() == everything
        assert await ids(reverse=True) == everything[::-1]
        assert await ids(limit=2) == everything[:2]
        assert await ids(reverse=True, limit=1) == [third.id]
        assert await ids(statuses={JobStatus.SUCCEEDED}) == [first.id]
        assert await ids(statuses=[JobStatus.FAILED, JobStatus.RUNNING]) == \
            [second.id, third.id]
        assert await ids(statuses=JobStatus.active_items()) == [third.id]
        assert await ids(name="beta") == [second.id]
        assert await ids(tags=["b"]) == [first.id, second.id]
        assert await ids(tags=["a", "b"]) == [first.id]
        assert await ids(owners=[client.username]) == everything
        assert await ids(owners=["somebody-else"]) == []
        assert await ids(since=before) == everything
        assert await ids(until=before) == []
        assert await ids(since=datetime.now() + timedelta(hours=1)) == []  # naive
        # One scheduler query for all active jobs (here: the running one).
        jobs = client.jobs._on(None)
        calls: list[list[str]] = []
        real = jobs.scheduler.get_statuses

        def counting(job_ids: Any) -> Any:
            calls.append(list(job_ids))
            return real(job_ids)

        jobs.session._scheduler.get_statuses = counting  # type: ignore[union-attr,method-assign]
        assert await ids() == everything
        assert len(calls) == 1 and len(calls[0]) == 1
        await client.jobs.kill(third.id)
        await wait_for(client, third.id)
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", LOCAL_AND_SLURM)
def test_status_is_right_after_the_scheduler_forgot_the_job(kind: str,
                                                             tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster(kind, tmp_path) as cluster:
            async with cluster.client() as client:
                ok = await start(client, "echo fine")
                bad = await start(client, "exit 7")
                # Wait through the registry only: nobody asks the scheduler.
                jobs = client.jobs._on(None)
                deadline = time.monotonic() + 60
                while not all([await jobs.session.bridge.run(jobs.exited, j.id)
                               for j in (ok, bad)]):
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.2)
            # A new client (as after a restart) whose scheduler knows nothing.
            async with cluster.client() as client:
                jobs = client.jobs._on(None)
                scheduler = await jobs.session.bridge.run(jobs.session.scheduler)
                scheduler.get_statuses = lambda ids: {  # type: ignore[method-assign]
                    i: __import__("cerulean").JobStatus.DONE for i in ids}
                scheduler.get_exit_codes = lambda ids: {i: None for i in ids}  # type: ignore[method-assign]
                done_ok = await client.jobs.status(ok.id)
                done_bad = await client.jobs.status(bad.id)
                assert done_ok.status == JobStatus.SUCCEEDED
                assert done_ok.history.exit_code == 0
                assert done_bad.status == JobStatus.FAILED
                assert done_bad.history.exit_code == 7
                async with client.jobs.list() as it:
                    listed = {job.id: job.status async for job in it}
                assert listed == {ok.id: JobStatus.SUCCEEDED, bad.id: JobStatus.FAILED}
    run(main())


@pytest.mark.parametrize("kind", LOCAL_AND_SLURM)
def test_twenty_starts_at_once(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        jobs = await asyncio.gather(*[start(client, f"echo job {i}")
                                      for i in range(20)])
        assert len({job.id for job in jobs}) == 20
        done = await asyncio.gather(*[wait_for(client, job.id, timeout=120)
                                      for job in jobs])
        assert all(job.status == JobStatus.SUCCEEDED for job in done)
        outputs = await asyncio.gather(*[wait_output(client, job.id, b"job")
                                         for job in jobs])
        assert [out for out in outputs] == [f"job {i}\n".encode() for i in range(20)]
    run_jobs(main, kind, tmp_path, timeout=170)


@pytest.mark.parametrize("kind", ["local", "slurm", "directgnu-ssh"])
def test_port_forward_to_an_echo_server_job(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        job_port, local_port = free_port(), free_port()
        job = await start(client, ECHO_SERVER.format(port=job_port))
        await wait_output(client, job.id, b"ready")
        async with client.jobs.port_forward(job.id, local_port, job_port):
            for message in (b"ping", b"x" * 200_000):
                reader, writer = await asyncio.open_connection("127.0.0.1",
                                                               local_port)
                writer.write(message)
                await writer.drain()
                writer.write_eof()
                echoed = await reader.read()
                writer.close()
                assert echoed == message
        # Closed with the block.
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", local_port), timeout=2).close()
        await client.jobs.kill(job.id)
        await wait_for(client, job.id)
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", ["local", "slurm", "torque"])
def test_exec_beside_the_job(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        job = await start(client, "sleep 60", env={"FOO": "from the job"})
        await wait_for(client, job.id, lambda s: s.is_running)
        async with client.jobs.exec(job.id, "cat; echo \"$FOO\"; echo e >&2",
                                    stdin=True, stdout=True, stderr=True) as s:
            await s.write_in(b"typed in\n")
            await s.write_in(b"")  # end of input
            out: dict[int, bytes] = {1: b"", 2: b""}
            # The end is StdStreamError with the exit code, 0 too.
            with pytest.raises(StdStreamError) as ended:
                while (message := await s.read_out()) is not None:
                    out[message.fileno] += message.data
            assert await s.read_out() is None  # after the end
        assert out == {1: b"typed in\nfrom the job\n", 2: b"e\n"}
        assert ended.value.exit_code == 0
        with pytest.raises(StdStreamError) as failed:
            async with client.jobs.exec(job.id, "exit 4", stdout=True) as s:
                while await s.read_out() is not None:
                    pass
        assert failed.value.exit_code == 4
        await client.jobs.kill(job.id)
        await wait_for(client, job.id)
        with pytest.raises(ValueError, match="not running"):
            async with client.jobs.exec(job.id, "true"):
                pass
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", LOCAL_AND_SLURM)
def test_exec_with_a_terminal(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        job = await start(client, "sleep 60")
        await wait_for(client, job.id, lambda s: s.is_running)

        async def tty_output(cmd: str, *typed: bytes) -> bytes:
            async with client.jobs.exec(job.id, cmd, tty=True, stdin=bool(typed),
                                        stdout=True) as s:
                for data in typed:
                    await s.write_in(data)
                out = b""
                with pytest.raises(StdStreamError, match="exit code 0$"):
                    while (message := await s.read_out()) is not None:
                        out += message.data
                return out

        async with client.jobs.exec(job.id, "read line; stty size; echo \"<$line>\"",
                                    tty=True, stdin=True, stdout=True) as s:
            await s.resize(30, 100)
            await s.write_in(b"typed\r")
            out = b""
            with pytest.raises(StdStreamError, match="exit code 0$"):
                while (message := await s.read_out()) is not None:
                    out += message.data
        assert b"30 100" in out and b"<typed>" in out
        # Exactly what a terminal shows, on Slurm too (srun --pty
        # relays the terminal): each byte echoed once, and end of
        # input is the command's end of input, not a stray ^@.
        assert await tty_output("echo hi") == b"hi\r\n"
        assert await tty_output("cat; echo done") == b"done\r\n"  # no stdin
        assert await tty_output("cat; echo done", b"ab\r", b"") == \
            b"ab\r\nab\r\ndone\r\n"
        assert await tty_output('read l; echo "<$l>"', b"typed\r") == \
            b"typed\r\n<typed>\r\n"
        async with client.jobs.exec(job.id, "true", stdout=True) as s:
            with pytest.raises(ValueError, match="no terminal"):
                await s.resize(30, 100)
        await client.jobs.kill(job.id)
        await wait_for(client, job.id)
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", LOCAL_AND_SLURM)
def test_top_reports_cpu_and_memory_while_running(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        job = await start(client, "python3 -c 'x = bytearray(50 * 2**20)\n"
                                  "while True: pass'")
        await wait_for(client, job.id, lambda s: s.is_running)
        samples = []
        async with client.jobs.top(job.id) as it:
            async for telemetry in it:
                samples.append(telemetry)
                if len(samples) == 2:
                    break
        assert max(s.cpu for s in samples) > 0.3
        assert min(s.memory_bytes for s in samples) > 40 * 2**20
        assert samples[-1].memory == samples[-1].memory_bytes / 2**20
        await client.jobs.kill(job.id)
        await wait_for(client, job.id)
        with pytest.raises(ValueError, match="not running"):
            async with client.jobs.top(job.id) as it:
                async for _ in it:
                    pass
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", ["local", "slurm"])
def test_send_signal_kills_the_command(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        job = await start(client, "sleep 60")
        await wait_for(client, job.id, lambda s: s.is_running)
        await client.jobs.send_signal(job.id)
        done = await wait_for(client, job.id, timeout=30)
        assert done.status == JobStatus.FAILED
        assert done.history.exit_code == 137
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", ["local", "slurm", "torque"])
def test_bump_life_span(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        job = await start(client, "sleep 60", life_span=2)
        await wait_for(client, job.id, lambda s: s.is_running)
        if kind == "local":
            await client.jobs.bump_life_span(job.id, 60)
            assert (await client.jobs.status(job.id)).life_span == 62
            await asyncio.sleep(3)  # past the first life span
            assert (await client.jobs.status(job.id)).status == JobStatus.RUNNING
        else:
            # Slurm lets only administrators raise a time limit; Torque
            # not at all: said clearly, and the job is unchanged.
            with pytest.raises(NotSupportedError, match="bump_life_span"):
                await client.jobs.bump_life_span(job.id, 60)
            assert (await client.jobs.status(job.id)).life_span == 2
        await client.jobs.kill(job.id)
        await wait_for(client, job.id)
        with pytest.raises(ValueError, match="finished"):
            await client.jobs.bump_life_span(job.id, 10)
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", KINDS)
def test_get_capacity_per_preset(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        capacity = await client.jobs.get_capacity()
        assert set(capacity) == {"cpu-small", "cpu-two"}
        assert capacity["cpu-small"] >= capacity["cpu-two"] >= 0
        assert capacity["cpu-small"] >= 1
    run_jobs(main, kind, tmp_path)


@pytest.mark.parametrize("kind", ["slurm", "torque"])
def test_a_gpu_preset_sees_its_gpus(kind: str, tmp_path: Path) -> None:
    # Slurm sets CUDA_VISIBLE_DEVICES to the GPUs it gives the job (no
    # nvidia-smi needed); the PBS wrappers pass gpus= on to it.
    line = 'echo "gpus=[$CUDA_VISIBLE_DEVICES] node=$SLURMD_NODENAME."'

    async def main(client: neuro_compat.Client) -> None:
        one, two = [await client.jobs.start(image=image(client), preset_name=p,
                                            command=line)
                    for p in ("gpu-one", "gpu-two")]
        for job, devices in ((one, {"0", "1"}), (two, {"0,1"})):
            done = await wait_for(client, job.id)
            assert done.status == JobStatus.SUCCEEDED, done.history
            out = (await wait_output(client, job.id, b".\n")).decode()
            visible, node = out.split("gpus=[")[1].split("] node=")
            assert visible in devices, out
            assert node.strip().rstrip(".") in S.SLURM_GPU_NODES, out
    run_jobs(main, kind, tmp_path, presets=GPU_PRESETS)


@pytest.mark.parametrize("kind", ["slurm", "torque"])
def test_get_capacity_counts_every_node_and_its_gpus(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        idle = await quiet_capacity(client)
        # Three nodes of 4 CPUs; two of them with 2 GPUs.
        assert idle == {"cpu-small": 12, "cpu-two": 6, "gpu-one": 4, "gpu-two": 2}
        if kind == "torque":
            return  # pbsnodes does not say which GPUs are in use
        job = await client.jobs.start(image=image(client), preset_name="gpu-one",
                                      command="sleep 120")
        await wait_for(client, job.id, lambda s: s == JobStatus.RUNNING)
        held = await quiet_capacity(client, ours={await scheduler_id(client, job.id)})
        # Its node has 3 CPUs and 1 GPU left.
        assert held == {"cpu-small": 11, "cpu-two": 5, "gpu-one": 3, "gpu-two": 1}
        await client.jobs.kill(job.id)
        await wait_for(client, job.id)
    run_jobs(main, kind, tmp_path, presets=GPU_PRESETS)


@pytest.mark.parametrize("kind", ["slurm", "torque"])
def test_a_preset_larger_than_every_node_is_refused_at_start(kind: str,
                                                             tmp_path: Path) -> None:
    missing = {"gpu-three": "3 GPUs (the most a node has is 2)",
               "cpu-eight": "8 CPUs (the most a node has is 4)",
               "mem-big": "4001 MiB of memory (the most a node has is 4000 MiB)"}

    async def main() -> None:
        with jobs_cluster(kind, tmp_path, presets=TOO_LARGE_PRESETS) as cluster:
            async with cluster.client() as client:
                for preset, what in missing.items():
                    with pytest.raises(IllegalArgumentError) as refused:
                        await client.jobs.start(image=image(client), preset_name=preset,
                                                command="true")
                    message = str(refused.value)
                    assert f"Preset '{preset}' cannot run on cluster 'test'" in message
                    assert f"has {what}" in message
                    if kind == "slurm":
                        assert "no node in partition 'debug'" in message
                if kind == "slurm":
                    # Also a job with its own resources (the deprecated run).
                    resources = neuro_compat.Resources(memory=100 * 2**20, cpu=1, gpu=3)
                    with pytest.raises(IllegalArgumentError,
                                       match="A job with resources cpu=1, memory=100 MiB, "
                                             "gpu=3 cannot run"):
                        await client.jobs.run(neuro_compat.Container(
                            image=image(client), resources=resources, command="true"))
                async with client.jobs.list() as it:
                    assert [job async for job in it] == []
                # One query for the nodes serves many starts.
                jobs = client.jobs._on(None)
                nodes = await jobs.session.bridge.run(jobs.nodes)
                assert nodes is not None and len(nodes.nodes) == len(S.SLURM_NODES)
                assert await jobs.session.bridge.run(jobs.nodes) is nodes
                # What fits still starts.
                job = await start(client, "true")
                assert (await wait_for(client, job.id)).status == JobStatus.SUCCEEDED
    run(main())


def test_attach_follows_the_output(tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            async with cluster.client() as client:
                go = tmp_path / "go"
                job = await start(client, f"echo before; while [ ! -e {go} ]; do sleep 0.1; "
                                          "done; echo one; sleep 0.5; echo two; exit 2")
                await wait_output(client, job.id, b"before\n")
                async with client.jobs.attach(job.id, stdout=True) as stream:
                    go.touch()  # attach delivers what the job writes from now on
                    data = b""
                    with pytest.raises(StdStreamError) as failed:
                        while (message := await stream.read_out()) is not None:
                            assert message.fileno == 1
                            data += message.data
                assert data == b"one\ntwo\n" and failed.value.exit_code == 2
                # As in neuro_sdk: a finished job has no container left.
                with pytest.raises(ResourceNotFound, match="not running"):
                    async with client.jobs.attach(job.id, stdin=True):
                        pass
    run(main())


def test_unknown_jobs_and_bad_ids(tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        with pytest.raises(ResourceNotFound, match="not found"):
            await client.jobs.status("job-00000000-0000-4000-8000-000000000000")
        with pytest.raises(ResourceNotFound, match="not a job id"):
            await client.jobs.status("../../etc/passwd")
        with pytest.raises(ValueError, match="Preset"):
            await client.jobs.start(image=client.parse.remote_image("ubuntu"),
                                    preset_name="gpu-huge", command="true")
    run_jobs(main, "local", tmp_path)


def test_volumes_under_host_name_the_storage_path(tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            async with cluster.client() as client:
                volume = client.parse.volume("storage:data:/mnt/data:ro")
                with pytest.raises(NotSupportedError) as refused:
                    await start(client, "ls /mnt/data", volumes=[volume])
                text = str(refused.value)
                assert "volumes" in text and "runtime 'host'" in text
                assert f"{cluster.storage_root}/{client.username}/data" in text
                # The job can use that path itself, starting in the user's
                # storage directory.
                storage = Path(cluster.storage_root) / client.username / "data"
                storage.mkdir(parents=True)
                (storage / "in.txt").write_text("stored\n")
                job = await start(client, "cat data/in.txt")
                assert await wait_output(client, job.id, b"stored") == b"stored\n"
    run(main())


def test_a_runtime_that_is_not_installed_says_how_to_configure(tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path, runtime="apptainer") as cluster:
            async with cluster.client() as client:
                with pytest.raises(NotSupportedError) as refused:
                    await start(client, "true")
                text = str(refused.value)
                assert "apptainer" in text and "clusters.test.runtime" in text
                assert str(cluster.config_dir / "clusters.toml") in text
                async with client.jobs.list() as it:
                    assert [job async for job in it] == []  # nothing was started
    run(main())


UNSUPPORTED_START: list[tuple[str, Any]] = [
    ("secret_env", {"TOKEN": "secret:token"}),
    ("secret_files", [neuro_compat.SecretFile(URL("secret:k"), "/k")]),
    ("disk_volumes", [neuro_compat.DiskVolume(URL("disk:d"), "/d")]),
    ("tty", True),
    ("pass_config", True),
    ("wait_for_jobs_quota", True),
    ("schedule_timeout", 10.0),
    ("restart_policy", neuro_compat.JobRestartPolicy.ON_FAILURE),
    ("privileged", True),
    ("priority", neuro_compat.JobPriority.HIGH),
    ("org_name", "some-org"),
]


@pytest.mark.parametrize("param,value", UNSUPPORTED_START, ids=[p for p, _ in UNSUPPORTED_START])
def test_every_unsupported_start_parameter_is_refused(param: str, value: Any,
                                                      tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        with pytest.raises(NotSupportedError, match=rf"\b{param}="):
            await start(client, "true", **{param: value})
        async with client.jobs.list() as it:
            assert [job async for job in it] == []
    run_jobs(main, "local", tmp_path)


@pytest.mark.parametrize("kind", ["slurm", "torque"])
def test_preset_and_life_span_reach_the_batch_scheduler(kind: str, tmp_path: Path) -> None:
    async def main(client: neuro_compat.Client) -> None:
        job = await client.jobs.start(
            image=client.parse.remote_image("ubuntu"), preset_name="cpu-two",
            command="sleep 60", life_span=150)
        jobs = client.jobs._on(None)
        entry = await jobs.session.bridge.run(jobs.find, job.id)
        assert entry is not None
        shown = await jobs.session.bridge.run(
            jobs.run, f"scontrol -o show job {entry.record.scheduler_id}", "show")
        fields = dict(word.split("=", 1) for word in shown.split() if "=" in word)
        assert fields["Partition"] == "debug"
        assert fields["NumCPUs"] == "2"
        assert fields["MinMemoryNode"] == "200M"
        assert fields["TimeLimit"] == "00:04:00"  # 150 s + a minute, in minutes
        await client.jobs.kill(job.id)
        await wait_for(client, job.id)
    run_jobs(main, kind, tmp_path)


def test_host_runtime_is_logged_once_per_client(tmp_path: Path,
                                                caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            for _ in range(2):
                async with cluster.client() as client:
                    await asyncio.gather(start(client, "true"), start(client, "true"))

    with caplog.at_level("WARNING", logger="neuro_compat.jobs"):
        run(main())
    said = [r.getMessage() for r in caplog.records if "runtime 'host'" in r.getMessage()]
    assert len(said) == 2 and "ubuntu:latest" in said[0]


def test_a_failed_submission_leaves_no_job(tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            async with cluster.client() as client:
                with pytest.raises(RuntimeError, match="submit"):
                    await start(client, "true", working_dir=str(tmp_path / "missing"))
                async with client.jobs.list() as it:
                    assert [job async for job in it] == []
                assert sorted(Path(cluster.job_dir).iterdir()) == []
    run(main())


def test_status_finds_a_job_on_another_cluster(tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            config = cluster.config_dir / "clusters.toml"
            text = config.read_text()
            other = text.replace("[clusters.test", "[clusters.other").replace(
                f"{cluster.base}/", f"{cluster.base}/other-")
            config.write_text('default_cluster = "test"\n' + text + other)
            async with cluster.client() as client:
                job = await client.jobs.start(image=client.parse.remote_image("ubuntu"),
                                              preset_name="cpu-small", command="exit 5",
                                              cluster_name="other")
                assert job.cluster_name == "other" and str(job.uri).startswith("job://other/")
                done = await wait_for(client, job.id)  # status() takes no cluster name
                assert (done.status, done.history.exit_code) == (JobStatus.FAILED, 5)
                async with client.jobs.list() as it:
                    assert [j async for j in it] == []  # the current cluster has none
                async with client.jobs.list(cluster_name="other") as it:
                    assert [j.id async for j in it] == [job.id]
    run(main())


def test_clusters_sharing_the_default_job_directory_see_only_their_jobs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Two local clusters without job_dir: both keep their jobs in
    # $XDG_DATA_HOME/neuro-compat/jobs, one directory.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    config = tmp_path / "config"
    config.mkdir()
    (config / "clusters.toml").write_text("".join(f"""
[clusters.{name}.terminal]
type = "local"
[clusters.{name}.storage]
type = "local"
root = "{tmp_path / name}"
[clusters.{name}.scheduler]
type = "directgnu"
[clusters.{name}.presets.cpu-small]
cpu = 1
memory_mb = 100
""" for name in ("here", "dav")))

    async def main() -> None:
        async with neuro_compat.get(path=config) as client:
            assert client.config.cluster_name == "here"
            mine = await start(client, "exit 3")
            theirs = await client.jobs.start(
                image=client.parse.remote_image("ubuntu"), preset_name="cpu-small",
                command="exit 4", cluster_name="dav")
            jobs_here = client.jobs._on("here").config.job_dir
            assert jobs_here == client.jobs._on("dav").config.job_dir  # shared

            async def ids(**kwargs: Any) -> list[str]:
                async with client.jobs.list(**kwargs) as it:
                    return [job.id async for job in it]

            assert await ids() == [mine.id]  # None: the current cluster
            assert await ids(cluster_name="here") == [mine.id]
            assert await ids(cluster_name="dav") == [theirs.id]
            # status() takes no cluster name and, like neuro_sdk's one API
            # server for all clusters, finds a job on whichever cluster it
            # belongs to, and reports it there.
            done = await wait_for(client, theirs.id)
            assert (done.cluster_name, done.history.exit_code) == ("dav", 4)
            assert str(done.uri).startswith("job://dav/")
            done = await wait_for(client, mine.id)
            assert (done.cluster_name, done.history.exit_code) == ("here", 3)
            # Calls naming a cluster only see that cluster's jobs.
            with pytest.raises(ResourceNotFound, match="not found on cluster 'here'"):
                async with client.jobs.monitor(theirs.id, cluster_name="here") as it:
                    [chunk async for chunk in it]
            async with client.jobs.monitor(theirs.id, cluster_name="dav") as it:
                assert b"".join([chunk async for chunk in it]) == b""
            await client.config.switch_cluster("dav")
            assert await ids() == [theirs.id]
    run(main())


@pytest.mark.parametrize("kind", KINDS)
def test_every_registry_file_is_private(kind: str, tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster(kind, tmp_path) as cluster:
            async with cluster.client() as client:
                # The job's umask (0022 on the test servers) must not decide:
                # the files the wrapper and the scheduler write are 0600 too.
                job = await start(client, "echo out; echo err >&2", life_span=100)
                done = await wait_for(client, job.id)
                assert done.status == JobStatus.SUCCEEDED, done.history
                jobs = client.jobs._on(None)
                fs = jobs.session.host_fs()

                def modes() -> dict[str, int]:
                    found = {}
                    for directory in (cluster.job_dir, jobs.registry.home(job.id)):
                        for name, st in fs._listdir(directory):
                            found[f"{directory}/{name}"] = st.mode
                    return found

                found = await jobs.session.bridge.run(modes)
                home = jobs.registry.home(job.id)
                assert set(found) == {
                    home, *(f"{home}.{k}" for k in ("json", "final.json", "events", "limit")),
                    *(f"{home}/{n}" for n in ("output", "scheduler.out", "scheduler.err"))}
                assert {path: mode for path, mode in found.items() if path != home} == {
                    path: 0o600 for path in found if path != home}
                assert found[home] == 0o700
                async with client.jobs.monitor(job.id) as it:
                    assert b"".join([c async for c in it]) == b"out\nerr\n"
    run(main())


@pytest.mark.real_server("webdav")
def test_a_host_job_with_webdav_storage_starts_in_its_job_directory(tmp_path: Path) -> None:
    # The storage is on the WebDAV server, not on the nodes: its root is a
    # path on the server, which the job's machine need not have.
    async def main(cluster: Any) -> None:
        async with neuro_compat.get(path=cluster.config_dir) as client:
            container = neuro_compat.Container(
                image=client.parse.remote_image("ubuntu"),
                resources=neuro_compat.Resources(memory=100 * 2**20, cpu=1),
                command="pwd")
            job = await client.jobs.run(container)
            here = await client.jobs.run(dataclasses.replace(container,
                                                             working_dir=str(tmp_path)))
            jobs = client.jobs._on(None)
            assert await wait_output(client, job.id, b"\n") == \
                f"{jobs.registry.home(job.id)}\n".encode()
            assert await wait_output(client, here.id, b"\n") == f"{tmp_path}\n".encode()

    with cluster_of("webdav", tmp_path) as cluster:
        run(main(cluster))
