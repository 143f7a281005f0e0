"""Say on every executed page which versions produced its outputs, when, and how long it ran.
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


def not_executed_node() -> nodes.Node:
    return nodes.paragraph(
        text="Not executed in this build (nb_execution_mode is 'off'): the outputs and documented "
             "values on this page were not checked.", classes=["provenance", "not-executed"])


def _on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    if not is_notebook_doc(docname):
        return
    if app.env.mystnb_config.execution_mode == "off":
        doctree += not_executed_node()
        return
    exec_data = getattr(app.env, "nb_metadata", {}).get(docname, {}).get("exec_data") or {}
    doctree += provenance_node(app.config.mapsite_versions, exec_data.get("mtime"), exec_data.get("runtime"))


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", _on_doctree_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
