"""Sphinx configuration for the cerulean and neuro_compat documentation.

Built by ``make docs`` with warnings as errors; every example in these pages
is run by ``tests/test_docs.py``.
"""
from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.abspath(".."))

import cerulean  # after the path above: the checkout, not an installed copy

project = "cerulean and neuro_compat"
author = "The cerulean developers"
copyright = "2026, The cerulean developers"
release = cerulean.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
# "Attributes:" sections as :ivar: fields, so that the fields of named
# tuples are not described twice (once by napoleon, once by autodoc).
napoleon_use_ivar = True
nitpicky = False
# The packages re-export their classes (cerulean.Path is cerulean.path.Path),
# and the API reference documents both names, as Cerulean's own reference
# did. A type named in an annotation then has two targets, and Sphinx warns
# about the ambiguity although either target is right.
suppress_warnings = ["ref.python"]

html_theme = "alabaster"
html_theme_options = {
    "description": "HPC from Python: terminals, files, schedulers; "
                   "neuro_sdk's Jobs and Storage on top",
    "fixed_sidebar": True,
}
exclude_patterns = ["_build", "examples"]


def _hide_private_constructor(app: Any, what: str, name: str, obj: Any,
                              options: Any, signature: str | None,
                              return_annotation: str | None
                              ) -> tuple[str, str | None] | None:
    """Show no signature for classes users never construct (Client, Storage,
    Jobs, Config, Parser): their docstrings say how to get one."""
    if what == "class" and type(obj).__name__ == "NoPublicConstructor":
        return "", None
    return None


def _reexported_data_doc(app: Any, what: str, name: str, obj: Any, options: Any,
                         lines: list[str]) -> None:
    """Give a re-exported constant (``cerulean.CopyCallback``) the docstring
    written beside its assignment in the module that defines it.

    autodoc looks for such docstrings only in the source of the module it
    documents, here the package, which merely imports the name.
    """
    package, _, attr = name.rpartition(".")
    if what != "data" or package not in ("cerulean", "neuro_compat"):
        return
    import pkgutil

    from sphinx.pycode import ModuleAnalyzer

    module = sys.modules[package]
    for info in pkgutil.iter_modules(module.__path__, package + "."):
        docs = ModuleAnalyzer.for_module(info.name).find_attr_docs()
        if ("", attr) in docs:
            lines[:] = list(docs[("", attr)])
            return


def setup(app: Any) -> None:
    app.connect("autodoc-process-signature", _hide_private_constructor)
    app.connect("autodoc-process-docstring", _reexported_data_doc)
