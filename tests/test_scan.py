"""mapsite.scan: the migration report of a user's PyTorch program (issue 12, item 1).

The `unit` tests need no site build: they scan the fixtures in tests/data/scan/ against the
hand-made catalogue there (mappings.json, in the real export schema) and run in seconds.
The last test scans a sample program against the catalogue of a real build and follows every URL.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "_ext"))
from mapsite import scan  # noqa: E402

DATA = ROOT / "tests" / "data" / "scan"
CATALOGUE = DATA / "mappings.json"
ALIASES = DATA / "aliases.py"
REPORT_SCHEMA = ROOT / "_ext" / "mapsite" / "schema" / "scan-report.schema.json"
EXPORT_SCHEMA = ROOT / "_ext" / "mapsite" / "schema" / "mappings.schema.json"
# A terminal 100 columns wide, whatever the runner set (the table wraps to COLUMNS).
ENV = {**os.environ, "COLUMNS": "100",
       "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "_ext"), os.environ.get("PYTHONPATH")]))}


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The real command, in a process of its own: python -m mapsite.scan."""
    return subprocess.run([sys.executable, "-m", "mapsite.scan", *args], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=60)


def report_of(*paths, catalogue: Path = CATALOGUE, capsys=None, extra: tuple = ()) -> tuple[int, dict | None, str]:
    """Run main() in this process with --json: (exit status, report or None, stderr)."""
    status = scan.main(["--json", "--mappings", str(catalogue), *extra, *map(str, paths)])
    out, err = capsys.readouterr()
    return status, (json.loads(out) if out else None), err


def uses_of(source: str, tensor_methods=frozenset({"view", "item", "to"}), known=frozenset()) -> list[tuple]:
    return [(u.api, u.line, u.receiver) for u in scan.scan_source(source, "<test>", tensor_methods, known)]


def validate(report: dict) -> None:
    schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(report)


# -- the fixtures themselves -------------------------------------------------------------------

@pytest.mark.unit
def test_fixture_catalogue_follows_the_export_schema():
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    jsonschema.validate(catalogue, json.loads(EXPORT_SCHEMA.read_text(encoding="utf-8")))
    statuses = {eq["status"] for m in catalogue["mappings"] for eq in m["equivalents"]}
    assert statuses == {"consistent", "differs", "none"}
    assert any(m["pytorch"].startswith("torch.Tensor.") for m in catalogue["mappings"])


@pytest.mark.unit
def test_report_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(json.loads(REPORT_SCHEMA.read_text(encoding="utf-8")))


# -- the exact report of the alias-heavy fixture ------------------------------------------------

@pytest.mark.unit
def test_alias_fixture_gives_exactly_the_expected_report(capsys):
    status, report, err = report_of(ALIASES, capsys=capsys)
    assert status == 0, err
    expected = json.loads((DATA / "aliases.expected.json").read_text(encoding="utf-8"))

    def compact(records):
        return {r["pytorch"]: {"status": r["status"], "lines": [u["line"] for u in r["uses"]]} for r in records}

    assert compact(report["apis"]) == expected["apis"]
    assert compact(report["possible_tensor_methods"]) == expected["possible_tensor_methods"]
    summary = report["summary"]
    assert {s["label"]: [s["apis"], s["uses"]] for s in summary["by_status"]} == expected["summary"]["by_status"]
    assert [s["label"] for s in summary["by_status"]] == list(expected["summary"]["by_status"])   # in order
    for key in ("apis", "uses", "no_change_uses", "possible_tensor_methods"):
        assert summary[key] == expected["summary"][key], key
    assert summary["no_change_share"] == round(4 / 28, 4)
    assert summary["line"] == ("21 PyTorch APIs used 28 times: 4 consistent, 5 differs, 1 no direct equivalent, "
                               "11 not on the site yet; 4 of 28 uses (14%) need no change.")
    validate(report)


@pytest.mark.unit
def test_each_api_carries_the_catalogue_facts_and_its_page_url(capsys):
    _, report, _ = report_of(ALIASES, capsys=capsys, extra=("--site-url", "https://example.org/site"))
    assert report["site_url"] == "https://example.org/site/"
    apis = {r["pytorch"]: r for r in report["apis"]}
    relu = apis["torch.nn.functional.relu"]
    assert relu["url"] == "https://example.org/site/source/catalogue/functional.html#mapping-torch-nn-functional-relu"
    assert relu["equivalents"] == [{
        "api": "mindspore.ops.relu", "status": "differs", "label": "differs",
        "note": "There is no inplace argument: assign the result.",
        "translation": "lambda input, inplace=False: ops.relu(input)", "verdict": "pass"}]
    assert relu["uses"][0] == {"file": str(ALIASES), "line": 30, "column": 32}
    view = apis["torch.Tensor.view"]
    assert view["evidence_url"] == "https://example.org/site/source/mappings/tensor_view.html#example"
    xavier = apis["torch.nn.init.xavier_uniform_"]
    assert xavier["status"] == "none" and xavier["label"] == "no direct equivalent"
    assert xavier["equivalents"][0]["composite"].startswith("lambda t, gain=1.0:")
    # best status first: torch.cat has a consistent and a differing equivalent
    assert apis["torch.cat"]["status"] == "consistent"
    uncovered = apis["torch.utils.data.DataLoader"]
    assert uncovered == {"pytorch": "torch.utils.data.DataLoader", "covered": False, "status": None,
                         "label": "not on the site yet", "uses": [{"file": str(ALIASES), "line": 64, "column": 10}]}


@pytest.mark.unit
def test_default_site_url_is_the_folder_of_the_catalogue(capsys):
    _, report, _ = report_of(ALIASES, capsys=capsys)
    assert report["site_url"] == DATA.resolve().as_uri() + "/"
    assert report["apis"][1]["url"].startswith("file:///")


# -- how names resolve, one construct at a time --------------------------------------------------

RESOLUTION = {
    "import forms": (
        "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom torch import nn as L, optim\n"
        "from torch.optim.lr_scheduler import StepLR\nfrom torch.utils.data import DataLoader\n"
        "torch.cat(a)\nnn.Linear(1, 1)\nF.relu(x)\nL.ReLU()\noptim.SGD(p)\nStepLR(o)\nDataLoader(d)\n",
        [("torch.cat", 7), ("torch.nn.Linear", 8), ("torch.nn.functional.relu", 9), ("torch.nn.ReLU", 10),
         ("torch.optim.SGD", 11), ("torch.optim.lr_scheduler.StepLR", 12), ("torch.utils.data.DataLoader", 13)]),
    "a dotted import binds the top name": (
        "import torch.nn.functional\ntorch.nn.functional.relu(x)\n", [("torch.nn.functional.relu", 2)]),
    "an attribute chain is one use, a module alone none": (
        "import torch.nn as nn\nF = nn.functional\nnn.functional.relu(x)\nprint(nn)\n",
        [("torch.nn.functional.relu", 3)]),
    "re-bound to a torch object, then shadowed": (
        "import torch.nn.functional as F\nact = F.relu\nact(x)\nF = other\nF.relu(x)\nact = len\nact(x)\n",
        [("torch.nn.functional.relu", 2), ("torch.nn.functional.relu", 3)]),
    "a parameter shadows an import": (
        "import torch\ndef f(torch):\n    return torch.cat(x)\n", []),
    "decorator, base class, context manager": (
        "import torch\nfrom torch import nn\n@torch.no_grad()\ndef f():\n    pass\nclass M(nn.Module):\n    pass\n"
        "with torch.autocast('cpu'):\n    pass\n",
        [("torch.no_grad", 3), ("torch.nn.Module", 6), ("torch.autocast", 8)]),
    "an import that may fail still counts": (
        "try:\n    import torch\nexcept ImportError:\n    torch = None\ntorch.zeros(1)\n", [("torch.zeros", 5)]),
    "a branch that re-binds does not hide torch": (
        "import torch.nn.functional as F\nif cond:\n    F = None\nF.relu(x)\n", [("torch.nn.functional.relu", 4)]),
    "inside a branch, the re-binding holds": (
        "import torch.nn.functional as F\nif cond:\n    F = other\n    F.relu(x)\n", []),
    "functions see the names the module leaves bound": (
        "import torch\ndef f():\n    return torch.zeros(1)\ntorch = None\n", []),
    "strings and comments do not count": (
        "import torch\n# torch.cat(x)\ns = 'torch.flatten(x)'\n\"\"\"torch.sum\"\"\"\n", []),
    "star import of a torch module, for names the catalogue knows": (
        "from torch.nn import *\nReLU()\nUnknownThing()\n", [("torch.nn.ReLU", 2)]),
    "lambda, comprehension, walrus": (
        "import torch\nf = lambda v: torch.relu(v)\n[torch.abs(t) for t in xs]\nif (y := torch.ones(1)) is None:\n    pass\n",
        [("torch.relu", 2), ("torch.abs", 3), ("torch.ones", 4)]),
    "no torch import, no use": ("torch.cat(x)\nnn.Linear(1, 1)\n", []),
}


@pytest.mark.unit
@pytest.mark.parametrize("case", RESOLUTION, ids=list(RESOLUTION))
def test_resolution(case):
    source, expected = RESOLUTION[case]
    found = [(api, line) for api, line, receiver in uses_of(source, known=frozenset({"torch.nn.ReLU"}))
             if receiver == scan.KNOWN]
    assert found == expected


TENSORS = {
    "assigned from a torch call": ("import torch\nx = torch.randn(2)\nx.view(-1)\n",
                                   [("torch.randn", 2, "known"), ("torch.Tensor.view", 3, "known")]),
    "torch.tensor, then a chain of tensor methods": (
        "import torch\nt = torch.tensor([1.0])\nt.abs().sum().item()\n",
        [("torch.tensor", 2, "known"), ("torch.Tensor.abs", 3, "known"), ("torch.Tensor.sum", 3, "known"),
         ("torch.Tensor.item", 3, "known")]),
    "annotated variable": ("import torch\nx: torch.Tensor = load()\nx.view(1)\n", [("torch.Tensor", 2, "known"),
                                                                               ("torch.Tensor.view", 3, "known")]),
    "annotated parameter, from torch import Tensor": (
        "from torch import Tensor\ndef f(x: Tensor, y):\n    x.view(1)\n    y.view(1)\n",
        [("torch.Tensor", 2, "known"), ("torch.Tensor.view", 3, "known"), ("torch.Tensor.view", 4, "possible")]),
    "the output of a torch.nn layer": (
        "import torch.nn as nn\nlayer = nn.Linear(2, 2)\nlayer(x).view(-1)\n",
        [("torch.nn.Linear", 2, "known"), ("torch.Tensor.view", 3, "known")]),
    "unknown receiver: only names the catalogue knows are possible": (
        "def f(a):\n    a.view(1)\n    a.to('cpu')\n    a.unsqueeze(0)\n",
        [("torch.Tensor.view", 2, "possible"), ("torch.Tensor.to", 3, "possible")]),
    "a literal is no tensor": ("s = 'a b'\ns.view\n[1].item()\n", []),
    "unpacking a tensor result gives tensors": (
        "import torch\nvalues, idx = torch.max(x, 0)\nidx.item()\n",
        [("torch.max", 2, "known"), ("torch.Tensor.item", 3, "known")]),
    "a maybe-tensor is only possible": (
        "import torch\nx = torch.zeros(1)\nif c:\n    x = load()\nx.view(1)\n",
        [("torch.zeros", 2, "known"), ("torch.Tensor.view", 5, "possible")]),
}


@pytest.mark.unit
@pytest.mark.parametrize("case", TENSORS, ids=list(TENSORS))
def test_tensor_methods(case):
    source, expected = TENSORS[case]
    assert uses_of(source) == expected


@pytest.mark.unit
def test_members_of_torch_instances_and_of_the_programs_modules():
    source = (
        "import torch\nfrom torch import nn, optim\n"
        "class Base(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(2, 2)\n"
        "        self.register_buffer('scale', torch.ones(2))\n"
        "    def helper(self):\n"
        "        return self.scale.view(-1)\n"
        "class Net(Base):\n"
        "    def forward(self, x):\n"
        "        return self.fc(x) * self.helper() + self.later\n"
        "    def setup(self):\n"
        "        self.later = 1\n"
        "net = Net().to('cpu')\n"
        "opt = optim.SGD(net.parameters(), lr=0.1)\n"
        "opt.step()\n"
        "net.eval()\n"
    )
    found = [(api, line) for api, line, _ in uses_of(source)]
    assert found == [
        ("torch.nn.Module", 3), ("torch.nn.Linear", 6), ("torch.nn.Module.register_buffer", 7), ("torch.ones", 7),
        ("torch.Tensor.view", 9),
        ("torch.nn.Module.to", 15), ("torch.optim.SGD", 16), ("torch.nn.Module.parameters", 16),
        ("torch.optim.SGD.step", 17), ("torch.nn.Module.eval", 18),
    ]


@pytest.mark.unit
def test_a_class_imported_from_its_module_is_reported_under_the_catalogue_name(tmp_path, capsys):
    program = tmp_path / "p.py"
    program.write_text("from torch.nn.modules.linear import Linear\nimport torch.nn.modules.activation as act\n"
                       "Linear(1, 1)\nact.ReLU()\nact.Mystery()\n", encoding="utf-8")
    _, report, _ = report_of(program, capsys=capsys)
    assert [(r["pytorch"], r["covered"]) for r in report["apis"]] == [
        ("torch.nn.Linear", True), ("torch.nn.ReLU", True), ("torch.nn.modules.activation.Mystery", False)]


@pytest.mark.unit
def test_a_member_of_a_torch_class_is_reported_on_the_base_class_that_documents_it(tmp_path, capsys):
    """opt.step() on an optim.SGD is torch.optim.SGD.step, which the site documents on Optimizer."""
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    template = catalogue["mappings"][0]
    for api in ("torch.optim.Optimizer.step", "torch.optim.lr_scheduler.LRScheduler.step"):
        catalogue["mappings"].append({**template, "pytorch": api, "namespace": api.rsplit(".", 1)[0]})
    (tmp_path / "mappings.json").write_text(json.dumps(catalogue), encoding="utf-8")
    program = tmp_path / "p.py"
    program.write_text("import torch\nfrom torch import optim\nw = torch.zeros(2)\nopt = optim.SGD([w], lr=0.1)\n"
                       "sched = optim.lr_scheduler.StepLR(opt, 2)\nopt.step()\nsched.step()\nopt.zero_grad()\n",
                       encoding="utf-8")
    _, report, _ = report_of(program, catalogue=tmp_path / "mappings.json", capsys=capsys)
    found = {r["pytorch"]: r["covered"] for r in report["apis"]}
    assert found["torch.optim.Optimizer.step"] and found["torch.optim.lr_scheduler.LRScheduler.step"]
    # No base entry for zero_grad in this catalogue: reported under its own name, as not covered.
    assert found["torch.optim.SGD.zero_grad"] is False


# -- statuses come from the data -----------------------------------------------------------------

@pytest.mark.unit
def test_a_status_the_scanner_does_not_know_is_counted_with_its_own_name(tmp_path, capsys):
    catalogue = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    for mapping in catalogue["mappings"]:
        if mapping["pytorch"] == "torch.nn.ReLU":
            for eq in mapping["equivalents"]:
                eq["status"] = "renamed"
        if mapping["pytorch"] == "torch.flatten":
            mapping["equivalents"][0]["status"] = "experimental"
    changed = tmp_path / "mappings.json"
    changed.write_text(json.dumps(catalogue), encoding="utf-8")
    status, report, err = report_of(ALIASES, catalogue=changed, capsys=capsys)
    assert status == 0, err
    by_status = [(s["status"], s["label"], s["apis"]) for s in report["summary"]["by_status"]]
    assert by_status == [("consistent", "consistent", 2), ("renamed", "renamed", 1), ("differs", "differs", 5),
                         ("none", "no direct equivalent", 1), ("experimental", "experimental", 1),
                         (None, "not on the site yet", 11)]
    assert report["summary"]["no_change_uses"] == 2   # renamed needs a change
    assert "1 renamed" in report["summary"]["line"] and "1 experimental" in report["summary"]["line"]
    validate(report)


# -- outputs ---------------------------------------------------------------------------------------

@pytest.mark.unit
def test_terminal_table_by_default():
    result = run_cli("--mappings", str(CATALOGUE), "aliases.py", cwd=DATA)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\x1b[" not in out   # no colour when stdout is not a terminal
    for heading in ("CONSISTENT · 4 APIs, 4 uses", "DIFFERS · 5 APIs, 9 uses", "NO DIRECT EQUIVALENT · 1 API, 1 use",
                    "NOT ON THE SITE YET · 11 APIs, 14 uses", "POSSIBLE TENSOR METHODS · 2 names, 2 uses", "SUMMARY"):
        assert heading in out, heading
    assert "used at   aliases.py:30, 34, 52" in out
    assert "translation: lambda input, inplace=False: ops.relu(input)" in out
    assert f"page      {DATA.resolve().as_uri()}/source/catalogue/functional.html#mapping-torch-nn-functional-relu" in out
    assert "torch.utils.data.DataLoader" in out
    assert out.rstrip().endswith("4 of 28 uses (14%) need no change.")


@pytest.mark.unit
def test_json_output_follows_its_schema(tmp_path):
    result = run_cli("--json", "--mappings", str(CATALOGUE), str(ALIASES), str(DATA / "train_cnn.py"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    validate(report)
    assert report["files"]["scanned"] == [str(ALIASES), str(DATA / "train_cnn.py")]
    assert report["catalogue"] == {"path": str(CATALOGUE), "count": 11,
                                   "verified_with": json.loads(CATALOGUE.read_text())["verified_with"]}


class Resources(HTMLParser):
    """Everything in a page that could make the browser fetch something."""

    def __init__(self):
        super().__init__()
        self.fetches, self.links, self.styles, self.tags = [], [], [], set()
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        attrs = dict(attrs)
        for name in ("src", "srcset", "data", "poster", "background"):
            if attrs.get(name):
                self.fetches.append((tag, attrs[name]))
        if tag == "link" or tag == "script" or tag in ("iframe", "object", "embed", "img"):
            self.fetches.append((tag, attrs))
        if tag == "a":
            self.links.append(attrs.get("href"))
        if "style" in attrs:
            self.styles.append(attrs["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


@pytest.mark.unit
def test_html_output_is_one_self_contained_file(tmp_path):
    target = tmp_path / "report.html"
    result = run_cli("--mappings", str(CATALOGUE), "--site-url", "https://example.org/docs/", "--html", str(target),
                     str(ALIASES))
    assert result.returncode == 0, result.stderr
    assert f"wrote {target}" in result.stderr
    page = target.read_text(encoding="utf-8")
    parser = Resources()
    parser.feed(page)
    assert parser.fetches == []
    assert not any("url(" in s or "@import" in s for s in parser.styles)
    assert "style" in parser.tags and "table" in parser.tags
    assert all(href.startswith("https://example.org/docs/") for href in parser.links), parser.links
    assert "https://example.org/docs/source/catalogue/functional.html#mapping-torch-nn-functional-relu" in parser.links
    # the site's look: its palette and its status badges
    assert "--color" not in page and "#0a4bff" in page and 'class="mapping-status status-differs"' in page
    for api in ("torch.nn.functional.relu", "torch.nn.init.xavier_uniform_", "torch.utils.data.DataLoader",
                "Possible tensor methods", "4 of 28 uses (14%) need no change."):
        assert api in page, api


# -- bad input -----------------------------------------------------------------------------------

@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "good.py"
    path.write_text("import torch\ntorch.flatten(x)\n", encoding="utf-8")
    return path


def flattened(report: dict) -> list:
    return [u["file"] for r in report["apis"] if r["pytorch"] == "torch.flatten" for u in r["uses"]]


@pytest.mark.unit
def test_a_syntax_error_is_reported_with_its_line_and_the_rest_is_scanned(tmp_path, good, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nx = torch.zeros(1)\ndef f(:\n    pass\n", encoding="utf-8")
    status, report, err = report_of(broken, good, capsys=capsys)
    assert status == scan.EXIT_FILE_ERRORS == 1
    assert f"{broken}:3:7: syntax error: invalid syntax" in err
    assert report["errors"] == [{"path": str(broken), "kind": "syntax-error", "message": "syntax error: invalid syntax",
                                 "line": 3, "column": 7}]
    assert flattened(report) == [str(good)] and report["files"]["scanned"] == [str(good)]
    validate(report)


@pytest.mark.unit
def test_a_file_that_is_not_utf8(tmp_path, good, capsys):
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"import torch\n# caf\xe9\ntorch.flatten(x)\n")
    status, report, err = report_of(latin, good, capsys=capsys)
    assert status == 1
    assert f"{latin}:2:6: not UTF-8: byte 0xe9 cannot be decoded; save the file as UTF-8" in err
    assert report["errors"][0]["kind"] == "not-utf8" and flattened(report) == [str(good)]


@pytest.mark.unit
def test_a_declared_encoding_is_honoured(tmp_path, capsys):
    declared = tmp_path / "declared.py"
    declared.write_bytes(b"# -*- coding: latin-1 -*-\nimport torch\n# caf\xe9\ntorch.flatten(x)\n")
    status, report, err = report_of(declared, capsys=capsys)
    assert status == 0, err
    assert flattened(report) == [str(declared)]


@pytest.mark.unit
def test_a_binary_file(tmp_path, good, capsys):
    binary = tmp_path / "model.py"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00import torch\n")
    status, report, err = report_of(binary, good, capsys=capsys)
    assert status == 1
    assert f"{binary}: binary file (it contains NUL bytes), not Python source" in err
    assert report["errors"][0]["kind"] == "binary" and flattened(report) == [str(good)]


@pytest.mark.unit
def test_a_missing_path(tmp_path, good, capsys):
    missing = tmp_path / "no" / "such.py"
    status, report, err = report_of(missing, good, capsys=capsys)
    assert status == scan.EXIT_USAGE == 2
    assert f"{missing}: no such file or folder" in err
    assert flattened(report) == [str(good)]   # the other path is still reported
    status, report, err = report_of(missing, capsys=capsys)
    assert (status, report) == (2, None) and f"{missing}: no such file or folder" in err


@pytest.mark.unit
def test_an_empty_folder(tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "docs").mkdir(parents=True)
    (empty / "docs" / "notes.txt").write_text("torch.cat\n")
    status, report, err = report_of(empty, capsys=capsys)
    assert (status, report) == (2, None)
    assert f"{empty}: folder holds no Python (.py) files" in err


@pytest.mark.unit
def test_a_missing_or_broken_catalogue_says_to_build_the_site(tmp_path, good):
    result = run_cli("--mappings", str(tmp_path / "_build" / "html" / "mappings.json"), str(good))
    assert result.returncode == scan.EXIT_CATALOGUE == 3
    assert result.stdout == ""
    assert "no catalogue at" in result.stderr and "run `make html`" in result.stderr
    broken = tmp_path / "mappings.json"
    broken.write_text("{not json", encoding="utf-8")
    result = run_cli("--mappings", str(broken), str(good))
    assert result.returncode == 3 and "is not a readable mappings.json" in result.stderr


@pytest.mark.unit
def test_an_html_file_that_cannot_be_written(tmp_path, good):
    result = run_cli("--mappings", str(CATALOGUE), "--html", str(tmp_path / "no" / "report.html"), str(good))
    assert result.returncode == 2
    assert "cannot write" in result.stderr and "torch.flatten" in result.stdout


@pytest.mark.unit
def test_code_nested_as_deep_as_python_allows_is_scanned(tmp_path, capsys):
    deep = tmp_path / "deep.py"
    deep.write_text("import torch\nx = " + " + ".join(["torch.zeros(1)"] * 2000) + "\n"
                    + "y = torch.ones(1)" + ".abs()" * 600 + "\n", encoding="utf-8")
    status, report, err = report_of(deep, capsys=capsys)
    assert status == 0, err
    counts = {r["pytorch"]: len(r["uses"]) for r in report["apis"]}
    assert counts == {"torch.zeros": 2000, "torch.ones": 1, "torch.Tensor.abs": 600}


@pytest.mark.unit
def test_a_fault_of_the_scanner_on_one_file_spares_the_others(tmp_path, good, capsys, monkeypatch):
    odd = tmp_path / "odd.py"
    odd.write_text("import torch\ntorch.cat(x)\n", encoding="utf-8")
    run = scan.FileScanner.run

    def faulty(self, tree):
        if any(isinstance(n, ast.Attribute) and n.attr == "cat" for n in ast.walk(tree)):
            raise KeyError("simulated")
        return run(self, tree)

    monkeypatch.setattr(scan.FileScanner, "run", faulty)
    status, report, err = report_of(odd, good, capsys=capsys)
    assert status == 1
    assert f"{odd}: the scanner failed on this file (KeyError: 'simulated'); please report it with the file" in err
    assert report["errors"][0]["kind"] == "scanner-error" and flattened(report) == [str(good)]
    validate(report)


@pytest.mark.unit
def test_help_documents_the_exit_statuses():
    result = run_cli("--help")
    assert result.returncode == 0
    for status in ("0  every file was scanned", "1  the report was written, but some files could not be scanned",
                   "2  a path does not exist", "3  the catalogue (mappings.json) is missing"):
        assert status in result.stdout, status


# -- a folder of 1,000 files -------------------------------------------------------------------------

@pytest.mark.unit
def test_a_folder_of_a_thousand_files_shows_progress(tmp_path):
    folder = tmp_path / "project"
    for i in range(1000):
        sub = folder / f"pkg{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"m{i}.py").write_text(f"import torch.nn as nn\nlayer{i} = nn.Linear(2, 2)\n", encoding="utf-8")
    (folder / ".venv").mkdir()
    (folder / ".venv" / "hidden.py").write_text("import torch\ntorch.cat(x)\n")
    result = run_cli("--json", "--progress", "--mappings", str(CATALOGUE), str(folder))
    assert result.returncode == 0, result.stderr
    progress = result.stderr.splitlines()
    assert progress[0] == "scanned 100/1000 files" and progress[-1] == "scanned 1000/1000 files"
    report = json.loads(result.stdout)
    assert report["summary"]["files"] == 1000
    assert [(r["pytorch"], len(r["uses"])) for r in report["apis"]] == [("torch.nn.Linear", 1000)]
    quiet = run_cli("--json", "--mappings", str(CATALOGUE), str(folder))   # stderr is not a terminal
    assert quiet.returncode == 0 and quiet.stderr == ""


# -- fast start: the standard library only ------------------------------------------------------------

@pytest.mark.unit
def test_the_scanner_imports_neither_sphinx_nor_the_frameworks():
    probe = ("import sys, runpy\nsys.argv = ['scan', '--help']\n"
             "try:\n    runpy.run_module('mapsite.scan', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
             "{'sphinx', 'docutils', 'torch', 'mindspore', 'numpy', 'myst_nb', 'jsonschema'})\n"
             "print('HEAVY', heavy, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=ENV, timeout=60)
    assert "HEAVY []" in result.stderr, result.stderr[-2000:]


# -- against the real site ------------------------------------------------------------------------------

def unreachable_urls(report: dict, html: Path) -> list[str]:
    """URLs of the report that do not lead to a file of the built site and an element with that id."""
    base = report["site_url"]
    bad = []
    for record in report["apis"] + report["possible_tensor_methods"]:
        for url in (record.get("url"), record.get("evidence_url")):
            if url is None:
                continue
            if not url.startswith(base):
                bad.append(f"{url}: not under {base}")
                continue
            parts = urlsplit(url[len(base):])
            target = html / unquote(parts.path)
            if not target.is_file():
                bad.append(f"{url}: no file {target}")
            elif parts.fragment and f'id="{parts.fragment}"' not in target.read_text(encoding="utf-8"):
                bad.append(f"{url}: no element with id {parts.fragment}")
    return bad


def test_every_url_of_a_report_leads_into_the_built_site(site):
    mappings = site.html / "mappings.json"
    result = run_cli("--json", "--mappings", str(mappings), str(DATA / "train_cnn.py"), str(ALIASES))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    validate(report)
    assert report["site_url"] == site.html.resolve().as_uri() + "/"
    covered = [r for r in report["apis"] if r["covered"]]
    assert len(covered) >= 15, [r["pytorch"] for r in covered]
    assert unreachable_urls(report, site.html.resolve()) == []
