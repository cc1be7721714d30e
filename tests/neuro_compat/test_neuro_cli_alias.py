"""neuro-hpc's alias: ``neuro_sdk`` is neuro_compat inside the neuro-hpc
process only, and a real neuro_sdk elsewhere on the path stays itself.

Each case runs in a fresh interpreter, since the alias changes the import
system of the process it is installed in."""
from __future__ import annotations

import configparser
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def fake_sdk(tmp_path: Path) -> dict[str, str]:
    """An environment whose path holds a stand-in for the real neuro-sdk."""
    package = tmp_path / "site" / "neuro_sdk"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("REAL = True\n")
    (package / "_jobs.py").write_text("REAL_SUBMODULE = True\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), str(REPO)])}


def python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=False)


def test_alias_gives_neuro_compat_itself(fake_sdk: dict[str, str]) -> None:
    done = python(
        "from neuro_compat.cli import install_alias\n"
        "install_alias(); install_alias()\n"
        "import neuro_sdk, neuro_compat, neuro_sdk.jobs, neuro_compat.jobs\n"
        "from neuro_sdk import ResourceNotFound\n"
        "assert neuro_sdk is neuro_compat\n"
        "assert neuro_sdk.jobs is neuro_compat.jobs\n"
        "assert ResourceNotFound is neuro_compat.ResourceNotFound\n"
        "assert not hasattr(neuro_sdk, 'REAL')\n"
        "print('ok')\n", fake_sdk)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ok\n"


def test_submodule_neuro_compat_lacks_is_missing_not_borrowed(
        fake_sdk: dict[str, str]) -> None:
    # neuro_sdk._jobs exists only in the stand-in for the real package.
    done = python(
        "from neuro_compat.cli import install_alias\n"
        "install_alias()\n"
        "import neuro_sdk._jobs\n", fake_sdk)
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'neuro_sdk._jobs': neuro-hpc" in done.stderr


def test_other_processes_keep_the_real_neuro_sdk(fake_sdk: dict[str, str]) -> None:
    done = python("import neuro_compat.cli, neuro_sdk\nprint(neuro_sdk.REAL)\n", fake_sdk)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "True\n"


def test_alias_refused_once_the_real_one_is_imported(fake_sdk: dict[str, str]) -> None:
    done = python("import neuro_sdk\nfrom neuro_compat.cli import install_alias\n"
                  "install_alias()\n", fake_sdk)
    assert done.returncode == 1
    assert "RuntimeError: the real neuro_sdk is already imported" in done.stderr


def test_console_script_and_extra_are_declared() -> None:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    scripts = config["options.entry_points"]["console_scripts"].split("\n")
    assert "neuro-hpc = neuro_compat.cli:main" in [line.strip() for line in scripts]
    assert config["options.extras_require"]["cli"].split()[0] == "neuro-cli==22.7.1"
