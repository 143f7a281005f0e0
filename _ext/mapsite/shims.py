"""Every change this extension makes to myst-nb's internals, in one place.

Each shim names the attribute it replaces and checks that it is there, so a myst-nb
upgrade that moves or renames one fails the build at once, naming the shim, instead of
silently running myst-nb's own code path.

* ``run_once`` replaces ``single_nb_execution`` in myst-nb's ``cache`` and ``force``
  (direct) clients: they get the pre-executor's run of the notebook, so it runs once per
  build, and a dead kernel comes back as a failure instead of an exception.
* The execution report's status column shows words, not emoji (a machine without an
  emoji font draws them as empty boxes).
* myst-nb copies its stylesheet into ``_static`` only when the build finishes, so pages
  written by a clean build link it without the ``?v=`` checksum that a rebuild adds. It is
  copied when the builder starts instead, and every build writes the same links.
"""

from __future__ import annotations

import importlib

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

from .execution import run_once

PINNED_MYST_NB = "1.4.0"   # the version these shims were written against (requirements.txt)


def _target(module_name: str, attribute: str, shim: str):
    """The module holding ``attribute``; an ExtensionError naming the shim if it is not there."""
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ExtensionError(f"mapsite.shims ({shim}): myst-nb has no module {module_name} "
                             f"(written for myst-nb {PINNED_MYST_NB}): {exc}") from exc
    if not hasattr(module, attribute):
        raise ExtensionError(f"mapsite.shims ({shim}): {module_name}.{attribute} does not exist "
                             f"(written for myst-nb {PINNED_MYST_NB}); update the shim")
    return module


def status_words(succeeded) -> str:
    return "succeeded" if succeeded is True else "failed"


def install() -> None:
    for module_name in ("myst_nb.core.execute.cache", "myst_nb.core.execute.direct"):
        _target(module_name, "single_nb_execution", "run_once").single_nb_execution = run_once
    tables = _target("myst_nb.ext.execution_tables", "_key2transform", "status words")
    if "succeeded" not in tables._key2transform:
        raise ExtensionError("mapsite.shims (status words): myst_nb.ext.execution_tables._key2transform "
                             f"has no 'succeeded' column (written for myst-nb {PINNED_MYST_NB})")
    tables._key2transform["succeeded"] = status_words


def _copy_mystnb_stylesheet(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    from pathlib import Path

    Path(app.outdir, "_static").mkdir(parents=True, exist_ok=True)
    _target("myst_nb.sphinx_ext", "add_global_html_resources", "stylesheet").add_global_html_resources(app, None)


def setup(app: Sphinx) -> dict:
    install()
    app.connect("builder-inited", _copy_mystnb_stylesheet)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
