"""Accessibility fixes for the furo pages, and a lighter page (checked in tests/test_site_quality.py).

* Toctree captions: Sphinx writes ``<p class="caption" role="heading">`` with no
  ``aria-level`` (axe: ``aria-required-attr``, critical, five times on every page
  from furo's sidebar). The generated HTML gets ``aria-level="2"``.
* Scrollable code, output and table blocks must be reachable from the keyboard
  (axe: ``scrollable-region-focusable``, serious). Whether a block scrolls depends
  on the window width and on the selected tab, so ``_static/a11y.js`` makes exactly
  the blocks that scroll focusable and names them; site.css draws their focus ring.
  The script is small and on every page, so it is inlined into each page rather than
  fetched (issue 5 budgets 15 requests a page). It is also a config value of
  rebuild kind "html", so editing the script rewrites every page.
* Page weight: sphinx-design and myst-nb add their assets to every page, but only
  pages with a design component (the mapping pages' PyTorch / MindSpore tabs) use
  sphinx-design's stylesheet and tab script, and only pages with notebook cells
  (the notebooks) use myst-nb's stylesheet. Other pages drop them: a mapping page
  saves 1 request and 6 KiB gzip, the index 3 requests and 14 KiB. sphinx-copybutton's
  three files likewise go only on pages with a code block.
"""

from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

SCRIPT = "a11y.js"
# The caption paragraph Sphinx's HTML writer emits for a toctree caption.
_CAPTION = re.compile(r'<p(?=[^>]*\bclass="caption")(?![^>]*\baria-level=)([^>]*\brole="heading")([^>]*)>')
# Context entries that can hold toctree HTML: the page body and furo's sidebar tree.
_HTML_KEYS = ("body", "furo_navigation_tree")
# Assets an extension adds to every page (file name prefixes), and the classes in a page's
# body that show the page uses them: sphinx-design's components all have classes "sd-...";
# myst-nb's stylesheet only styles notebook cells, their outputs, glued text and line numbers.
_PAGE_ASSETS = (
    (("sphinx-design.", "design-tabs.js"), re.compile(r'class="(?:[^"]*\s)?sd-')),
    # sphinx-copybutton's buttons go on highlighted code blocks only.
    (("copybutton.", "clipboard.min.js"), re.compile(r'class="(?:[^"]*\s)?highlight[\s"]')),
    (("mystnb.",), re.compile(
        r'class="(?:[^"]*\s)?(?:cell|cell_input|cell_output|output|stream|stderr|traceback|text_plain'
        r'|pasted-inline|pasted-text|linenos)[\s"]')),
)


def add_heading_levels(html: str, level: int = 2) -> str:
    """Give every toctree caption (``role="heading"``) the ``aria-level`` it requires."""
    return _CAPTION.sub(lambda m: f'<p{m.group(1)} aria-level="{level}"{m.group(2)}>', html)


def compact_script(text: str) -> str:
    """The script without indentation, blank lines and whole-line ``//`` comments."""
    lines = (line.strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def unused_assets(body: str) -> tuple[str, ...]:
    """File name prefixes of the extension assets that a page with this body does not use."""
    unused = ()
    for prefixes, used in _PAGE_ASSETS:
        if not used.search(body):
            unused += prefixes
    return unused


def asset_name(asset) -> str:
    """The file name of a page's CSS or JS asset, without folder or query."""
    return str(getattr(asset, "filename", None) or "").split("?")[0].rsplit("/", 1)[-1]


def _drop_unused_assets(context: dict) -> None:
    body = context.get("body")
    if not isinstance(body, str):
        return
    unused = unused_assets(body)
    if not unused:
        return
    for key in ("css_files", "script_files"):
        if key in context:
            # A new list: the builder reuses its own list for the next page.
            context[key] = [asset for asset in context[key] if not asset_name(asset).startswith(unused)]


def _on_config_inited(app: Sphinx, config: Config) -> None:
    path = Path(app.confdir, "_static", SCRIPT)
    config.mapsite_a11y_script = compact_script(path.read_text(encoding="utf-8")) if path.is_file() else ""


def _on_builder_inited(app: Sphinx) -> None:
    if app.config.mapsite_a11y_script:
        app.add_js_file(None, body=app.config.mapsite_a11y_script)


def _on_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    for key in _HTML_KEYS:
        value = context.get(key)
        if isinstance(value, str) and 'role="heading"' in value:
            context[key] = add_heading_levels(value)
    _drop_unused_assets(context)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _on_config_inited)
    app.connect("builder-inited", _on_builder_inited)
    # After furo's handler (priority 500), which computes furo_navigation_tree.
    app.connect("html-page-context", _on_page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
