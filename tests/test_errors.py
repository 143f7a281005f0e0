"""Bad input gets a clear error naming the file and what is wrong."""

from __future__ import annotations

import pytest

from conftest import build_copy

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


def build_probe(probe_project, text: str):
    project = probe_project({"source/catalogue/probe": text})
    result = build_copy(project)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("changes,message", [
    ({"summary": None}, "'summary' is a required property"),
    ({"equivalents": "\n  - api: mindspore.nn.ReLU\n    status: same"}, "equivalents[0].status: 'same' is not one of"),
    ({"equivalents": "\n  - api: mindspore.nn.NoSuchLayer\n    status: consistent"},
     "field equivalents[0].api: 'mindspore.nn.NoSuchLayer' does not import"),
    ({"pytorch": "torch.nn.NoSuchLayer"}, "field pytorch: 'torch.nn.NoSuchLayer' does not import"),
    ({"namespace": "torch.optim"}, "namespace: 'torch.optim' is not a prefix of pytorch"),
    ({"cases": None}, "cases: every entry needs cases"),
])
def test_malformed_entry_names_file_and_field(probe_project, changes, message):
    code, log = build_probe(probe_project, ENTRY % entry(**changes))
    assert code != 0
    assert "source/catalogue/probe.md" in log
    assert message in log, log[-3000:]


def test_missing_example_notebook_is_named(probe_project):
    project = probe_project({"source/mappings/no_such_notebook": "# Probe\n\n```{example}\n```\n"})
    result = build_copy(project)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "source/mappings/no_such_notebook.md:3" in log
    assert "example notebook notebooks/no_such_notebook.md does not exist" in log


def test_an_example_outside_a_detail_page_is_named(probe_project):
    code, log = build_probe(probe_project, "# Probe\n\n```{example}\n```\n")
    assert code != 0
    assert "source/catalogue/probe.md:3: {example} belongs on a detail page under source/mappings/" in log, log[-2000:]


def test_every_failing_page_is_reported(probe_project):
    project = probe_project({
        "source/catalogue/first": ENTRY % entry(pytorch="torch.nn.ReLU", summary=None),
        "source/catalogue/second": ENTRY % entry(pytorch="torch.nn.Tanh", equivalents="\n  - api: mindspore.nn.Tanh\n    status: maybe"),
    })
    result = build_copy(project)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "source/catalogue/first.md" in log and "source/catalogue/second.md" in log
