"""Regenerate neuro_cli_imports.txt: every neuro_sdk name neuro-cli 22.7.1 uses.

Run as ``python tests/data/gen_neuro_cli_imports.py DIR`` where DIR holds the
unpacked neuro-cli wheel (``pip download --no-deps neuro-cli==22.7.1 -d DIR &&
cd DIR && unzip -q '*.whl'``).  The list is committed so that the snapshot
test runs without neuro-cli installed.
"""
import ast
import sys
from pathlib import Path


def names(root: Path) -> set[str]:
    """``module:name`` for every name taken from neuro_sdk or a submodule."""
    found: set[str] = set()
    for path in sorted((root / "neuro_cli").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and (
                node.module == "neuro_sdk" or node.module.startswith("neuro_sdk.")
            ):
                for alias in node.names:
                    found.add(f"{node.module}:{alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("neuro_sdk."):
                        found.add(f"{alias.name}:")
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "neuro_sdk"
            ):
                # ``neuro_sdk.X`` after ``import neuro_sdk``.
                found.add(f"neuro_sdk:{node.attr}")
    return found


def main() -> None:
    out = Path(__file__).with_name("neuro_cli_imports.txt")
    lines = sorted(names(Path(sys.argv[1])))
    header = "# neuro_sdk names used by neuro-cli 22.7.1 (gen_neuro_cli_imports.py)\n"
    out.write_text(header + "".join(f"{line}\n" for line in lines), encoding="utf-8")


if __name__ == "__main__":
    main()
