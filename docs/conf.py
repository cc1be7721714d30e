"""Sphinx configuration for the cerulean and neuro_compat documentation."""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "cerulean and neuro_compat"
author = "The cerulean developers"
copyright = "2026, The cerulean developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
html_theme = "alabaster"
exclude_patterns = ["_build", "examples"]
napoleon_use_ivar = True
suppress_warnings = ["ref.python"]
