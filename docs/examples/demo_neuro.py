"""The main job of the demo, through neuro_compat (neuro_sdk's API).

Stages input files on the cluster's storage, runs a job that processes them,
follows its output, checks its status and fetches the results, with a text
progress bar for the transfers. With no configuration this runs on the
embedded ``local`` cluster, offline::

    python docs/examples/demo_neuro.py
    python docs/examples/demo_neuro.py --config my-clusters.toml --cluster hpc

Written the way a neuro_sdk script is: ``import neuro_compat as neuro_sdk``
is the only change such a script needs.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

from yarl import URL

import neuro_compat as neuro_sdk

# The main job: count the lines, words and bytes of every input file, and
# write one result file per input plus a summary. It only needs bash and
# coreutils, so it runs directly on a node (runtime "host") as well as in
# the ubuntu image (container runtimes).
JOB_SCRIPT = r"""
mkdir -p output
total=0
for f in input/*.txt; do
  name=$(basename "$f" .txt)
  set -- $(wc -l -w -c < "$f")
  printf 'lines=%s words=%s bytes=%s\n' "$1" "$2" "$3" > "output/$name.count"
  total=$((total + $2))
  echo "processed $name: $2 words"
done
echo "total words: $total" | tee output/summary.txt
"""

POEM = ("Stage the inputs on the cluster,\nrun the job where the data is,\n"
        "and fetch the results home.\n")


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


def make_inputs(directory: Path, count: int) -> int:
    """Write the input files; returns their total size."""
    directory.mkdir(parents=True)
    size = 0
    for i in range(count):
        text = f"# input {i}\n" + POEM * (i + 1)
        (directory / f"part{i:02d}.txt").write_text(text)
        size += len(text.encode())
    return size


async def storage_size(client: neuro_sdk.Client, uri: URL) -> int:
    """Total size of the files directly in a storage directory."""
    async with client.storage.list(uri) as entries:
        return sum([entry.size async for entry in entries if entry.is_file()])


async def main(config: Path | None, cluster: str | None, preset: str, files: int) -> int:
    """Stage, run, follow, check, fetch. Returns the exit status for the shell."""
    async with neuro_sdk.get(path=config) as client:
        if cluster:
            await client.config.switch_cluster(cluster)
        # A relative storage path lands in the user's storage directory.
        rel = f"demo-neuro/{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        work = URL(f"storage:{rel}")
        print(f"cluster {client.cluster_name}, user {client.username}, "
              f"storage {work}", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="demo-neuro-") as tmp:
            local_in = Path(tmp) / "input"
            size = make_inputs(local_in, files)

            # 1. Stage the inputs.
            await client.storage.mkdir(work, parents=True, exist_ok=True)
            bar = ProgressBar("upload", size)
            await client.storage.upload_dir(URL(local_in.as_uri()), work / "input",
                                            progress=bar)
            bar.finish()

            # 2. Run the job where the data is. Under runtime "host" the job
            # starts in the user's storage directory; a container gets the
            # work directory mounted as /work.
            runtime = client.config.cluster_config().runtime
            volumes, working_dir = [], None
            if runtime == "host":
                command = f"bash -c {_quote(f'set -eu; cd {rel}; {JOB_SCRIPT}')}"
            else:
                volumes = [neuro_sdk.Volume(work, "/work")]
                working_dir = "/work"
                command = f"bash -c {_quote(f'set -eu; {JOB_SCRIPT}')}"
            job = await client.jobs.start(
                image=client.parse.remote_image("ubuntu:latest"), preset_name=preset,
                command=command, volumes=volumes, working_dir=working_dir,
                name="demo-neuro", tags=["demo"], life_span=600)
            print(f"started {job.id} ({job.status})", file=sys.stderr)

            # 3. Follow its output until it ends.
            async with client.jobs.monitor(job.id) as chunks:
                async for chunk in chunks:
                    sys.stdout.write(chunk.decode(errors="replace"))
            job = await client.jobs.status(job.id)
            history = job.history
            print(f"{job.id}: {job.status} ({history.reason}), exit code "
                  f"{history.exit_code}, ran {history.run_time_seconds} s",
                  file=sys.stderr)
            if job.status != neuro_sdk.JobStatus.SUCCEEDED:
                print(f"the job failed: {history.description}", file=sys.stderr)
                return 1

            # 4. Fetch the results.
            local_out = Path(tmp) / "results"
            bar = ProgressBar("download", await storage_size(client, work / "output"))
            await client.storage.download_dir(work / "output", URL(local_out.as_uri()),
                                              progress=bar)
            bar.finish()
            counts = sorted(local_out.glob("*.count"))
            print(f"{len(counts)} result files; "
                  f"{(local_out / 'summary.txt').read_text().strip()}")
            for path in counts[:3]:
                print(f"  {path.name}: {path.read_text().strip()}")

            # 5. Leave the storage as it was.
            await client.storage.rm(work, recursive=True)
    return 0


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=None,
                        help="cluster configuration (directory or .toml file); default: "
                             "$NEUROMATION_CONFIG, ~/.neuro, else the embedded local one")
    parser.add_argument("--cluster", default=None, help="cluster to use (default: the "
                        "configuration's default cluster)")
    parser.add_argument("--preset", default="cpu-small", help="resource preset")
    parser.add_argument("--files", type=int, default=8, help="number of input files")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.config, args.cluster, args.preset, args.files)))
