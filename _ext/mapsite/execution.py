"""Execute every example notebook before Sphinx reads any page.

Sphinx hands ``-j`` workers consecutive documents, so two notebooks next to each
other would run one after the other. Instead, at ``env-before-read-docs`` the
notebooks that have no cached result are executed in a process pool (one kernel
per core) and stored in myst-nb's jupyter-cache. myst-nb then finds every
notebook cached, and mapping pages can embed executed cells at read time.

Failures are not cached: myst-nb runs the notebook once more while reading its
page and reports the failing cell with its traceback, like any other page.
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import nbformat
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

NOTEBOOK_PREFIX = "notebooks/"


def is_notebook_doc(docname: str) -> bool:
    return docname.startswith(NOTEBOOK_PREFIX)


def read_notebook(env: BuildEnvironment, path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook exactly as myst-nb does, so the cache hashes agree."""
    from myst_nb.core.read import create_nb_reader

    text = Path(path).read_text(encoding="utf-8")
    reader = create_nb_reader(str(path), env.myst_config, env.mystnb_config, text)
    if reader is None:
        raise ValueError(
            f"{path}: not a MyST notebook (its front matter needs jupytext "
            "text_representation format_name: myst)"
        )
    return reader.read(text)


def get_cache(env: BuildEnvironment):
    from jupyter_cache import get_cache as _get_cache

    return _get_cache(env.mystnb_config.execution_cache_path)


def cached_notebook(env: BuildEnvironment, path: str | Path):
    """The executed notebook and its cache record, or (source notebook, None)."""
    notebook = read_notebook(env, path)
    cache = get_cache(env)
    try:
        record = cache.match_cache_notebook(notebook)
    except KeyError:
        return notebook, None
    _, merged = cache.merge_match_into_notebook(notebook)
    return merged, record


def _failed_path(env: BuildEnvironment, path: str | Path) -> Path:
    """Where the partly executed copy of a failing notebook is kept (keyed by its text)."""
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return Path(env.mystnb_config.execution_cache_path).parent / "failed" / f"{Path(path).stem}-{digest}.ipynb"


def failed_notebook(env: BuildEnvironment, path: str | Path):
    """The outputs a failing notebook produced before it stopped, or None."""
    partial = _failed_path(env, path)
    return nbformat.read(str(partial), as_version=4) if partial.is_file() else None


def _execute(payload: tuple[str, str, str, int]) -> tuple[str, str, float, str | None]:
    """Run in a worker process: execute one notebook, return it (partly run if it failed) as JSON."""
    path, notebook_json, cwd, timeout = payload
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = nbformat.reads(notebook_json, as_version=4)
    result = single_nb_execution(notebook, cwd=cwd, timeout=timeout, allow_errors=False, meta_override=True)
    error = None if result.err is None else f"{type(result.err).__name__}: {str(result.err).strip().splitlines()[-1][:300] if str(result.err).strip() else ''}"
    return path, nbformat.writes(notebook), result.time, error


def _on_env_before_read_docs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    if env.mystnb_config.execution_mode != "cache":
        return
    cache = get_cache(env)
    pending = []
    for docname in sorted(env.found_docs):
        if not is_notebook_doc(docname):
            continue
        path = env.doc2path(docname)
        try:
            notebook = read_notebook(env, path)
        except Exception:  # noqa: BLE001 - myst-nb reports unreadable notebooks with their page
            continue
        try:
            cache.match_cache_notebook(notebook)
            continue
        except KeyError:
            pass
        pending.append((str(path), notebook))
    if not pending:
        return
    workers = max(1, min(len(pending), app.config.mapsite_execution_workers or os.cpu_count() or 1))
    logger.info(f"[mapsite] executing {len(pending)} notebook(s) with {workers} kernel(s) in parallel")
    started = time.perf_counter()
    by_path = dict(pending)
    timeout = env.mystnb_config.execution_timeout
    payloads = [(p, nbformat.writes(nb), str(Path(p).parent), timeout) for p, nb in pending]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for path, executed_json, seconds, error in pool.map(_execute, payloads):
            executed = nbformat.reads(executed_json, as_version=4)
            partial = _failed_path(env, path)
            if error is not None:
                # Kept so a mapping page can still compare the values printed before the failure.
                partial.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(executed, str(partial))
                logger.info(f"[mapsite] {path} failed ({error}); myst-nb will report it")
                continue
            partial.unlink(missing_ok=True)
            from jupyter_cache.base import CacheBundleIn

            cache.cache_notebook_bundle(
                CacheBundleIn(executed, path, data={"execution_seconds": seconds}),
                check_validity=False,
                overwrite=True,
            )
            del by_path[path]
    logger.info(f"[mapsite] notebooks executed in {time.perf_counter() - started:.1f} s")


def _on_env_get_outdated(app, env, added, changed, removed) -> list[str]:
    """Pages whose notebook failed last time are read again, so the failure is reported again."""
    failed = []
    for docname, data in getattr(env, "nb_metadata", {}).items():
        exec_data = data.get("exec_data") or {}
        if exec_data and not exec_data.get("succeeded", True) and docname in env.found_docs:
            failed.append(docname)
    return failed


def setup(app: Sphinx) -> dict:
    app.add_config_value("mapsite_execution_workers", 0, "", types=[int])
    app.connect("env-before-read-docs", _on_env_before_read_docs)
    app.connect("env-get-outdated", _on_env_get_outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
