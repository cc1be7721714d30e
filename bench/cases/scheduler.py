"""Scheduler benchmark: jobs through Slurm over one SSH connection.

Submit N quick jobs to the test Slurm over one SshTerminal, wait until all
are done, read their exit codes; the value is jobs per second, wall time
from the first submission to the last exit code.

* ours: ``submit`` per job, then ``wait_all`` (one ``squeue`` per check for
  all jobs) and one exit-code query for all of them;
* PyPI cerulean 1.0.0: the documented ``submit``, ``wait`` and
  ``get_exit_code`` per job (its ``squeue -j`` forgets finished jobs, so
  each costs two 2-second sleeps);
* OpenSSH: ``sbatch`` per job, a ``squeue`` for all jobs every poll and one
  ``sacct``, each an ``ssh`` on one ControlMaster connection.

All poll every 0.5 s and submit the same job (``true``, 10 MB of memory,
so the jobs can run side by side on the test node, which tracks memory).
Target: ours at least 0.8 times the OpenSSH figure.
"""
from __future__ import annotations

import time

from bench.framework import Context, NotApplicable, OpenSSH, case

_JOBS = 20
_POLL = 0.5
_MEMORY = "--mem=10M"

_PLAIN = (
    f"ids=$(for i in $(seq {_JOBS}); do"
    " {ssh} -S {control} {target} 'cd {remote_scratch} &&"
    f" sbatch --parsable {_MEMORY} --wrap true'; done | paste -sd, -); "
    "while [ -n \"$({ssh} -S {control} {target}"
    " squeue --noheader --format=%i --jobs=$ids 2>/dev/null)\" ]; do"
    f" sleep {_POLL}; done; "
    "{ssh} -S {control} {target} sacct --allocations --noheader"
    " --parsable2 --format=JobIDRaw,ExitCode --jobs=$ids >/dev/null"
)


@case(f"slurm: submit {_JOBS} jobs, wait, read exit codes", unit="jobs/s",
      better="higher", repeats=3,
      openssh=OpenSSH(
          setup="{ssh} -fNM -S {control} {target}",
          command=_PLAIN,
          teardown="{ssh} -S {control} -O exit {target}",
          value=lambda seconds: _JOBS / seconds))
def slurm_jobs(ctx: Context) -> float:
    """Jobs per second through submit, wait and exit codes."""
    import cerulean
    sched = cerulean.SlurmScheduler(ctx.ssh_terminal())
    workdir = ctx.remote_scratch
    jd = cerulean.JobDescription()
    jd.command = "true"
    jd.working_directory = workdir
    jd.extra_scheduler_options = _MEMORY
    started = time.perf_counter()
    ids = [sched.submit(jd) for _ in range(_JOBS)]
    if ctx.ours:
        codes = sched.wait_all(ids, interval=_POLL)
    else:
        codes = {}
        for job_id in ids:
            sched.wait(job_id, interval=_POLL)
            codes[job_id] = sched.get_exit_code(job_id)
    took = time.perf_counter() - started
    if sorted(codes) != sorted(ids) or set(codes.values()) != {0}:
        raise RuntimeError(f"jobs did not all succeed: {codes}")
    return _JOBS / took


# --- Grid Engine --------------------------------------------------------------------
# The same 20 jobs through the test Son of Grid Engine, whose commands are
# reached through the prefix (they share their names with the PBS wrappers).
# Cerulean 1.0 has no Grid Engine scheduler, so that column stays empty.
# OpenSSH: `qsub -terse` per job, a `qstat` every poll until none is left,
# and one `qacct` for all of them, each an `ssh` on one ControlMaster.

def _sge_plain() -> str:
    import shlex

    from tests.servers import settings
    env = shlex.quote(settings.SGE_PREFIX)  # sourced in each remote command
    return (
        f"ids=$(for i in $(seq {_JOBS}); do"
        " {ssh} -S {control} {target} " + env + "'cd {remote_scratch} &&"
        " qsub -terse -b y -o /dev/null -e /dev/null true'; done); "
        "while {ssh} -S {control} {target} " + env + "'qstat' | grep -q .; do"
        f" sleep {_POLL}; done; "
        "{ssh} -S {control} {target} " + env
        + "\"for i in $(echo $ids); do qacct -j \\$i; done\" >/dev/null"
    )


@case(f"sge: submit {_JOBS} jobs, wait, read exit codes", unit="jobs/s",
      better="higher", repeats=3,
      openssh=OpenSSH(
          setup="{ssh} -fNM -S {control} {target}",
          command=_sge_plain(),
          teardown="{ssh} -S {control} -O exit {target}",
          value=lambda seconds: _JOBS / seconds))
def sge_jobs(ctx: Context) -> float:
    """Jobs per second through submit, wait and exit codes on Grid Engine."""
    import cerulean
    from tests.servers import settings
    if not ctx.ours:
        raise NotApplicable("Cerulean 1.0 has no Grid Engine scheduler")
    sched = cerulean.GridEngineScheduler(ctx.ssh_terminal(), settings.SGE_PREFIX)
    jd = cerulean.JobDescription()
    jd.command = "true"
    jd.working_directory = ctx.remote_scratch
    started = time.perf_counter()
    ids = [sched.submit(jd) for _ in range(_JOBS)]
    codes = sched.wait_all(ids, interval=_POLL)
    took = time.perf_counter() - started
    if sorted(codes) != sorted(ids) or set(codes.values()) != {0}:
        raise RuntimeError(f"jobs did not all succeed: {codes}")
    return _JOBS / took
