"""The neuro_compat half of `make demo` runs on the embedded local default,
with the same main job as the cerulean half."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "docs" / "examples" / "demo_neuro.py"


def test_demo_runs_the_main_job_on_the_local_default(tmp_path: Path) -> None:
    (tmp_path / "no-config").mkdir()  # a configuration directory without a file
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"),
               NEUROMATION_CONFIG=str(tmp_path / "no-config"))
    done = subprocess.run([sys.executable, str(DEMO)], check=False, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "succeeded with exit code 0" in out
    assert "--- counts.txt\n6 cerulean.txt\n6 heron.txt\n9 kingfisher.txt\n" in out
    assert "--- heron.txt\nTHE HERON WAITS IN THE REEDS\n" in out
    assert "upload" in done.stderr and "download" in done.stderr and "100%" in done.stderr
    # The demo leaves the storage as it found it.
    storage = tmp_path / "data" / "neuro-compat" / "storage"
    assert [p for p in storage.rglob("*.txt")] == []
