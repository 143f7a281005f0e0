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
    text = ";".join(f"{k}={v}" for k, v in sorted(versions.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _on_config_inited(app: Sphinx, config: Config) -> None:
    # MindSpore logs deprecations through glog on stderr; kernels inherit this.
    os.environ["GLOG_v"] = "3"
    versions = framework_versions()
    config.mapsite_versions = versions
    if not config.mapsite_cache_dir:
        config.mapsite_cache_dir = os.path.dirname(os.path.abspath(app.outdir))
    if not config.nb_execution_cache_path:
        config.nb_execution_cache_path = os.path.join(
            config.mapsite_cache_dir, ".jupyter_cache", versions_key(versions)
        )


def setup(app: Sphinx) -> dict:
    # "env": a changed value makes Sphinx re-read (and so re-execute) every page.
    app.add_config_value("mapsite_versions", {}, "env", types=[dict])
    # Where executed notebooks and check results are cached (default: next to the output).
    app.add_config_value("mapsite_cache_dir", "", "", types=[str])
    app.connect("config-inited", _on_config_inited, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
