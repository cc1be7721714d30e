"""Run the benchmark cases side by side and report medians and ratios.

For each case the runner repeats, interleaved in one run: our cerulean, PyPI
cerulean 1.0.0 (in its own virtualenv) and, where the case names one, the
OpenSSH command line. It prints the median of each, the ratios ours/1.0.0
and ours/OpenSSH, every command it ran (so anyone can repeat a number by
hand), and writes all samples as JSON.

    python -m bench.run --old-python .venv-cerulean-1.0.0/bin/python
        [--only SUBSTRING] [--repeats N] [--json FILE]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench import cases as cases_package
from bench.framework import DATA_DIR, REGISTRY, REPO, Case, Context, ssh_options
from tests.servers import settings as S

WORKER = REPO / "bench" / "worker.py"


def load_cases(only: str | None) -> list[Case]:
    for module in pkgutil.iter_modules(cases_package.__path__):
        importlib.import_module(f"bench.cases.{module.name}")
    return [c for k, c in sorted(REGISTRY.items())
            if only is None or only in k or only in c.name]


def worker_command(python: str, key: str, impl: str) -> list[str]:
    return [python, str(WORKER), key, impl]


def run_worker(command: list[str]) -> dict[str, Any]:
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=False,
                          timeout=1800)
    lines = proc.stdout.strip().splitlines()
    try:
        return dict(json.loads(lines[-1]))
    except (IndexError, ValueError):
        return {"error": f"worker exit {proc.returncode}: {proc.stderr.strip()[-500:]}"}


class OpenSSHRunner:
    """Expands and times the OpenSSH command of a case."""

    def __init__(self) -> None:
        self.control = os.path.join(tempfile.gettempdir(),
                                    f"bench-cm-{uuid.uuid4().hex[:8]}")
        opts = ssh_options()
        self.values = {
            "host": S.HOST, "port": str(S.SSH_PORT), "user": S.USER,
            "target": f"{S.USER}@{S.HOST}", "control": self.control,
            "key": str(S.RSA_KEY), "known_hosts": str(S.KNOWN_HOSTS),
            "ssh": f"ssh {opts} -p {S.SSH_PORT}",
            "scp": f"scp {opts} -P {S.SSH_PORT}",
            "sftp": f"sftp {opts} -P {S.SSH_PORT}",
            "data_dir": str(DATA_DIR),
        }

    def expand(self, template: str, scratch: str, remote_scratch: str) -> str:
        return template.format(scratch=scratch, remote_scratch=remote_scratch,
                               **self.values)

    def shell(self, command: str) -> None:
        subprocess.run(["bash", "-c", command], check=True, cwd=REPO,
                       stdout=subprocess.DEVNULL, timeout=1800)

    def measure(self, template: str) -> tuple[float, str]:
        scratch = tempfile.mkdtemp(prefix="bench-ssh-")
        remote = f"{S.HOME}/bench-{uuid.uuid4().hex[:12]}"
        ssh = self.values["ssh"]
        self.shell(f"{ssh} {S.USER}@{S.HOST} mkdir -p {remote}")
        command = self.expand(template, scratch, remote)
        try:
            start = time.perf_counter()
            self.shell(command)
            return time.perf_counter() - start, command
        finally:
            self.shell(f"{ssh} {S.USER}@{S.HOST} rm -rf {remote}; rm -rf {shlex.quote(scratch)}")


def median(samples: list[float]) -> float | None:
    return statistics.median(samples) if samples else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def run_case(case: Case, repeats: int, old_python: str | None,
             ssh: OpenSSHRunner) -> dict[str, Any]:
    if case.prepare is not None:
        ctx = Context(ours=True)
        try:
            case.prepare(ctx)
        finally:
            ctx.close()
    impls = {"ours": sys.executable}
    if old_python:
        impls["cerulean-1.0.0"] = old_python
    samples: dict[str, list[float]] = {name: [] for name in impls}
    notes: dict[str, str] = {}
    commands = {name: " ".join(map(shlex.quote, worker_command(py, case.key, name)))
                for name, py in impls.items()}
    if case.openssh is not None:
        samples["openssh"] = []
        if case.openssh.setup:
            ssh.shell(ssh.expand(case.openssh.setup, "", ""))
    try:
        for _ in range(case.repeats or repeats):
            for name, python in impls.items():
                if name in notes:
                    continue
                result = run_worker(worker_command(python, case.key, name))
                if "value" in result:
                    samples[name].append(float(result["value"]))
                else:
                    notes[name] = result.get("na") or result.get("error", "?")
            if case.openssh is not None and "openssh" not in notes:
                try:
                    seconds, command = ssh.measure(case.openssh.command)
                    samples["openssh"].append(case.openssh.value(seconds))
                    commands["openssh"] = command
                except subprocess.SubprocessError as e:
                    notes["openssh"] = str(e)
    finally:
        if case.openssh is not None and case.openssh.teardown:
            subprocess.run(["bash", "-c", ssh.expand(case.openssh.teardown, "", "")],
                           cwd=REPO, capture_output=True, check=False)
    medians = {name: median(values) for name, values in samples.items()}
    return {
        "key": case.key, "name": case.name, "unit": case.unit, "better": case.better,
        "samples": samples, "median": medians, "notes": notes, "commands": commands,
        "ratio_ours_over_1_0_0": ratio(medians.get("ours"), medians.get("cerulean-1.0.0")),
        "ratio_ours_over_openssh": ratio(medians.get("ours"), medians.get("openssh")),
    }


def report(results: list[dict[str, Any]]) -> None:
    head = (f"{'case':48} {'unit':>6} {'better':>6} {'ours':>9} {'1.0.0':>9} "
            f"{'OpenSSH':>9} {'ours/1.0.0':>10} {'ours/ssh':>9}")
    print("\n" + head + "\n" + "-" * len(head))
    for r in results:
        m = r["median"]
        print(f"{r['name'][:48]:48} {r['unit']:>6} {r['better']:>6} {fmt(m.get('ours')):>9} "
              f"{fmt(m.get('cerulean-1.0.0')):>9} {fmt(m.get('openssh')):>9} "
              f"{fmt(r['ratio_ours_over_1_0_0']):>10} {fmt(r['ratio_ours_over_openssh']):>9}")
    print("\nCommands (run from the repository root; each worker prints one value):")
    for r in results:
        print(f"\n[{r['key']}] {r['name']}")
        for name, command in r["commands"].items():
            print(f"  {name:>15}: {command}")
        for name, note in r["notes"].items():
            print(f"  {name:>15}  ! {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-python", help="python of a virtualenv with cerulean==1.0.0")
    parser.add_argument("--only", help="run only cases whose key or name contains this")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=str(REPO / "bench" / "results.json"))
    args = parser.parse_args()

    DATA_DIR.mkdir(exist_ok=True)
    selected = load_cases(args.only)
    if not selected:
        print("no benchmark cases selected", file=sys.stderr)
        return 1
    ssh = OpenSSHRunner()
    results = []
    for case in selected:
        print(f"running {case.key}: {case.name} ...", flush=True)
        results.append(run_case(case, args.repeats, args.old_python, ssh))
    report(results)
    Path(args.json).write_text(json.dumps(
        {"generated": time.strftime("%Y-%m-%dT%H:%M:%S"), "python": sys.version,
         "results": results}, indent=1))
    print(f"\nAll samples written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
