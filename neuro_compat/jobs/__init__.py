"""The Jobs subsystem, ``Client.jobs``: neuro_sdk's Jobs API on a cluster's
batch scheduler (DirectGnu, Slurm or Torque/PBS, through cerulean).

How neuro_sdk's notions map onto HPC clusters
---------------------------------------------
* A job is a batch job of the cluster's scheduler, started as ``bash -c
  <wrapper>`` (see :mod:`neuro_compat.jobs.script`). Its id is
  ``job-<uuid>``, its URI ``job://<cluster>/<user>/<id>``.
* The preset gives the resources: Slurm ``--cpus-per-task``, ``--mem``,
  ``--gres=gpu``, the partition and the time limit; Torque ``-l
  nodes=1:ppn=...,mem=...,walltime=...`` and the queue. ``life_span`` is the
  job's time limit (the shorter of it and the preset's ``time``), counted
  from the start of the command as batch schedulers count, and enforced
  within seconds; a job stopped at its limit is FAILED with reason
  ``LifeSpanEnded``.
* The image runs with the cluster's container runtime (see
  :mod:`neuro_compat.jobs.runtime`); with runtime ``host`` (the embedded local
  default) the command runs directly on the node and the image is only
  recorded. A host job starts in the user's storage directory unless
  ``working_dir`` is given, so ``storage:data`` is ``./data`` for it (with
  WebDAV storage, which is not on the nodes, in the job's own directory).
* Job metadata lives in the cluster's job directory (see
  :mod:`neuro_compat.jobs.registry`), so every client sees the same jobs, also
  after a restart and after the scheduler has forgotten them.
* The command's stdout and stderr go, interleaved, to one log in the job's
  directory; ``monitor`` and ``attach`` follow it.
* Parameters of neuro_sdk that mean nothing on an HPC cluster (HTTP
  ingress, secrets, disks, TTYs, privileged mode, restart policies,
  priorities, quotas, ...) raise :class:`~neuro_compat.NotSupportedError`
  naming the parameter when they are given a value other than their
  default; none is ignored silently.

Where things are
----------------
``api``
    :class:`Jobs`, the asynchronous face of it all.
``params``
    Checking arguments before anything reaches a cluster.
``cluster``
    :class:`~neuro_compat.jobs.cluster.ClusterJobs`: everything that talks to
    one cluster (submit, ask the scheduler, run commands beside a job),
    blocking, run in the cluster's worker threads.
``types``
    neuro_sdk's dataclasses and enums of jobs (:class:`JobDescription`, ...).
``record``, ``registry``, ``state``
    What is stored about a job and its JSON form; the job directory on the
    cluster that holds it; the status derived from it (pure).
``script``, ``runtime``
    The batch job's wrapper script; the line that runs the image.
``streams``, ``output``, ``ports``
    ``exec`` and ``attach`` streams; following the output (``monitor``);
    ``port_forward``.
``telemetry``, ``capacity``
    ``top`` samples; the scheduler's nodes, for ``get_capacity`` and for
    refusing a preset no node can run (pure parsers).
"""
from .api import TOP_INTERVAL, Jobs

# The dataclasses and enums are exported by neuro_compat itself, from .types.
__all__ = ["TOP_INTERVAL", "Jobs"]
