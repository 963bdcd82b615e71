"""Sphinx configuration of the sb3-gtr documentation."""

import os
import sys

DOCS_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(DOCS_DIR))

with open(os.path.join(DOCS_DIR, "..", "sb3_gtr", "version.txt")) as file_handler:
    __version__ = file_handler.read().strip()

# -- Project information -----------------------------------------------------

project = "sb3-gtr"
author = "sb3-gtr contributors"
copyright = f"2026, {author}"
version = __version__
release = __version__

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

# The package uses SB3's ``:param name:`` docstrings, which autodoc reads as they are.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_inherit_docstrings = True

# `benchmarks/` holds fragments pulled into benchmarks.rst with `.. include::`, not pages of their own.
exclude_patterns = ["_build", "benchmarks", "Thumbs.db", ".DS_Store"]
templates_path = []
nitpicky = False
pygments_style = "sphinx"

# -- Options for HTML output -------------------------------------------------

html_theme = "alabaster"
html_static_path = ["_static"]
html_title = f"sb3-gtr {release}"
html_theme_options = {
    "description": "Gaussian Trust Region Policy Optimization for Stable-Baselines3",
    "fixed_sidebar": True,
}
