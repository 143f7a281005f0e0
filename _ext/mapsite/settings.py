"""Every ``mapsite_*`` setting, declared once with its default, and checked when conf.py is read.

A bad value stops the build with a message naming the setting, what it got and what it
takes. Settings marked *computed* are filled in by the extension, not by conf.py.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ConfigError

# name: (default, rebuild, types, what it takes)
SETTINGS = {
    # Where executed notebooks and check results are cached; "" = next to the output folder.
    "mapsite_cache_dir": ("", "", [str], "a folder path, or '' for the build folder"),
    # Processes that run notebooks and checks; 0 = one per core.
    "mapsite_execution_workers": (0, "", [int], "a whole number >= 0 (0: one per core)"),
    # Modules the kernel preloader imports before forking kernels (mapsite.preload); [] = plain kernels.
    "mapsite_preload_modules": ([], "", [list, tuple], "a list of importable module names"),
    # Resolve the sidebar's toctree once per build (mapsite.navigation); False = Sphinx's own path per page.
    "mapsite_memoise_navigation": (True, "", [bool], "True or False"),
    # Computed: framework versions; a change re-reads (so re-executes) every page.
    "mapsite_versions": ({}, "env", [dict], "(computed by mapsite.versions)"),
    # Computed: _static/a11y.js, inlined into every page; a change rewrites every page.
    "mapsite_a11y_script": ("", "html", [str], "(computed by mapsite.accessibility)"),
}
# myst-nb's modes this site supports (mapsite.execution says what each does here).
EXECUTION_MODES = ("cache", "force", "off")


def problems(config: Config) -> list[str]:
    found = []
    workers = config.mapsite_execution_workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        found.append(f"mapsite_execution_workers = {workers!r}: takes {SETTINGS['mapsite_execution_workers'][3]}")
    modules = config.mapsite_preload_modules
    if isinstance(modules, str):  # `-D mapsite_preload_modules=torch,mindspore` gives a string
        modules = modules.split(",")
    if not isinstance(modules, (list, tuple)) or not all(isinstance(m, str) for m in modules):
        found.append(f"mapsite_preload_modules = {modules!r}: takes {SETTINGS['mapsite_preload_modules'][3]}")
    else:
        bad = [m for m in modules if m.strip() and not all(part.isidentifier() for part in m.strip().split("."))]
        if bad:
            found.append(f"mapsite_preload_modules: {', '.join(map(repr, bad))} is not a module name")
        # `-D mapsite_preload_modules=` gives [""]: no modules.
        config.mapsite_preload_modules = [m.strip() for m in modules if m.strip()]
    if not isinstance(config.mapsite_memoise_navigation, bool):
        found.append(f"mapsite_memoise_navigation = {config.mapsite_memoise_navigation!r}: takes True or False")
    if not isinstance(config.mapsite_cache_dir, str):
        found.append(f"mapsite_cache_dir = {config.mapsite_cache_dir!r}: takes {SETTINGS['mapsite_cache_dir'][3]}")
    mode = getattr(config, "nb_execution_mode", "cache")
    if mode not in EXECUTION_MODES:
        found.append(f"nb_execution_mode = {mode!r}: this site supports {', '.join(EXECUTION_MODES)} "
                     "(examples and checks run before pages are read)")
    return found


def _on_config_inited(app: Sphinx, config: Config) -> None:
    found = problems(config)
    if found:
        raise ConfigError("bad setting in conf.py or -D:\n  " + "\n  ".join(found))


def setup(app: Sphinx) -> dict:
    for name, (default, rebuild, types, _) in SETTINGS.items():
        app.add_config_value(name, default, rebuild, types=types)
    app.connect("config-inited", _on_config_inited, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
