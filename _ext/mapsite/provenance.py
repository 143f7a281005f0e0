"""Say on every executed page which versions produced its outputs, when, and how long it ran.

Also words for the status column of myst-nb's execution table (``{nb-exec-table}``), which
shows emoji that a machine without an emoji font draws as empty boxes.
"""

from __future__ import annotations

from datetime import datetime, timezone

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

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


STATUS_WORDS = {"\N{WHITE HEAVY CHECK MARK}": "succeeded", "\N{CROSS MARK}": "failed"}


class ExecutionStatusWords(SphinxPostTransform):
    """Runs after myst-nb builds the execution table (its post-transform has priority 8)."""

    default_priority = 9

    def run(self, **kwargs) -> None:
        for table in self.document.findall(nodes.table):
            for text in list(table.findall(nodes.Text)):
                if text.astext() in STATUS_WORDS:
                    text.parent.replace(text, nodes.Text(STATUS_WORDS[text.astext()]))


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", _on_doctree_read)
    app.add_post_transform(ExecutionStatusWords)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
