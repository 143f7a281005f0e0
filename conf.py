"""Sphinx configuration: settings only. Logic lives in the local extension _ext/mapsite."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))
# jsonschema imports rfc3987_syntax when installed (jupyter_server needs it), which compiles a
# grammar on import: about a second of every build, for IRI checks no part of the build makes.
sys.modules.setdefault("rfc3987_syntax", None)

# -- Project ---------------------------------------------------------------
project = "PyTorch → MindSpore API mappings"
author = "The mapping site authors"
copyright = "2026, the mapping site authors"

# -- Sources -----------------------------------------------------------------
# conf.py sits at the top; pages live in source/, runnable examples in notebooks/.
root_doc = "source/index"
include_patterns = ["source/**", "notebooks/**"]
exclude_patterns = ["_build", ".venv", ".vendor", "**/.ipynb_checkpoints", "notebooks/README.md"]

extensions = [
    "mapsite.lean_imports",  # first: keeps a 1.3 s import nothing uses out of every build
    "myst_nb",          # MyST pages and text notebooks, executed at build time
    "sphinx_design",    # tabs for the PyTorch / MindSpore examples
    "sphinx_copybutton",  # a copy button on every code block (its clipboard script ships with it)
    "mapsite",          # mappings, checks, examples, downloads (see _ext/mapsite)
]

# -- MyST ------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

# -- Execution ---------------------------------------------------------------
# Notebooks run in parallel before the read phase (mapsite.execution) and land in a
# jupyter-cache keyed by the framework versions (mapsite.versions sets the path).
nb_execution_mode = "cache"
nb_execution_timeout = 120
nb_execution_raise_on_error = False   # report every failing notebook, not just the first
nb_execution_show_tb = True           # the traceback goes to the console, not only to a log
nb_output_stderr = "warn"             # stray stderr in a cell fails a -W build
nb_merge_streams = True
# Kernels are forked from one process that has imported these (mapsite.preload): each notebook
# still gets a process of its own, without paying the 3 s import again. [] = plain kernels.
mapsite_preload_modules = ["torch", "mindspore"]

# -- HTML ------------------------------------------------------------------
html_theme = "furo"                   # light and offline: no icon fonts, no CDN
html_title = "PyTorch → MindSpore"
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_favicon = "_static/favicon.svg"    # an icon of our own: browsers otherwise ask for /favicon.ico
html_additional_pages = {"index": "redirect.html"}   # the site root opens source/index
templates_path = ["_templates"]
html_copy_source = False              # the downloads offer the real sources
html_use_index = False                # no index entries: the index of mappings is the index (and 0.3 s per build)
html_show_sourcelink = False
html_last_updated_fmt = None

# -- Copy buttons --------------------------------------------------------------
# Only on code a reader runs: not on cell outputs (myst-nb's .output, the mapping pages' .example-output),
# and prompts are left out of the copy.
copybutton_selector = "div:not(.output):not(.example-output) > div.highlight pre"
copybutton_exclude = ".linenos, .gp, .go"
