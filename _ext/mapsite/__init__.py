"""Local Sphinx extension for the PyTorch to MindSpore mapping site.

One module per concern; each declares its own parallel safety.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `python -m mapsite.checker` and tools import this package without Sphinx
    from sphinx.application import Sphinx

MODULES = (
    "mapsite.settings",    # every mapsite_* setting, its default, and a check naming a bad one
    "mapsite.shims",       # every patch of myst-nb internals, each checked to exist
    "mapsite.versions",    # framework versions: cache key and full re-read on upgrade
    "mapsite.execution",   # parallel notebook execution into myst-nb's cache
    "mapsite.examples",    # {example}: executed cells in tabs, documented-value drift guard
    "mapsite.downloads",   # executed .ipynb, source and zip downloads
    "mapsite.provenance",  # versions, time and run time under every executed page
    "mapsite.registry",    # {mapping}: the one source of each mapping's facts
    "mapsite.evidence",    # executed cross-checks for every mapping
    "mapsite.index_and_json",  # {mapping-index} and mappings.json
    "mapsite.check_page",  # {check-your-code}: the Check your code page's form, script and offline data
    "mapsite.walkthrough",  # {mapping-link} and {walkthrough-scan}: the porting walkthrough's links and scan report
    "mapsite.table_lint",  # parameter tables: every row has the header's column count
    "mapsite.live",        # live code: thebe against a local Jupyter server (make live)
    "mapsite.accessibility",  # aria-levels for toctree captions, keyboard access to scrolling blocks
    "mapsite.copybutton_bundle",  # sphinx-copybutton's three files as one script (the request budget)
    "mapsite.removed",     # deleted pages leave the site: their HTML, downloads, report rows
    "mapsite.templatecache",  # Jinja bytecode cache: templates compile once, not on every build
    "mapsite.navigation",  # the sidebar's toctree resolved once per build, not once per page
)


ENV_VERSION = 3


def setup(app: Sphinx) -> dict:
    for module in MODULES:
        app.setup_extension(module)
    # Bumped whenever what the modules keep in the environment changes: Sphinx then reads
    # every page again instead of trusting data an older version stored.
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": ENV_VERSION}
