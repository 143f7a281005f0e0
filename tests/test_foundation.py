"""The ground the site stands on: a new account builds it, and an incremental build equals a clean one.

Each test builds a trimmed copy of the project (tools/subset.py) and compares what it
produced with a clean build of the same sources, or makes the failure happen and reads
the message.
"""

from __future__ import annotations

import difflib
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import build_copy, copy_executed_results, sphinx_build
from test_reproducible import normalised

SEED_PAGE = "source/mappings/clip_grad_value_"
SECOND_PAGE = "source/mappings/max"
CATALOGUE_PAGE = "source/catalogue/init"
REPORT_PAGE = "source/execution-report"


def fresh_account(root: Path) -> dict:
    """Environment of an account that has never run Jupyter or IPython."""
    root.mkdir(parents=True, exist_ok=True)
    return {"XDG_DATA_HOME": str(root / "data"), "IPYTHONDIR": str(root / "ipython"),
            "JUPYTER_CONFIG_DIR": str(root / "jupyter-config"), "JUPYTER_RUNTIME_DIR": "", "JUPYTER_DATA_DIR": ""}


def broken_kernels(root: Path) -> dict:
    """Environment in which the python3 kernel cannot start: its interpreter does not exist."""
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(root / "no-such-python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (broken)", "language": "python",
    }))
    return {"JUPYTER_PATH": str(root)}


def log_of(result) -> str:
    return result.stdout + result.stderr


def site_files(html: Path) -> dict[str, str]:
    """What a reader can get from the site, normalised where a build is volatile by design."""
    files = {}
    for path in sorted(html.rglob("*")):
        relative = path.relative_to(html).as_posix()
        if not path.is_file() or relative.startswith(("_static/", ".doctrees/", "_sources/")) or relative in (
                "objects.inv", "searchindex.js", ".buildinfo"):
            continue
        if path.suffix == ".html":
            files[relative] = normalised(path)
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as archive:
                files[relative] = " ".join(sorted(archive.namelist()))
        elif path.suffix == ".ipynb":
            notebook = json.loads(path.read_text(encoding="utf-8"))
            files[relative] = json.dumps([c.get("outputs") for c in notebook["cells"]], sort_keys=True)
        else:
            files[relative] = path.read_text(encoding="utf-8", errors="replace")
    return files


def assert_same_site(incremental: Path, clean: Path) -> None:
    a, b = site_files(incremental), site_files(clean)
    assert sorted(a) == sorted(b), (
        f"files only in the incremental build: {sorted(set(a) - set(b))}; only in the clean one: {sorted(set(b) - set(a))}")
    differing = []
    for name in sorted(a):
        if a[name] != b[name]:
            diff = difflib.unified_diff(a[name].splitlines(), b[name].splitlines(), lineterm="", n=0)
            differing.append(f"{name}:\n" + "\n".join(list(diff)[2:14]))
    assert not differing, "the incremental build differs from a clean one:\n\n" + "\n\n".join(differing)


def clean_build(project: Path, folder: Path, *options: str, reuse_executed: bool = True):
    """A build of ``project`` into the empty ``folder``: no saved environment and no output, so
    everything is read and written anew. With ``reuse_executed`` its caches start as a copy of
    the project's own executed results (keyed on their inputs, as in any build), so what is
    compared is Sphinx's state, not a second run of the same examples."""
    if reuse_executed:
        copy_executed_results(project / "_build", folder)
    return sphinx_build(project, folder / "html", folder, *options)


def with_report(project: Path) -> Path:
    """Add the execution report page to a trimmed project's table of contents."""
    shutil.copyfile(Path(__file__).resolve().parent.parent / f"{REPORT_PAGE}.md", project / f"{REPORT_PAGE}.md")
    index = project / "source" / "index.md"
    index.write_text(index.read_text().replace("mapping-index\n", "mapping-index\n/" + REPORT_PAGE + "\n"))
    return project


def test_a_new_account_builds_the_site(project_copy, tmp_path):
    project = project_copy(SEED_PAGE)
    result = build_copy(project, env=fresh_account(tmp_path / "account"))
    assert result.returncode == 0, f"a build on a new account failed:\n{log_of(result)[-4000:]}"
    assert "[mapsite] executing 1 notebook(s)" in result.stdout


def test_after_a_build_whose_kernels_failed_a_good_build_equals_a_clean_one(project_copy, tmp_path):
    project = with_report(project_copy(SEED_PAGE, SECOND_PAGE))
    failed = build_copy(project, env=broken_kernels(tmp_path / "broken"))
    assert failed.returncode != 0
    assert "failed to execute" in log_of(failed)
    good = build_copy(project)
    assert good.returncode == 0, log_of(good)[-4000:]
    # Executed from scratch: the failed build's records must not be where the clean one's results come from.
    clean = clean_build(project, tmp_path / "clean", reuse_executed=False)
    assert clean.returncode == 0, log_of(clean)[-4000:]
    assert_same_site(project / "_build" / "html", tmp_path / "clean" / "html")
    values = (project / "_build" / "html" / f"{SEED_PAGE}.html").read_text()
    assert "not executed" not in values


def test_deleted_pages_and_notebooks_leave_the_site(project_copy, tmp_path):
    project = with_report(project_copy(SEED_PAGE, SECOND_PAGE, CATALOGUE_PAGE))
    first = build_copy(project)
    assert first.returncode == 0, log_of(first)[-4000:]
    html = project / "_build" / "html"
    assert "notebooks/max.ipynb" in zipfile.ZipFile(html / "notebooks.zip").namelist()
    # Remove one detail page with its notebook, and one catalogue page, from the sources.
    for page in (SECOND_PAGE, "notebooks/max", CATALOGUE_PAGE):
        (project / f"{page}.md").unlink()
    index = project / "source" / "index.md"
    index.write_text("".join(line + "\n" for line in index.read_text().splitlines()
                             if line not in (f"/{SECOND_PAGE}", "/notebooks/max", f"/{CATALOGUE_PAGE}")))
    second = build_copy(project)
    assert second.returncode == 0, log_of(second)[-4000:]
    assert "notebooks/max.ipynb" not in zipfile.ZipFile(html / "notebooks.zip").namelist()
    assert not (html / "notebooks" / "max.ipynb").exists() and not (html / "notebooks" / "max.html").exists()
    assert "torch.max" not in (html / "source" / "mapping-index.html").read_text()
    assert "notebooks/max" not in (html / f"{REPORT_PAGE}.html").read_text()
    exported = json.loads((html / "mappings.json").read_text())
    assert "torch.max" not in {m["pytorch"] for m in exported["mappings"]}
    assert "torch.nn.init.xavier_uniform_" not in {m["pytorch"] for m in exported["mappings"]}
    clean = clean_build(project, tmp_path / "clean")
    assert clean.returncode == 0, log_of(clean)[-4000:]
    assert_same_site(html, tmp_path / "clean" / "html")


DUPLICATE = """# {title}

```{{mapping}}
pytorch: torch.nn.ReLU
namespace: torch.nn
summary: Probe entry.
cases:
  - "randn(2, 3)"
equivalents:
  - api: mindspore.nn.ReLU
    status: consistent
```
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_two_pages_mapping_one_api_fail_serial_and_parallel_builds(probe_project, jobs):
    # Enough pages for Sphinx to read in parallel, with the two duplicates in different chunks.
    pages = {f"source/catalogue/{name}": f"# Page {name}\n\nFiller.\n" for name in "bcdefg"}
    pages["source/catalogue/a-first"] = DUPLICATE.format(title="First")
    pages["source/catalogue/z-second"] = DUPLICATE.format(title="Second")
    project = probe_project(pages)
    # Execution off: the duplicate is found while reading, and nothing need run to see it.
    result = build_copy(project, "-j", jobs, "-D", "nb_execution_mode=off")
    log = log_of(result)
    assert result.returncode != 0, f"-j {jobs}: a duplicate mapping built:\n{log[-3000:]}"
    assert "z-second.md" in log and "torch.nn.ReLU is already mapped in" in log and "a-first.md" in log, log[-3000:]
    # Nothing changed: the next build reports it again rather than trusting the saved state.
    again = build_copy(project, "-j", jobs, "-D", "nb_execution_mode=off")
    assert again.returncode != 0 and "torch.nn.ReLU is already mapped in" in log_of(again)


COUNT_RUNS = """
```{code-cell} ipython3
:tags: [remove-cell]
with open(%r, "a") as runs:
    runs.write("ran\\n")
```
"""


def test_force_reruns_every_notebook_and_check_once(project_copy, tmp_path):
    project = project_copy(SEED_PAGE, SECOND_PAGE)
    runs = tmp_path / "runs.txt"
    notebook = project / "notebooks" / "max.md"
    notebook.write_text(notebook.read_text() + COUNT_RUNS % str(runs))
    first = build_copy(project)
    assert first.returncode == 0, log_of(first)[-4000:]
    assert runs.read_text() == "ran\n"
    forced = build_copy(project, "-D", "nb_execution_mode=force")
    log = log_of(forced)
    assert forced.returncode == 0, log[-4000:]
    assert "[mapsite] executing 2 notebook(s)" in log
    assert "[mapsite] checking 2 mapping(s)" in log
    # myst-nb took the pre-executor's run: the notebook ran once more, not twice.
    assert runs.read_text() == "ran\nran\n"
    page = (project / "_build" / "html" / f"{SEED_PAGE}.html").read_text()
    assert "not executed" not in page


def test_off_builds_without_executing_and_says_so_once(project_copy, tmp_path):
    project = project_copy(SEED_PAGE)
    off = build_copy(project, "-D", "nb_execution_mode=off")
    log = log_of(off)
    assert off.returncode == 0, log[-4000:]
    assert log.count("nb_execution_mode is 'off'") == 1, log[-3000:]
    assert "[mapsite] executing" not in log and "[mapsite] checking" not in log
    page = (project / "_build" / "html" / f"{SEED_PAGE}.html").read_text()
    assert "not executed (execution off)" in page and "did not run in this build" in page
    # Back to the default mode: everything runs, and the site equals a clean build.
    cached = build_copy(project)
    assert cached.returncode == 0, log_of(cached)[-4000:]
    assert "[mapsite] executing 1 notebook(s)" in cached.stdout
    clean = clean_build(project, tmp_path / "clean")
    assert clean.returncode == 0, log_of(clean)[-4000:]
    assert_same_site(project / "_build" / "html", tmp_path / "clean" / "html")


def test_a_bad_setting_is_named(project_copy):
    project = project_copy()
    result = build_copy(project, "-D", "mapsite_execution_workers=-2", "-D", "nb_execution_mode=inline")
    log = log_of(result)
    assert result.returncode != 0
    assert "mapsite_execution_workers = -2" in log and "nb_execution_mode = 'inline'" in log, log[-2000:]


def test_a_set_up_machine_builds_offline_into_a_new_build_folder(site):
    """The session's site is `make html` into a new BUILDDIR (as after `make clean`) in a network
    namespace with loopback only (conftest.make_html_offline): it ran no package client."""
    assert site.offline, "this test needs unshare (util-linux) and the right to make a network namespace"
    # Every page is read; where every result came from the caches (after a `make html`), nothing
    # ran, and no preloader was started.
    if "[mapsite] executing" not in site.log and "[mapsite] checking" not in site.log:
        assert "[mapsite] starting the preloader" not in site.log
    assert "npm " not in site.log and "pip install" not in site.log, site.log[:3000]
    assert (site.html / "source" / "index.html").is_file()


def test_the_sidebar_resolved_once_per_build_equals_sphinx_resolving_it_per_page(project_copy, tmp_path):
    """mapsite.navigation hands every page a copy of one resolved sidebar; Sphinx's own path, per
    page, must give the same HTML (current page marked, links relative to each page)."""
    project = project_copy(CATALOGUE_PAGE, "source/catalogue/tensor-ops", SECOND_PAGE)
    memoised = build_copy(project)
    assert memoised.returncode == 0, log_of(memoised)[-4000:]
    folder = tmp_path / "per-page"
    per_page = clean_build(project, folder, "-D", "mapsite_memoise_navigation=0")
    assert per_page.returncode == 0, log_of(per_page)[-4000:]
    assert_same_site(project / "_build" / "html", folder / "html")
    page = (folder / "html" / f"{CATALOGUE_PAGE}.html").read_text()
    assert 'class="current reference internal" href="#"' in page
