"""How many more jobs of each preset fit on a cluster now (``get_capacity``).

One command per call asks the scheduler about its nodes; the parsers below
are pure. The numbers are what neuro_sdk promises: an approximation, since
other jobs start and end all the time.

* Slurm: ``scontrol -o show node`` (CPUs, memory and GPUs configured and
  allocated, state, partitions) and ``sinfo -h -o %P`` (which partition is
  the default, for presets that name none).
* Torque/PBS: ``pbsnodes -a`` (``np``, the slots in ``jobs``, ``availmem``).
* DirectGnu: ``nproc`` and ``MemAvailable`` of the machine.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .script import whole_cpus

SLURM_COMMAND = "scontrol -o show node; echo '--partitions--'; sinfo -h -o %P"
TORQUE_COMMAND = "pbsnodes -a"
DIRECTGNU_COMMAND = "nproc; awk '/^MemAvailable:/ {print $2}' /proc/meminfo"

_UNUSABLE = ("DOWN", "DRAIN", "FAIL", "NOT_RESPONDING", "FUTURE", "MAINT",
             "POWER", "RESERVED", "INVAL")


@dataclass(frozen=True)
class Need:
    """What one job of a preset needs.

    :ivar cpu: CPUs (fractions allowed where nothing rounds them).
    :ivar memory_mb: memory in MiB.
    :ivar gpu: GPUs, 0 for none.
    :ivar partition: the partition or queue, None for the default.
    """

    cpu: float
    memory_mb: int
    gpu: int
    partition: str | None


@dataclass(frozen=True)
class _Node:
    cpus: int
    memory_mb: int | None
    gpus: int
    partitions: tuple[str, ...]


def _fits(node: _Node, need: Need) -> int:
    counts = [node.cpus // whole_cpus(need.cpu)]
    if node.memory_mb is not None:
        counts.append(node.memory_mb // max(1, need.memory_mb))
    if need.gpu:
        counts.append(node.gpus // need.gpu)
    return max(0, min(counts))


def _tres(text: str, key: str) -> int:
    m = re.search(rf"(?:^|,){re.escape(key)}=(\d+)", text)
    return int(m.group(1)) if m else 0


def slurm_capacity(output: str, needs: Mapping[str, Need]) -> dict[str, int]:
    """Capacity per preset from the output of :data:`SLURM_COMMAND`."""
    nodes_text, _, partitions_text = output.partition("--partitions--")
    default = next((p.rstrip("*") for p in partitions_text.split() if p.endswith("*")),
                   None)
    nodes = []
    for line in nodes_text.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if "NodeName" not in fields:
            continue
        state = fields.get("State", "")
        if any(word in state.upper() for word in _UNUSABLE):
            continue
        try:
            cpus = int(fields.get("CPUTot", "0")) - int(fields.get("CPUAlloc", "0"))
            memory = int(fields.get("RealMemory", "0")) - int(fields.get("AllocMem", "0"))
        except ValueError:
            continue
        gpus = (_tres(fields.get("CfgTRES", ""), "gres/gpu")
                - _tres(fields.get("AllocTRES", ""), "gres/gpu"))
        nodes.append(_Node(cpus, memory, gpus,
                           tuple(fields.get("Partitions", "").split(","))))
    result = {}
    for name, need in needs.items():
        partition = need.partition or default
        result[name] = sum(_fits(n, need) for n in nodes
                           if partition is None or partition in n.partitions)
    return result


def torque_capacity(output: str, needs: Mapping[str, Need]) -> dict[str, int]:
    """Capacity per preset from ``pbsnodes -a``.

    Queues are not tied to nodes in what pbsnodes prints, so every free
    node counts for every preset.
    """
    nodes = []
    for block in re.split(r"\n\s*\n", output.strip()):
        fields = dict(re.findall(r"^\s*([\w.]+)\s*=\s*(.*?)\s*$", block, re.MULTILINE))
        if not fields or not fields.get("state", "").startswith("free"):
            continue
        try:
            np = int(fields.get("np", "0"))
        except ValueError:
            continue
        used = len([j for j in fields.get("jobs", "").split(",") if j.strip()])
        mem = re.search(r"availmem=(\d+)(kb|mb|gb)?", fields.get("status", ""))
        memory = None
        if mem is not None:
            factor = {"kb": 1 / 1024, "mb": 1, "gb": 1024}.get(mem.group(2) or "kb", 1)
            memory = int(int(mem.group(1)) * factor)
        gpus = int(fields["gpus"]) if fields.get("gpus", "").isdigit() else 0
        nodes.append(_Node(max(0, np - used), memory, gpus, ()))
    return {name: sum(_fits(n, need) for n in nodes) for name, need in needs.items()}


def directgnu_capacity(output: str, needs: Mapping[str, Need]) -> dict[str, int]:
    """Capacity per preset from :data:`DIRECTGNU_COMMAND` (one machine)."""
    words = output.split()
    try:
        cpus = int(words[0])
        memory_mb = int(words[1]) // 1024 if len(words) > 1 else None
    except (IndexError, ValueError):
        raise ValueError(f"cannot read the machine's CPUs and memory from {output!r}") \
            from None
    result = {}
    for name, need in needs.items():
        counts = [math.floor(cpus / need.cpu + 1e-9)]
        if memory_mb is not None:
            counts.append(memory_mb // max(1, need.memory_mb))
        if need.gpu:
            counts.append(0)  # DirectGnu knows nothing of GPUs
        result[name] = max(0, min(counts))
    return result
