"""The catalogue: index, JSON export and their single source, the {mapping} blocks."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import jsonschema
import pytest

from conftest import ROOT, pinned

BLOCK = re.compile(r"^```\{mapping\}", re.M)


def source_entry_count() -> int:
    return sum(len(BLOCK.findall(p.read_text(encoding="utf-8"))) for p in (ROOT / "source").rglob("*.md"))


@pytest.fixture(scope="module")
def export(site):
    return json.loads((site.html / "mappings.json").read_text())


def index_rows(site):
    return site.soup("source/mapping-index.html").select("table.mapping-index tr.mapping-row")


def test_index_has_one_row_per_entry(site, export):
    rows = index_rows(site)
    assert len(rows) == export["count"] == len(export["mappings"]) == source_entry_count()


def test_catalogue_size(export):
    assert export["count"] >= 60
    assert sum(m["detail_page"] for m in export["mappings"]) >= 20


def test_json_validates_against_its_schema(site, export):
    schema = json.loads((site.html / "mappings.schema.json").read_text())
    jsonschema.validate(export, schema)
    assert export["verified_with"]["torch"].startswith(pinned("torch"))
    assert export["verified_with"]["mindspore"] == pinned("mindspore")


def test_every_row_was_executed(export):
    for mapping in export["mappings"]:
        for eq in mapping["equivalents"]:
            if eq["verdict"] == "pass":
                assert eq["cases_checked"] > 0, mapping["pytorch"]
            else:
                assert eq["verdict"] == "example" and mapping.get("example"), mapping["pytorch"]


def test_index_links_reach_their_anchors(site):
    index = site.html / "source" / "mapping-index.html"
    for row in index_rows(site):
        for link in row.select("a[href]"):
            parts = urlsplit(link["href"])
            target = (index.parent / parts.path).resolve()
            assert target.is_file(), link["href"]
            if parts.fragment:
                assert f'id="{parts.fragment}"' in target.read_text(), link["href"]


def test_index_groups_by_namespace_with_statuses(site, export):
    soup = site.soup("source/mapping-index.html")
    groups = [tb["data-namespace"] for tb in soup.select("table.mapping-index tbody")]
    assert groups == sorted({m["namespace"] for m in export["mappings"]})
    statuses = {s for row in index_rows(site) for s in row["data-status"].split()}
    # The four statuses, and the separate filter for rows that cannot run on the CPU.
    assert statuses <= {"consistent", "renamed", "differs", "none", "cpu-no-kernel"}
    options = {o["value"] for o in soup.select("#filter-status option") if o["value"]}
    assert options == {"consistent", "renamed", "differs", "none", "cpu-no-kernel"}


def test_parallel_build_gives_the_same_index_and_json(site, second_site):
    assert (second_site.html / "mappings.json").read_text() == (site.html / "mappings.json").read_text()

    def table(root):
        text = (root / "source" / "mapping-index.html").read_text()
        return text[text.index('<table class="mapping-index'):text.index("</table>")]

    assert table(second_site.html) == table(site.html)


GELU_PAGE = """# Probe

```{mapping}
pytorch: torch.nn.GELU
namespace: torch.nn
summary: Probe entry.
cases:
  - "randn(2, 3)"
  - "randn(4, 5)"
equivalents:
  - api: %s
    status: %s
%s```
"""


def test_consistent_row_pointed_at_another_api_fails(probe_project):
    from conftest import build_copy

    project = probe_project({"source/catalogue/probe": GELU_PAGE % ("mindspore.ops.sigmoid", "consistent", "")})
    result = build_copy(project)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "probe.md" in log and "mapping torch.nn.GELU, field equivalents[0]" in log
    assert "mindspore.ops.sigmoid does not match torch.nn.GELU" in log


def test_differs_row_whose_difference_is_patched_away_fails(probe_project, tmp_path):
    from conftest import build_copy, patch_on_import

    translation = '    note: tanh approximation by default.\n    translation: "mindspore.nn.GELU(approximate=False)"\n'
    project = probe_project({"source/catalogue/probe": GELU_PAGE % ("mindspore.nn.GELU", "differs", translation)})
    # A "release" in which mindspore.nn.GELU defaults to the exact form, like PyTorch.
    env = patch_on_import(tmp_path / "hook", "mindspore.nn", "GELU", """
        def make(real):
            class ExactGELU(real):
                def __init__(self, approximate=False):
                    super().__init__(approximate=approximate)
            return ExactGELU
    """)
    result = build_copy(project, env=env)
    log = result.stdout + result.stderr
    assert result.returncode != 0
    assert "the documented difference has disappeared" in log and "probe.md" in log
