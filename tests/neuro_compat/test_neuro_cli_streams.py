"""The stream behaviour the neuro command line relies on, through the API,
on the local default: ``exec`` ends with StdStreamError for every exit code
(0 included, as neuro-sdk's StdStream.read_out does); ``attach(stdin=True)``
works without a terminal (output streams, input closed); attaching to a
finished job raises ResourceNotFound, once the job's monitors have read its
output; an HTTP port is recorded and reached with port_forward."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from yarl import URL

from neuro_compat import HTTPPort, ResourceNotFound, StdStream, StdStreamError
from tests.neuro_compat.neuro_helpers import fetch, run
from tests.neuro_compat.neuro_jobs_helpers import (
    free_port,
    jobs_cluster,
    start,
    wait_for,
    wait_output,
)


async def exit_code_of(stream: StdStream) -> int:
    with pytest.raises(StdStreamError) as ended:
        while await stream.read_out() is not None:
            pass
    assert await stream.read_out() is None  # and nothing after the end
    return ended.value.exit_code


def test_exec_ends_with_the_exit_code_zero_included(tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            async with cluster.client() as client:
                job = await start(client, "sleep 60")
                await wait_for(client, job.id, lambda s: s.is_running)
                codes = []
                for cmd in ("true", "false", "exit 7"):
                    async with client.jobs.exec(job.id, cmd, stdin=True, stdout=True,
                                                stderr=True) as stream:
                        codes.append(await exit_code_of(stream))
                assert codes == [0, 1, 7]
                await client.jobs.kill(job.id)
                await wait_for(client, job.id)
    run(main())


def test_attach_with_stdin_and_after_the_end(tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            async with cluster.client() as client:
                ready, go = tmp_path / "ready", tmp_path / "go"
                job = await start(client, f"echo before; while [ ! -e {ready} ]; do sleep "
                                          f'0.1; done; echo one; read line; echo "<$line>"; '
                                          f"while [ ! -e {go} ]; do sleep 0.1; done; exit 3")
                await wait_output(client, job.id, b"before\n")
                async with client.jobs.attach(job.id, stdin=True, stdout=True,
                                              stderr=True) as stream:
                    ready.touch()  # what it wrote before the attach is not delivered
                    with pytest.raises(ValueError, match="no stdin"):
                        await stream.write_in(b"typed\n")
                    data = b""
                    with pytest.raises(StdStreamError) as ended:
                        while (message := await stream.read_out()) is not None:
                            data += message.data
                            if data == b"one\n<>\n":
                                go.touch()  # the job may end now
                # The job's input is closed: read gets end of file at once.
                assert data == b"one\n<>\n" and ended.value.exit_code == 3
                await wait_for(client, job.id)
                with pytest.raises(ResourceNotFound, match="not running"):
                    async with client.jobs.attach(job.id, stdin=True, stdout=True):
                        pass
    run(main())


def test_attach_to_a_finished_job_waits_for_its_monitors(tmp_path: Path) -> None:
    # What `neuro run` does for a job that ended before it attached: follow
    # the log in a task, then attach; the attach's ResourceNotFound comes
    # after the log was read to its end, so the command prints all of it.
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            async with cluster.client() as client:
                job = await start(client, "seq 1 20000")
                await wait_for(client, job.id)
                read = bytearray()

                async def follow() -> None:
                    async with client.jobs.monitor(job.id) as chunks:
                        async for chunk in chunks:
                            read.extend(chunk)

                task = asyncio.get_running_loop().create_task(follow())
                with pytest.raises(ResourceNotFound, match="not running"):
                    async with client.jobs.attach(job.id, stdin=True, stdout=True):
                        pass
                assert task.done() and not task.cancelled()
                assert read == b"".join(b"%d\n" % i for i in range(1, 20001))
    run(main())


def test_an_http_port_is_recorded_and_reached_by_port_forward(tmp_path: Path) -> None:
    async def main() -> None:
        with jobs_cluster("local", tmp_path) as cluster:
            async with cluster.client() as client:
                port, local = free_port(), free_port()
                with pytest.raises(ValueError, match="TCP port"):
                    await start(client, "true", http=HTTPPort(0))
                job = await start(client, f"cd {tmp_path} && exec python3 -m http.server "
                                          f"--bind 127.0.0.1 {port}",
                                  http=HTTPPort(port, requires_auth=True))
                assert job.container.http == HTTPPort(port, True)
                running = await wait_for(client, job.id, lambda s: s.is_running)
                assert running.http_url == URL(f"http://{running.internal_hostname}:{port}")
                (tmp_path / "index.txt").write_text("served\n")
                async with client.jobs.port_forward(job.id, local, port):
                    body = await asyncio.get_running_loop().run_in_executor(
                        None, fetch, f"http://127.0.0.1:{local}/index.txt")
                assert body == "served\n"
                await client.jobs.kill(job.id)
                done = await wait_for(client, job.id)
                assert done.container.http == HTTPPort(port, True)
                assert done.http_url == URL()  # nothing serves it any more
    run(main())


