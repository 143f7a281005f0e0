"""The execution cache is honest: nothing re-runs without a reason, a framework upgrade re-runs everything."""

from __future__ import annotations

from bs4 import BeautifulSoup

from conftest import build_copy

SEED_PAGE = "source/mappings/clip_grad_value_"
FAKE_UPGRADE = '''
import importlib.metadata as metadata
_real_version = metadata.version

def version(name):
    return "9.9.9" if name == "torch" else _real_version(name)

metadata.version = version
'''


def test_rebuilds_execute_only_what_changed_and_everything_after_an_upgrade(project_copy, tmp_path):
    project = project_copy(SEED_PAGE)
    first = build_copy(project)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "[mapsite] executing 1 notebook(s)" in first.stdout

    unchanged = build_copy(project)
    assert unchanged.returncode == 0
    assert "[mapsite] executing" not in unchanged.stdout
    assert "[mapsite] checking" not in unchanged.stdout

    # A new torch release (as package metadata reports it) re-executes notebooks and checks.
    hook = tmp_path / "upgrade"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FAKE_UPGRADE)
    upgraded = build_copy(project, env={"PYTHONPATH": str(hook)})
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    assert "[mapsite] executing 1 notebook(s)" in upgraded.stdout
    assert "[mapsite] checking 1 mapping(s)" in upgraded.stdout
    page = BeautifulSoup((project / "_build/html" / f"{SEED_PAGE}.html").read_text(), "html.parser")
    assert "torch 9.9.9" in page.select_one(".provenance").get_text()


def test_editing_one_entry_rechecks_only_that_entry(project_copy):
    """Check results are cached per entry: a page of many entries, one edited, one re-check."""
    project = project_copy("source/catalogue/activations")
    page = project / "source" / "catalogue" / "activations.md"
    entries = page.read_text().count("```{mapping}")
    first = build_copy(project)
    assert first.returncode == 0, (first.stdout + first.stderr)[-3000:]
    assert f"[mapsite] checking {entries} mapping(s)" in first.stdout
    text = page.read_text()
    start = text.index("pytorch: torch.nn.Sigmoid\n")
    cases = text.index("cases:\n", start) + len("cases:\n")
    page.write_text(text[:cases] + '  - "randn(7)"\n' + text[cases:])
    edited = build_copy(project)
    assert edited.returncode == 0, (edited.stdout + edited.stderr)[-3000:]
    assert "[mapsite] checking 1 mapping(s) in 1 process(es), forked from the kernels' preloader" in edited.stdout
    # Nothing changed: no preloader, no check.
    again = build_copy(project)
    assert again.returncode == 0 and "[mapsite] starting the preloader" not in again.stdout, again.stdout[-3000:]
    assert "randn(7)" in (project / "_build/html/source/catalogue/activations.html").read_text()
