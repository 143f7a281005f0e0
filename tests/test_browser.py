"""The site in a real browser: Debian's chromium driven by Playwright, one browser per session."""

from __future__ import annotations

import pytest

from conftest import screenshot
from test_seed_page import seed_output_blocks

SEED = "/source/mappings/clip_grad_value_.html"


def test_seed_page_shows_table_outputs_and_switches_tabs(page, served_site):
    page.goto(served_site + SEED)
    table = page.locator("table", has_text="Subcategories")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == 3
    tabs = page.locator(".mapping-example .sd-tab-set").first
    torch_output = tabs.locator(".sd-tab-content").nth(0).locator(".example-output").first
    ms_output = tabs.locator(".sd-tab-content").nth(1).locator(".example-output").first
    # The seed's first PyTorch and first MindSpore output blocks (tests/data/seed_outputs.txt), first lines.
    torch_first, ms_first = (seed_output_blocks()[i].splitlines()[0] for i in (0, 2))
    assert torch_output.is_visible() and torch_first in torch_output.inner_text()
    assert not ms_output.is_visible()
    tabs.locator("label", has_text="MindSpore").click()
    assert ms_output.is_visible() and ms_first in ms_output.inner_text()
    assert not torch_output.is_visible()
    assert page.locator("div.documented-values table").is_visible()
    screenshot(page, "clip_grad_value_")
    assert page.console_errors == []
    assert page.outside_requests == []


def test_index_filters(page, served_site):
    page.goto(served_site + "/source/mapping-index.html")
    rows = page.locator("tr.mapping-row")
    total = rows.count()
    assert total >= 60

    def visible():
        return page.locator("tr.mapping-row:visible").count()

    assert visible() == total
    page.select_option("#filter-namespace", "torch.optim")
    optim = visible()
    assert 0 < optim < total
    assert all(t == "torch.optim" for t in page.locator("tr.mapping-row:visible").evaluate_all(
        "rows => rows.map(r => r.dataset.namespace)"))
    page.select_option("#filter-namespace", "")
    page.select_option("#filter-status", "none")
    nones = page.locator("tr.mapping-row:visible").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert nones and all("none" in s.split() for s in nones)
    page.select_option("#filter-status", "")
    page.fill("#filter-text", "clip_grad_value_")
    assert visible() == 1
    assert "1 of" in page.locator("#filter-count").inner_text()
    page.fill("#filter-text", "")
    assert visible() == total
    screenshot(page, "mapping-index")
    assert page.console_errors == []
    assert page.outside_requests == []


@pytest.mark.parametrize("query,anchor", [
    ("torch.nn.functional.softmax", "#mapping-torch-nn-functional-softmax"),   # the full name
    ("F.softmax", "#mapping-torch-nn-functional-softmax"),                     # as code imports it
    ("nn.GELU", "#mapping-torch-nn-gelu"),
    ("gelu", "gelu"),                                                          # GELU or F.gelu
    ("Tensor.view", "#mapping-torch-tensor-view"),
    ("mint.nn.GELU", "#mapping-torch-nn-gelu"),                               # a MindSpore name
    ("ops.log_softmax", "log-softmax"),                                        # shared by several entries
])
def test_search_box_finds_an_entry_by_its_short_forms(page, served_site, query, anchor):
    page.goto(f"{served_site}/search.html?q={query}")
    first = page.locator("#search-results ul.search li a").first
    first.wait_for(timeout=30000)
    href = first.get_attribute("href")
    assert anchor in href.lower(), f"searching {query!r}: the first result is {href}"
    assert page.console_errors == []
    assert page.outside_requests == []


def test_code_blocks_have_copy_buttons_and_outputs_do_not(page, served_site):
    page.goto(served_site + "/notebooks/GELU.html")
    inputs = page.locator("div.cell_input pre").count()
    assert inputs > 0
    assert page.locator("div.cell_input button.copybtn").count() == inputs
    assert page.locator("div.cell_output button.copybtn").count() == 0
    page.goto(served_site + "/source/mappings/clip_grad_value_.html")   # the example's tabs
    assert page.locator(".mapping-example div.example-code button.copybtn").count() > 0
    assert page.locator(".mapping-example div.example-output button.copybtn").count() == 0
    page.goto(served_site + "/source/mapping-index.html")   # no code block, so no copy-button files
    assert page.locator("script[src*='copybutton']").count() == 0
