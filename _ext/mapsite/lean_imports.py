"""Keep imports that no part of the build uses out of every build; conf.py loads this first.

myst-nb imports nbformat, which imports jsonschema, which imports ``rfc3987_syntax`` if it is
installed (it is: jupyter-events, under ``make live``'s jupyter_server, asks for jsonschema's
format extras). That module compiles a Lark grammar on import, 1.3 s of CPU here, more than
the rest of a no-op rebuild, to offer the "iri" string formats. Nothing in the build checks
formats: nbformat and mapsite.registry validate without a format checker. Marking the module
as absent makes jsonschema skip those two formats, as it does when the package is missing.
Processes the build starts (kernels, checkers) are new interpreters and import as usual.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx

UNUSED = ("rfc3987_syntax",)

for _name in UNUSED:
    sys.modules.setdefault(_name, None)  # `import` then raises ImportError, which jsonschema expects


def setup(app: Sphinx) -> dict:
    if "jsonschema._format" in sys.modules and any(sys.modules.get(name) for name in UNUSED):
        # Listed after an extension that imports jsonschema, it comes too late to help.
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "mapsite.lean_imports must come first in conf.py's extensions: jsonschema was imported before it",
            type="mapsite", subtype="setup")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
