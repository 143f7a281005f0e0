"""Bad input gets a clear error naming the file and what is wrong."""

from __future__ import annotations

import re

import pytest

from conftest import build_copy, make_probe

ENTRY = """# Probe

```{mapping}
%s
```
"""
VALID = {
    "pytorch": "torch.nn.ReLU",
    "namespace": "torch.nn",
    "summary": "Probe entry.",
    "cases": '\n  - "randn(2, 3)"',
    "equivalents": "\n  - api: mindspore.nn.ReLU\n    status: consistent",
}


def entry(**changes) -> str:
    fields = {**VALID, **changes}
    return "\n".join(f"{k}: {v}" if not v.startswith("\n") else f"{k}:{v}" for k, v in fields.items() if v is not None)


MALFORMED = [
    ({"summary": None}, "'summary' is a required property"),
    ({"equivalents": "\n  - api: mindspore.nn.ReLU\n    status: same"}, "equivalents[0].status: 'same' is not one of"),
    ({"equivalents": "\n  - api: mindspore.nn.NoSuchLayer\n    status: consistent"},
     "field equivalents[0].api: 'mindspore.nn.NoSuchLayer' does not import"),
    ({"pytorch": "torch.nn.NoSuchLayer"}, "field pytorch: 'torch.nn.NoSuchLayer' does not import"),
    ({"namespace": "torch.optim"}, "namespace: 'torch.optim' is not a prefix of pytorch"),
    ({"cases": None}, "cases: every entry needs cases"),
]
# A notebook that imports MindSpore but leaves its operators asynchronous.
UNBLOCKED_NOTEBOOK = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---

# Probe

```{code-cell} ipython3
import numpy as np
import mindspore as ms
```
"""
# Every bad page goes into one probe project, built once: a -W --keep-going build reports each.
# Entries that pass validation name APIs of their own, so no two pages declare the same API.
OWN_API = ["torch.nn.ReLU", "torch.nn.Tanh", "torch.nn.Sigmoid", "torch.nn.NoSuchLayer", "torch.nn.SiLU",
           "torch.nn.ELU"]
PAGES = {
    **{f"source/catalogue/malformed{i}": ENTRY % entry(**{"pytorch": OWN_API[i], **changes})
       for i, (changes, _) in enumerate(MALFORMED)},
    "source/mappings/no_such_notebook": "# Probe\n\n```{example}\n```\n",
    "source/catalogue/misplaced_example": "# Probe\n\n```{example}\n```\n",
    "notebooks/unblocked": UNBLOCKED_NOTEBOOK,
}


@pytest.fixture(scope="module")
def probe_build(tmp_path_factory):
    project = make_probe(tmp_path_factory.mktemp("errors") / "probe", PAGES)
    result = build_copy(project)
    return result.returncode, result.stdout + result.stderr


def report_of(log: str, page: str) -> str:
    """The build's messages about one page: each starts at a line naming it, up to the next message."""
    blocks = re.split(r"\n(?=\S+\.md:\d+: (?:WARNING|ERROR))", log)
    return "\n".join(block for block in blocks if block.split(":", 1)[0].endswith(page))


def test_the_probe_build_fails(probe_build):
    code, log = probe_build
    assert code != 0, log[-3000:]


@pytest.mark.parametrize("index", range(len(MALFORMED)), ids=[m[1][:40] for m in MALFORMED])
def test_malformed_entry_names_file_and_field(probe_build, index):
    _, log = probe_build
    report = report_of(log, f"source/catalogue/malformed{index}.md")
    assert MALFORMED[index][1] in report, log[-4000:]


def test_missing_example_notebook_is_named(probe_build):
    _, log = probe_build
    assert "source/mappings/no_such_notebook.md:3" in log
    assert "example notebook notebooks/no_such_notebook.md does not exist" in report_of(
        log, "source/mappings/no_such_notebook.md"), log[-3000:]


def test_an_example_outside_a_detail_page_is_named(probe_build):
    _, log = probe_build
    assert ("source/catalogue/misplaced_example.md:3: {example} belongs on a detail page under source/mappings/"
            in log), log[-2000:]


def test_every_failing_page_is_reported(probe_build):
    _, log = probe_build
    for docname in PAGES:
        assert report_of(log, f"{docname}.md"), f"{docname}.md is not reported:\n{log[-3000:]}"


def test_a_notebook_without_blocking_launches_is_named(probe_build):
    _, log = probe_build
    assert ("notebooks/unblocked.md:14: WARNING: imports MindSpore without ms.runtime.launch_blocking()"
            in log), log[-3000:]
