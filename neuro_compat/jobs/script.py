"""The cerulean JobDescription of a job, and the wrapper script it runs.

A job is submitted as ``bash -c '<wrapper>'``: the wrapper starts the
command (see :mod:`neuro_compat.jobs.runtime`), and records what happens to it
in the job's ``events`` file, which only it writes:

``started <time> <node> <host> <pid>``
    the command has started, as process ``pid`` on that node;
``timeout <time>``
    the life span ran out and the wrapper stopped the command;
``exited <code> <time>``
    the command ended with that exit code.

These lines are what makes a job's status right after the scheduler has
forgotten it, and what tells a job stopped at its life span from one that
failed or was killed.

The life span is enforced by the wrapper itself, never early and at most
about two seconds late, from the limit file the registry keeps (so
``bump_life_span`` can move it); batch
schedulers also get a time limit a minute longer, as a backstop and so that
they can plan. Stopping sends SIGTERM to the command's whole process tree,
then SIGKILL five seconds later. The command's stdout and stderr go to the
``output`` file in the job's directory.
"""
from __future__ import annotations

import math
import shlex

import cerulean

from .runtime import Launch
from .types import Resources

BACKSTOP_SECONDS = 60
"""How much longer than the life span a batch scheduler's time limit is."""

KILL_AFTER_SECONDS = 5
"""Seconds between SIGTERM and SIGKILL when the wrapper stops a command."""

_WRAPPER = r"""exec 2>&1 </dev/null
ev=__EVENTS__
lim=__LIMIT__
tree() { local c; printf '%s\n' "$1"; for c in $(pgrep -P "$1" 2>/dev/null); do tree "$c"; done; }
stop() { local p; p=$(tree "$1"); kill -s "$2" $p 2>/dev/null; __STOP__ :; }
__RUN__ &
pid=$!
h=$(uname -n)
printf 'started %s %s %s %s\n' "$(date +%s.%N)" "${SLURMD_NODENAME:-${h:--}}" "${h:--}" "$pid" >>"$ev"
trap 'stop "$pid" TERM' TERM INT HUP
wd=
if [ -n "$lim" ] && [ -r "$lim" ]; then
  (
    # Whole seconds from the next full second: never less than the limit.
    t0=$(( $(date +%s) + 1 ))
    while sleep 1; do
      read -r l <"$lim" 2>/dev/null || continue
      if [ "$(date +%s)" -ge "$(( t0 + ${l%%.*} ))" ]; then
        printf 'timeout %s\n' "$(date +%s.%N)" >>"$ev"
        stop "$pid" TERM; sleep __KILL_AFTER__; stop "$pid" KILL
        exit 0
      fi
    done
  ) &
  wd=$!
fi
while :; do
  wait "$pid"; rc=$?
  # A trapped signal also ends `wait`: wait again while the command lives.
  if [ "$rc" -gt 128 ] && kill -0 "$pid" 2>/dev/null; then continue; fi
  break
done
if [ -n "$wd" ]; then stop "$wd" TERM; fi
printf 'exited %s %s\n' "$rc" "$(date +%s.%N)" >>"$ev"
exit "$rc"
"""


def wrapper_script(*, events: str, limit: str | None, launch: Launch) -> str:
    """The bash script a job runs (see the module documentation).

    :param events: path of the job's events file.
    :param limit: path of the job's limit file, or None for no life span.
    :param launch: how to start (and stop) the command.
    """
    return (_WRAPPER.replace("__EVENTS__", shlex.quote(events))
            .replace("__LIMIT__", shlex.quote(limit) if limit else "''")
            .replace("__STOP__", f"{launch.stop};" if launch.stop else "")
            .replace("__KILL_AFTER__", str(KILL_AFTER_SECONDS))
            .replace("__RUN__", launch.run))


def job_description(*, scheduler: str, name: str, script: str, workdir: str,
                    home: str, output: str, env: dict[str, str],
                    resources: Resources, partition: str | None,
                    options: tuple[str, ...], limit: float | None
                    ) -> cerulean.JobDescription:
    """The cerulean JobDescription that submits a job.

    :param scheduler: ``directgnu``, ``slurm``, ``torque`` or ``sge``.
    :param name: the scheduler's name for the job.
    :param script: the wrapper script.
    :param workdir: where the job runs on the node.
    :param home: the job's own directory (for the scheduler's messages).
    :param output: the file for the command's stdout and stderr.
    :param env: environment variables for the command.
    :param resources: CPUs, memory and GPUs to reserve.
    :param partition: the Slurm partition, or the Torque or Grid Engine
        queue, or None.
    :param options: extra scheduler options from the preset, verbatim.
    :param limit: the life span in seconds, or None.
    """
    jd = cerulean.JobDescription()
    jd.name = name
    jd.command = "bash"
    # Cerulean appends arguments unquoted: quoting them is ours to do.
    jd.arguments = ["-c", shlex.quote(script)]
    jd.working_directory = workdir
    jd.environment = dict(env)
    jd.stdout_file = output
    jd.system_out_file = f"{home}/scheduler.out"
    jd.system_err_file = f"{home}/scheduler.err"
    extra: list[str] = []
    if scheduler == "slurm":
        jd.queue_name = partition
        jd.num_nodes = 1
        if limit is not None:
            jd.time_reserved = math.ceil(limit) + BACKSTOP_SECONDS
        extra += slurm_options(resources)
    elif scheduler == "torque":
        jd.queue_name = partition
        extra.append(torque_resources(resources, limit))
    elif scheduler == "sge":
        jd.queue_name = partition
        cpus = whole_cpus(resources.cpu)
        if cpus > 1:
            # Slots of the scheduler's parallel environment (-pe <pe> <cpus>).
            jd.num_nodes, jd.mpi_processes_per_node = 1, cpus
        if limit is not None:
            jd.time_reserved = math.ceil(limit) + BACKSTOP_SECONDS  # h_rt
        extra += sge_resources(resources)
    # DirectGnu has no resources to reserve, and its time limit would end
    # the job without a reason and could not be extended: the wrapper
    # enforces the life span there.
    extra += options
    if extra:
        jd.extra_scheduler_options = " ".join(extra)
    return jd


def slurm_options(resources: Resources) -> list[str]:
    """sbatch options reserving the resources for one task."""
    options = ["--ntasks=1", f"--cpus-per-task={whole_cpus(resources.cpu)}",
               f"--mem={max(1, resources.memory_mb)}M"]
    if resources.gpu:
        gres = f"gpu:{resources.gpu_model}:{resources.gpu}" if resources.gpu_model \
            else f"gpu:{resources.gpu}"
        options.append(shlex.quote(f"--gres={gres}"))
    return options


def torque_resources(resources: Resources, limit: float | None) -> str:
    """One qsub ``-l`` option with nodes, ppn, GPUs, memory and walltime.

    One option, because the PBS wrappers on Slurm keep only the last
    ``-l`` they are given (real Torque adds them up; one works for both).
    """
    nodes = f"nodes=1:ppn={whole_cpus(resources.cpu)}"
    if resources.gpu:
        nodes += f":gpus={resources.gpu}"
    parts = [nodes, f"mem={max(1, resources.memory_mb)}mb"]
    if limit is not None:
        seconds = math.ceil(limit) + BACKSTOP_SECONDS
        minutes, secs = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        parts.append(f"walltime={hours:02d}:{minutes:02d}:{secs:02d}")
    return "-l " + ",".join(parts)


def sge_resources(resources: Resources) -> list[str]:
    """qsub ``-l`` options for a job's memory and GPUs on Grid Engine.

    Memory is asked for as ``mem_free``, which every Grid Engine has: the
    job starts on a host with that much free, and is not killed for using
    more (sites that enforce limits name theirs, such as ``h_vmem``, in
    the preset's ``scheduler_options``). GPUs are the ``gpu`` consumable
    that sites with GPUs define; Grid Engine has none of its own.
    """
    options = [f"-l mem_free={max(1, resources.memory_mb)}M"]
    if resources.gpu:
        options.append(f"-l gpu={resources.gpu}")
    return options


def whole_cpus(cpu: float) -> int:
    """Batch schedulers reserve whole CPUs: a fraction is rounded up."""
    return max(1, math.ceil(cpu - 1e-9))
