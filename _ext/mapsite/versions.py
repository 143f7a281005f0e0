"""The framework versions behind every executed output.

They key the execution cache and are a Sphinx config value that forces a full
re-read when it changes, so upgrading torch or mindspore re-executes everything.
"""

from __future__ import annotations

import hashlib
import os
import platform
from importlib.metadata import PackageNotFoundError, version

from sphinx.application import Sphinx
from sphinx.config import Config

from .runner import FRAMEWORK_ENV

TRACKED_PACKAGES = ("torch", "mindspore", "numpy")


def framework_versions() -> dict[str, str]:
    """Read versions from package metadata: no framework import needed."""
    found = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def versions_key(versions: dict[str, str]) -> str:
    # The frameworks' environment (mapsite.runner) changes results as a new version would.
    text = ";".join(f"{k}={v}" for k, v in sorted({**versions, **FRAMEWORK_ENV}.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _on_config_inited(app: Sphinx, config: Config) -> None:
    # Kernels, the preloader and the checkers inherit this (mapsite.runner says why).
    os.environ.update(FRAMEWORK_ENV)
    versions = framework_versions()
    config.mapsite_versions = versions
    if not config.mapsite_cache_dir:
        config.mapsite_cache_dir = os.path.dirname(os.path.abspath(app.outdir))
    if not config.nb_execution_cache_path:
        config.nb_execution_cache_path = os.path.join(
            config.mapsite_cache_dir, ".jupyter_cache", versions_key(versions)
        )


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _on_config_inited, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
