"""Execute every example notebook before Sphinx reads any page.

Sphinx hands ``-j`` workers consecutive documents, so two notebooks next to each
other would run one after the other. Instead, at ``env-before-read-docs`` the
notebooks to run are executed in a process pool (one kernel per core) and the
successes stored in myst-nb's jupyter-cache, where mapping pages read them.

myst-nb's execution modes keep their meaning:

* ``cache`` (the site's default): a notebook runs when no valid cached result exists.
* ``force``: every notebook and every mapping check runs again; every page that shows
  an executed result is read again.
* ``off``: nothing runs; the build says so once, and every page says its values were
  not checked.

Kernels come from the preloader (mapsite.preload) when ``mapsite_preload_modules``
names modules: each is a fresh process forked after torch and mindspore were imported.
Their sockets live in the build's own temporary folder, never in Jupyter's runtime folder.

myst-nb, which would execute a notebook itself while reading its page, gets this build's
run instead (``run_once``, patched in by mapsite.shims), so each notebook runs once per
build, and a failure is reported with its page like any other. Executions go through
``run_notebook``, which returns a kernel that died or never started as a failure instead
of raising (that would stop the whole build), and starts the report with a sentence
saying what went wrong and where.

Every page records which cached result it showed (``note_execution``); a page whose
result was missing or is gone is read again, so an incremental build equals a clean one.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from multiprocessing import get_context
from pathlib import Path

import nbformat
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging
from sphinx.util.console import bold

logger = logging.getLogger(__name__)

NOTEBOOK_PREFIX = "notebooks/"
# Said once when nb_execution_mode is "off"; every page then says its values were not checked.
NOT_EXECUTED = ("[mapsite] nb_execution_mode is 'off': no notebook or check runs in this build, so no "
                "documented value and no status on this site was checked against the frameworks")


def worker_count(app: Sphinx, jobs: int) -> int:
    """Processes to run `jobs` in: one per core (or mapsite_execution_workers), never more than jobs."""
    return max(1, min(jobs, app.config.mapsite_execution_workers or os.cpu_count() or 1))


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


def cell_name(notebook, index: int | None) -> str:
    """A cell as myst-nb numbers it on the notebook's page, with the line where it starts."""
    if index is None:
        return "a cell"
    source_map = notebook.metadata.get("source_map") or []
    return f"cell {index + 1}" + (f" (line {source_map[index]})" if index < len(source_map) else "")


def describe_failure(error: BaseException, notebook, cell_index: int | None, timeout) -> str:
    """What went wrong, in words; cells are numbered as myst-nb numbers them, lines are the cell's first."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    where = cell_name(notebook, cell_index)
    if isinstance(error, CellTimeoutError):
        return f"{where} timed out after {timeout} s (nb_execution_timeout); the kernel was stopped"
    if isinstance(error, DeadKernelError):
        return (f"the kernel died while running {where}: the Python process exited "
                "(os._exit, a crash in native code, or out of memory)")
    if isinstance(error, NoSuchKernel):
        installed = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
        return (f"no such kernel {error.name!r}: the kernelspec name in the notebook's front matter "
                f"is not an installed kernel (installed: {installed})")
    if isinstance(error, CellExecutionError):
        return f"{where} raised {error.ename}: {error.evalue}"[:300]
    return f"the kernel failed: {type(error).__name__}: {error}"[:300]


def merge_streams(notebook) -> None:
    """Join consecutive stdout (or stderr) outputs of a cell into one.

    The kernel flushes a cell's prints in chunks whose boundaries depend on timing, so the
    same code can give one output or several; joined, every build stores the same notebook.
    """
    for cell in notebook.cells:
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (output.get("output_type") == "stream" and previous is not None
                    and previous.get("output_type") == "stream" and previous.get("name") == output.get("name")):
                previous["text"] = previous["text"] + output["text"]
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged


def run_notebook(nb, cwd, timeout, allow_errors=False, meta_override=True, **kwargs):
    """jupyter-cache's ``single_nb_execution``, for the pre-executor and (patched in) for myst-nb.

    That function returns a failing cell or a timeout, but raises when the kernel dies or cannot
    start; in myst-nb's read phase that aborts the build and no other page is reported. Here every
    failure comes back as a failed result, and ``exc_string`` starts with ``describe_failure``.
    """
    from jupyter_cache.executors.utils import ExecutionResult, single_nb_execution
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    running: list[int] = []  # the cell being run when the kernel dies, from nbclient's hook
    started = time.perf_counter()
    try:
        result = single_nb_execution(
            nb, cwd=cwd, timeout=timeout, allow_errors=allow_errors, meta_override=meta_override,
            on_cell_execute=lambda cell, cell_index: running.append(cell_index), **kwargs,
        )
    except Exception as exc:  # noqa: BLE001 - DeadKernelError, NoSuchKernel, a kernel that never started
        result = ExecutionResult(nb, cwd, time.perf_counter() - started, exc, traceback.format_exc())
    merge_streams(nb)
    if result.err is not None:
        if meta_override:
            timeout = nb.metadata.get("execution", {}).get("timeout", timeout)
        summary = describe_failure(result.err, nb, running[-1] if running else None, timeout)
        # The error's own text holds the cell and its traceback; nbclient's stack is noise then.
        known = (CellExecutionError, CellTimeoutError, DeadKernelError, NoSuchKernel)
        detail = str(result.err) if isinstance(result.err, known) else result.exc_string
        result.exc_string = f"{summary}\n{detail}"
    return result


# Every notebook the pre-executor ran in this build, by its sources: myst-nb, which executes
# a notebook it does not find cached (mode "cache") or every notebook it reads (mode "force"),
# gets this build's run instead of a second one. Sphinx's parallel readers are forked after
# the pre-executor, so they inherit it. Values: (notebook JSON, seconds, error name, report).
_RUNS: dict[str, tuple[str, float, str | None, str | None]] = {}


def _sources_key(notebook) -> str:
    return hashlib.sha256(repr([(c.cell_type, c.source) for c in notebook.cells]).encode()).hexdigest()


def run_once(nb, cwd, timeout, allow_errors=False, meta_override=True, **kwargs):
    """myst-nb's notebook execution (see mapsite.shims): reuse this build's run, or run it."""
    from jupyter_cache.executors.utils import ExecutionResult

    run = _RUNS.pop(_sources_key(nb), None)
    if run is None:
        return run_notebook(nb, cwd, timeout, allow_errors=allow_errors, meta_override=meta_override, **kwargs)
    executed_json, seconds, error_name, report = run
    executed = nbformat.reads(executed_json, as_version=4)
    nb.cells = executed.cells  # in place: myst-nb renders the notebook object it passed in
    nb.metadata.update({k: v for k, v in executed.metadata.items() if k != "mapsite_failure"})
    if error_name is None:
        return ExecutionResult(nb, cwd, seconds, None, None)
    # myst-nb reports the error by its class name, and then the report text.
    error = type(error_name, (RuntimeError,), {})(report.partition("\n")[0])
    return ExecutionResult(nb, cwd, seconds, error, report)


def _execute(payload: tuple[str, str, str, int, str | None, str]) -> tuple[str, str, float, tuple[str, str] | None]:
    """Run in a worker process: execute one notebook, return it (partly run if it failed) as JSON,
    with the error's class name and report if it failed."""
    path, notebook_json, cwd, timeout, preloader, ipc_dir = payload
    notebook = nbformat.reads(notebook_json, as_version=4)
    from .preload import kernel_manager_class

    result = run_notebook(notebook, cwd=cwd, timeout=timeout, allow_errors=False, meta_override=True,
                          kernel_manager_class=kernel_manager_class(preloader, ipc_dir))
    error = None if result.err is None else (type(result.err).__name__, result.exc_string)
    return path, nbformat.writes(notebook), result.time, error


MINDSPORE_IMPORT = re.compile(r"^\s*(?:import|from)\s+mindspore\b", re.M)
BLOCKING_CALL = "ms.runtime.launch_blocking()"


def _require_blocking_launches(docname: str, path: str | Path, notebook) -> None:
    """A notebook that imports MindSpore must make its operators run one after the other.

    MindSpore on the CPU launches operators asynchronously: an error that a cell catches on purpose
    can be raised a second time at a later, unrelated call when the machine is busy (seen: a
    GroupNorm dtype error re-raised by reading the next result's dtype). Synchronous launches
    make every run of the notebook, the build's and the reader's, raise it once, where it belongs.
    """
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    if not MINDSPORE_IMPORT.search(code) or "launch_blocking()" in code:
        return
    text = Path(path).read_text(encoding="utf-8")
    line = next((n for n, row in enumerate(text.splitlines(), 1) if MINDSPORE_IMPORT.match(row)), 1)
    logger.warning(
        f"imports MindSpore without {BLOCKING_CALL}: add it after the import, or an error a cell "
        "catches can be raised again at a later call (MindSpore launches CPU operators asynchronously)",
        location=(docname, line), type="mapsite", subtype="notebook")


def _on_env_before_read_docs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    mode = env.mystnb_config.execution_mode
    app.mapsite_notebooks_read = sorted(d for d in docnames if is_notebook_doc(d))
    if mode == "off":
        logger.info(bold(NOT_EXECUTED))
        return
    cache = get_cache(env)
    pending = []
    # Only notebooks Sphinx is about to read can need a run: unchanged ones were cached when
    # they were last read, and a new framework version makes Sphinx read everything again.
    # In "force" mode every notebook is read (see _on_env_get_outdated) and runs again.
    for docname in app.mapsite_notebooks_read:
        path = env.doc2path(docname)
        try:
            notebook = read_notebook(env, path)
        except Exception:  # noqa: BLE001 - myst-nb reports unreadable notebooks with their page
            continue
        _require_blocking_launches(docname, path, notebook)
        if mode == "cache":
            try:
                cache.match_cache_notebook(notebook)
                continue
            except KeyError:
                pass
        pending.append((str(path), notebook))
    if not pending:
        return
    start_preloader(app)
    workers = worker_count(app, len(pending))
    modules = app.config.mapsite_preload_modules  # mapsite.settings dropped the empty names
    logger.info(f"[mapsite] executing {len(pending)} notebook(s) with {workers} kernel(s) in parallel"
                + (f", forked from a process that imported {', '.join(modules)}" if modules else ""))
    started = time.perf_counter()
    by_path = dict(pending)
    timeout = env.mystnb_config.execution_timeout
    with ExitStack() as stack:
        socket_path = use_preloader(app)
        # The kernels' ipc sockets go into the build's own folder (mode 0700, short path, removed
        # afterwards): Jupyter's runtime folder may not exist on a new account.
        folder = app.mapsite_preloader_folder if socket_path else stack.enter_context(
            tempfile.TemporaryDirectory(prefix="mapsite-"))
        payloads = [(p, nbformat.writes(nb), str(Path(p).parent), timeout, socket_path, folder) for p, nb in pending]
        _run_pool(env, cache, payloads, by_path, workers)
    logger.info(f"[mapsite] notebooks executed in {time.perf_counter() - started:.1f} s")


# -- the build's preloader ------------------------------------------------------------------
# One per build (mapsite.preload), started when there is something to run: kernels for the
# notebooks and then the mapping checker are forked from it, so the frameworks are imported
# once per build. In its own folder (mode 0700, short path) with the kernels' ipc sockets.

def start_preloader(app: Sphinx) -> None:
    """Start this build's preloader if there is none, unless mapsite_preload_modules is empty.
    Only the build's main process starts one (a -j reader is a fork of it)."""
    modules = app.config.mapsite_preload_modules  # mapsite.settings dropped the empty names
    if getattr(app, "mapsite_preloader", None) is not None or not modules:
        return
    if getattr(app, "mapsite_main_pid", os.getpid()) != os.getpid():
        return
    from .preload import Preloader

    logger.info(f"[mapsite] starting the preloader (importing {', '.join(modules)} once for this build)")
    app.mapsite_preloader_folder = tempfile.mkdtemp(prefix="mapsite-")
    app.mapsite_preloader = Preloader(Path(app.mapsite_preloader_folder) / "preloader.sock", modules)
    app.mapsite_preloader.used = False


def use_preloader(app: Sphinx) -> str | None:
    """The socket of this build's preloader, if one was started; None: start processes as usual."""
    preloader = getattr(app, "mapsite_preloader", None)
    if preloader is None:
        return None
    preloader.used = True
    return preloader.socket_path


def stop_preloader(app: Sphinx) -> None:
    """Stop this build's preloader; if anything asked it for a process, warn once if it could not fork."""
    import shutil

    preloader = getattr(app, "mapsite_preloader", None)
    if preloader is None or app.mapsite_main_pid != os.getpid():  # -j readers are forks: not theirs to stop
        return
    app.mapsite_preloader = None
    failure = preloader.used and preloader.failure()
    preloader.__exit__(None, None, None)
    shutil.rmtree(app.mapsite_preloader_folder, ignore_errors=True)
    if failure:
        logger.warning(f"mapsite_preload_modules in conf.py: {failure}", type="mapsite", subtype="preload")


def _run_pool(env: BuildEnvironment, cache, payloads: list, by_path: dict, workers: int) -> None:
    """Execute the payloads in a pool of worker processes; cache successes, keep failures aside."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_execute, payload): payload for payload in payloads}
        for future in as_completed(futures):
            path = futures[future][0]
            try:
                path, executed_json, seconds, failure = future.result()
                executed = nbformat.reads(executed_json, as_version=4)
                error = failure and failure[1].partition("\n")[0]
                _RUNS[_sources_key(by_path[path])] = (executed_json, seconds, *(failure or (None, None)))
            except Exception as exc:  # noqa: BLE001 - a worker that died (BrokenProcessPool) fails its notebook only
                executed, seconds = by_path[path], 0.0
                error = f"the execution worker failed: {type(exc).__name__}: {exc}"
            partial = _failed_path(env, path)
            if error is not None:
                # Kept so a mapping page can still compare the values printed before the failure,
                # and say why it failed.
                executed.metadata["mapsite_failure"] = error
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


# -- which executed result each page shows ---------------------------------------------------
# A page shows an executed notebook either as a notebook page or embedded by {example}. Each
# records here which cache record it showed (None: none, it failed or was not executed). A page
# whose record is gone or was never there is read again, so an incremental build shows the same
# results as a clean one, and a value that was not executed is reported on every build.

def executions(env: BuildEnvironment) -> dict[str, dict[str, int | None]]:
    if not hasattr(env, "mapsite_executions"):
        env.mapsite_executions = {}
    return env.mapsite_executions


def note_execution(env: BuildEnvironment, docname: str, notebook_path: str | Path, record) -> None:
    """Record that ``docname`` shows ``notebook_path``'s result from cache record ``record`` (or none)."""
    executions(env).setdefault(docname, {})[str(notebook_path)] = None if record is None else record.pk


def _on_doctree_read(app: Sphinx, doctree) -> None:
    env = app.env
    if not is_notebook_doc(env.docname):
        return
    path = env.doc2path(env.docname)
    record = None
    if env.mystnb_config.execution_mode != "off":
        try:
            record = cached_notebook(env, path)[1]
        except Exception:  # noqa: BLE001 - an unreadable notebook is reported by myst-nb
            record = None
    note_execution(env, env.docname, path, record)


def _on_env_get_outdated(app, env, added, changed, removed) -> list[str]:
    """Pages to read again although their sources did not change.

    "force": every page that shows an executed notebook (the notebooks run again). Otherwise:
    every page that showed no executed result, or one that is no longer in the cache.
    """
    shown = {d: paths for d, paths in executions(env).items() if d in env.found_docs}
    if env.mystnb_config.execution_mode == "force":
        return sorted(shown)
    if env.mystnb_config.execution_mode == "off":
        return []
    valid = {record.pk for record in get_cache(env).list_cache_records()} if shown else set()
    return sorted(d for d, paths in shown.items() if any(pk not in valid for pk in paths.values()))


def _on_purge(app, env, docname) -> None:
    executions(env).pop(docname, None)


def _on_build_finished(app: Sphinx, exception) -> None:
    """Drop myst-nb's error log of a notebook that now ran (a clean build has none)."""
    stop_preloader(app)  # normally stopped after the checks; not if the build failed before them
    if exception is not None:
        return
    for docname, paths in executions(app.env).items():
        if is_notebook_doc(docname) and all(pk is not None for pk in paths.values()):
            Path(app.outdir, "reports", f"{docname}.err.log").unlink(missing_ok=True)


def _on_merge(app, env, docnames, other) -> None:
    for docname in docnames:
        if docname in executions(other):
            executions(env)[docname] = executions(other)[docname]


def setup(app: Sphinx) -> dict:
    app.mapsite_main_pid = os.getpid()
    app.connect("env-before-read-docs", _on_env_before_read_docs)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.connect("doctree-read", _on_doctree_read)
    app.connect("env-purge-doc", _on_purge)
    app.connect("env-merge-info", _on_merge)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
