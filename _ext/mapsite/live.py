"""Live code: run a mapping page's example in a kernel of its own, on the reader's machine.

Every page that embeds an ``{example}`` gets a "Run the example live" button
(hidden until ``_static/live.js`` shows it). Pressing it asks the site for
``live-server.json``. The live server (``make live``: tools/live.py and
tools/live_kernels.py, which serve the site and Jupyter's API on one origin) answers
with where its API is; a plain build answers with the file written here, which names
no server, and the button explains how to start one. Neither ever holds a key: the
key reaches the tab through the fragment of the address ``make live`` prints (see
tools/live.py). Only then is thebe loaded, from ``_static/thebe/`` (copied from the
npm tarball ``make vendor`` unpacked; nothing comes from a CDN), the example's code
cells become editable cells, and they run, in order, in a kernel started for this
page view.

The JavaScript and CSS are added to the example pages only, so other pages
stay as light as before, and nothing is fetched until the button is pressed.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)

THEBE_VERSION = "0.9.3"
THEBE_STATIC = "_static/thebe"       # where the build copies thebe's files
CONFIG_NAME = "live-server.json"     # the page asks for this when the button is pressed
EXAMPLE_CLASS = "mapping-example"    # the container written by the {example} directive
BUTTON_LABEL = "Run the example live"
# No server known: what a plain build serves. The live server answers the same path from memory
# with {"url": "jupyter/"}, the API's place on the same origin; never with a key.
NO_SERVER = {"url": None}


def thebe_source(app: Sphinx) -> Path | None:
    """The thebe package `make vendor` unpacked into .vendor/thebe, if it is there."""
    folder = Path(app.srcdir, ".vendor", "thebe")
    return folder if (folder / "lib" / "index.js").is_file() else None


def thebe_files(lib: Path) -> list[Path]:
    """What the browser loads: the entry point, its lazily loaded chunks, the CSS, and licences.

    The source maps (about 11 MB) stay out: browsers only ask for them with developer tools open.
    """
    wanted = []
    for path in sorted(lib.iterdir()):
        if path.is_file() and (path.suffix in (".js", ".css") or path.name.endswith(".LICENSE.txt")):
            wanted.append(path)
    return wanted


def launcher_html(app: Sphinx, docname: str) -> str:
    here = app.builder.get_target_uri(docname)
    config = relative_uri(here, CONFIG_NAME)
    thebe = relative_uri(here, THEBE_STATIC + "/index.js")
    return (
        f'<div class="live-launch" hidden data-config="{html.escape(config)}" '
        f'data-thebe="{html.escape(thebe)}">'
        f'<button type="button" class="live-button">{BUTTON_LABEL}</button>'
        '<div class="live-status" role="status" aria-live="polite"></div>'
        "</div>"
    )


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.mapsite_thebe_lib is None:  # no thebe, or not an HTML build
        return
    for container in doctree.findall(nodes.container):
        if EXAMPLE_CLASS in container["classes"]:
            container.insert(0, nodes.raw("", launcher_html(app, docname), format="html"))
            break   # one button per page runs every example cell on it


def _on_html_page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    # Called while the page is written, add_*_file adds these files to this page only:
    # the pages that got a button.
    if 'class="live-launch"' in context.get("body", ""):
        app.add_css_file("live.css")
        app.add_js_file("live.js", loading_method="defer")


def _on_builder_inited(app: Sphinx) -> None:
    # Set on every build (the app is not pickled), so a build without thebe gets no button.
    app.mapsite_thebe_lib = None
    if app.builder.format != "html":
        return
    source = thebe_source(app)
    if source is None:
        # Trimmed copies of the project (tools/subset.py, the tests) have no vendor folder.
        logger.info(
            "live code: thebe not found in .vendor/thebe (run `make vendor`); "
            "pages get no live-code button"
        )
        return
    try:
        version = json.loads((source / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        version = None
    if version != THEBE_VERSION:
        logger.warning(
            f"live code: {source} holds thebe {version}, the page script is written for {THEBE_VERSION}",
            type="mapsite", subtype="live",
        )
    app.mapsite_thebe_lib = source / "lib"


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    (outdir / CONFIG_NAME).write_text(json.dumps(NO_SERVER) + "\n", encoding="utf-8")
    if app.mapsite_thebe_lib is None:
        return
    target = outdir / THEBE_STATIC
    target.mkdir(parents=True, exist_ok=True)
    for path in thebe_files(app.mapsite_thebe_lib):
        copy = target / path.name
        wanted, present = path.stat(), copy.stat() if copy.is_file() else None
        if present is None or present.st_size != wanted.st_size or present.st_mtime < wanted.st_mtime:
            shutil.copy2(path, copy)


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _on_builder_inited)
    app.connect("doctree-resolved", _on_doctree_resolved)
    app.connect("html-page-context", _on_html_page_context)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
