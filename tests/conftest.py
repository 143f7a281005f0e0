"""Shared fixtures: the site is built once per session; browser tests share one browser."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "_ext"))

import pageweight  # noqa: E402
from mapsite.runner import STRICT, framework_env, run_sphinx  # noqa: E402
from pageweight import CHROMIUM_ARGS, serve  # noqa: E402


def pinned(package: str) -> str:
    """The version requirements.txt pins for a package."""
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower() == package:
            return version.strip()
    raise LookupError(f"requirements.txt pins no {package}")


CHROMIUM = Path(pageweight.CHROMIUM)
SCREENSHOTS = ROOT / "_build" / "screenshots"


@dataclass
class Site:
    html: Path
    cache: Path
    log: str
    offline: bool = False  # built with the network cut off

    def soup(self, page: str) -> BeautifulSoup:
        return BeautifulSoup((self.html / page).read_text(encoding="utf-8"), "html.parser")


def sphinx_build(source: Path, out: Path, cache: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A strict build of ``source`` into ``out``, with its caches in ``cache``."""
    return run_sphinx(source, out, *extra, "-D", f"mapsite_cache_dir={cache}", env=env)


# Executed results a `make html` left in _build, keyed by each notebook's and entry's content, the
# check engine and the framework versions, so a copy only ever supplies results for unchanged inputs.
REUSABLE_CACHES = (".jupyter_cache", ".check_cache")


def copy_executed_results(source: Path, cache: Path) -> list[str]:
    """Copy the executed results kept in the build folder ``source`` into the cache folder ``cache``."""
    import shutil

    copied = []
    for name in REUSABLE_CACHES:
        if (source / name).is_dir():
            shutil.copytree(source / name, cache / name)
            copied.append(name)
    return copied


def reuse_executed_results(cache: Path) -> list[str]:
    """Copy the last `make html`'s executed results into a test build's cache folder, unless
    MAPSITE_TEST_FRESH=1 (then the session build executes everything itself, as CI's does)."""
    import os

    if os.environ.get("MAPSITE_TEST_FRESH"):
        return []
    return copy_executed_results(ROOT / "_build", cache)


def make_html_offline(builddir: Path, *options: str) -> tuple[subprocess.CompletedProcess, bool]:
    """`make html` into a new BUILDDIR, as a set-up machine runs it after `make clean`: in a network
    namespace of its own (loopback only) where unshare can make one. Returns the run and whether
    the network was cut off."""
    import shutil

    command = ["make", "--no-print-directory", "-C", str(ROOT), "html", f"BUILDDIR={builddir}",
               "SPHINXOPTS=" + " ".join([*STRICT, *options])]

    def run(argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, capture_output=True, text=True, check=False, env=framework_env(), timeout=1800)

    if shutil.which("unshare"):
        result = run(["unshare", "--net", *command])
        if "unshare failed" not in result.stderr:
            return result, True
    return run(command), False


def built_once(name: str, tmp_path_factory, build) -> dict:
    """``build(folder)`` once per test session, also when `make test` runs on several pytest-xdist
    workers: the first worker to ask builds under a lock, and the others wait and read what it
    returned (a JSON-able dict). A build that failed is tried again by the next one to ask."""
    import fcntl
    import json
    import os

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder all workers' temporary folders share
    record = root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.is_file():
            return json.loads(record.read_text(encoding="utf-8"))
        folder = root / name
        folder.mkdir(exist_ok=True)
        result = build(folder)
        record.write_text(json.dumps(result), encoding="utf-8")
        return result


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Site:
    """The README's build (`make html`, strict) of the whole site into a new build folder with the
    network cut off, from the executed results of the last `make html` where their inputs are
    unchanged (the drift, cache and probe tests execute from scratch in their own projects).
    Built once per session, whichever test worker asks first."""
    def build(root: Path) -> dict:
        reuse_executed_results(root / "cache")
        result, offline = make_html_offline(root, "-D", f"mapsite_cache_dir={root / 'cache'}")
        log = result.stdout + result.stderr
        assert result.returncode == 0, f"the site build failed:\n{log[-6000:]}"
        return {"root": str(root), "log": log, "offline": offline}

    built = built_once("site", tmp_path_factory, build)
    root = Path(built["root"])
    return Site(html=root / "html", cache=root / "cache", log=built["log"], offline=built["offline"])


@pytest.fixture(scope="session")
def second_site(site, tmp_path_factory) -> Site:
    """Another clean build, in parallel (-j 2), into an empty output folder.

    It starts from a copy of the first build's caches: what it tests is that reading and
    writing in parallel gives the same site, not that the examples run again (the downloaded
    notebooks are re-executed by tests/test_downloads.py, and every cached result is keyed on
    its sources and the framework versions)."""
    import shutil

    def build(root: Path) -> dict:
        shutil.copytree(site.cache, root / "cache")
        result = sphinx_build(ROOT, root / "html", root / "cache", "-j", "2")
        log = result.stdout + result.stderr
        assert result.returncode == 0, f"the parallel build failed:\n{log[-6000:]}"
        return {"root": str(root), "log": log}

    built = built_once("second-site", tmp_path_factory, build)
    root = Path(built["root"])
    return Site(html=root / "html", cache=root / "cache", log=built["log"])


@pytest.fixture(scope="session")
def served_site(site):
    """The built site over HTTP on a free loopback port."""
    with serve(site.html) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is needed at /usr/bin/chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, served_site):
    """A fresh page that records console errors and any request leaving the machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.console_errors = []
    tab.outside_requests = []
    tab.on("console", lambda msg: msg.type == "error" and tab.console_errors.append(msg.text))
    tab.on("pageerror", lambda exc: tab.console_errors.append(str(exc)))
    tab.on("request", lambda req: not req.url.startswith(served_site) and tab.outside_requests.append(req.url))
    yield tab
    context.close()


def screenshot(tab, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def project_copy(tmp_path):
    """Make a trimmed copy of the project: project_copy(pages) -> path."""
    from subset import make_subset

    def make(*pages: str) -> Path:
        return make_subset(tmp_path / "project", list(pages))

    return make


PATCH_ON_IMPORT = """
import builtins, sys
_import = builtins.__import__

%s

def _hooked(name, *args, **kwargs):
    result = _import(name, *args, **kwargs)
    module = sys.modules.get(%r)
    real = getattr(module, %r, None)
    # Patched again after every import: a later star-import may restore the original.
    if real is not None and not getattr(real, "drifted", False):
        replacement = make(real)
        replacement.drifted = True
        setattr(module, %r, replacement)
    return result

builtins.__import__ = _hooked
"""


def patch_on_import(folder: Path, module: str, attribute: str, make_source: str) -> dict:
    """Environment for a build in which ``module.attribute`` is replaced as soon as it is imported.

    ``make_source`` defines ``make(real)``, returning the replacement. The sitecustomize goes on
    PYTHONPATH, so the Sphinx process, the checker and every kernel run with the drifted API.
    """
    import textwrap

    folder.mkdir(parents=True, exist_ok=True)
    code = PATCH_ON_IMPORT % (textwrap.dedent(make_source).strip(), module, attribute, attribute)
    (folder / "sitecustomize.py").write_text(code)
    return {"PYTHONPATH": str(folder)}


def build_copy(project: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """A strict build of a project copy into its own ``_build/html``; ``env`` adds variables."""
    return run_sphinx(project, None, *extra, env=env)


def make_probe(folder: Path, documents: dict[str, str]) -> Path:
    """A trimmed project in ``folder`` with only ``documents`` ({docname: MyST text}) and the index of mappings."""
    from subset import make_subset

    project = make_subset(folder, [])
    for docname, text in documents.items():
        target = project / f"{docname}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    toc = ["mapping-index"] + [f"/{d}" for d in documents]
    (project / "source" / "index.md").write_text("# Probe\n\n```{toctree}\n" + "\n".join(toc) + "\n```\n")
    return project


@pytest.fixture
def probe_project(tmp_path):
    """make_probe for one test: probe_project(pages, notebooks) -> path."""
    def make(pages: dict[str, str], notebooks: dict[str, str] | None = None) -> Path:
        return make_probe(tmp_path / "probe", {**pages, **(notebooks or {})})

    return make
