"""The main job of the demo, through neuro_compat (neuro_sdk's API).

The same main job as ``demo_cerulean.py`` (its inputs and job script are
imported from there): stage the input files on the cluster's storage, run a
job that counts their words and writes upper-case copies, follow it, check
its status and fetch the results, with a text progress bar for the
transfers. With no configuration this runs on the embedded ``local``
cluster, offline::

    python docs/examples/demo_neuro.py
    python docs/examples/demo_neuro.py --config my-clusters.toml --cluster hpc

Written the way a neuro_sdk script is: ``import neuro_compat as neuro_sdk``
is the only change such a script needs.
"""
from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import tempfile
import time
import uuid
from pathlib import Path

# The main job, defined once for both demos (this directory is on sys.path
# when the script runs).
from demo_cerulean import INPUTS, JOB_SCRIPT
from yarl import URL

import neuro_compat as neuro_sdk


class ProgressBar(neuro_sdk.AbstractRecursiveFileProgress):
    """A plain-text progress bar for a directory transfer.

    :param title: what is being transferred.
    :param total: the number of bytes expected.
    """

    WIDTH = 30

    def __init__(self, title: str, total: int) -> None:
        self.title = title
        self.total = max(total, 1)
        self.done: dict[URL, int] = {}
        self.files = 0
        self._shown = -1
        self._tty = sys.stderr.isatty()

    def _show(self, final: bool = False) -> None:
        current = sum(self.done.values())
        percent = min(100, current * 100 // self.total)
        if not final and (percent == self._shown or not self._tty):
            return  # redraw on change; without a terminal, only the final line
        self._shown = percent
        filled = self.WIDTH * percent // 100
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        line = f"{self.title:<10} [{bar}] {percent:3d}% {current:>7} B {self.files} files"
        end = "\n" if final or not self._tty else ""
        print(("\r" if self._tty else "") + line, end=end, file=sys.stderr, flush=True)

    def start(self, data: neuro_sdk.StorageProgressStart) -> None:
        """A file starts."""
        self.done[data.src] = 0

    def step(self, data: neuro_sdk.StorageProgressStep) -> None:
        """Bytes of a file arrived."""
        self.done[data.src] = data.current
        self._show()

    def complete(self, data: neuro_sdk.StorageProgressComplete) -> None:
        """A file is done."""
        self.done[data.src] = data.size
        self.files += 1
        self._show()

    def enter(self, data: neuro_sdk.StorageProgressEnterDir) -> None:
        """A directory starts (nothing to draw)."""

    def leave(self, data: neuro_sdk.StorageProgressLeaveDir) -> None:
        """A directory is done (nothing to draw)."""

    def fail(self, data: neuro_sdk.StorageProgressFail) -> None:
        """An entry could not be transferred."""
        print(f"\nskipped {data.src}: {data.message}", file=sys.stderr)

    def finish(self) -> None:
        """Draw the final state."""
        self._show(final=True)


def make_inputs(directory: Path) -> int:
    """Write the input files; returns their total size."""
    directory.mkdir(parents=True)
    for name, text in INPUTS.items():
        (directory / name).write_text(text)
    return sum(len(text.encode()) for text in INPUTS.values())


async def storage_size(client: neuro_sdk.Client, uri: URL) -> int:
    """Total size of the files directly in a storage directory."""
    async with client.storage.list(uri) as entries:
        return sum([entry.size async for entry in entries if entry.is_file()])


async def main(config: Path | None, cluster: str | None, preset: str) -> int:
    """Stage, run, follow, check, fetch. Returns the exit status for the shell."""
    async with neuro_sdk.get(path=config) as client:
        if cluster:
            await client.config.switch_cluster(cluster)
        # A relative storage path lands in the user's storage directory.
        rel = f"neuro-demo/{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        work = URL(f"storage:{rel}")
        print(f"Cluster {client.cluster_name}, user {client.username}, working in {work}")
        with tempfile.TemporaryDirectory(prefix="neuro-demo-") as tmp:
            local_in = Path(tmp) / "inputs"
            size = make_inputs(local_in)

            # 1. Stage the inputs.
            await client.storage.mkdir(work, parents=True, exist_ok=True)
            bar = ProgressBar("upload", size)
            await client.storage.upload_dir(URL(local_in.as_uri()), work / "inputs",
                                            progress=bar)
            bar.finish()

            # 2. Run the job where the data is. Under runtime "host" the job
            # starts in the user's storage directory; a container gets the
            # work directory mounted as /work instead.
            runtime = client.config.cluster_config().runtime
            volumes: list[neuro_sdk.Volume] = []
            working_dir = None
            script = f"cd {shlex.quote(rel)} && {JOB_SCRIPT}"
            if runtime != "host":
                volumes = [neuro_sdk.Volume(work, "/work")]
                working_dir, script = "/work", JOB_SCRIPT
            job = await client.jobs.start(
                image=client.parse.remote_image("ubuntu:latest"), preset_name=preset,
                command=f"sh -c {shlex.quote(script)}", volumes=volumes,
                working_dir=working_dir, name="neuro-demo", tags=["demo"], life_span=300)
            print(f"Started {job.id} ({job.status}); following its output...")

            # 3. Follow its output until it ends (this job writes files only).
            async with client.jobs.monitor(job.id) as chunks:
                async for chunk in chunks:
                    sys.stdout.write(chunk.decode(errors="replace"))
            job = await client.jobs.status(job.id)
            history = job.history
            if job.status != neuro_sdk.JobStatus.SUCCEEDED:
                print(f"The job {job.status} ({history.reason}): {history.description}")
                return 1
            print(f"Job {job.id} {job.status} with exit code {history.exit_code} "
                  f"in {history.run_time_seconds} s.")

            # 4. Fetch the results and show them.
            local_out = Path(tmp) / "results"
            bar = ProgressBar("download", await storage_size(client, work / "results"))
            await client.storage.download_dir(work / "results", URL(local_out.as_uri()),
                                              progress=bar)
            bar.finish()
            print("Results:")
            for path in sorted(local_out.iterdir()):
                print(f"--- {path.name}")
                print(path.read_text(), end="")

            # 5. Leave the storage as it was.
            await client.storage.rm(work, recursive=True)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=None,
                        help="cluster configuration (directory or .toml file); default: "
                             "$NEUROMATION_CONFIG, ~/.neuro, else the embedded local one")
    parser.add_argument("--cluster", default=None, help="cluster to use (default: the "
                        "configuration's default cluster)")
    parser.add_argument("--preset", default="cpu-small", help="resource preset")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.config, args.cluster, args.preset)))
