"""What a cluster's nodes have: ``get_capacity``, and presets no node can run.

One command asks the scheduler about its nodes; the parsers below are pure.

* Slurm: ``scontrol -d -o show node`` (CPUs, memory and GPUs configured and
  allocated, state, partitions; ``-d`` adds ``GresUsed``) and
  ``sinfo -h -o %P`` (which partition is the default, for presets that name
  none).
* Torque/PBS: ``pbsnodes -a`` (``np``, ``gpus``, the slots in ``jobs``,
  memory in ``status``).
* Grid Engine: ``qstat -f -xml`` (every queue instance ``queue@host``: its
  slots, those used and reserved, its state) and ``qhost -F mem_free,gpu
  -xml`` (each host's memory, and what is free of it and of a ``gpu``
  consumable, where the site defines one).
* DirectGnu: ``nproc`` and ``MemAvailable`` of the machine.

:func:`slurm_capacity`, :func:`torque_capacity`, :func:`sge_capacity` and
:func:`directgnu_capacity` count how many more jobs of each preset fit now:
what neuro_sdk promises, an approximation, since other jobs start and end
all the time. :func:`unfit` says why no node, whatever it is running, could
ever run a job: such a job would wait in the queue forever.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .script import whole_cpus

SLURM_COMMAND = "scontrol -d -o show node; echo '--partitions--'; sinfo -h -o %P"
TORQUE_COMMAND = "pbsnodes -a"
SGE_COMMAND = "qstat -f -xml; echo '--hosts--'; qhost -F mem_free,gpu -xml"
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
    :ivar gpu_model: the GPU model (Slurm's gres type), None for any.
    """

    cpu: float
    memory_mb: int
    gpu: int
    partition: str | None
    gpu_model: str | None = None


@dataclass(frozen=True)
class Node:
    """One node as the scheduler describes it.

    :ivar name: the node's name.
    :ivar cpus: CPUs it has.
    :ivar memory_mb: memory it has in MiB, None if the scheduler does not say.
    :ivar gpus: GPUs it has, per model (None: of no model).
    :ivar partitions: the partitions it is in; empty where the scheduler
        does not tie queues to nodes (Torque).
    :ivar usable: False if down, drained, ...: it starts nothing now.
    :ivar free_cpus: CPUs not allocated to jobs.
    :ivar free_memory_mb: memory not allocated to jobs, None if unknown.
    :ivar free_gpus: GPUs not allocated to jobs, per model.
    """

    name: str
    cpus: int
    memory_mb: int | None
    gpus: Mapping[str | None, int] = field(default_factory=dict)
    partitions: tuple[str, ...] = ()
    usable: bool = True
    free_cpus: int = 0
    free_memory_mb: int | None = None
    free_gpus: Mapping[str | None, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Nodes:
    """A cluster's nodes, and its default partition.

    :ivar nodes: the nodes.
    :ivar default_partition: the partition of jobs that name none, or None.
    """

    nodes: tuple[Node, ...]
    default_partition: str | None = None

    def serving(self, need: Need) -> list[Node]:
        """The nodes a job of ``need`` can be sent to (by partition)."""
        partition = need.partition or self.default_partition
        return [n for n in self.nodes
                if partition is None or not n.partitions or partition in n.partitions]


def _gpus_of(gpus: Mapping[str | None, int], model: str | None) -> int:
    return sum(gpus.values()) if model is None else gpus.get(model, 0)


def _fits(cpus: int, memory_mb: int | None, gpus: Mapping[str | None, int],
          need: Need) -> int:
    """How many jobs of ``need`` fit in these CPUs, memory and GPUs."""
    counts = [cpus // whole_cpus(need.cpu)]
    if memory_mb is not None:
        counts.append(memory_mb // max(1, need.memory_mb))
    if need.gpu:
        counts.append(_gpus_of(gpus, need.gpu_model) // need.gpu)
    return max(0, min(counts))


def capacity(nodes: Nodes, needs: Mapping[str, Need]) -> dict[str, int]:
    """How many more jobs of each need fit on the usable nodes' free resources."""
    return {name: sum(_fits(n.free_cpus, n.free_memory_mb, n.free_gpus, need)
                      for n in nodes.serving(need) if n.usable)
            for name, need in needs.items()}


def unfit(nodes: Nodes, need: Need) -> str | None:
    """Why no node could ever run one job of ``need``, or None if one could.

    Every node counts, in whatever state, with all it has: only a job that
    no node could run even when idle is unfit. Without nodes to judge by
    (none known, or none in the partition, which the scheduler itself then
    refuses) nothing is unfit.
    """
    serving = nodes.serving(need)
    if not serving or any(_fits(n.cpus, n.memory_mb, n.gpus, need) for n in serving):
        return None
    partition = need.partition or nodes.default_partition
    where = f"no node in partition '{partition}'" if partition and \
        any(n.partitions for n in serving) else "no node"
    cpus = whole_cpus(need.cpu)
    lacking = []
    most_cpus = max(n.cpus for n in serving)
    if cpus > most_cpus:
        lacking.append(f"{cpus} CPUs (the most a node has is {most_cpus})")
    memories = [n.memory_mb for n in serving if n.memory_mb is not None]
    if memories and need.memory_mb > max(memories):
        lacking.append(f"{need.memory_mb} MiB of memory (the most a node has is "
                       f"{max(memories)} MiB)")
    most_gpus = max(_gpus_of(n.gpus, need.gpu_model) for n in serving)
    if need.gpu > most_gpus:
        model = f" {need.gpu_model}" if need.gpu_model else ""
        lacking.append(f"{need.gpu}{model} GPU{'s' if need.gpu != 1 else ''} "
                       f"(the most a node has is {most_gpus})")
    if not lacking:
        # Each alone is there somewhere, but never all on one node.
        gpus = f", {need.gpu} GPU{'s' if need.gpu != 1 else ''}" if need.gpu else ""
        lacking.append(f"{cpus} CPUs, {need.memory_mb} MiB of memory{gpus} at once")
    return f"{where} has {' or '.join(lacking)}"


# --- Slurm ------------------------------------------------------------------------------

def _gres_gpus(text: str) -> dict[str | None, int]:
    """GPUs per model in a ``Gres=`` or ``GresUsed=`` value.

    For example ``gpu:2``, ``gpu:a100:2(S:0-1),gpu:v100:1``,
    ``gpu:a100:1(IDX:0,2),mps:0`` or ``(null)``.
    """
    gpus: dict[str | None, int] = {}
    # Commas inside parentheses (GPU indices) do not separate entries.
    for entry in re.split(r",(?![^(]*\))", text):
        parts = re.sub(r"\(.*?\)", "", entry).split(":")
        if parts[0] != "gpu":
            continue
        count = 1
        if parts[-1].isdigit():
            count = int(parts[-1])
            parts = parts[:-1]
        model = ":".join(parts[1:]) or None
        if model == "(null)":
            model = None
        gpus[model] = gpus.get(model, 0) + count
    return gpus


def _tres(text: str, key: str) -> int:
    m = re.search(rf"(?:^|,){re.escape(key)}=(\d+)", text)
    return int(m.group(1)) if m else 0


def _minus(total: Mapping[str | None, int], used: Mapping[str | None, int]
           ) -> dict[str | None, int]:
    free = {model: count - used.get(model, 0) for model, count in total.items()}
    # Used GPUs of no model name are taken from the named ones.
    rest = sum(count for model, count in used.items() if model not in total)
    for model in list(free):
        taken = min(rest, free[model])
        free[model] -= taken
        rest -= taken
    return {model: max(0, count) for model, count in free.items()}


def slurm_nodes(output: str) -> Nodes:
    """The nodes from the output of :data:`SLURM_COMMAND`."""
    nodes_text, _, partitions_text = output.partition("--partitions--")
    default = next((p.rstrip("*") for p in partitions_text.split() if p.endswith("*")),
                   None)
    nodes = []
    for line in nodes_text.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if "NodeName" not in fields:
            continue
        state = fields.get("State", "")
        try:
            # CPUEfctv leaves out cores kept for the system (Slurm 22.05 on).
            cpus = int(fields.get("CPUEfctv") or fields.get("CPUTot", "0"))
            free_cpus = cpus - int(fields.get("CPUAlloc", "0"))
            memory = int(fields.get("RealMemory", "0"))
            free_memory = memory - int(fields.get("AllocMem", "0"))
        except ValueError:
            continue
        gpus = _gres_gpus(fields.get("Gres", ""))
        used: dict[str | None, int]
        if gpus:
            used = _gres_gpus(fields["GresUsed"]) if "GresUsed" in fields else \
                {None: _tres(fields.get("AllocTRES", ""), "gres/gpu")}
        else:
            # Clusters that account GPUs as TRES also show them there.
            total = _tres(fields.get("CfgTRES", ""), "gres/gpu")
            gpus = {None: total} if total else {}
            used = {None: _tres(fields.get("AllocTRES", ""), "gres/gpu")}
        nodes.append(Node(
            name=fields["NodeName"], cpus=cpus, memory_mb=memory, gpus=gpus,
            partitions=tuple(p for p in fields.get("Partitions", "").split(",") if p),
            usable=not any(word in state.upper() for word in _UNUSABLE),
            free_cpus=max(0, free_cpus), free_memory_mb=max(0, free_memory),
            free_gpus=_minus(gpus, used)))
    return Nodes(tuple(nodes), default)


def slurm_capacity(output: str, needs: Mapping[str, Need]) -> dict[str, int]:
    """Capacity per preset from the output of :data:`SLURM_COMMAND`."""
    return capacity(slurm_nodes(output), needs)


# --- Torque -----------------------------------------------------------------------------

def _mb(match: re.Match[str] | None) -> int | None:
    if match is None:
        return None
    factor = {"kb": 1 / 1024, "mb": 1, "gb": 1024}.get((match.group(2) or "kb").lower(), 1)
    return int(int(match.group(1)) * factor)


def torque_nodes(output: str) -> Nodes:
    """The nodes from ``pbsnodes -a``.

    Queues are not tied to nodes in what pbsnodes prints, so every node
    serves every queue. A node is usable when ``free``; its free slots are
    ``np`` less the slots in ``jobs``. Its memory is ``physmem`` (else
    ``totmem``, else, as the PBS wrappers on Slurm print the node's memory
    there, ``availmem``); what is free of it, ``availmem``. GPUs in use are
    not shown, so all of a free node's GPUs count as free.
    """
    nodes = []
    for block in re.split(r"\n\s*\n", output.strip()):
        lines = block.strip().splitlines()
        fields = dict(re.findall(r"^\s*([\w.]+)\s*=\s*(.*?)\s*$", block, re.MULTILINE))
        if not lines or not fields:
            continue
        try:
            np = int(fields.get("np", "0"))
        except ValueError:
            continue
        used = len([j for j in fields.get("jobs", "").split(",") if j.strip()])
        status = fields.get("status", "")
        available = _mb(re.search(r"availmem=(\d+)(kb|mb|gb)?", status, re.IGNORECASE))
        memory = next((m for key in ("physmem", "totmem")
                       if (m := _mb(re.search(rf"(?:^|,){key}=(\d+)(kb|mb|gb)?", status,
                                              re.IGNORECASE))) is not None),
                      available)
        count = int(fields["gpus"]) if fields.get("gpus", "").isdigit() else 0
        gpus: dict[str | None, int] = {None: count} if count else {}
        nodes.append(Node(
            name=lines[0].strip(), cpus=np, memory_mb=memory, gpus=gpus,
            usable=fields.get("state", "").startswith("free"),
            free_cpus=max(0, np - used), free_memory_mb=available, free_gpus=gpus))
    return Nodes(tuple(nodes))


def torque_capacity(output: str, needs: Mapping[str, Need]) -> dict[str, int]:
    """Capacity per preset from ``pbsnodes -a``."""
    return capacity(torque_nodes(output), needs)


# --- Grid Engine ------------------------------------------------------------------------

# Queue instance states (`man qstat`) in which Grid Engine starts no job there:
# a(larm), u(nknown: execd unreachable), d(isabled), D(isabled by a calendar),
# E(rror), s/S(uspended), C(alendar suspended), o(rphaned), A (suspend alarm).
_SGE_UNUSABLE = frozenset("audDEsSCoA")
_SGE_UNITS = {"": 1 / 2**20, "K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}


def _sge_mb(text: str | None) -> int | None:
    """MiB in a qhost memory value (``23.5G``, ``512M``, ``-`` for none)."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", (text or "").strip(), re.IGNORECASE)
    return int(float(m.group(1)) * _SGE_UNITS[m.group(2).upper()]) if m else None


def _xml(text: str, what: str) -> Element:
    try:
        root: Element = SafeET.fromstring(text.strip())
    except (ParseError, DefusedXmlException) as e:
        raise ValueError(f"cannot read the XML of {what}: {e}") from None
    return root


def _int(element: Element, tag: str) -> int:
    text = (element.findtext(tag) or "0").strip()
    return int(text) if text.isdigit() else 0


def sge_nodes(output: str) -> Nodes:
    """The nodes from the output of :data:`SGE_COMMAND`: one per queue
    instance (``all.q@host``), in the partition named as its queue.

    Grid Engine counts slots per queue instance, so a host in two queues
    has the slots of both (unless the site limits the host's slots too,
    which qstat does not show). Memory is the host's, as qhost reports it,
    for each of its instances; what is free of it is ``mem_free``. GPUs are
    those free of a ``gpu`` consumable, for sites that define one (Grid
    Engine has no GPUs of its own), each counted as in use or not now.
    Jobs that name no queue may go to any.
    """
    queues_text, _, hosts_text = output.partition("--hosts--")
    hosts: dict[str, tuple[int | None, int | None, int]] = {}
    for element in _xml(hosts_text, "qhost -xml").iter("host"):
        name = element.get("name", "")
        values = {v.get("name"): v.text for v in element.iter("hostvalue")}
        resources = {v.get("name"): v.text for v in element.iter("resourcevalue")}
        gpu_text = (resources.get("gpu") or "").strip()
        gpus = int(float(gpu_text)) if re.fullmatch(r"\d+(?:\.0+)?", gpu_text) else 0
        hosts[name] = (_sge_mb(values.get("mem_total")), _sge_mb(resources.get("mem_free")),
                       gpus)
    nodes = []
    for queue in _xml(queues_text, "qstat -f -xml").iter("Queue-List"):
        name = (queue.findtext("name") or "").strip()
        queue_name, _, host = name.partition("@")
        if not queue_name or not host:
            continue
        total = _int(queue, "slots_total")
        free = total - _int(queue, "slots_used") - _int(queue, "slots_resv")
        state = (queue.findtext("state") or "").strip()
        memory, free_memory, gpus = hosts.get(host, (None, None, 0))
        nodes.append(Node(
            name=name, cpus=total, memory_mb=memory,
            gpus={None: gpus} if gpus else {}, partitions=(queue_name,),
            usable=not set(state) & _SGE_UNUSABLE, free_cpus=max(0, free),
            free_memory_mb=free_memory, free_gpus={None: gpus} if gpus else {}))
    return Nodes(tuple(nodes))


def sge_capacity(output: str, needs: Mapping[str, Need]) -> dict[str, int]:
    """Capacity per preset from the output of :data:`SGE_COMMAND`."""
    return capacity(sge_nodes(output), needs)


# --- DirectGnu ----------------------------------------------------------------------------

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

