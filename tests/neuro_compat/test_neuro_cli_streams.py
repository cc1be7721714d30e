"""The stream behaviour the neuro command line relies on, through the API,
on the local default: ``exec`` ends with StdStreamError for every exit code
(0 included, as neuro-sdk's StdStream.read_out does); ``attach(stdin=True)``
works without a terminal (output streams, input closed); attaching to a
finished job raises ResourceNotFound."""
from __future__ import annotations

from pathlib import Path

import pytest

from neuro_compat import ResourceNotFound, StdStream, StdStreamError
from tests.neuro_compat.neuro_helpers import run
from tests.neuro_compat.neuro_jobs_helpers import jobs_cluster, start, wait_for


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
                go = tmp_path / "go"
                job = await start(client, f'echo one; read line; echo "<$line>"; '
                                          f"while [ ! -e {go} ]; do sleep 0.1; done; exit 3")
                await wait_for(client, job.id, lambda s: s.is_running)
                async with client.jobs.attach(job.id, stdin=True, stdout=True,
                                              stderr=True) as stream:
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
