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
from mapsite.runner import STRICT, framework_env, run_sphinx, sphinx_command  # noqa: E402
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
    parallel: "Started | None" = None  # the -j 2 build started beside this one, if any

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


@dataclass
class Started:
    """A build running in the background: its process, output folder and log file."""
    process: subprocess.Popen
    root: Path
    log: Path


def start_parallel_build(root: Path) -> Started:
    """The -j 2 build of the whole site into ``root``, from the last `make html`'s executed results."""
    copy_executed_results(ROOT / "_build", root / "cache")
    log = root / "build.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            sphinx_command(ROOT, root / "html", "-j", "2", "-D", f"mapsite_cache_dir={root / 'cache'}"),
            stdout=output, stderr=subprocess.STDOUT, env=framework_env())
    return Started(process, root, log)


@pytest.fixture(scope="session")
def site(request, tmp_path_factory) -> Site:
    """The README's build (`make html`, strict) of the whole site into a new build folder with the
    network cut off, from the executed results of the last `make html` where their inputs are
    unchanged (the drift, cache and probe tests execute from scratch in their own projects).

    If this session also needs the parallel build (second_site) and those results exist, that
    build starts first and runs beside this one: two builds on two cores take about the time of
    one and a half."""
    root = tmp_path_factory.mktemp("site")
    parallel = None
    if reuse_executed_results(root / "cache") and any(
            "second_site" in item.fixturenames for item in request.session.items):
        parallel = start_parallel_build(tmp_path_factory.mktemp("second-site"))
        request.addfinalizer(lambda: parallel.process.poll() is None and parallel.process.kill())
    result, offline = make_html_offline(root, "-D", f"mapsite_cache_dir={root / 'cache'}")
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"the site build failed:\n{log[-6000:]}"
    return Site(html=root / "html", cache=root / "cache", log=log, offline=offline, parallel=parallel)


@pytest.fixture(scope="session")
def second_site(site, tmp_path_factory) -> Site:
    """Another clean build, in parallel (-j 2), into an empty output folder.

    It starts from the executed results the first build started from (a copy of the last
    `make html`'s, or else of the first build's own): what it tests is that reading and writing
    in parallel gives the same site, not that the examples run again (the downloaded notebooks
    are re-executed by tests/test_downloads.py, and every cached result is keyed on its sources
    and the framework versions)."""
    import shutil

    if site.parallel is not None:  # started beside the first build
        started = site.parallel
        code = started.process.wait(timeout=1800)
        root, log = started.root, started.log.read_text(encoding="utf-8")
    else:
        root = tmp_path_factory.mktemp("second-site")
        shutil.copytree(site.cache, root / "cache")
        result = sphinx_build(ROOT, root / "html", root / "cache", "-j", "2")
        code, log = result.returncode, result.stdout + result.stderr
    assert code == 0, f"the parallel build failed:\n{log[-6000:]}"
    return Site(html=root / "html", cache=root / "cache", log=log)


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
