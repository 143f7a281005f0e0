"""Local Sphinx extension for the PyTorch to MindSpore mapping site.

One module per concern; each declares its own parallel safety.
"""

from __future__ import annotations

from sphinx.application import Sphinx

MODULES = (
    "mapsite.versions",    # framework versions: cache key and full re-read on upgrade
    "mapsite.execution",   # parallel notebook execution into myst-nb's cache
    "mapsite.examples",    # {example}: executed cells in tabs, documented-value drift guard
    "mapsite.downloads",   # executed .ipynb, source and zip downloads
    "mapsite.provenance",  # versions, time and run time under every executed page
    "mapsite.registry",    # {mapping}: the one source of each mapping's facts
    "mapsite.evidence",    # executed cross-checks for every mapping
    "mapsite.catalogue",   # {mapping-index} and mappings.json
    "mapsite.tables",      # parameter tables: every row has the header's column count
    "mapsite.live",        # live code: thebe against a local Jupyter server (make live)
    "mapsite.accessibility",  # aria-levels for toctree captions, keyboard access to scrolling blocks
    "mapsite.templatecache",  # Jinja bytecode cache: templates compile once, not on every build
)


def setup(app: Sphinx) -> dict:
    for module in MODULES:
        app.setup_extension(module)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
