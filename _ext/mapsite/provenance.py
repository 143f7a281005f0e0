"""Say on every executed page which versions produced its outputs, when, and how long it ran.

Also words for the status column of myst-nb's execution table (``{nb-exec-table}``), which
shows emoji that a machine without an emoji font draws as empty boxes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from docutils import nodes
from sphinx.application import Sphinx

from .execution import is_notebook_doc


def provenance_node(versions: dict, when: float | None, seconds: float | None) -> nodes.Node:
    stamp = ", ".join(f"{name} {versions.get(name, '?')}" for name in ("python", "torch", "mindspore", "numpy"))
    text = f"Outputs produced by executing this code with {stamp}"
    if when:
        text += f", on {datetime.fromtimestamp(when, tz=timezone.utc):%Y-%m-%d %H:%M} UTC"
    if seconds is not None:
        text += f", in {seconds:.1f} s"
    return nodes.paragraph(text=text + ".", classes=["provenance"])


def _on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    if not is_notebook_doc(docname):
        return
    exec_data = getattr(app.env, "nb_metadata", {}).get(docname, {}).get("exec_data") or {}
    doctree += provenance_node(app.config.mapsite_versions, exec_data.get("mtime"), exec_data.get("runtime"))


def setup(app: Sphinx) -> dict:
    from myst_nb.ext import execution_tables

    # myst-nb formats each column of the table with this map; its status formatter gives emoji.
    execution_tables._key2transform["succeeded"] = lambda ok: "succeeded" if ok is True else "failed"
    app.connect("doctree-read", _on_doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
