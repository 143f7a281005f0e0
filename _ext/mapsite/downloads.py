"""Executed notebooks as downloads.

Every page under ``notebooks/`` gets links to its executed ``.ipynb`` and its MyST
source; both files, and ``notebooks.zip`` with every executed notebook, are
written next to the HTML from the execution cache when the build finishes.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from .examples import download_links_html
from .execution import NOTEBOOK_PREFIX, cached_notebook, is_notebook_doc, read_notebook
from .removed import removed_docs

logger = logging.getLogger(__name__)

ZIP_NAME = "notebooks.zip"


def _on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    docname = app.env.docname
    if not is_notebook_doc(docname):
        return
    slug = docname[len(NOTEBOOK_PREFIX):]
    links = nodes.raw("", download_links_html(docname, app.builder, slug), format="html")
    # After the title, so the first thing under the heading is the download line.
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is not None and section.children and isinstance(section[0], nodes.title):
        section.insert(1, links)
    else:
        doctree.insert(0, links)


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    env = app.env
    target_dir = Path(app.outdir, NOTEBOOK_PREFIX)
    notebooks_removed = any(is_notebook_doc(d) for d in removed_docs(app))
    if not getattr(app, "mapsite_notebooks_read", True) and not notebooks_removed and Path(app.outdir, ZIP_NAME).is_file():
        return  # no notebook was read again or deleted, so the downloads already hold the current outputs
    executing = env.mystnb_config.execution_mode != "off"
    target_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for docname in sorted(d for d in env.found_docs if is_notebook_doc(d)):
        source = Path(env.doc2path(docname))
        slug = docname[len(NOTEBOOK_PREFIX):]
        # Execution off: the page shows no outputs, and neither does its download.
        executed, record = cached_notebook(env, source) if executing else (read_notebook(env, source), None)
        if executing and record is None:
            logger.warning(f"{source}: no executed notebook to offer as a download", type="mapsite", subtype="download")
            (target_dir / f"{slug}.ipynb").unlink(missing_ok=True)  # never an earlier build's outputs
            continue
        ipynb = target_dir / f"{slug}.ipynb"
        ipynb.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(executed, str(ipynb))
        shutil.copyfile(source, target_dir / f"{slug}.md")
        written.append(ipynb)
    with zipfile.ZipFile(Path(app.outdir, ZIP_NAME), "w", zipfile.ZIP_DEFLATED) as archive:
        for ipynb in written:
            # A fixed timestamp keeps the zip identical between builds of the same outputs.
            info = zipfile.ZipInfo(f"notebooks/{ipynb.name}", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, ipynb.read_bytes())


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", _on_doctree_read)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
