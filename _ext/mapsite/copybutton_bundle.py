"""sphinx-copybutton's three files served as one script, so a page with code stays within
issue 5's budget of 15 requests.

The extension adds ``copybutton.css``, ``clipboard.min.js`` and ``copybutton.js`` to every
page (mapsite.accessibility already drops them from pages without a code block). The buttons
and their tooltips exist only once the script has made them, so their stylesheet can come
with the script: when the build finishes, ``_static/copybutton.js`` is rewritten as
clipboard.js, then a line that adds the stylesheet, then the original script; pages keep
that one file and drop the other two.
"""

from __future__ import annotations

import json
from pathlib import Path

from sphinx.application import Sphinx

from .accessibility import asset_name

MARKER = "/* mapsite: clipboard.js, copybutton.css and copybutton.js in one file */\n"
FOLDED = ("clipboard.min.js", "copybutton.css")   # served inside copybutton.js


def bundle(static: Path) -> bool:
    """Rewrite static/copybutton.js as the bundle (once); False if the files are not there."""
    script, library, style = (static / name for name in ("copybutton.js", "clipboard.min.js", "copybutton.css"))
    if not (script.is_file() and library.is_file() and style.is_file()):
        return False
    original = script.read_text(encoding="utf-8")
    if original.startswith(MARKER):
        return True
    add_style = ("(() => { const style = document.createElement('style'); "
                 f"style.textContent = {json.dumps(style.read_text(encoding='utf-8'))}; "
                 "document.head.appendChild(style); })();\n")
    script.write_text(MARKER + library.read_text(encoding="utf-8") + "\n" + add_style + original, encoding="utf-8")
    return True


def _on_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    for key in ("css_files", "script_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if asset_name(asset) not in FOLDED]


def _on_build_finished(app: Sphinx, exception) -> None:
    if exception is None and app.builder.format == "html":
        bundle(Path(app.outdir) / "_static")


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _on_page_context, priority=950)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
