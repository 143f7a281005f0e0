"""Resolve the sidebar's table of contents once per build, not once per page.

Furo asks for the whole site's toctree on every page (``maxdepth=-1``, ``titles_only``).
Sphinx builds it by copying every page's full table of contents, sections and all, and
only then keeps the page titles: with the catalogue's 668 entries as sections, that was a
third of the time spent writing pages. The entries it produces do not depend on the page
being written when nothing is collapsed and only titles are kept (furo passes
``collapse=False, titles_only=True``): only the ``current`` classes and the relative links
do, and Sphinx adds both afterwards, to a copy.

So while pages are written, each toctree's entries are computed once per set of arguments
and handed out as deep copies. Pages are read with Sphinx's own code path: the tables of
contents change while reading. The function replaced is Sphinx's private
``_entries_from_toctree``; the module checks that it exists, so a Sphinx upgrade that moves
it fails the build naming this module instead of quietly building slower.
"""

from __future__ import annotations

import importlib

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

PINNED_SPHINX = "9.0.4"  # the version this was written against (requirements.txt)
TOCTREE_MODULE = "sphinx.environment.adapters.toctree"


def _memoised(original):
    cache: dict = {}
    state = {"writing": False}

    def entries_from_toctree(env, prune, titles_only, collapse, includehidden, tags, toctree_ancestors,
                             included, excluded, toctreenode, parents, subtree=False):
        if not state["writing"] or collapse or not titles_only:
            return original(env, prune, titles_only, collapse, includehidden, tags, toctree_ancestors,
                            included, excluded, toctreenode, parents, subtree)
        # The page's ancestors only choose how a page's own contents are copied (whole, or
        # through the tags), and titles_only then drops those contents: not part of the key.
        key = (id(toctreenode), prune, includehidden, tuple(parents), subtree)
        if key not in cache:
            cache[key] = (toctreenode, original(env, prune, titles_only, collapse, includehidden, tags,
                                                toctree_ancestors, included, excluded, toctreenode,
                                                parents, subtree))
        return [entry.deepcopy() for entry in cache[key][1]]  # the caller marks and relinks its copy

    def start(builder) -> None:
        cache.clear()
        state["writing"] = builder.config.mapsite_memoise_navigation

    def stop() -> None:
        cache.clear()
        state["writing"] = False

    entries_from_toctree.start, entries_from_toctree.stop = start, stop
    return entries_from_toctree


def setup(app: Sphinx) -> dict:
    try:
        module = importlib.import_module(TOCTREE_MODULE)
        original = module._entries_from_toctree
    except (ImportError, AttributeError) as exc:
        raise ExtensionError(f"mapsite.navigation: {TOCTREE_MODULE}._entries_from_toctree is gone "
                             f"(written for Sphinx {PINNED_SPHINX}); update or drop this module: {exc}") from exc
    replacement = original
    if not hasattr(replacement, "start"):  # not yet installed (a second app in one process reuses it)
        replacement = module._entries_from_toctree = _memoised(original)
    # Reading changes the tables of contents: memoise only between reading and the build's end.
    app.connect("write-started", lambda _app, builder: replacement.start(builder))
    app.connect("build-finished", lambda _app, _exception: replacement.stop())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
