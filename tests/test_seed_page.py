"""The seed mapping page: its table, the four executed output blocks, its downloads."""

from __future__ import annotations

import re

import nbformat

import pytest

from conftest import ROOT

PAGE = "source/mappings/clip_grad_value_.html"
NOTEBOOK_PAGE = "notebooks/clip_grad_value_.html"
# The spec's four printed blocks, kept as the project's own test data (stated once, there).
SEED_OUTPUTS = ROOT / "tests" / "data" / "seed_outputs.txt"


def seed_output_blocks() -> list[str]:
    """The four blocks the seed page prints: PyTorch before and after clipping, then MindSpore's."""
    lines = [line for line in SEED_OUTPUTS.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    blocks = [block.strip("\n") for block in "\n".join(lines).split("\n---\n")]
    assert len(blocks) == 4, f"{SEED_OUTPUTS}: expected four blocks separated by '---', found {len(blocks)}"
    return blocks


def output_texts(soup, selector: str) -> list[str]:
    return [pre.get_text().rstrip() for pre in soup.select(selector)]


def test_parameter_table_has_the_seed_rows(site):
    soup = site.soup(PAGE)
    table = next(t for t in soup.select("table") if "Subcategories" in t.get_text())
    header = [th.get_text(strip=True) for th in table.select("thead th")]
    assert header == ["Categories", "Subcategories", "PyTorch", "MindSpore", "Differences"]
    rows = [[td.get_text(" ", strip=True) for td in tr.select("td")] for tr in table.select("tbody tr")]
    assert [row[1:4] for row in rows] == [
        ["Parameter 1", "parameters", "x"],
        ["Parameter 2", "clip_value", "clip_value_min"],
        ["Parameter 3", "–", "clip_value_max"],
    ]
    assert rows[0][0] == "Parameters"
    assert all(row[4] for row in rows), "every row explains the difference"


def test_signatures_and_official_links(site):
    soup = site.soup(PAGE)
    signatures = soup.select_one("div.signatures pre, pre.signatures, .signatures").get_text()
    assert "torch.nn.utils.clip_grad_value_(parameters, clip_value" in signatures
    assert "mindspore.ops.clip_by_value(x, clip_value_min=None, clip_value_max=None)" in signatures
    links = [a["href"] for a in soup.select("a.api-doc")]
    assert any("pytorch.org" in href and "clip_grad_value_" in href for href in links)
    assert any("mindspore.cn" in href and "clip_by_value" in href for href in links)


@pytest.mark.parametrize("page,selector", [
    (PAGE, "div.example-output pre"),
    (NOTEBOOK_PAGE, "div.cell_output pre"),
])
def test_four_seed_outputs_are_shown_as_executed(site, page, selector):
    shown = output_texts(site.soup(page), selector)
    for block in seed_output_blocks():
        assert block in shown, f"{page} does not show the seed output:\n{block}\n--- shown:\n" + "\n---\n".join(shown)


def test_pytorch_and_mindspore_side_by_side_in_tabs(site):
    soup = site.soup(PAGE)
    labels = [label.get_text(strip=True) for label in soup.select(".sd-tab-set label")]
    assert labels[:2] == ["PyTorch", "MindSpore"]
    panels = soup.select(".sd-tab-set .sd-tab-content")
    assert "clip_grad_value_" in panels[0].get_text() and "clip_by_value" in panels[1].get_text()
    assert "grads, (logits,) = grad_fn" in panels[1].get_text() or "weight_grads, (logits,) = grad_fn" in panels[1].get_text()


def test_documented_values_table_agrees(site):
    table = site.soup(PAGE).select_one("div.documented-values table")
    rows = [[td.get_text(strip=True) for td in tr.select("td")] for tr in table.select("tbody tr")]
    names = [row[0] for row in rows]
    assert {"torch-before", "torch-after", "mindspore-before", "mindspore-after"} <= set(names)
    assert all(row[3] == "yes" for row in rows)


def test_download_links_point_at_real_files(site):
    for page in (PAGE, NOTEBOOK_PAGE):
        links = [a["href"] for a in site.soup(page).select("p.example-downloads a")]
        assert any(href.endswith("clip_grad_value_.ipynb") for href in links), page
        assert any(href.endswith("clip_grad_value_.md") for href in links), page
        for href in links:
            target = (site.html / page).parent / href
            assert target.resolve().is_file(), f"{page} links to missing {href}"
    notebook = nbformat.read(str(site.html / "notebooks" / "clip_grad_value_.ipynb"), as_version=4)
    outputs = "".join(
        o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
    )
    assert seed_output_blocks()[0] in outputs, "the download is the executed notebook"


def test_site_root_opens_the_home_page(site):
    root = (site.html / "index.html").read_text()
    assert re.search(r'url=source/index\.html', root)
    assert (site.html / "source" / "index.html").is_file()
