"""The status taxonomy: consistent, renamed, differs, none; and the separate fact that a row
could not run on the CPU (``cpu: no-kernel``), which is checked, shown and exported as such."""

from __future__ import annotations

import json

import pytest

from conftest import build_copy, pinned
from mapsite.checker import missing_kernel, raised

ENTRY = """# Probe

```{mapping}
pytorch: %s
namespace: torch
summary: Probe entry.
cases:
%s
equivalents:
%s
```
"""
ONE_TENSOR = '  - "randn(2, 3)"\n  - "randn(4)"'
BROADCAST = '  - "randn(3, 1), (3, 4)"\n  - "input=randn(4), size=(2, 3, 4)"'


def build_probe(probe_project, pytorch: str, equivalents: str, cases: str = ONE_TENSOR):
    project = probe_project({"source/catalogue/probe": ENTRY % (pytorch, cases, equivalents)})
    result = build_copy(project)
    return project, result.returncode, result.stdout + result.stderr


def test_a_row_marked_no_kernel_that_runs_on_cpu_fails_the_build(probe_project):
    _, code, log = build_probe(probe_project, "torch.nn.functional.relu", """\
  - api: mindspore.ops.relu
    status: consistent
    cpu: no-kernel
    note: Probe.
    translation: "ops.relu"
""")
    assert code != 0
    assert "mindspore.ops.relu now runs on CPU" in log and "verify this entry" in log, log[-3000:]
    assert "source/catalogue/probe.md" in log


def test_a_renamed_row_is_checked_through_its_translation(probe_project):
    project, code, log = build_probe(probe_project, "torch.broadcast_to", """\
  - api: mindspore.ops.broadcast_to
    status: renamed
    note: The target shape is called shape, not size.
    translation: "lambda input, size: ops.broadcast_to(input, size)"
""", BROADCAST)
    assert code == 0, log[-3000:]
    exported = json.loads((project / "_build" / "html" / "mappings.json").read_text())
    assert exported["schema_version"] == 2
    row = exported["mappings"][0]["equivalents"][0]
    assert row["status"] == "renamed" and row["status_verified"] and row["runs_on_cpu"]
    page = (project / "_build" / "html" / "source" / "catalogue" / "probe.html").read_text()
    assert 'class="mapping-status status-renamed"' in page


def test_a_renamed_row_without_translation_is_malformed(probe_project):
    _, code, log = build_probe(probe_project, "torch.clamp", """\
  - api: mindspore.ops.clip_by_value
    status: renamed
    note: Probe.
""")
    assert code != 0
    assert "equivalents[0].translation: a renamed row needs the translation that makes it agree" in log


def test_no_kernel_rows_are_shown_and_exported_as_unverified(site):
    exported = json.loads((site.html / "mappings.json").read_text())
    gelu = next(m for m in exported["mappings"] if m["pytorch"] == "torch.nn.GELU")
    mint = next(eq for eq in gelu["equivalents"] if eq["api"] == "mindspore.mint.nn.GELU")
    assert mint["status"] == "consistent" and mint["cpu"] == "no-kernel"
    assert mint["status_verified"] is False and mint["runs_on_cpu"] is False
    label = f"not run: no CPU kernel in MindSpore {pinned('mindspore')}, status unverified"
    page = site.soup("source/mappings/GELU.html")
    assert label in page.select_one(".mapping-equivalents").get_text()
    assert "still fails on the CPU, as expected" in page.get_text()
    index = site.soup("source/mapping-index.html")
    assert index.select_one("option[value='cpu-no-kernel']") is not None
    assert label in index.get_text()


@pytest.mark.unit
@pytest.mark.parametrize("outcome,missing", [
    ("raises RuntimeError: The kernel GeluExt unregistered.", True),
    ("raises RuntimeError: Not found op FuncMaxPool2D on device CPU", True),
    ("raises RuntimeError: Create kernelmod for op LayerNormExt failed", True),
    ("raises NotImplementedError: einsum only supports Ascend", True),
    ("raises NotImplementedError: new_full method support Ascend only", True),
    ("raises TypeError: std_ext() got an unexpected keyword argument 'unbiased'", False),
    ("float32[2, 3]", False),
])
def test_missing_kernel_is_told_from_other_failures(outcome, missing):
    assert missing_kernel(outcome) is missing


@pytest.mark.unit
def test_a_kernel_selection_error_is_seen_past_its_blank_first_line():
    error = RuntimeError("\n----------------------------------------------------\n- Kernel select failed:\n"
                         "Unsupported op [Fmin] on CPU, Input data_type: kNumberTypeFloat32")
    shown = raised(error)
    assert shown.startswith("raises RuntimeError: ") and "Unsupported op [Fmin] on CPU" in shown
    assert missing_kernel(shown)


def test_a_default_that_differs_must_be_in_the_note(probe_project):
    """Defaults are compared by introspection: mindspore.nn.GELU's approximate=True vs PyTorch's 'none'."""
    equivalent = """\
  - api: mindspore.nn.GELU
    status: differs
    note: %s
    translation: "mindspore.nn.GELU(approximate=False)"
"""
    project, code, log = build_probe(probe_project, "torch.nn.GELU", equivalent % "Probe that says nothing of it.")
    assert code != 0
    assert ("the default of approximate differs (PyTorch 'none', mindspore.nn.GELU True) "
            "and the note does not mention approximate") in log, log[-3000:]
    page_source = project / "source" / "catalogue" / "probe.md"
    page_source.write_text(page_source.read_text().replace("Probe that says nothing of it.", "approximate defaults to True."))
    result = build_copy(project)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    page = (project / "_build" / "html" / "source" / "catalogue" / "probe.html").read_text()
    assert "Defaults that differ, read from both signatures" in page
