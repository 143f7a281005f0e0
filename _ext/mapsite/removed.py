"""Pages added to or deleted from the sources: the site looks as if it were built clean.

Sphinx forgets a deleted page's data (the extension's modules purge theirs per document),
but leaves the page's HTML in the output folder and does not rewrite the pages that list
it: every page's navigation sidebar lists every page, and myst-nb's execution report lists
every notebook. This module notes which documents came or went, has every page written
again when one did, and deletes a deleted page's output files at the end of the build.
``downloads`` and ``index_and_json`` rewrite the zip and the index themselves.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from .execution import NOTEBOOK_PREFIX, is_notebook_doc

logger = logging.getLogger(__name__)

def removed_docs(app: Sphinx) -> set[str]:
    """Documents deleted since the last build (known from env-get-outdated on)."""
    return getattr(app, "mapsite_removed", set())


def _on_env_get_outdated(app: Sphinx, env: BuildEnvironment, added, changed, removed) -> list[str]:
    app.mapsite_removed = set(removed)
    # A first build adds every page: nothing was written before, so nothing needs rewriting.
    app.mapsite_pages_came_or_went = bool(removed) or (bool(added) and bool(env.all_docs))
    return []


def _on_env_get_updated(app: Sphinx, env: BuildEnvironment) -> list[str]:
    if not getattr(app, "mapsite_pages_came_or_went", False):
        return []
    return sorted(env.found_docs)


def output_files(app: Sphinx, docname: str) -> list[Path]:
    """What the build wrote for a document: its page, and for a notebook its downloads."""
    outdir = Path(app.outdir)
    files = [outdir / app.builder.get_target_uri(docname)]
    if is_notebook_doc(docname):
        slug = docname[len(NOTEBOOK_PREFIX):]
        files += [outdir / NOTEBOOK_PREFIX / f"{slug}.ipynb", outdir / NOTEBOOK_PREFIX / f"{slug}.md"]
    return files


def _on_build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for docname in sorted(removed_docs(app)):
        for path in output_files(app, docname):
            if path.is_file():
                path.unlink()
                logger.info(f"[mapsite] removed {path.relative_to(app.outdir)}: its source was deleted")


def setup(app: Sphinx) -> dict:
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("env-get-updated", _on_env_get_updated)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
