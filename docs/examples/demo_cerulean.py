"""Cerulean demo: stage files, run a job on them, fetch and print the results.

By default everything runs on this machine: a LocalTerminal, the
LocalFileSystem and the DirectGnuScheduler. One switch points the very same
steps at a cluster over SSH with Slurm::

    python docs/examples/demo_cerulean.py
    python docs/examples/demo_cerulean.py \\
        --cluster ssh://cerulean@127.0.0.1:10022 \\
        --key .servers/keys/id_rsa --known-hosts .servers/known_hosts

``--cluster`` (or the environment variable ``CERULEAN_DEMO_CLUSTER``) takes
``ssh://user@host[:port]``; the job then goes to Slurm (``--scheduler``
picks ``slurm``, ``torque`` or ``directgnu``) and the files travel over SFTP
on the same SSH connection. Log in with ``--key`` (``--passphrase`` if it has
one) or ``--password``; the host key must be in ``--known-hosts`` (default
``~/.ssh/known_hosts``). Extra scheduler options, such as a memory request,
go in ``--scheduler-options``.

What it does:

1. writes three small text files into a local input directory;
2. makes a job directory on the machine that runs the job and copies the
   inputs there with ``cerulean.copy()``;
3. submits a job that counts the words in each file and writes an
   upper-case copy of it, waits for it, and checks its exit code;
4. copies the results back and prints them, then removes the job directory.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import uuid
from pathlib import Path as LocalPath
from typing import Any
from urllib.parse import urlsplit

import cerulean

INPUTS = {
    "kingfisher.txt": "A kingfisher dives\nfrom the willow into the stream\n",
    "heron.txt": "The heron waits in the reeds\n",
    "cerulean.txt": "cerulean blue sky over the river\n",
}

# The job, as a shell script run in the job directory. The command and its
# arguments are not quoted by cerulean, so we quote the script ourselves.
JOB_SCRIPT = (
    "mkdir -p results && "
    "for f in inputs/*.txt; do "
    'n=$(basename "$f"); '
    'printf "%s %s\\n" "$(wc -w <"$f" | tr -d " ")" "$n" >>results/counts.txt; '
    'tr "[:lower:]" "[:upper:]" <"$f" >"results/$n"; '
    "done"
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--cluster", default=os.environ.get("CERULEAN_DEMO_CLUSTER"),
        help="ssh://user@host[:port] of a cluster; default: this machine")
    parser.add_argument("--scheduler", default=None,
                        choices=["directgnu", "slurm", "torque"],
                        help="default: directgnu locally, slurm on a cluster")
    parser.add_argument("--key", help="private key file to log in with")
    parser.add_argument("--passphrase", help="passphrase of --key")
    parser.add_argument("--password", help="password to log in with")
    parser.add_argument("--known-hosts",
                        help="known_hosts file (default ~/.ssh/known_hosts)")
    parser.add_argument("--scheduler-options", default=None,
                        help="extra options for the scheduler, e.g. --mem=100M")
    return parser.parse_args(argv)


def connect(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """(terminal, file system, home directory) for where the job runs."""
    if not args.cluster:
        return (cerulean.LocalTerminal(), cerulean.LocalFileSystem(),
                tempfile.gettempdir())
    url = urlsplit(args.cluster)
    if url.scheme != "ssh" or not url.hostname or not url.username:
        sys.exit(f"--cluster must look like ssh://user@host[:port], not {args.cluster!r}")
    credential: cerulean.Credential
    if args.key:
        credential = cerulean.PubKeyCredential(url.username, args.key,
                                               args.passphrase)
    elif args.password:
        credential = cerulean.PasswordCredential(url.username, args.password)
    else:
        sys.exit("Give --key or --password to log in to the cluster")
    term = cerulean.SshTerminal(url.hostname, url.port or 22, credential,
                                known_hosts=args.known_hosts)
    exit_code, home, err = term.run(30.0, "pwd", [])
    if exit_code != 0:
        sys.exit(f"Cannot find the home directory on the cluster: {err}")
    return term, cerulean.SftpFileSystem(term), home.strip()


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    scheduler_name = args.scheduler or ("slurm" if args.cluster else "directgnu")
    term, fs, home = connect(args)
    local = cerulean.LocalFileSystem()
    with tempfile.TemporaryDirectory(prefix="cerulean-demo-") as scratch:
        inputs = LocalPath(scratch) / "inputs"
        inputs.mkdir()
        for name, text in INPUTS.items():
            (inputs / name).write_text(text)

        job_dir = fs / home.lstrip("/") / f"cerulean-demo-{uuid.uuid4().hex[:8]}"
        job_dir.mkdir()
        try:
            where = args.cluster or "this machine"
            print(f"Staging {len(INPUTS)} files to {job_dir} on {where}")
            cerulean.copy(local / str(inputs).lstrip("/"), job_dir)

            sched = cerulean.make_scheduler(scheduler_name, term)
            job = cerulean.JobDescription()
            job.name = "cerulean-demo"
            job.working_directory = str(job_dir)
            job.command = "sh"
            job.arguments = ["-c", shlex.quote(JOB_SCRIPT)]
            job.stderr_file = "job.err"
            job.time_reserved = 300
            job.extra_scheduler_options = args.scheduler_options
            job_id = sched.submit(job)
            print(f"Submitted job {job_id} to {scheduler_name}; waiting...")
            exit_code = sched.wait(job_id, time_out=600, interval=0.5)
            if exit_code != 0:
                err = job_dir / "job.err"
                detail = err.read_text() if err.exists() else ""
                print(f"The job failed (exit code {exit_code}). {detail}")
                return 1

            results = LocalPath(scratch) / "results"
            cerulean.copy(job_dir / "results", local / scratch.lstrip("/"))
            print(f"Job {job_id} finished with exit code 0. Results:")
            for path in sorted(results.iterdir()):
                print(f"--- {path.name}")
                print(path.read_text(), end="")
        finally:
            job_dir.rmdir(recursive=True)
            fs.close()
            term.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
