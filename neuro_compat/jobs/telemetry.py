"""CPU and memory of a job's processes, for ``Jobs.top`` (pure parts).

A sample is one shell command run beside the job (on its node): it reads
``/proc/<pid>/stat`` of every process, keeps the command's process tree
(the wrapper records the root's pid), and prints the node's uptime, the
tree's CPU time in clock ticks, its resident memory in pages, and the tick
rate and page size. Two samples give the CPU load between them. Only
builtins, ``awk`` and ``getconf`` are needed on the node.

Under docker and podman the container's processes are not children of the
``docker run`` client, so the sample comes from ``docker stats`` instead.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

_TREE = r"""
u=$(cut -d' ' -f1 /proc/uptime)
s=$(for f in /proc/[0-9]*/stat; do
  read -r l <"$f" 2>/dev/null && echo "${f#/proc/} ${l##*) }"
done | awk -v root=__PID__ '
  { split($1, a, "/"); p = a[1]; pp[p] = $3; t[p] = $13 + $14; r[p] = $23 }
  END {
    if (!(root in pp)) { print "gone"; exit }
    keep[root] = 1
    do { c = 0; for (p in pp) if (!(p in keep) && (pp[p] in keep)) { keep[p] = 1; c = 1 } } while (c)
    for (p in keep) { T += t[p]; R += r[p] }
    print T, R
  }')
echo "$u $s $(getconf CLK_TCK) $(getconf PAGESIZE)"
"""


@dataclass(frozen=True)
class Sample:
    """One reading of a job's processes.

    :ivar clock: seconds on the node's monotonic clock (uptime).
    :ivar cpu_seconds: CPU time used by the processes so far, or None if
        only a load is known (``docker stats``).
    :ivar memory_bytes: their resident memory.
    :ivar load: the CPU load, when the source reports it directly.
    """

    clock: float
    cpu_seconds: float | None
    memory_bytes: int
    load: float | None = None


def tree_script(pid: int) -> str:
    """Shell code sampling the process tree rooted at ``pid``."""
    return _TREE.replace("__PID__", str(int(pid)))


def parse_tree(output: str) -> Sample | None:
    """The sample printed by :func:`tree_script`, or None if the tree is gone.

    :raises ValueError: for output that is neither.
    """
    words = output.split()
    if "gone" in words or not words:
        return None
    try:
        uptime, ticks, pages, hz, page_size = words[-5:]
        return Sample(float(uptime), int(ticks) / int(hz), int(pages) * int(page_size))
    except ValueError:
        raise ValueError(f"cannot read a process sample from {output!r}") from None


def docker_script(runtime: str, name: str) -> str:
    """Shell code sampling a container with ``docker stats``."""
    return (f"cut -d' ' -f1 /proc/uptime; {runtime} stats --no-stream --format "
            f"'{{{{.CPUPerc}}}} {{{{.MemUsage}}}}' {shlex.quote(name)} 2>/dev/null "
            "|| echo gone")


_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20,
          "gib": 2**30, "tib": 2**40, "tb": 10**12}


def parse_docker(output: str) -> Sample | None:
    """The sample printed by :func:`docker_script`, or None if it is gone."""
    lines = output.split("\n")
    m = re.match(r"\s*([\d.]+)%\s+([\d.]+)\s*([A-Za-z]+)", lines[1] if len(lines) > 1 else "")
    if m is None:
        return None
    try:
        clock = float(lines[0].strip())
    except ValueError:
        return None
    memory = int(float(m.group(2)) * _UNITS.get(m.group(3).lower(), 1))
    return Sample(clock, None, memory, load=float(m.group(1)) / 100)


def load_between(first: Sample, second: Sample) -> float:
    """CPU load between two samples (1.0 is one CPU fully busy)."""
    if second.load is not None:
        return second.load
    if first.cpu_seconds is None or second.cpu_seconds is None:
        return 0.0
    elapsed = second.clock - first.clock
    if elapsed <= 0:
        return 0.0
    return max(0.0, (second.cpu_seconds - first.cpu_seconds) / elapsed)
