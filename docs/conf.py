"""Sphinx configuration for funksvd's documentation (builds offline; warnings are errors in CI)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import funksvd  # noqa: E402

project = "funksvd"
author = "funksvd developers"
copyright = "2026, funksvd developers"
release = funksvd.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = []
exclude_patterns = ["_build", "auto_tutorials/*.ipynb", "auto_tutorials/*.py", "sg_execution_times.rst"]
html_theme = "alabaster"
html_static_path = []
html_theme_options = {"description": "Matrix factorisation, derived by hand and proved.", "fixed_sidebar": True}

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
math_number_all = False
nitpicky = False

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "tutorials"),
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "show_signature": False,
}
