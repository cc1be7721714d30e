"""``neuro-hpc``: the real neuro command line (neuro-cli 22.7.1) on neuro_compat.

``pip install 'cerulean-hpc[cli]'`` installs neuro-cli and this command.
:func:`main` makes ``neuro_sdk`` (and any ``neuro_sdk.*`` submodule) resolve
to :mod:`neuro_compat` *in this process only*, then runs neuro-cli's own
entry point, ``neuro_cli.main:main``. Nothing in neuro-cli's files is
changed, and a real neuro-sdk installed alongside is left alone: the plain
``neuro`` command, or any other Python process, still imports it.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

_ALIASED = "neuro_sdk"
_TARGET = "neuro_compat"


class _AliasLoader(importlib.abc.Loader):
    """Hands out the already imported neuro_compat module under its alias."""

    def __init__(self, target: str) -> None:
        self._target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        # The very module object, not a copy: ``neuro_sdk.X is neuro_compat.X``
        # must hold, or isinstance checks and ``except`` clauses in the CLI
        # would miss our exceptions and types.
        return importlib.import_module(self._target)

    def exec_module(self, module: ModuleType) -> None:
        # Already executed when it was imported under its own name.
        pass


class NeuroSdkAlias(importlib.abc.MetaPathFinder):
    """A meta path finder resolving ``neuro_sdk[.X]`` to ``neuro_compat[.X]``.

    Installed first on :data:`sys.meta_path`, so it wins over a real
    neuro-sdk on the path. A submodule neuro_compat does not have is reported
    as missing (``ModuleNotFoundError``) rather than taken from the real
    neuro-sdk, which would mix the two packages in one process.
    """

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != _ALIASED and not fullname.startswith(_ALIASED + "."):
            return None
        real = _TARGET + fullname[len(_ALIASED):]
        if importlib.util.find_spec(real) is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: neuro-hpc runs neuro_sdk as "
                f"neuro_compat, which has no {real!r}", name=fullname)
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(real))
        return spec


def install_alias() -> None:
    """Make ``import neuro_sdk`` give :mod:`neuro_compat` in this process.

    Idempotent. Fails if the real neuro_sdk is already imported here: from
    then on, the two would be mixed.
    """
    if any(isinstance(finder, NeuroSdkAlias) for finder in sys.meta_path):
        return
    loaded = sys.modules.get(_ALIASED)
    if loaded is not None and loaded is not importlib.import_module(_TARGET):
        raise RuntimeError(
            "the real neuro_sdk is already imported in this process; neuro_compat "
            "cannot stand in for it any more")
    sys.meta_path.insert(0, NeuroSdkAlias())


def main(args: list[str] | None = None) -> None:
    """The ``neuro-hpc`` console command: neuro-cli's ``main`` on neuro_compat.

    :param args: the command line without the program name (default:
        ``sys.argv[1:]``), as neuro-cli's ``main`` takes it.
    """
    install_alias()
    try:
        # Imported only now, after the alias: neuro_cli imports neuro_sdk at
        # module level.
        cli_main = importlib.import_module("neuro_cli.main")
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("neuro_cli"):
            raise
        sys.exit("neuro-hpc: the neuro command line is not installed; "
                 "install it with: pip install 'cerulean-hpc[cli]'")
    cli_main.main(args)


if __name__ == "__main__":  # python -m neuro_compat.cli
    main()
