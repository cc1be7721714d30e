"""Run one benchmark case once and print its value as JSON.

Usage: python bench/worker.py MODULE:FUNCTION ours|cerulean-1.0.0

Started as a script path, not with -m, so that the repository (which holds
our ``cerulean``) is appended to sys.path after site-packages: under the
1.0.0 virtualenv, ``import cerulean`` then finds PyPI's.
"""
import importlib
import importlib.util
import json
import sys
import traceback
from pathlib import Path

REPO = str(Path(__file__).resolve().parents[1])
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]
sys.path.append(REPO)

# neuro-cli's wheel (installed for neuro-hpc's tests) puts a top-level ``tests``
# package into site-packages, which would shadow ours; the cases need this
# repository's ``tests.servers``, so that name is bound to ours first.
_TESTS = Path(REPO, "tests")
_spec = importlib.util.spec_from_file_location(
    "tests", _TESTS / "__init__.py", submodule_search_locations=[str(_TESTS)])
assert _spec is not None and _spec.loader is not None
sys.modules["tests"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sys.modules["tests"])

from bench.framework import REGISTRY, Context, NotApplicable


def main() -> int:
    key, impl = sys.argv[1], sys.argv[2]
    importlib.import_module("bench.cases." + key.split(":")[0])
    ctx = Context(ours=(impl == "ours"))
    try:
        value = REGISTRY[key].func(ctx)
        print(json.dumps({"value": value}))
    except NotApplicable as e:
        print(json.dumps({"na": str(e) or "not applicable"}))
    except Exception as e:  # noqa: BLE001 - any failure is this case's result
        traceback.print_exc()
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
